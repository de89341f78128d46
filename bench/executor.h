/*
 * executor.h - runs `casbench run`'s plan: for each payload and protocol the
 * stage cells of plan_stages, then, with the payload's fastest
 * gzip-compatible codec measured from those, the cells of plan_paths. Each
 * cell is built, verified once (a cell that fails is an `error` row, never
 * timed), warmed up and calibrated (run_rounds_add); then all are timed in
 * rounds (run_rounds_run), matrix.tsv and gbench.json rewritten after each.
 * On --resume the cells whose rows are done are skipped and the gbench.json
 * entries of those rows kept.
 */
#ifndef CASBENCH_EXECUTOR_H
#define CASBENCH_EXECUTOR_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "results.h"

enum { EXEC_SWEEP_NONE, EXEC_SWEEP_ADD, EXEC_SWEEP_ONLY };

typedef struct {
    const plan_request *plan;
    char *const *payloads;         /* payload specs (payload.h), checked already */
    size_t npayloads;
    const int *protocols;          /* a file payload runs under the first only */
    size_t nprotocols;
    int sweep;                     /* EXEC_SWEEP_*: every hash on 64 B .. 64 MiB of random bytes */
    uint64_t seed;
    const char *dir;               /* the results directory (rounds.tsv, gbench.json) */
    int resume;                    /* rf holds a run's rows: keep its gbench.json entries */
    const char *store_dir;         /* save+store's directory: it exists */
    int store_fsync;
    int rounds;
    double min_time;               /* seconds per batch */
    int tty;                       /* a progress line on stderr */
    volatile sig_atomic_t *stop;   /* non-zero (a signal handler's): stop at the next cell */
    /* Non-NULL: CPython's cells timed in the same rounds by this interpreter
     * running infra/python_path.py --serve (pyserve.h), its run directory
     * python_dir. */
    const char *python, *python_dir;
} exec_opts;

/* Run the plan into rf. 0 when every round ran, 1 when stopped (*o->stop or
 * a stop requested from Google Benchmark); *errors receives the number of
 * error rows. -1 on bad input (a payload that cannot be pickled so) or an
 * I/O error: *status is the util.h exit status, err the one-line message. */
int exec_run(const exec_opts *o, results_file *rf, size_t *errors, int *status, char *err, size_t errlen);

#endif
