/*
 * pyserve.h - CPython's cells timed in the rounds of a C run
 * (`casbench run --python[=PY]`).
 *
 * infra/python_path.py --serve runs once beside the run, as a child process
 * driven over a pipe. It loads the run's payload objects (`casbench pickle
 * NAME`, this very binary), verifies and calibrates its cells, then answers
 * one line per request:
 *   child -> run   "ready N"     N cells verified and calibrated
 *   run -> child   "round K S"   time every cell once, in the order shuffled
 *                                by seed S; the child rewrites its matrix.tsv
 *   child -> run   "done K"
 *   run -> child   "quit"        the last rewrite, exit 0
 *   child -> run   "error MSG"   instead of any answer: it failed (MSG is
 *                                its one-line reason) and exits
 * The rounds schedule (rounds.h) sends a round's request at a shuffled
 * position among the C groups of that round, so that C and Python samples
 * of one round are minutes apart at most and drift of the machine cannot
 * pass for a difference between them. The child writes its rows (env.tsv
 * runtime=python, matrix.tsv in casbench's schema, one sample per round)
 * into the directory it is given, RUN/python by default.
 *
 * Whatever the child does (missing module, dies, hangs beyond
 * PYSERVE_TIMEOUT_S), the C run goes on: the first failure is said in one
 * line on stderr and the child is not asked again; what it wrote stays.
 */
#ifndef CASBENCH_PYSERVE_H
#define CASBENCH_PYSERVE_H

#include <stddef.h>
#include <stdint.h>

#define PYSERVE_DEFAULT_PYTHON "/usr/bin/python3"
/* How long the child may take to get ready, or to time one round. */
#define PYSERVE_TIMEOUT_S 900

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

/* "quit", wait for the child (killed after PYSERVE_TIMEOUT_S), free.
 * Accepts NULL. */
void pyserve_stop(pyserve *p);

/* The path of infra/python_path.py: $CASBENCH_PYTHON_PATH_SCRIPT, else
 * ./infra/python_path.py, else infra/ beside this binary's directory's
 * parent (build/casbench -> infra/). 0, or -1 when none exists. */
int pyserve_script(char *out, size_t cap);

#endif
