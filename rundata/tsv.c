/* tsv.c - see tsv.h. */
#include "tsv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct tsv_table {
    char *name;
    char *text;          /* the copied input, fields NUL-terminated in place */
    char **fields;       /* nrows * ncols pointers into text */
    char **header;       /* ncols names, or NULL */
    size_t *lines;       /* 1-based line of each row */
    size_t nrows, ncols;
};

/* A field quoted into a message: bounded, so one huge field cannot flood it. */
static const char *clip(const char *s, char *buf, size_t n)
{
    size_t len = strlen(s);
    if (len < n) return s;
    memcpy(buf, s, n - 4);
    memcpy(buf + n - 4, "...", 4);
    return buf;
}

static size_t count_fields(const char *line, size_t len)
{
    size_t n = 1, i;
    for (i = 0; i < len; i++)
        if (line[i] == '\t') n++;
    return n;
}

static int cmp_name(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

/* Column names must be non-empty and unique. Duplicates are found by sorting
 * a copy of the names (n log n): a header of 10^5 columns is a file a user
 * can hand to report, and comparing every pair took minutes. */
static int check_header(const tsv_table *t, char *err, size_t errlen)
{
    const char **sorted;
    size_t i;
    for (i = 0; i < t->ncols; i++)
        if (!t->header[i][0])
            return cb_err(err, errlen, "%s:1: column %zu has an empty name", t->name, i + 1);
    sorted = malloc(t->ncols * sizeof *sorted);
    if (!sorted) return cb_err(err, errlen, "%s: out of memory", t->name);
    memcpy(sorted, t->header, t->ncols * sizeof *sorted);
    qsort(sorted, t->ncols, sizeof *sorted, cmp_name);
    for (i = 1; i < t->ncols; i++)
        if (strcmp(sorted[i], sorted[i - 1]) == 0) {
            char c[64];
            cb_err(err, errlen, "%s:1: duplicate column %s", t->name, CB_Q(clip(sorted[i], c, sizeof c)));
            free(sorted);
            return -1;
        }
    free(sorted);
    return 0;
}

tsv_table *tsv_parse(const char *name, const char *buf, size_t len, int has_header,
                     char *err, size_t errlen)
{
    tsv_table *t;
    size_t i, nlines = 0, line_no, cap_rows, row;
    char *p, *end;
    const char *shown = CB_QP(name);   /* the name as messages print it */

    if (len == 0) { cb_err(err, errlen, "%s:1: empty file", shown); return NULL; }
    for (i = 0; i < len; i++) {
        if (buf[i] == '\n') nlines++;
        else if (buf[i] == '\0' || buf[i] == '\r') {
            size_t ln = 1, j;
            for (j = 0; j < i; j++) if (buf[j] == '\n') ln++;
            cb_err(err, errlen, "%s:%zu: %s", shown, ln,
                   buf[i] ? "carriage return in the file (DOS line endings are not accepted)"
                          : "NUL byte in the file");
            return NULL;
        }
    }
    if (buf[len - 1] != '\n') nlines++;

    t = calloc(1, sizeof *t);
    if (!t) { cb_err(err, errlen, "%s: out of memory", shown); return NULL; }
    t->name = strdup(shown);   /* only ever printed, in messages */
    t->text = malloc(len + 1);
    if (!t->name || !t->text) goto oom;
    memcpy(t->text, buf, len);
    t->text[len] = 0;

    /* The first line fixes the field count. */
    end = memchr(t->text, '\n', len);
    t->ncols = count_fields(t->text, end ? (size_t)(end - t->text) : len);
    cap_rows = nlines;
    t->fields = calloc(cap_rows * t->ncols + 1, sizeof *t->fields);
    t->lines = calloc(cap_rows + 1, sizeof *t->lines);
    if (!t->fields || !t->lines) goto oom;

    p = t->text;
    line_no = 0;
    row = 0;
    while (p < t->text + len) {
        char *nl = memchr(p, '\n', (size_t)(t->text + len - p));
        size_t llen = nl ? (size_t)(nl - p) : strlen(p);
        size_t nf, k;
        char **dst;
        line_no++;
        if (nl) *nl = 0;
        if (llen == 0) {
            cb_err(err, errlen, "%s:%zu: empty line", shown, line_no);
            goto fail;
        }
        nf = count_fields(p, llen);
        if (nf != t->ncols) {
            cb_err(err, errlen, "%s:%zu: %zu fields, but %s has %zu", shown, line_no, nf,
                   has_header ? "the header" : "line 1", t->ncols);
            goto fail;
        }
        if (has_header && line_no == 1) {
            t->header = calloc(t->ncols, sizeof *t->header);
            if (!t->header) goto oom;
            dst = t->header;
        } else {
            dst = t->fields + row * t->ncols;
            t->lines[row] = line_no;
            row++;
        }
        for (k = 0; k < nf; k++) {
            char *tab = strchr(p, '\t');
            if (tab) *tab = 0;
            dst[k] = p;
            p = tab ? tab + 1 : p + strlen(p);
        }
        p = nl ? nl + 1 : t->text + len;
    }
    t->nrows = row;
    if (t->header && check_header(t, err, errlen) != 0) goto fail;
    return t;
oom:
    cb_err(err, errlen, "%s: out of memory", shown);
fail:
    tsv_free(t);
    return NULL;
}

tsv_table *tsv_load(const char *path, int has_header, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len;
    char sub[256];
    tsv_table *t;
    if (cb_read_file(path, TSV_MAX_FILE_BYTES, &data, &len, sub, sizeof sub) != 0) {
        cb_err(err, errlen, "%s: %s", CB_QP(path), sub);
        return NULL;
    }
    t = tsv_parse(path, (const char *)data, len, has_header, err, errlen);
    free(data);
    return t;
}

void tsv_free(tsv_table *t)
{
    if (!t) return;
    free(t->name);
    free(t->text);
    free(t->fields);
    free(t->header);
    free(t->lines);
    free(t);
}

const char *tsv_name(const tsv_table *t) { return t->name; }
size_t tsv_nrows(const tsv_table *t) { return t->nrows; }
size_t tsv_ncols(const tsv_table *t) { return t->ncols; }
size_t tsv_line(const tsv_table *t, size_t row) { return t->lines[row]; }

int tsv_col(const tsv_table *t, const char *name)
{
    size_t i;
    if (!t->header) return -1;
    for (i = 0; i < t->ncols; i++)
        if (strcmp(t->header[i], name) == 0) return (int)i;
    return -1;
}

int tsv_require_col(const tsv_table *t, const char *name, char *err, size_t errlen)
{
    int c = tsv_col(t, name);
    if (c < 0) cb_err(err, errlen, "%s:1: missing column %s", t->name, CB_Q(name));
    return c;
}

const char *tsv_col_name(const tsv_table *t, int col)
{
    return t->header ? t->header[col] : "";
}

const char *tsv_str(const tsv_table *t, size_t row, int col)
{
    return t->fields[row * t->ncols + (size_t)col];
}

static int field_err(const tsv_table *t, size_t row, int col, const char *what,
                     char *err, size_t errlen)
{
    char c[64];
    if (t->header)
        return cb_err(err, errlen, "%s:%zu: column %s: %s %s", t->name, t->lines[row],
                      CB_Q(t->header[col]), CB_Q(clip(tsv_str(t, row, col), c, sizeof c)), what);
    return cb_err(err, errlen, "%s:%zu: field %d: %s %s", t->name, t->lines[row], col + 1,
                  CB_Q(clip(tsv_str(t, row, col), c, sizeof c)), what);
}

static int parse_double(const char *s, double *out)
{
    char sub[64];
    /* strtod takes leading blanks, "nan" and "inf"; a results file has none. */
    if (!*s || *s == ' ' || *s == '\t') return -1;
    if (cb_parse_double(s, -INFINITY, INFINITY, out, sub, sizeof sub) != 0) return -1;
    return 0;
}

int tsv_double_opt(const tsv_table *t, size_t row, int col, double *out, int *present,
                   char *err, size_t errlen)
{
    const char *s = tsv_str(t, row, col);
    *present = 0;
    if (!*s) return 0;
    if (parse_double(s, out) != 0)
        return field_err(t, row, col, "is not a number", err, errlen);
    *present = 1;
    return 0;
}

int tsv_double(const tsv_table *t, size_t row, int col, double *out,
               char *err, size_t errlen)
{
    int present;
    if (tsv_double_opt(t, row, col, out, &present, err, errlen) != 0) return -1;
    if (!present) return field_err(t, row, col, "is empty (a number is required)", err, errlen);
    return 0;
}

int tsv_i64_opt(const tsv_table *t, size_t row, int col, int64_t min, int64_t max,
                int64_t *out, int *present, char *err, size_t errlen)
{
    const char *s = tsv_str(t, row, col);
    char sub[96];
    *present = 0;
    if (!*s) return 0;
    if (cb_parse_i64(s, min, max, out, sub, sizeof sub) != 0) {
        size_t i;
        int digits = 1;
        for (i = (s[0] == '-'); s[i]; i++)
            if (s[i] < '0' || s[i] > '9') digits = 0;
        if (!digits) return field_err(t, row, col, "is not a whole number", err, errlen);
        char what[128];
        snprintf(what, sizeof what, "is out of range (%s)", sub);
        return field_err(t, row, col, what, err, errlen);
    }
    *present = 1;
    return 0;
}

int tsv_i64(const tsv_table *t, size_t row, int col, int64_t min, int64_t max,
            int64_t *out, char *err, size_t errlen)
{
    int present;
    if (tsv_i64_opt(t, row, col, min, max, out, &present, err, errlen) != 0) return -1;
    if (!present) return field_err(t, row, col, "is empty (a whole number is required)", err, errlen);
    return 0;
}

int tsv_double_list(const tsv_table *t, size_t row, int col, double **vals, size_t *n,
                    char *err, size_t errlen)
{
    const char *s = tsv_str(t, row, col);
    size_t cap = 1, k = 0, i;
    double *v;
    char item[64] = "", c[64];
    *vals = NULL;
    *n = 0;
    if (!*s) return 0;
    for (i = 0; s[i]; i++) if (s[i] == ',') cap++;
    v = malloc(cap * sizeof *v);
    if (!v) return cb_err(err, errlen, "%s: out of memory", t->name);
    while (1) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (len >= sizeof item || len == 0 ||
            (memcpy(item, s, len), item[len] = 0, parse_double(item, &v[k]) != 0)) {
            if (len == 0) item[0] = 0;   /* not the previous item's text */
            if (len >= sizeof item) { memcpy(item, s, sizeof item - 1); item[sizeof item - 1] = 0; }
            free(v);
            return cb_err(err, errlen, "%s:%zu: column %s: item %zu %s is not a number",
                          t->name, t->lines[row], CB_Q(tsv_col_name(t, col)), k + 1,
                          CB_Q(clip(item, c, sizeof c)));
        }
        k++;
        if (!comma) break;
        s = comma + 1;
    }
    *vals = v;
    *n = k;
    return 0;
}
