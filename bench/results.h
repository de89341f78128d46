/*
 * results.h - writing matrix.tsv, the table of a run (its columns and a
 * row's identity: rundata/schema.h; for users: results/README.md).
 *
 * Rows are appended whole, with one write(2) each (error rows, as cells fail
 * verification), or the rows of the rounds rewritten whole after each round,
 * so that an interrupted run leaves a file of complete rows; a torn last line (the process was killed
 * during that write) is dropped when the file is opened for resuming.
 */
#ifndef CASBENCH_RESULTS_H
#define CASBENCH_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "gbench.h"
#include "schema.h"

/* One row. Text fields: NULL or "" is an empty column; tabs and newlines in
 * them are written as spaces. */
typedef struct {
    const char *payload;
    int protocol;              /* 0: empty (sweep rows have no pickle) */
    uint64_t pickled_bytes;
    const char *stage, *variant, *codec;
    int level;                 /* written only when codec is set */
    const char *hash, *alloc;
    uint64_t bytes_in;
    int have_out;              /* bytes_out, ratio and key are known (ok rows) */
    uint64_t bytes_out;
    uint64_t stored_bytes;     /* compressed size: ratio = pickled_bytes / stored_bytes */
    const gb_result *timing;   /* NULL: timing columns empty (error rows) */
    const char *key;
    const char *status, *message;
    /* Rounds (bench/rounds.h): the group the cell ran in, and how far its
     * rounds disagree (roundstats.h: spread, drift, flag). */
    const char *group;
    double spread, drift;
    const char *flag;
    /* Minor page faults per iteration, the median over rounds (gbench.h,
     * gb_batch.minflt_per_iter); written only when have_minflt. */
    int have_minflt;
    double minflt_per_iter;
    /* Peak extra memory of one iteration (cells.h cell_peak_bytes);
     * written only when have_peak. */
    int have_peak;
    uint64_t peak_bytes;
    /* The first (cold) iteration of a cpython save cell (cell_cold_ns);
     * 0: the column is empty. */
    double cold_ns;
} results_row;

typedef struct results_file results_file;

/* Open DIR/matrix.tsv: create it with its header (resume == 0; the file must
 * not exist), or (resume != 0) read the rows already there, dropping a torn
 * last line, so that results_done() knows them. The rows are read by
 * report's own reader (rundir_take_matrix), and the header must be the one
 * written here: a file report would refuse is refused, untouched. The
 * caller holds the directory's lock (runlock.h). NULL with a message in err;
 * *status receives the util.h exit status (CB_EXIT_INPUT for a file that is
 * not a matrix.tsv, CB_EXIT_ENV for I/O). */
results_file *results_open(const char *dir, int resume, int *status, char *err, size_t errlen);

/* The identity of a row (schema_key_id: payload protocol stage variant codec
 * level hash alloc, and bytes_in for sweep rows), as results_done takes it. */
void results_identity(const results_row *r, char *out, size_t cap);
/* The row's key (schema.h), e.g. for its gbench.json name:
 * schema_key_bench_name(&k, ...). */
schema_key results_row_key(const results_row *r);

/* Whether a row with this identity is in the file; *median_ns receives its
 * median (NaN for error rows) when it is and median_ns is not NULL. */
int results_done(const results_file *f, const char *identity, double *median_ns);
size_t results_count(const results_file *f);
/* The identity of the i-th row (0 <= i < results_count), its median in
 * *median_ns (NaN for error rows; median_ns may be NULL). */
const char *results_identity_at(const results_file *f, size_t i, double *median_ns);
/* The gbench.json name of the i-th row (schema_key_bench_name), by which a
 * resumed run keeps the entries of its finished rows. */
const char *results_bench_name_at(const results_file *f, size_t i);

/* Append one row and hand it to the kernel. 0, or -1 with a message. */
int results_append(results_file *f, const results_row *r, char *err, size_t errlen);
/* Replace every row written by an earlier results_rewrite with rows[0..n)
 * (rows appended by results_append, and those of a resumed file, stay):
 * the whole file is written to a temporary name and renamed, so that a
 * reader or a kill never sees half of it; fsync'd first when durable. The
 * rows of a run's rounds are rewritten after every round this way. 0, or -1
 * with a message. */
int results_rewrite(results_file *f, const results_row *rows, size_t n, int durable, char *err, size_t errlen);
/* fsync the file. Async-signal-safe: may be called from a handler. */
void results_sync(const results_file *f);
void results_close(results_file *f);   /* fsyncs; accepts NULL */

#endif
