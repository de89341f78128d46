/*
 * rounds.h - the run's schedule: every cell timed once per round, in an order
 * shuffled per round, rounds spread over the whole run.
 *
 * Why rounds: a machine (a cloud VM above all) runs slower for seconds at a
 * time. Timing each cell once, as back-to-back repetitions, lets a slow phase
 * land on whichever cells ran then, and makes those repetitions look far more
 * alike than two runs are. Rounds spread every cell over the whole run: a
 * cell's figure is the median over rounds, and a slow phase costs each cell
 * one sample or two.
 *
 * Groups: cells whose ratio the report states (every hash of one payload,
 * the save rows of one payload and allocation mode with the key hash, which
 * holds every codec's save, the save variants and the codec stages) are
 * timed back-to-back inside a round, so each round gives a paired ratio.
 * Groups run in a shuffled order, and cells in a shuffled order within their
 * group, each round (splitmix64 from the run's seed and the round number).
 *
 * Timing stays with Google Benchmark (gbench.h): before its first round, a
 * cell runs one warm-up and calibration batch (MinWarmUpTime, then MinTime =
 * the batch length: Google Benchmark picks the iterations), and a second
 * calibration batch (the larger count is kept); every round then times that
 * many iterations (Iterations(n)) as three sub-batches (of a third each when
 * there are three or more; whole when shorter, up to 20 ms), the fastest
 * being the round's sample (on a shared machine, a batch cut by another
 * process's time slice). The harness only decides the order and which
 * sub-batch counts.
 *
 * Drift: a fixed canary cell is timed at every round boundary and, inside a
 * round, between groups whenever canary_every_s has passed; each canary
 * sample is a row of rounds.tsv with the steal and iowait share of the CPU
 * time since the previous row (/proc/stat) and the 1-minute load average.
 */
#ifndef CASBENCH_ROUNDS_H
#define CASBENCH_ROUNDS_H

#include <stddef.h>
#include <stdint.h>

#include "gbench.h"

typedef struct {
    int nrounds;             /* >= 1 */
    double batch_s;          /* a round's batch of one cell lasts at least this (one iteration at least) */
    double warmup_s;         /* Google Benchmark's warm-up before the calibration batch */
    double canary_every_s;   /* canary samples inside a round at least this far apart */
    uint64_t seed;           /* the run's seed: the shuffles */
    const char *rounds_tsv;  /* appended row by row (created with its header) */
    gb_measurement canary;   /* a verified cell's measurement; its name stays valid */
    /* Work timed elsewhere in the same rounds (bench/pyserve.h): called once
     * per round, between two groups at a position shuffled per round, with
     * the round and a seed for its own order. NULL: none. A failure there
     * is its own business: the rounds go on. */
    void (*aside)(void *arg, int round, uint64_t seed);
    void *aside_arg;
    /* Called right after cell `cell` (rounds_add's index) has taken its
     * sample of round `round`, before the next cell runs: the place for work
     * whose sample must sit beside this one (bench/pyserve.h's pairs). Also
     * called, at its place in the order, for a cell that failed in this
     * round or an earlier one (and is no longer timed): the work beside it
     * keeps its own samples. NULL: none. Its failure is its own business
     * too. */
    void (*after_cell)(void *arg, int round, size_t cell);
    void *after_cell_arg;
} rounds_opts;

typedef struct rounds rounds;

/* NULL with a message in err when rounds_tsv cannot be created. */
rounds *rounds_create(const rounds_opts *o, char *err, size_t errlen);
void rounds_free(rounds *r);   /* accepts NULL */

/* Add a verified cell: its warm-up and calibration batch run now. `m` (and
 * the name and context it points to) MUST stay valid until rounds_free.
 * `group` is copied. Returns the cell's index (>= 0) with the calibration
 * batch's time per iteration in *estimate_ns; -1 when an iteration failed
 * (message in err; the cell is not added); -2 when a stop was requested. */
int rounds_add(rounds *r, const gb_measurement *m, const char *group, double *estimate_ns, char *err,
               size_t errlen);

/* Run the rounds. after_round(arg, done) is called after each complete
 * round (done = rounds complete so far), the place to write results; when it
 * returns non-zero the rounds stop there. Returns the number of complete
 * rounds: less than nrounds when a stop was requested (the interrupted
 * round's samples are dropped) or after_round stopped them. */
int rounds_run(rounds *r, int (*after_round)(void *arg, int done), void *arg);

/* Cell i's samples, wall time per iteration, one per complete round, in
 * round order; *iterations: the iterations of one (sub-)batch. NULL (and *n = 0) when the cell
 * failed during the rounds: rounds_failure says why. */
const double *rounds_samples(const rounds *r, size_t i, size_t *n, int64_t *iterations);
/* Minor page faults per iteration in each round (the sub-batch whose time
 * is the round's sample), as many as rounds_samples gives; NULL on failure. */
const double *rounds_minflt(const rounds *r, size_t i);
const char *rounds_failure(const rounds *r, size_t i);   /* NULL: none */
const char *rounds_group(const rounds *r, size_t i);

#endif
