/*
 * rundir.h - one results directory (matrix.tsv + env.tsv) loaded, checked
 * and typed, for `casbench report` and `casbench compare`.
 *
 * Schema: rundata/schema.h (results/README.md for users). Every column not
 * marked optional there is required (found by header name; extra columns
 * are ignored). Rows with
 * status `ok` must carry their timing numbers; rows with status `error` may
 * leave them empty and are kept (with ok = 0) so that they can be shown.
 */
#ifndef CASBENCH_RUNDIR_H
#define CASBENCH_RUNDIR_H

#include <stddef.h>
#include <limits.h>
#include <stdint.h>

#include "schema.h"
#include "tsv.h"

#define RUNDIR_NO_LEVEL SCHEMA_NO_LEVEL

typedef struct {
    const char *payload, *stage, *variant, *codec, *hash, *alloc, *key, *message;
    int protocol;            /* -1 when empty (allowed for `sweep` rows only) */
    int level;               /* RUNDIR_NO_LEVEL when the field is empty (levels
                                can be negative: lz4 -8, zstd -7) */
    int ok;                  /* status == "ok" */
    uint64_t pickled_bytes, bytes_in, bytes_out;   /* 0 when empty in an error row */
    double ratio;            /* NAN when empty */
    int64_t repetitions, iterations;
    double median_ns, mean_ns, stddev_ns, min_ns, max_ns, cv, mb_per_s;
    double *samples_ns;      /* nsamples values, may be NULL; one per round, in
                                round order (results/README.md) */
    size_t nsamples;
    /* Optional columns of runs made in rounds ("" / NAN when absent). */
    const char *round_group, *flag;
    double spread, drift;
    int64_t peak_bytes;      /* optional column peak_bytes; -1 when absent or empty */
    size_t line;             /* line in matrix.tsv, for messages */
} rundir_row;

typedef struct {
    char *dir;
    char *matrix_path, *env_path;
    tsv_table *matrix, *env;
    rundir_row *rows;
    size_t nrows;
    int view;                /* rundir_view: owns its rows array only */
} rundir;

/* Load DIR/matrix.tsv and DIR/env.tsv. 0, or -1 with a one-line message
 * ("<file>:<line>: <problem>", or "<dir>: ..." for a missing directory) in
 * err; on failure *r holds nothing to free. A matrix with no data row is an
 * error. Duplicate row identities (see rundir_row_id) are an error. */
int rundir_load(const char *dir, rundir *r, char *err, size_t errlen);

/* The checks of rundir_load on a matrix.tsv already parsed (tsv_parse with a
 * header): required columns, typed rows, unique identities. r must be zeroed;
 * it takes ownership of t, also on failure (rundir_free releases both). With
 * allow_empty, a header without rows is accepted (nrows = 0): a run killed
 * before its first row. 0, or -1 with "<file>:<line>: <problem>" in err.
 * report, compare and `run --resume` read matrix.tsv through this one
 * function, so that they accept and refuse the same files. */
int rundir_take_matrix(rundir *r, tsv_table *t, int allow_empty, char *err, size_t errlen);

/* Accepts a zeroed or loaded rundir, or a view. */
void rundir_free(rundir *r);

/* The run as every reader but the prediction sees it (report's sections,
 * compare): r without the C twins of the Python overhead rows (payload
 * SCHEMA_PAYLOAD_OVERHEAD, schema.h; a run of infra/python_path.py, env.tsv
 * runtime python, keeps its own overhead rows), rows in r's order. *view
 * shares r's tables, strings and samples and owns only its rows array
 * (rundir_free frees that); r MUST outlive it. A row's index in view->rows
 * is not its row of view->matrix (its `line` is). 0, or -1 when out of
 * memory. */
int rundir_view(const rundir *r, rundir *view);

/* The env.tsv value for key, or "unknown" when the key is absent or empty. */
const char *rundir_env(const rundir *r, const char *key);

/* The row's identity (schema.h): the key, and its text for messages
 * (schema_key_text: "payload protocol stage variant codec level hash alloc",
 * space-separated, empty parts as "-", "bytes_in=N" for `sweep` rows).
 * Rows are matched (compare, resume, duplicates) by schema_key_id of the key;
 * rundir_row_id is for what a user reads. Truncated to fit n. */
schema_key rundir_row_key(const rundir_row *row);
void rundir_row_key_id(const rundir_row *row, char *buf, size_t n);
void rundir_row_id(const rundir_row *row, char *buf, size_t n);

#endif
