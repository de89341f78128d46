/*
 * run_rounds.h - `casbench run`'s cells kept alive and timed in rounds
 * (rounds.h), and their rows written after every round.
 *
 * The executor (executor.h) plans and verifies cells; each verified cell is
 * handed here with the row it will become. After the last cell, run_rounds_run times them in
 * rounds and rewrites their rows of matrix.tsv (results_rewrite) and
 * gbench.json after each round, so that an interrupted run keeps every
 * complete round: a row's `repetitions` is its number of rounds.
 */
#ifndef CASBENCH_RUN_ROUNDS_H
#define CASBENCH_RUN_ROUNDS_H

#include <stddef.h>
#include <stdint.h>

#include "cells.h"
#include "results.h"

typedef struct run_rounds run_rounds;

typedef struct {
    const char *dir;            /* the results directory: rounds.tsv goes there */
    int nrounds;
    double batch_s, warmup_s;
    uint64_t seed;
    int tty;                    /* a progress line on stderr */
    void (*aside)(void *arg, int round, uint64_t seed);   /* rounds_opts' aside; NULL: none */
    void *aside_arg;
    /* Called with aside_arg right after a held cell that has a partner
     * (run_rounds_set_partner) took its sample of a round; NULL: none. */
    void (*beside)(void *arg, int round, int partner);
} run_rounds_opts;

/* NULL with a message when the canary cannot be built or rounds.tsv written. */
run_rounds *run_rounds_create(const run_rounds_opts *o, char *err, size_t errlen);
void run_rounds_free(run_rounds *rr);   /* destroys every cell handed over */

/* The group a cell is timed in (rounds.h): cells whose ratios the report
 * states share one. key_hash: the run's key hash (sha1 by default). */
void run_rounds_group(const cell_spec *spec, const char *payload, int protocol, const hash_desc *key_hash,
                      uint64_t bytes_in, char *out, size_t cap);

/* Hand over a verified cell (ownership passes, whatever the result) with
 * its row (strings copied; timing, key and status are filled later) and its
 * gbench.json name. Its warm-up and calibration batch run now. 0 with the
 * time per iteration in *estimate_ns; -1 when an iteration failed (message
 * in err; the caller writes an error row); -2 when a stop was requested. */
int run_rounds_add(run_rounds *rr, cell *c, const results_row *row, const char *bench_name, const char *group,
                   double *estimate_ns, char *err, size_t errlen);

/* The calibration estimate of the cell with this identity (results_identity),
 * NAN when no such cell was added. */
double run_rounds_estimate(const run_rounds *rr, const char *identity);

/* The held cell (verified and in the rounds) with these identity fields
 * (codec "" for none; level compared only with a codec), or -1. */
long run_rounds_find(const run_rounds *rr, const char *payload, int protocol, const char *stage, const char *variant,
                     const char *codec, int level, const char *hash, const char *alloc);
/* Held cell `held` (run_rounds_find) gets `partner`, passed to beside after
 * each of its samples; -1: none (the default). */
void run_rounds_set_partner(run_rounds *rr, long held, int partner);
int run_rounds_partner(const run_rounds *rr, long held);
/* Its calibration batch's time per iteration (as run_rounds_add gave). */
double run_rounds_estimate_of(const run_rounds *rr, long held);

/* Time the rounds, rewriting matrix.tsv and gbench.json after each. Returns
 * the number of complete rounds; *errors receives the cells that failed
 * during the rounds (error rows); -1 when a rewrite failed (the rounds stop
 * there; the message in err). */
int run_rounds_run(run_rounds *rr, results_file *rf, const char *gbench_path, size_t *errors, char *err,
                   size_t errlen);

#endif
