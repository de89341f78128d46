/* results.c - see results.h. */
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "rundir.h"
#include "schema.h"
#include "strbuf.h"
#include "tsv.h"
#include "util.h"

/* A row of the file: its identity, its Google Benchmark name, its median. */
typedef struct { char *id, *bench; double median; } done_row;

static void done_row_free(done_row *d)
{
    free(d->id);
    free(d->bench);
}

struct results_file {
    int fd;
    char *path;
    char *fixed;               /* header and appended rows: what results_rewrite keeps */
    size_t nfixed;
    done_row *done;
    size_t ndone, capdone;
};

/* ---- identity ---------------------------------------------------------- */

static schema_key row_key(const results_row *r)
{
    schema_key k = {r->payload, r->stage, r->variant, r->codec, r->hash, r->alloc,
                    r->protocol ? r->protocol : SCHEMA_NO_PROTOCOL,
                    r->codec && *r->codec ? r->level : SCHEMA_NO_LEVEL, r->bytes_in};
    return k;
}

void results_identity(const results_row *r, char *out, size_t cap)
{
    schema_key k = row_key(r);
    schema_key_id(&k, out, cap);
}

schema_key results_row_key(const results_row *r) { return row_key(r); }

/* Record (or, when its identity is known, update) a row of the file. */
static int add_done(results_file *f, const schema_key *k, double median)
{
    char id[4096], bench[1024];
    schema_key_id(k, id, sizeof id);
    for (size_t i = 0; i < f->ndone; i++)
        if (strcmp(f->done[i].id, id) == 0) {
            f->done[i].median = median;
            return 0;
        }
    f->done = cb_xgrow(f->done, &f->capdone, f->ndone, sizeof *f->done);
    schema_key_bench_name(k, bench, sizeof bench);
    done_row *d = &f->done[f->ndone];
    d->id = strdup(id);
    d->bench = strdup(bench);
    d->median = median;
    if (!d->id || !d->bench) {
        done_row_free(d);
        return -1;
    }
    f->ndone++;
    return 0;
}

int results_done(const results_file *f, const char *identity, double *median_ns)
{
    size_t i;
    for (i = 0; i < f->ndone; i++)
        if (strcmp(f->done[i].id, identity) == 0) {
            if (median_ns) *median_ns = f->done[i].median;
            return 1;
        }
    return 0;
}

size_t results_count(const results_file *f) { return f->ndone; }

const char *results_identity_at(const results_file *f, size_t i, double *median_ns)
{
    if (median_ns) *median_ns = f->done[i].median;
    return f->done[i].id;
}

const char *results_bench_name_at(const results_file *f, size_t i)
{
    return f->done[i].bench;
}

/* ---- opening ----------------------------------------------------------- */

static void header(cb_buf *b)
{
    for (int i = 0; i < SCHEMA_NCOLS; i++) {
        if (i) cb_buf_add(b, "\t", 1);
        cb_buf_puts(b, schema_columns[i].name);
    }
    cb_buf_add(b, "\n", 1);
}

static int fail_status(int *status, int s) { if (status) *status = s; return -1; }

/* The done set of a resumed run: each row's identity, from the row as
 * report reads it. */
static int add_loaded_rows(results_file *f, const rundir *rd)
{
    for (size_t i = 0; i < rd->nrows; i++) {
        schema_key k = rundir_row_key(&rd->rows[i]);
        if (add_done(f, &k, rd->rows[i].ok ? rd->rows[i].median_ns : NAN) != 0) return -1;
    }
    return 0;
}

/* Read the rows of an existing file; drop a torn last line. What is kept
 * must pass report's own reader (rundir_take_matrix): a file that report
 * would refuse is never extended. */
static int load_existing(results_file *f, const char *path, int *status, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len, i;
    char sub[256];
    cb_buf hb = {0};
    rundir rd = {0};
    tsv_table *t;
    int rc = 0;
    if (cb_read_file(path, TSV_MAX_FILE_BYTES, &data, &len, sub, sizeof sub) != 0) {
        cb_err(err, errlen, "%s: %s", CB_QP(path), sub);
        return fail_status(status, strstr(sub, "limit") ? CB_EXIT_INPUT : CB_EXIT_ENV);
    }
    char *text = (char *)data;
    char *last_nl = len ? memrchr(text, '\n', len) : NULL;
    size_t keep = last_nl ? (size_t)(last_nl - text) + 1 : 0;
    header(&hb);
    if (hb.oom) {
        cb_err(err, errlen, "out of memory");
        rc = fail_status(status, CB_EXIT_ENV);
        goto out;
    }
    if (keep == 0) {
        /* Killed before the header was whole: start the file again. Anything
         * else without a line end is not a matrix.tsv of ours. */
        if (len > hb.n || memcmp(text, hb.p, len) != 0) {
            cb_err(err, errlen, "%s:1: not the matrix.tsv header this casbench writes", CB_QP(path));
            rc = fail_status(status, CB_EXIT_INPUT);
        } else if (ftruncate(f->fd, 0) != 0 || cb_write_all(f->fd, hb.p, hb.n) != 0) {
            cb_err(err, errlen, "%s: %s", CB_QP(path), strerror(errno));
            rc = fail_status(status, CB_EXIT_ENV);
        } else if (!(f->fixed = strdup(hb.p))) {
            cb_err(err, errlen, "out of memory");
            rc = fail_status(status, CB_EXIT_ENV);
        }
        f->nfixed = hb.n;
        goto out;
    }
    /* The rows that stay whatever the rounds rewrite (results_rewrite). */
    if (!(f->fixed = strndup(text, keep))) {
        cb_err(err, errlen, "out of memory");
        rc = fail_status(status, CB_EXIT_ENV);
        goto out;
    }
    f->nfixed = keep;
    t = tsv_parse(path, text, keep, 1, err, errlen);
    if (!t) {
        rc = fail_status(status, CB_EXIT_INPUT);
        goto out;
    }
    if (tsv_ncols(t) != SCHEMA_NCOLS) i = 0;
    else for (i = 0; i < SCHEMA_NCOLS && strcmp(tsv_col_name(t, (int)i), schema_columns[i].name) == 0; i++) {}
    if (i != SCHEMA_NCOLS) {
        tsv_free(t);
        cb_err(err, errlen, "%s:1: not the matrix.tsv header this casbench writes", CB_QP(path));
        rc = fail_status(status, CB_EXIT_INPUT);
        goto out;
    }
    if (rundir_take_matrix(&rd, t, 1, err, errlen) != 0) {
        rc = fail_status(status, CB_EXIT_INPUT);
        goto out;
    }
    if (add_loaded_rows(f, &rd) != 0) {
        cb_err(err, errlen, "out of memory");
        rc = fail_status(status, CB_EXIT_ENV);
        goto out;
    }
    /* Only now, with the rows known good, is the torn line cut off. */
    if (keep < len) {
        cb_warn("%s: dropping a torn last line (%zu bytes)", path, len - keep);
        if (ftruncate(f->fd, (off_t)keep) != 0) {
            cb_err(err, errlen, "%s: %s", CB_QP(path), strerror(errno));
            rc = fail_status(status, CB_EXIT_ENV);
        }
    }
out:
    rundir_free(&rd);
    free(hb.p);
    free(data);
    return rc;
}

results_file *results_open(const char *dir, int resume, int *status, char *err, size_t errlen)
{
    char path[4096];
    results_file *f = calloc(1, sizeof *f);
    if (!f) { cb_err(err, errlen, "out of memory"); fail_status(status, CB_EXIT_ENV); return NULL; }
    snprintf(path, sizeof path, "%s/matrix.tsv", dir);
    if (!(f->path = strdup(path))) {
        cb_err(err, errlen, "out of memory");
        fail_status(status, CB_EXIT_ENV);
        free(f);
        return NULL;
    }
    if (resume) {
        f->fd = open(path, O_RDWR | O_CLOEXEC);
        if (f->fd < 0) {
            cb_err(err, errlen, "%s: %s", path, strerror(errno));
            fail_status(status, errno == ENOENT ? CB_EXIT_INPUT : CB_EXIT_ENV);
            free(f->path);
            free(f);
            return NULL;
        }
        if (load_existing(f, path, status, err, errlen) != 0) { results_close(f); return NULL; }
        if (lseek(f->fd, 0, SEEK_END) < 0) {
            cb_err(err, errlen, "%s: %s", path, strerror(errno));
            fail_status(status, CB_EXIT_ENV);
            results_close(f);
            return NULL;
        }
        return f;
    }
    f->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        cb_err(err, errlen, "%s: %s", path, strerror(errno));
        fail_status(status, CB_EXIT_ENV);
        free(f->path);
        free(f);
        return NULL;
    }
    cb_buf hb = {0};
    header(&hb);
    f->fixed = hb.p ? strdup(hb.p) : NULL;
    f->nfixed = hb.n;
    if (!f->fixed) hb.oom = 1;
    if (hb.oom || cb_write_all(f->fd, hb.p, hb.n) != 0) {
        cb_err(err, errlen, "%s: %s", path, hb.oom ? "out of memory" : strerror(errno));
        fail_status(status, CB_EXIT_ENV);
        free(hb.p);
        results_close(f);
        return NULL;
    }
    free(hb.p);
    return f;
}

/* ---- rows ---------------------------------------------------------------- */

static void format_row(cb_buf *bp, const results_row *r)
{
    cb_buf b = *bp;
    const gb_result *t = r->timing;
    cb_buf_field(&b, r->payload); cb_buf_add(&b, "\t", 1);
    if (r->protocol) cb_buf_printf(&b, "%d", r->protocol);
    cb_buf_add(&b, "\t", 1);
    cb_buf_printf(&b, "%llu", (unsigned long long)r->pickled_bytes); cb_buf_add(&b, "\t", 1);
    cb_buf_field(&b, r->stage); cb_buf_add(&b, "\t", 1);
    cb_buf_field(&b, r->variant); cb_buf_add(&b, "\t", 1);
    cb_buf_field(&b, r->codec); cb_buf_add(&b, "\t", 1);
    if (r->codec && *r->codec) cb_buf_printf(&b, "%d", r->level);
    cb_buf_add(&b, "\t", 1);
    cb_buf_field(&b, r->hash); cb_buf_add(&b, "\t", 1);
    cb_buf_field(&b, r->alloc); cb_buf_add(&b, "\t", 1);
    cb_buf_printf(&b, "%llu", (unsigned long long)r->bytes_in); cb_buf_add(&b, "\t", 1);
    if (r->have_out) cb_buf_printf(&b, "%llu", (unsigned long long)r->bytes_out);
    cb_buf_add(&b, "\t", 1);
    if (r->have_out && r->codec && *r->codec && r->stored_bytes)
        cb_buf_printf(&b, "%.6f", (double)r->pickled_bytes / (double)r->stored_bytes);
    cb_buf_add(&b, "\t", 1);
    if (t) {
        cb_buf_printf(&b, "%d\t%lld\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.6f\t%.3f\t", t->repetitions,
                  (long long)t->iterations, t->median_ns, t->mean_ns, t->stddev_ns, t->min_ns,
                  t->max_ns, t->cv, t->median_ns > 0 ? (double)r->bytes_in * 1e3 / t->median_ns : 0.0);
        for (int i = 0; i < t->repetitions; i++) cb_buf_printf(&b, "%s%.3f", i ? "," : "", t->samples_ns[i]);
    } else {
        cb_buf_add(&b, "\t\t\t\t\t\t\t\t\t", 9);
    }
    cb_buf_add(&b, "\t", 1);
    if (r->have_out) cb_buf_field(&b, r->key);
    cb_buf_add(&b, "\t", 1);
    cb_buf_field(&b, r->status); cb_buf_add(&b, "\t", 1);
    cb_buf_field(&b, r->message); cb_buf_add(&b, "\t", 1);
    cb_buf_field(&b, r->group); cb_buf_add(&b, "\t", 1);
    if (t && !isnan(r->spread)) cb_buf_printf(&b, "%.4f", r->spread);
    cb_buf_add(&b, "\t", 1);
    if (t && !isnan(r->drift)) cb_buf_printf(&b, "%.4f", r->drift);
    cb_buf_add(&b, "\t", 1);
    cb_buf_field(&b, t ? r->flag : "");
    cb_buf_add(&b, "\t", 1);
    if (t && r->have_minflt) cb_buf_printf(&b, "%.2f", r->minflt_per_iter);
    cb_buf_add(&b, "\t", 1);
    if (r->have_out && r->have_peak) cb_buf_printf(&b, "%llu", (unsigned long long)r->peak_bytes);
    cb_buf_add(&b, "\t", 1);
    if (t && r->cold_ns > 0) cb_buf_printf(&b, "%.3f", r->cold_ns);
    cb_buf_add(&b, "\n", 1);
    *bp = b;
}

int results_append(results_file *f, const results_row *r, char *err, size_t errlen)
{
    cb_buf b = {0};
    format_row(&b, r);
    if (b.oom) { free(b.p); return cb_err(err, errlen, "out of memory"); }
    /* One write per row: a reader never sees half a row unless the process
     * was killed inside this call. */
    if (cb_write_all(f->fd, b.p, b.n) != 0) {
        int e = errno;
        free(b.p);
        return cb_err(err, errlen, "matrix.tsv: %s", strerror(e));
    }
    char *grown = realloc(f->fixed, f->nfixed + b.n + 1);
    if (!grown) { free(b.p); return cb_err(err, errlen, "out of memory"); }
    memcpy(grown + f->nfixed, b.p, b.n + 1);
    f->fixed = grown;
    f->nfixed += b.n;
    free(b.p);
    schema_key k = row_key(r);
    if (add_done(f, &k, r->timing ? r->timing->median_ns : NAN) != 0) return cb_err(err, errlen, "out of memory");
    return 0;
}

int results_rewrite(results_file *f, const results_row *rows, size_t n, int durable, char *err, size_t errlen)
{
    cb_buf b = {0};
    int fd;
    cb_buf_add(&b, f->fixed, f->nfixed);
    for (size_t i = 0; i < n; i++) format_row(&b, &rows[i]);
    if (b.oom) { free(b.p); return cb_err(err, errlen, "out of memory"); }
    if (cb_write_atomic(f->path, b.p, b.n, durable ? CB_DURABLE : CB_VOLATILE, &fd, err, errlen) != 0) {
        free(b.p);
        return -1;
    }
    free(b.p);
    /* Later appends go to the file now under the name. */
    close(f->fd);
    f->fd = fd;
    for (size_t i = 0; i < n; i++) {
        schema_key k = row_key(&rows[i]);
        if (add_done(f, &k, rows[i].timing ? rows[i].timing->median_ns : NAN) != 0)
            return cb_err(err, errlen, "out of memory");
    }
    return 0;
}

void results_sync(const results_file *f)
{
    if (f && f->fd >= 0) fsync(f->fd);
}

void results_close(results_file *f)
{
    size_t i;
    if (!f) return;
    results_sync(f);   /* the contract: closing leaves the rows on disk */
    if (f->fd >= 0) close(f->fd);
    for (i = 0; i < f->ndone; i++) done_row_free(&f->done[i]);
    free(f->done);
    free(f->fixed);
    free(f->path);
    free(f);
}
