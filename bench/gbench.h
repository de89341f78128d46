/*
 * gbench.h - a C interface to Google Benchmark, the timing engine of casbench.
 *
 * The harness describes *what* to run (a function of one iteration, its
 * context, the bytes it processes); Google Benchmark decides how many
 * iterations a repetition needs, runs the repetitions and computes mean,
 * median, standard deviation and coefficient of variation. This shim only
 * registers one measurement at a time, runs it, and hands the numbers back.
 *
 * Every run's raw JSON (Google Benchmark's own JSONReporter output) is kept in
 * memory and written as one document by gb_json_write(), so that a results
 * directory holds a single gbench.json that libbenchmark-tools' compare.py
 * reads, however many cells were run one at a time.
 *
 * Rules a caller MUST follow:
 *  - gb_init() once, before any other call; gb_shutdown() at the end.
 *  - Measurements run one at a time, on the calling thread.
 *  - Setup (buffers, page touching, codec contexts) happens before gb_run();
 *    the iteration function does only the work being measured.
 */
#ifndef CASBENCH_GBENCH_H
#define CASBENCH_GBENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int repetitions;     /* --benchmark_repetitions; >= 2 so that aggregates exist */
    double min_time;     /* --benchmark_min_time, seconds per repetition, > 0 */
} gb_options;

/* Initialise Google Benchmark with its own flags built from opt. Returns 0,
 * or -1 with a message in err (a value Google Benchmark would reject). */
int gb_init(const gb_options *opt, char *err, size_t errlen);
void gb_shutdown(void);

/* One iteration of the measured work. Returns 0, or non-zero when the
 * iteration failed (the run is then reported as an error). */
typedef int (*gb_iter_fn)(void *ctx);
/* Work done between iterations with the timer paused (e.g. removing the file
 * an iteration wrote). Pausing costs about a microsecond of timer reads per
 * iteration: use it only for cells whose iterations take far longer. */
typedef void (*gb_untimed_fn)(void *ctx);

typedef struct {
    const char *name;          /* unique within the run: the name in gbench.json */
    gb_iter_fn run;
    gb_untimed_fn between;     /* NULL: none */
    gb_untimed_fn prepare;     /* before each run of iterations, untimed (e.g. waking a
                                * worker thread that slept between batches); NULL: none */
    void *ctx;
    uint64_t bytes_per_iter;   /* becomes Google Benchmark's bytes_per_second counter */
} gb_measurement;

#define GB_MAX_REPETITIONS 1000

typedef struct {
    int repetitions;           /* per-repetition runs reported */
    int64_t iterations;        /* iterations in each repetition (Google Benchmark
                                * reuses the first repetition's count) */
    double samples_ns[GB_MAX_REPETITIONS];  /* wall time per iteration, each repetition */
    double mean_ns, median_ns, stddev_ns;   /* Google Benchmark's aggregates */
    double cv;                 /* Google Benchmark's "cv" aggregate: stddev / mean */
    double min_ns, max_ns;     /* over samples_ns */
    double bytes_per_second;   /* Google Benchmark's counter, median aggregate */
    /* CPU time of the measuring thread per iteration (Google Benchmark's
     * cpu_time): the fastest repetition and the median aggregate. For
     * comparing with tools that time themselves in CPU time (xxhsum,
     * openssl speed); results use the wall-time figures above. */
    double cpu_min_ns, cpu_median_ns;
} gb_result;

/* Run one measurement. Returns 0 with *out filled; 1 when a stop was
 * requested (gb_request_stop) before the measurement finished (nothing is
 * kept: the measurement is not in gbench.json); -1 with a message in err
 * when Google Benchmark reported an error (e.g. an iteration failed). */
int gb_run(const gb_measurement *m, gb_result *out, char *err, size_t errlen);

/* One batch of a round (bench/rounds.h): the measurement run once, as one
 * Google Benchmark repetition, with no aggregates.
 *   iterations > 0: exactly that many iterations (Google Benchmark's
 *     Iterations(n)); min_time and warmup_s are ignored.
 *   iterations == 0: Google Benchmark chooses the count so that the batch
 *     lasts at least min_time seconds (MinTime), after warmup_s seconds of
 *     untimed iterations (MinWarmUpTime; 0: none). This is the warm-up and
 *     calibration batch run before a cell's first round.
 * keep != 0 appends the batch's entry to gbench.json (a round); 0 does not
 * (warm-up, the canary); a kept entry waits for gb_json_round_end. Returns 0 with *out filled, 1 when a stop was
 * requested, -1 with a message in err when an iteration failed. */
typedef struct {
    int64_t iterations;        /* iterations the batch ran */
    double real_ns, cpu_ns;    /* wall and CPU time per iteration */
    /* Minor page faults per iteration: the process's ru_minflt (getrusage)
     * over the batch's timed loop, untimed steps between iterations
     * included, divided by its iterations. Python's bytes objects fault in
     * new pages or not depending on the allocator (results/README.md,
     * "minflt_per_iter"): this is how a cell's allocation is checked. */
    double minflt_per_iter;
} gb_batch;

int gb_run_batch(const gb_measurement *m, int64_t iterations, double min_time, double warmup_s, int keep,
                 gb_batch *out, char *err, size_t errlen);

/* The kept batches of the current round: how many so far; and keep, of the
 * batches from index `from` on, only the one at index `keep` (the fastest of
 * a round's sub-batches of one cell, rounds.h). */
size_t gb_json_round_batches(void);
void gb_json_round_keep_one(size_t from, size_t keep);

/* The end of a round: its kept batches go into gbench.json (commit != 0), or
 * are dropped (an interrupted round, whose samples are dropped too). */
void gb_json_round_end(int commit);

/* Ask the running measurement to stop at its next run boundary. Safe to call
 * from a signal handler. */
void gb_request_stop(void);

/* gbench.json: load the document of an earlier, interrupted run (keeping its
 * context, and the entries of the measurements for which keep(name, arg)
 * returns non-zero: `name` is the gb_measurement name; later runs append to
 * them), and write everything
 * so far as one JSON document with cb_write_atomic (common/atomic.h).
 * gb_json_load returns 0, or -1 with a message (unreadable, or not a file
 * this shim wrote). gb_json_write is CB_DURABLE when durable is non-zero
 * (at the end of a run), else CB_VOLATILE (a rewrite after every cell). */
int gb_json_load(const char *path, int (*keep)(const char *name, void *arg), void *arg,
                 char *err, size_t errlen);
int gb_json_write(const char *path, int durable, char *err, size_t errlen);

/* Add a key/value to the "context" object of gbench.json. */
void gb_add_context(const char *key, const char *value);

/* "enabled", "disabled" or "unknown": Google Benchmark's view of CPU
 * frequency scaling (it warns that real-time results may be noisy when
 * enabled). */
const char *gb_cpu_scaling(void);
/* The compiler that built the shim ("g++ 12.2.0"). */
const char *gb_cxx_compiler(void);

#ifdef __cplusplus
}
#endif
#endif
