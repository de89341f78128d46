/*
 * baselines.h - the rows the report measures everything against, named once.
 *
 * Today's metaflow keys an artifact by the SHA-1 of its pickle and stores it
 * gzip'd at level 3; PR #3090 replaces gzip by lz4 at level 0. Every
 * "x gzip:3's time", "after lz4" and "hash time / sha1" in REPORT.md is
 * relative to one of these. A string form (BASE_SPEC) is spelled from the
 * codec and level, so the two cannot disagree.
 */
#ifndef CASBENCH_BASELINES_H
#define CASBENCH_BASELINES_H

#define BASELINE_STR_(x) #x
#define BASELINE_STR(x) BASELINE_STR_(x)

/* The key hash of today's metaflow. */
#define BASE_HASH "sha1"

/* Today's codec and level (metaflow's gzip compresslevel=3). */
#define BASE_CODEC "gzip"
#define BASE_LEVEL 3
#define BASE_SPEC BASE_CODEC ":" BASELINE_STR(BASE_LEVEL)

/* PR #3090's codec and level (python-lz4's default). */
#define PR_CODEC "lz4"
#define PR_LEVEL 0
#define PR_SPEC PR_CODEC ":" BASELINE_STR(PR_LEVEL)

#endif
