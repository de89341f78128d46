/*
 * pyserve.h - CPython's cells timed in the rounds of a C run
 * (`casbench run --python[=PY]`).
 *
 * infra/python_path.py --serve runs once beside the run, as a child process
 * driven over a pipe. It loads the run's payload objects (`casbench pickle
 * NAME`, this very binary), forks one worker process holding every cell (or,
 * with PYTHON_PATH_PROCESSES=per-codec, one per codec:level and one for the
 * cells without a codec: a CPython process's page faults depend on what its
 * other calls freed; see results/README.md), which verifies and calibrates
 * its cells and times them when the child routes a request to it; then it
 * answers one line per request:
 *   child -> run   "ready N"     N cells verified and calibrated, then N lines
 *                  "cell I PAYLOAD PROTOCOL STAGE VARIANT CODEC LEVEL HASH ALLOC EST"
 *                                (tab-separated, I = 0..N-1; empty fields
 *                                stay empty), cell I's identity and its
 *                                calibration's time per call in ns
 *   run -> child   "pairs I J.." the cells the run will ask for one by one
 *   child -> run   "paired M"    M = how many were named
 *   run -> child   "pair K I"    time cell I once, as its round-K sample
 *   child -> run   "done K I"
 *   run -> child   "round K S"   time every cell not named in "pairs" once,
 *                                in the order shuffled by seed S
 *   child -> run   "done K"
 *   run -> child   "quit N"      the last rewrite, of the first N rounds
 *                                (those the C run completed), exit 0
 *   child -> run   "error MSG"   instead of any answer: it failed (MSG is
 *                                its one-line reason) and exits
 * A Python cell's partner is the C cell its prediction starts from
 * (report_predict.c's c_row: same payload, protocol, stage, variant, codec,
 * level and hash, alloc cpython, else fresh, else reuse); the run asks for
 * it ("pair") right after that C cell's sample of the round (rounds.h's
 * after_cell), so that the two samples are milliseconds apart and a state
 * of the machine that lasts seconds lands on both. A prediction is the C
 * cell plus the per-call cost rows (payload `overhead`), whose partner is
 * their C twin (plan_overhead's cells: the same call on the same tiny
 * input); the Python cells and rows left unpaired are timed once per round
 * in one block ("round"), sent at a shuffled position among the C groups of
 * the round (rounds.h's aside). So a Python cell goes beside the larger
 * part of its prediction: beside its C cell (a row beside its twin) when
 * that cell's calibration estimate is at least PYSERVE_PAIR_MIN_SHARE of
 * the Python cell's, else in the block with the per-call costs (config's
 * rows: most of a 233-byte save is interpreter). The child rewrites its rows (env.tsv
 * runtime=python, matrix.tsv in casbench's schema, one sample per round)
 * in the directory it is given, RUN/python by default, when a round's first
 * request arrives (the rounds before it are then complete) and at quit.
 *
 * Whatever the child or one of its workers does (missing module, dies,
 * hangs beyond PYSERVE_TIMEOUT_S), the C run goes on: the first failure is said in one
 * line on stderr and the child is not asked again; what it wrote stays.
 */
#ifndef CASBENCH_PYSERVE_H
#define CASBENCH_PYSERVE_H

#include <stddef.h>
#include <stdint.h>

#define PYSERVE_DEFAULT_PYTHON "/usr/bin/python3"
/* More cells than a child says it has is a broken child (a default run
 * has some 200). */
#define PYSERVE_CELLS_MAX 100000
/* How long the child may take to get ready, or to time one round. */
#define PYSERVE_TIMEOUT_S 900
/* A Python cell is timed beside its C cell when C / Python (calibration
 * estimates) is at least this (see above). */
#define PYSERVE_PAIR_MIN_SHARE 0.5

typedef struct pyserve pyserve;

typedef struct {
    const char *python;           /* the interpreter */
    const char *out;              /* its run directory (created by the child) */
    char *const *payloads;        /* payload names, as `casbench pickle` takes them */
    size_t npayloads;
    const char *codecs;           /* comma-separated NAME:LEVEL; those Python lacks are skipped */
    const char *hashes;           /* comma-separated, the key hash first */
    int protocol;
    double batch_s;               /* a cell's batch in one round lasts at least this */
} pyserve_opts;

/* Start the child and wait for "ready". NULL when it could not start or get
 * ready: the one-line reason was printed (cb_warn) and the run goes on. */
pyserve *pyserve_start(const pyserve_opts *o);

/* Ask for round `round` and wait for its "done". 0, or -1 when the child is
 * gone (said once; later calls return -1 at once). Accepts NULL (-1). */
int pyserve_round(pyserve *p, int round, uint64_t seed);

/* The child's cells (identity fields), as listed after "ready"; valid
 * until pyserve_stop. Accepts NULL (0 cells). */
typedef struct {
    const char *payload, *stage, *variant, *codec, *hash, *alloc;
    int protocol, level;           /* level: meaningful with a codec only */
    double est_ns;                 /* its calibration's time per call */
    char *text;                    /* owns the strings */
} pyserve_cell;
size_t pyserve_ncells(const pyserve *p);
const pyserve_cell *pyserve_cell_at(const pyserve *p, size_t i);

/* Name the cells the run will ask for one by one (pyserve_pair); the block
 * of pyserve_round leaves them out. Sent once, before the first round.
 * 0, or -1 when the child is gone. */
int pyserve_pairs(pyserve *p, const int *cells, size_t n);

/* Ask for cell `cell`'s sample of round `round` and wait for its "done".
 * 0, or -1 when the child is gone (as pyserve_round). */
int pyserve_pair(pyserve *p, int round, int cell);

/* "quit N" (N = rounds_complete: the samples of an interrupted round go,
 * as the C cells' do; "quit", keeping them all, when it is negative: not
 * known), wait for the child (killed after PYSERVE_TIMEOUT_S), free.
 * Accepts NULL. */
void pyserve_stop(pyserve *p, int rounds_complete);

/* The path of infra/python_path.py: $CASBENCH_PYTHON_PATH_SCRIPT, else
 * ./infra/python_path.py, else infra/ beside this binary's directory's
 * parent (build/casbench -> infra/). 0, or -1 when none exists. */
int pyserve_script(char *out, size_t cap);

#endif
