/*
 * report_facts.h - facts about codecs and hashes as the run recorded them.
 *
 * bench/envinfo.c writes every codec and hash row's facts into env.tsv
 * (results/README.md, "env.tsv": codec_metaflow_readable_<name>,
 * codec_ceiling_<name>, codec_python_<name>, hash_cryptographic_<name>, ...),
 * so the report states the facts of the build that measured the rows. A
 * fact missing from env.tsv (a run older than those keys) is "unknown": the
 * report never guesses it from a name.
 */
#ifndef CASBENCH_REPORT_FACTS_H
#define CASBENCH_REPORT_FACTS_H

#include "rundir.h"

typedef enum {
    CODEC_KIND_CEILING,     /* stores the blob as is: a bound, not a candidate */
    CODEC_KIND_READABLE,    /* a stream today's metaflow reads (cas_version 1) */
    CODEC_KIND_NEWVERSION,  /* needs a new cas_version */
    CODEC_KIND_UNKNOWN      /* env.tsv does not say */
} codec_kind;

/* The kind of codec `name` (or "name:level") from env.tsv's
 * codec_ceiling_<name> and codec_metaflow_readable_<name>. */
codec_kind report_codec_kind(const rundir *run, const char *spec);

/* "ceiling (stores the blob as is)", "yes (gzip stream, cas_version 1)",
 * "no (needs a new cas_version)" or "unknown". */
const char *report_codec_kind_text(codec_kind k);

/* env.tsv's codec_stream_same_<name>: "levels A..B" (streamed output is
 * byte-identical to one-shot at those levels), "no", "no streaming API", or
 * "unknown". */
const char *report_codec_stream(const rundir *run, const char *spec);

/* env.tsv's codec_library_<name> (the C library: "zlib", "liblz4", ...) and
 * codec_python_<name> (the Python call running it, "-" for none), or
 * "unknown". */
const char *report_codec_library(const rundir *run, const char *spec);
const char *report_codec_python(const rundir *run, const char *spec);

/* env.tsv's hash_cryptographic_<name>: "yes", "no",
 * "broken (collisions known)", or "unknown". */
const char *report_hash_crypto(const rundir *run, const char *hash);

/* 1 when the hash is cryptographic with no known practical collision. */
int report_hash_sound(const rundir *run, const char *hash);

/* Whether a row of infra/python_path.py runs the same library code as the
 * C row (facts of the C run: codec_python_<name>, hash_python_<name> and
 * their notes): 1 same, 0 not, *why naming the difference. */
int report_python_same(const rundir *c_run, const rundir_row *w, const char **why);

#endif
