/*
 * outdir.h - the results directory a run writes into, made so that results
 * are never overwritten (`run` and `run --suite`).
 */
#ifndef CASBENCH_OUTDIR_H
#define CASBENCH_OUTDIR_H

#include <stddef.h>

/* Make every missing parent of `path` (not `path` itself); errors are left
 * to the mkdir of `path` that follows. */
void outdir_mkdir_parents(const char *path);

/* Into dir (cap bytes): `out`, created with its parents or, when it exists,
 * an empty writable directory; or, when out is NULL, a new
 * results/<host>-<UTC time>[-N] (mkdir is the atomic claim, so two runs
 * started in the same second get their own). An existing non-empty `out`
 * ends the program (status 2) with `nonempty_hint` after the problem; any
 * other failure with the util.h status for it. */
void outdir_make(const char *out, const char *nonempty_hint, char *dir, size_t cap);

#endif
