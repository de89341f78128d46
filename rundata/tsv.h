/*
 * tsv.h - a strict reader for casbench's tab-separated files (matrix.tsv,
 * env.tsv, pr3090-published.tsv).
 *
 * Format accepted: lines end with '\n' (the last one may lack it); fields are
 * separated by '\t'; no quoting, no comments. Every line has the same number of
 * fields as the first. Rejected, with a message naming the file and line: an
 * empty input, a NUL byte, a '\r' (DOS line ending), an empty line, a ragged
 * line, and (with a header) a duplicate or empty column name.
 *
 * Every message written into err has the form "<name>:<line>: <problem>", so
 * that a CLI can print it as is after "casbench: ". The name is quoted as
 * CB_QP does (bare unless it needs quoting), and so are fields quoted in a
 * message (CB_Q): a message is always one line.
 */
#ifndef CASBENCH_TSV_H
#define CASBENCH_TSV_H

#include <stddef.h>
#include <stdint.h>

typedef struct tsv_table tsv_table;

/* Parse len bytes of buf (which need not be NUL-terminated; it is copied, the
 * caller keeps ownership). name is the file name used in messages; it is
 * copied. With has_header, the first line names the columns and is not a row.
 * Returns a table to free with tsv_free(), or NULL with a message in err.
 * This is the entry point a fuzzer drives: it never exits and never prints. */
tsv_table *tsv_parse(const char *name, const char *buf, size_t len, int has_header,
                     char *err, size_t errlen);

/* The largest file tsv_load reads (and `run --resume` accepts as matrix.tsv). */
#define TSV_MAX_FILE_BYTES ((size_t)256 << 20)

/* Read the file at path (at most TSV_MAX_FILE_BYTES) and parse it as tsv_parse does,
 * naming it by path. NULL with "<path>: <problem>" when it cannot be read. */
tsv_table *tsv_load(const char *path, int has_header, char *err, size_t errlen);

/* Accepts NULL. */
void tsv_free(tsv_table *t);

const char *tsv_name(const tsv_table *t);
size_t tsv_nrows(const tsv_table *t);   /* data rows, header excluded */
size_t tsv_ncols(const tsv_table *t);
/* The 1-based line number of data row `row` in the file (for messages). */
size_t tsv_line(const tsv_table *t, size_t row);

/* The index of the column named `name`, or -1 (always -1 without a header). */
int tsv_col(const tsv_table *t, const char *name);
/* As tsv_col, but a missing column is an error: -1 with
 * "<name>:1: missing column 'x'" in err. */
int tsv_require_col(const tsv_table *t, const char *name, char *err, size_t errlen);
/* The column's header name, or "" without a header. */
const char *tsv_col_name(const tsv_table *t, int col);

/* The field's text (never NULL; "" for an empty field). row < tsv_nrows(),
 * 0 <= col < tsv_ncols(): the caller MUST stay in range. The string lives as
 * long as the table. */
const char *tsv_str(const tsv_table *t, size_t row, int col);

/* Typed getters. They return 0 and store the value, or -1 with
 * "<name>:<line>: column '<col>': '<text>' is not a number" (or "... is
 * empty", "... is not a whole number", "... is out of range") in err.
 * The _opt forms accept an empty field: *present = 0 and *out untouched. */
int tsv_double(const tsv_table *t, size_t row, int col, double *out,
               char *err, size_t errlen);
int tsv_double_opt(const tsv_table *t, size_t row, int col, double *out, int *present,
                   char *err, size_t errlen);
int tsv_i64(const tsv_table *t, size_t row, int col, int64_t min, int64_t max,
            int64_t *out, char *err, size_t errlen);
int tsv_i64_opt(const tsv_table *t, size_t row, int col, int64_t min, int64_t max,
                int64_t *out, int *present, char *err, size_t errlen);

/* A comma-separated list of finite numbers in one field ("1.5,2,3e3").
 * *vals is malloc'd (the caller frees it; NULL when *n == 0 for an empty
 * field). -1 with a message naming the file, line, column and bad item. */
int tsv_double_list(const tsv_table *t, size_t row, int col, double **vals, size_t *n,
                    char *err, size_t errlen);

#endif
