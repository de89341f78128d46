/*
 * runlock.h - one writer per results directory.
 *
 * `casbench run` and `casbench run --resume DIR` hold an exclusive fcntl(2)
 * lock on DIR/run.lock while they write DIR (matrix.tsv, env.tsv,
 * gbench.json): two writers would append over each other's rows. The file
 * holds the writer's pid, for people; the kernel's lock is what counts, so a
 * run killed with SIGKILL leaves a file but no lock, and the next writer
 * takes it. The file is removed when the holder exits.
 */
#ifndef CASBENCH_RUNLOCK_H
#define CASBENCH_RUNLOCK_H

#include <stddef.h>

/* Take the lock on dir/run.lock (created if missing) and keep it until the
 * process exits. Returns 0, or the util.h exit status with a one-line
 * message in err: CB_EXIT_ENV (3) when another process holds the lock
 * ("<dir>: in use by casbench pid N ...") or the file cannot be made.
 * Call it once per process, before anything in dir is written. */
int runlock_acquire(const char *dir, char *err, size_t errlen);

#endif
