/* rundir.c - see rundir.h. */
#include "rundir.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

static char *join(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s%s%s", dir, (*dir && dir[strlen(dir) - 1] == '/') ? "" : "/", file);
    return p;
}

void rundir_free(rundir *r)
{
    size_t i;
    if (r->view) {
        free(r->rows);
        memset(r, 0, sizeof *r);
        return;
    }
    for (i = 0; i < r->nrows; i++) free(r->rows[i].samples_ns);
    free(r->rows);
    tsv_free(r->matrix);
    tsv_free(r->env);
    free(r->dir);
    free(r->matrix_path);
    free(r->env_path);
    memset(r, 0, sizeof *r);
}

int rundir_view(const rundir *r, rundir *view)
{
    *view = *r;
    view->view = 1;
    view->nrows = 0;
    if (!(view->rows = malloc((r->nrows ? r->nrows : 1) * sizeof *view->rows))) {
        memset(view, 0, sizeof *view);
        return -1;
    }
    /* A Python run's own `overhead` rows are its measurements: kept. */
    int python = strcmp(rundir_env(r, "runtime"), "python") == 0;
    for (size_t i = 0; i < r->nrows; i++)
        if (python || strcmp(r->rows[i].payload, SCHEMA_PAYLOAD_OVERHEAD) != 0) view->rows[view->nrows++] = r->rows[i];
    return 0;
}

const char *rundir_env(const rundir *r, const char *key)
{
    size_t i;
    for (i = 0; r->env && i < tsv_nrows(r->env); i++)
        if (strcmp(tsv_str(r->env, i, 0), key) == 0)
            return *tsv_str(r->env, i, 1) ? tsv_str(r->env, i, 1) : "unknown";
    return "unknown";
}

schema_key rundir_row_key(const rundir_row *w)
{
    schema_key k = {w->payload, w->stage, w->variant, w->codec, w->hash, w->alloc,
                    w->protocol >= 0 ? w->protocol : SCHEMA_NO_PROTOCOL, w->level, w->bytes_in};
    return k;
}

void rundir_row_key_id(const rundir_row *w, char *buf, size_t n)
{
    schema_key k = rundir_row_key(w);
    schema_key_id(&k, buf, n);
}

void rundir_row_id(const rundir_row *w, char *buf, size_t n)
{
    schema_key k = rundir_row_key(w);
    schema_key_text(&k, buf, n);
}

/* The columns this reader types, by their schema index (schema.h); C_COUNT
 * of them are required, the optional rounds columns are read apart. */
enum {
    C_PAYLOAD = SCHEMA_PAYLOAD, C_PROTOCOL = SCHEMA_PROTOCOL, C_PICKLED = SCHEMA_PICKLED_BYTES,
    C_STAGE = SCHEMA_STAGE, C_VARIANT = SCHEMA_VARIANT, C_CODEC = SCHEMA_CODEC, C_LEVEL = SCHEMA_LEVEL,
    C_HASH = SCHEMA_HASH, C_ALLOC = SCHEMA_ALLOC, C_BYTES_IN = SCHEMA_BYTES_IN,
    C_BYTES_OUT = SCHEMA_BYTES_OUT, C_RATIO = SCHEMA_RATIO, C_REPS = SCHEMA_REPETITIONS,
    C_ITERS = SCHEMA_ITERATIONS, C_MEDIAN = SCHEMA_MEDIAN_NS, C_MEAN = SCHEMA_MEAN_NS,
    C_STDDEV = SCHEMA_STDDEV_NS, C_MIN = SCHEMA_MIN_NS, C_MAX = SCHEMA_MAX_NS, C_CV = SCHEMA_CV,
    C_MBPS = SCHEMA_MB_PER_S, C_SAMPLES = SCHEMA_SAMPLES_NS, C_KEY = SCHEMA_KEY,
    C_STATUS = SCHEMA_STATUS, C_MESSAGE = SCHEMA_MESSAGE, C_COUNT = SCHEMA_NCOLS
};

static int text_err(const tsv_table *t, size_t row, int col, const char *what,
                    char *err, size_t errlen)
{
    return cb_err(err, errlen, "%s:%zu: column %s: %s", tsv_name(t), tsv_line(t, row),
                  CB_Q(tsv_col_name(t, col)), what);
}

static int load_row(const tsv_table *t, size_t i, const int *c, rundir_row *w,
                    char *err, size_t errlen)
{
    int64_t v;
    int present;
    double *dst[] = {&w->median_ns, &w->mean_ns, &w->stddev_ns, &w->min_ns, &w->max_ns,
                     &w->cv, &w->mb_per_s};
    const int dcol[] = {C_MEDIAN, C_MEAN, C_STDDEV, C_MIN, C_MAX, C_CV, C_MBPS};
    const char *status;
    size_t k;

    w->line = tsv_line(t, i);
    w->payload = tsv_str(t, i, c[C_PAYLOAD]);
    w->stage = tsv_str(t, i, c[C_STAGE]);
    w->variant = tsv_str(t, i, c[C_VARIANT]);
    w->codec = tsv_str(t, i, c[C_CODEC]);
    w->hash = tsv_str(t, i, c[C_HASH]);
    w->alloc = tsv_str(t, i, c[C_ALLOC]);
    w->key = tsv_str(t, i, c[C_KEY]);
    w->message = tsv_str(t, i, c[C_MESSAGE]);
    status = tsv_str(t, i, c[C_STATUS]);
    w->ratio = NAN;
    w->median_ns = w->mean_ns = w->stddev_ns = w->min_ns = w->max_ns = w->cv = w->mb_per_s = NAN;

    if (!*w->payload) return text_err(t, i, c[C_PAYLOAD], "is empty", err, errlen);
    if (!*w->stage) return text_err(t, i, c[C_STAGE], "is empty", err, errlen);
    if (strcmp(status, "ok") == 0) w->ok = 1;
    else if (strcmp(status, "error") == 0) w->ok = 0;
    else return text_err(t, i, c[C_STATUS], "must be 'ok' or 'error'", err, errlen);

    if (tsv_i64_opt(t, i, c[C_PROTOCOL], 0, 5, &v, &present, err, errlen) != 0) return -1;
    w->protocol = present ? (int)v : -1;
    if (!present && strcmp(w->payload, SCHEMA_PAYLOAD_SWEEP) != 0)
        return text_err(t, i, c[C_PROTOCOL], "is empty (required outside sweep rows)", err, errlen);
    if (tsv_i64_opt(t, i, c[C_LEVEL], -1000, 1000, &v, &present, err, errlen) != 0) return -1;
    w->level = present ? (int)v : RUNDIR_NO_LEVEL;

    {
        const int ucol[] = {C_PICKLED, C_BYTES_IN, C_BYTES_OUT};
        uint64_t *udst[] = {&w->pickled_bytes, &w->bytes_in, &w->bytes_out};
        for (k = 0; k < 3; k++) {
            if (tsv_i64_opt(t, i, c[ucol[k]], 0, INT64_MAX, &v, &present, err, errlen) != 0)
                return -1;
            if (!present && w->ok)
                return tsv_i64(t, i, c[ucol[k]], 0, INT64_MAX, &v, err, errlen);
            *udst[k] = present ? (uint64_t)v : 0;
        }
    }
    if (tsv_double_opt(t, i, c[C_RATIO], &w->ratio, &present, err, errlen) != 0) return -1;
    if (tsv_i64_opt(t, i, c[C_REPS], 0, INT32_MAX, &w->repetitions, &present, err, errlen) != 0)
        return -1;
    if (tsv_i64_opt(t, i, c[C_ITERS], 0, INT64_MAX, &w->iterations, &present, err, errlen) != 0)
        return -1;
    for (k = 0; k < sizeof dcol / sizeof dcol[0]; k++) {
        if (w->ok) {
            if (tsv_double(t, i, c[dcol[k]], dst[k], err, errlen) != 0) return -1;
        } else if (tsv_double_opt(t, i, c[dcol[k]], dst[k], &present, err, errlen) != 0) {
            return -1;
        }
    }
    if (w->ok && !(w->median_ns > 0))
        return text_err(t, i, c[C_MEDIAN], "must be greater than 0", err, errlen);
    if (tsv_double_list(t, i, c[C_SAMPLES], &w->samples_ns, &w->nsamples, err, errlen) != 0)
        return -1;
    return 0;
}

/* The rounds columns (results/README.md), optional: runs made before rounds
 * lack them. */
static int load_round_cols(const tsv_table *t, size_t i, rundir_row *w, char *err, size_t errlen)
{
    int g = tsv_col(t, schema_columns[SCHEMA_ROUND_GROUP].name);
    int sp = tsv_col(t, schema_columns[SCHEMA_SPREAD].name);
    int dr = tsv_col(t, schema_columns[SCHEMA_DRIFT].name);
    int fl = tsv_col(t, schema_columns[SCHEMA_FLAG].name);
    int present;
    w->round_group = g >= 0 ? tsv_str(t, i, g) : "";
    w->flag = fl >= 0 ? tsv_str(t, i, fl) : "";
    w->spread = w->drift = NAN;
    if (sp >= 0 && tsv_double_opt(t, i, sp, &w->spread, &present, err, errlen) != 0) return -1;
    if (dr >= 0 && tsv_double_opt(t, i, dr, &w->drift, &present, err, errlen) != 0) return -1;
    /* peak_bytes (bench/memory.h): runs made before it lack it */
    int pk = tsv_col(t, schema_columns[SCHEMA_PEAK_BYTES].name), have_peak = 0;
    if (pk >= 0 && tsv_i64_opt(t, i, pk, 0, INT64_MAX, &w->peak_bytes, &have_peak, err, errlen) != 0) return -1;
    if (!have_peak) w->peak_bytes = -1;
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

int rundir_take_matrix(rundir *r, tsv_table *t, int allow_empty, char *err, size_t errlen)
{
    int c[C_COUNT];
    size_t i, k;
    char **ids = NULL;

    r->matrix = t;
    for (k = 0; k < C_COUNT; k++)
        if (schema_columns[k].optional) c[k] = -1;
        else if ((c[k] = tsv_require_col(t, schema_columns[k].name, err, errlen)) < 0) return -1;
    if (tsv_nrows(t) == 0) {
        if (allow_empty) return 0;
        return cb_err(err, errlen, "%s:1: no measurement rows after the header", tsv_name(t));
    }
    r->rows = calloc(tsv_nrows(t), sizeof *r->rows);
    if (!r->rows) return cb_err(err, errlen, "%s: out of memory", tsv_name(t));
    for (i = 0; i < tsv_nrows(t); i++) {
        r->nrows = i + 1;
        if (load_row(t, i, c, &r->rows[i], err, errlen) != 0 ||
            load_round_cols(t, i, &r->rows[i], err, errlen) != 0)
            return -1;
    }

    /* Identities must be unique: report and compare look rows up by them,
     * and --resume skips the cells they name. */
    ids = calloc(r->nrows, sizeof *ids);
    if (!ids) return cb_err(err, errlen, "%s: out of memory", tsv_name(t));
    for (i = 0; i < r->nrows; i++) {
        char id[4096];
        rundir_row_key_id(&r->rows[i], id, sizeof id);
        /* The row's index rides after a NUL so that sorting compares ids only. */
        size_t n = strlen(id);
        ids[i] = malloc(n + 1 + sizeof(size_t));
        if (!ids[i]) { cb_err(err, errlen, "%s: out of memory", tsv_name(t)); goto fail_ids; }
        memcpy(ids[i], id, n + 1);
        memcpy(ids[i] + n + 1, &i, sizeof i);
    }
    qsort(ids, r->nrows, sizeof *ids, cmp_id);
    for (i = 1; i < r->nrows; i++)
        if (strcmp(ids[i], ids[i - 1]) == 0) {
            size_t a, b;
            char text[1024];
            memcpy(&a, ids[i - 1] + strlen(ids[i - 1]) + 1, sizeof a);
            memcpy(&b, ids[i] + strlen(ids[i]) + 1, sizeof b);
            size_t la = r->rows[a].line, lb = r->rows[b].line;
            rundir_row_id(&r->rows[a], text, sizeof text);
            cb_err(err, errlen, "%s:%zu: duplicate row (same identity as line %zu: %s)",
                   tsv_name(t), la > lb ? la : lb, la > lb ? lb : la, text);
            goto fail_ids;
        }
    for (i = 0; i < r->nrows; i++) free(ids[i]);
    free(ids);
    return 0;
fail_ids:
    for (i = 0; i < r->nrows; i++) free(ids[i]);
    free(ids);
    return -1;
}

int rundir_load(const char *dir, rundir *r, char *err, size_t errlen)
{
    struct stat st;
    tsv_table *t;

    memset(r, 0, sizeof *r);
    if (stat(dir, &st) != 0)
        return cb_err(err, errlen, "%s: %s", CB_QP(dir), strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return cb_err(err, errlen, "%s: not a directory (expected a results run directory)", CB_QP(dir));
    r->dir = strdup(dir);
    r->matrix_path = join(dir, "matrix.tsv");
    r->env_path = join(dir, "env.tsv");
    if (!r->dir || !r->matrix_path || !r->env_path) {
        rundir_free(r);
        return cb_err(err, errlen, "%s: out of memory", CB_QP(dir));
    }
    t = tsv_load(r->matrix_path, 1, err, errlen);
    if (!t || rundir_take_matrix(r, t, 0, err, errlen) != 0) goto fail;
    r->env = tsv_load(r->env_path, 0, err, errlen);
    if (!r->env) goto fail;
    if (tsv_ncols(r->env) != 2) {
        cb_err(err, errlen, "%s:1: %zu fields, expected 2 (key<TAB>value)", CB_QP(r->env_path),
               tsv_ncols(r->env));
        goto fail;
    }
    return 0;
fail:
    rundir_free(r);
    return -1;
}
