/*
 * atomic.h - replace a file whole: the one atomic-write helper of casbench
 * (matrix.tsv after each round, env.tsv, gbench.json, calibrate.tsv,
 * REPORT.md, pr3090.tsv).
 *
 * Contract. The data goes to PATH.tmp (created 0644, truncated if a killed
 * writer left one), which is then renamed over PATH: a reader, or a process
 * killed at any point, sees the old file or the new one, never a mix; a
 * failure removes PATH.tmp and leaves PATH as it was. Two writers of one PATH
 * must be serialised by the caller (a results directory: its run lock).
 *
 * Durability, chosen by the caller:
 *   CB_DURABLE    fsync PATH.tmp before the rename, then fsync PATH's
 *                 directory after it: once the call returns 0, the new file
 *                 and its name survive a power loss. What a results file
 *                 needs when it is final (the last rewrite of matrix.tsv,
 *                 env.tsv, calibrate.tsv).
 *   CB_VOLATILE   no fsync: atomic against a kill, not against a power
 *                 loss (the old or the new file, or, after a crash of the
 *                 machine, possibly an empty one). For files rewritten often
 *                 while a measurement runs, where an fsync would disturb
 *                 the timing, and for files regenerated from others (reports).
 */
#ifndef CASBENCH_ATOMIC_H
#define CASBENCH_ATOMIC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {   /* bench/gbench_shim.cc writes gbench.json through it */
#endif

enum { CB_VOLATILE = 0, CB_DURABLE = 1 };

/* Replace path with data[0..n) as the contract says. With keep_fd non-NULL,
 * the new file stays open for writing, positioned at its end, and *keep_fd
 * receives the descriptor (the caller closes it): later appends go to the
 * file now under the name. 0, or -1 with "<file>: <strerror>" in err. */
int cb_write_atomic(const char *path, const void *data, size_t n, int durability, int *keep_fd,
                    char *err, size_t errlen);

/* fsync the directory that holds path (its rename or creation made durable).
 * 0 or -1 (errno). */
int cb_sync_parent(const char *path);

#ifdef __cplusplus
}
#endif

#endif
