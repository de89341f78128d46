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
 * started in the same second get their own). 0, or the util.h status with
 * a one-line message in err: CB_EXIT_INPUT when `out` is not a directory or
 * not empty (then `nonempty_hint` follows the problem), CB_EXIT_ENV for a
 * failed access or mkdir. */
int outdir_make(const char *out, const char *nonempty_hint, char *dir, size_t cap, char *err, size_t errlen);

#endif
