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
    for (i = 0; i < r->nrows; i++) free(r->rows[i].samples_ns);
    free(r->rows);
    tsv_free(r->matrix);
    tsv_free(r->env);
    free(r->dir);
    free(r->matrix_path);
    free(r->env_path);
    memset(r, 0, sizeof *r);
}

const char *rundir_env(const rundir *r, const char *key)
{
    size_t i;
    for (i = 0; r->env && i < tsv_nrows(r->env); i++)
        if (strcmp(tsv_str(r->env, i, 0), key) == 0)
            return *tsv_str(r->env, i, 1) ? tsv_str(r->env, i, 1) : "unknown";
    return "unknown";
}

void rundir_row_id(const rundir_row *w, char *buf, size_t n)
{
    char proto[24] = "-", level[24] = "-";
#define D(s) (*(s) ? (s) : "-")
    if (w->protocol >= 0) snprintf(proto, sizeof proto, "%d", w->protocol);
    if (w->level != RUNDIR_NO_LEVEL) snprintf(level, sizeof level, "%d", w->level);
    if (strcmp(w->payload, "sweep") == 0)
        snprintf(buf, n, "%s %s %s %s %s %s %s %s bytes_in=%llu", w->payload, proto, w->stage,
                 D(w->variant), D(w->codec), level, D(w->hash), D(w->alloc),
                 (unsigned long long)w->bytes_in);
    else
        snprintf(buf, n, "%s %s %s %s %s %s %s %s", w->payload, proto, w->stage,
                 D(w->variant), D(w->codec), level, D(w->hash), D(w->alloc));
#undef D
}

enum {
    C_PAYLOAD, C_PROTOCOL, C_PICKLED, C_STAGE, C_VARIANT, C_CODEC, C_LEVEL, C_HASH, C_ALLOC,
    C_BYTES_IN, C_BYTES_OUT, C_RATIO, C_REPS, C_ITERS, C_MEDIAN, C_MEAN, C_STDDEV, C_MIN,
    C_MAX, C_CV, C_MBPS, C_SAMPLES, C_KEY, C_STATUS, C_MESSAGE, C_COUNT
};
static const char *const col_names[C_COUNT] = {
    "payload", "protocol", "pickled_bytes", "stage", "variant", "codec", "level", "hash",
    "alloc", "bytes_in", "bytes_out", "ratio", "repetitions", "iterations", "median_ns",
    "mean_ns", "stddev_ns", "min_ns", "max_ns", "cv", "mb_per_s", "samples_ns", "key",
    "status", "message",
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
    if (!present && strcmp(w->payload, "sweep") != 0)
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
    int g = tsv_col(t, "round_group"), sp = tsv_col(t, "spread"), dr = tsv_col(t, "drift"), fl = tsv_col(t, "flag");
    int present;
    w->round_group = g >= 0 ? tsv_str(t, i, g) : "";
    w->flag = fl >= 0 ? tsv_str(t, i, fl) : "";
    w->spread = w->drift = NAN;
    if (sp >= 0 && tsv_double_opt(t, i, sp, &w->spread, &present, err, errlen) != 0) return -1;
    if (dr >= 0 && tsv_double_opt(t, i, dr, &w->drift, &present, err, errlen) != 0) return -1;
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
        if ((c[k] = tsv_require_col(t, col_names[k], err, errlen)) < 0) return -1;
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
        char id[512];
        rundir_row_id(&r->rows[i], id, sizeof id);
        /* The line number rides after a NUL so that sorting compares ids only. */
        size_t n = strlen(id);
        ids[i] = malloc(n + 1 + sizeof(size_t));
        if (!ids[i]) { cb_err(err, errlen, "%s: out of memory", tsv_name(t)); goto fail_ids; }
        memcpy(ids[i], id, n + 1);
        memcpy(ids[i] + n + 1, &r->rows[i].line, sizeof(size_t));
    }
    qsort(ids, r->nrows, sizeof *ids, cmp_id);
    for (i = 1; i < r->nrows; i++)
        if (strcmp(ids[i], ids[i - 1]) == 0) {
            size_t la, lb;
            memcpy(&la, ids[i - 1] + strlen(ids[i - 1]) + 1, sizeof la);
            memcpy(&lb, ids[i] + strlen(ids[i]) + 1, sizeof lb);
            cb_err(err, errlen, "%s:%zu: duplicate row (same identity as line %zu: %s)",
                   tsv_name(t), la > lb ? la : lb, la > lb ? lb : la, ids[i]);
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
