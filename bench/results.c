/* results.c - see results.h. */
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rundir.h"
#include "tsv.h"
#include "util.h"

const char *const results_columns[RESULTS_NCOLS] = {
    "payload", "protocol", "pickled_bytes", "stage", "variant", "codec", "level", "hash", "alloc",
    "bytes_in", "bytes_out", "ratio", "repetitions", "iterations", "median_ns", "mean_ns",
    "stddev_ns", "min_ns", "max_ns", "cv", "mb_per_s", "samples_ns", "key", "status", "message",
    "round_group", "spread", "drift", "flag",
};
enum { COL_PAYLOAD, COL_PROTOCOL, COL_PICKLED, COL_STAGE, COL_VARIANT, COL_CODEC, COL_LEVEL,
       COL_HASH, COL_ALLOC, COL_BYTES_IN };

typedef struct { char *id; double median; } done_row;

struct results_file {
    int fd;
    char *path;
    char *fixed;               /* header and appended rows: what results_rewrite keeps */
    size_t nfixed;
    done_row *done;
    size_t ndone, capdone;
};

/* ---- a small string builder -------------------------------------------- */

typedef struct { char *p; size_t n, cap; int oom; } sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Text columns: never a tab or a line break inside. */
static void sb_text(sbuf *b, const char *s)
{
    if (!s) return;
    for (; *s; s++) {
        char c = (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s;
        sb_add(b, &c, 1);
    }
}

static void sb_tab(sbuf *b) { sb_add(b, "\t", 1); }

/* ---- identity ---------------------------------------------------------- */

static void identity_from_fields(const char *const f[RESULTS_NCOLS], char *out, size_t cap)
{
    int sweep = strcmp(f[COL_PAYLOAD], "sweep") == 0;
    snprintf(out, cap, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s%s", f[COL_PAYLOAD], f[COL_PROTOCOL],
             f[COL_STAGE], f[COL_VARIANT], f[COL_CODEC], f[COL_LEVEL], f[COL_HASH], f[COL_ALLOC],
             sweep ? "\t" : "", sweep ? f[COL_BYTES_IN] : "");
}

void results_identity(const results_row *r, char *out, size_t cap)
{
    char proto[16] = "", level[16] = "", bin[32];
    const char *f[RESULTS_NCOLS] = {0};
    sbuf clean[4] = {{0}};
    if (r->protocol) snprintf(proto, sizeof proto, "%d", r->protocol);
    if (r->codec && *r->codec) snprintf(level, sizeof level, "%d", r->level);
    snprintf(bin, sizeof bin, "%llu", (unsigned long long)r->bytes_in);
    /* The identity is compared with what the file holds: sanitise alike. */
    const char *texts[4] = {r->payload, r->variant, r->codec, r->hash};
    for (int i = 0; i < 4; i++) { sb_add(&clean[i], "", 0); sb_text(&clean[i], texts[i]); }
    f[COL_PAYLOAD] = clean[0].p ? clean[0].p : "";
    f[COL_PROTOCOL] = proto;
    f[COL_STAGE] = r->stage ? r->stage : "";
    f[COL_VARIANT] = clean[1].p ? clean[1].p : "";
    f[COL_CODEC] = clean[2].p ? clean[2].p : "";
    f[COL_LEVEL] = level;
    f[COL_HASH] = clean[3].p ? clean[3].p : "";
    f[COL_ALLOC] = r->alloc ? r->alloc : "";
    f[COL_BYTES_IN] = bin;
    identity_from_fields(f, out, cap);
    for (int i = 0; i < 4; i++) free(clean[i].p);
}

static int add_done(results_file *f, const char *id, double median)
{
    if (f->ndone == f->capdone) {
        size_t cap = f->capdone ? f->capdone * 2 : 256;
        done_row *d = realloc(f->done, cap * sizeof *d);
        if (!d) return -1;
        f->done = d;
        f->capdone = cap;
    }
    f->done[f->ndone].id = strdup(id);
    if (!f->done[f->ndone].id) return -1;
    f->done[f->ndone].median = median;
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

/* ---- opening ----------------------------------------------------------- */

static void header(sbuf *b)
{
    for (int i = 0; i < RESULTS_NCOLS; i++) {
        if (i) sb_tab(b);
        sb_add(b, results_columns[i], strlen(results_columns[i]));
    }
    sb_add(b, "\n", 1);
}

static int fail_status(int *status, int s) { if (status) *status = s; return -1; }

/* The done set of a resumed run: each row's identity, built as run_cell
 * builds it, from the row as report reads it. */
static int add_loaded_rows(results_file *f, const rundir *rd)
{
    for (size_t i = 0; i < rd->nrows; i++) {
        const rundir_row *w = &rd->rows[i];
        results_row r = {0};
        char id[4096];
        r.payload = w->payload;
        r.protocol = w->protocol >= 0 ? w->protocol : 0;
        r.stage = w->stage;
        r.variant = w->variant;
        r.codec = w->codec;
        r.level = w->level;
        r.hash = w->hash;
        r.alloc = w->alloc;
        r.bytes_in = w->bytes_in;
        results_identity(&r, id, sizeof id);
        if (add_done(f, id, w->ok ? w->median_ns : NAN) != 0) return -1;
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
    sbuf hb = {0};
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
    if (tsv_ncols(t) != RESULTS_NCOLS) i = 0;
    else for (i = 0; i < RESULTS_NCOLS && strcmp(tsv_col_name(t, (int)i), results_columns[i]) == 0; i++) {}
    if (i != RESULTS_NCOLS) {
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
    sbuf hb = {0};
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

static void format_row(sbuf *bp, const results_row *r)
{
    sbuf b = *bp;
    const gb_result *t = r->timing;
    sb_text(&b, r->payload); sb_tab(&b);
    if (r->protocol) sb_printf(&b, "%d", r->protocol);
    sb_tab(&b);
    sb_printf(&b, "%llu", (unsigned long long)r->pickled_bytes); sb_tab(&b);
    sb_text(&b, r->stage); sb_tab(&b);
    sb_text(&b, r->variant); sb_tab(&b);
    sb_text(&b, r->codec); sb_tab(&b);
    if (r->codec && *r->codec) sb_printf(&b, "%d", r->level);
    sb_tab(&b);
    sb_text(&b, r->hash); sb_tab(&b);
    sb_text(&b, r->alloc); sb_tab(&b);
    sb_printf(&b, "%llu", (unsigned long long)r->bytes_in); sb_tab(&b);
    if (r->have_out) sb_printf(&b, "%llu", (unsigned long long)r->bytes_out);
    sb_tab(&b);
    if (r->have_out && r->codec && *r->codec && r->stored_bytes)
        sb_printf(&b, "%.6f", (double)r->pickled_bytes / (double)r->stored_bytes);
    sb_tab(&b);
    if (t) {
        sb_printf(&b, "%d\t%lld\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.6f\t%.3f\t", t->repetitions,
                  (long long)t->iterations, t->median_ns, t->mean_ns, t->stddev_ns, t->min_ns,
                  t->max_ns, t->cv, t->median_ns > 0 ? (double)r->bytes_in * 1e3 / t->median_ns : 0.0);
        for (int i = 0; i < t->repetitions; i++) sb_printf(&b, "%s%.3f", i ? "," : "", t->samples_ns[i]);
    } else {
        sb_add(&b, "\t\t\t\t\t\t\t\t\t", 9);
    }
    sb_tab(&b);
    if (r->have_out) sb_text(&b, r->key);
    sb_tab(&b);
    sb_text(&b, r->status); sb_tab(&b);
    sb_text(&b, r->message); sb_tab(&b);
    sb_text(&b, r->group); sb_tab(&b);
    if (t && !isnan(r->spread)) sb_printf(&b, "%.4f", r->spread);
    sb_tab(&b);
    if (t && !isnan(r->drift)) sb_printf(&b, "%.4f", r->drift);
    sb_tab(&b);
    sb_text(&b, t ? r->flag : "");
    sb_add(&b, "\n", 1);
    *bp = b;
}

int results_append(results_file *f, const results_row *r, char *err, size_t errlen)
{
    sbuf b = {0};
    char id[4096];
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
    results_identity(r, id, sizeof id);
    if (add_done(f, id, r->timing ? r->timing->median_ns : NAN) != 0) return cb_err(err, errlen, "out of memory");
    return 0;
}

int results_rewrite(results_file *f, const results_row *rows, size_t n, int durable, char *err, size_t errlen)
{
    sbuf b = {0};
    char tmp[4200], id[4096];
    sb_add(&b, f->fixed, f->nfixed);
    for (size_t i = 0; i < n; i++) format_row(&b, &rows[i]);
    if (b.oom) { free(b.p); return cb_err(err, errlen, "out of memory"); }
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || cb_write_all(fd, b.p, b.n) != 0 || (durable && fsync(fd) != 0) || rename(tmp, f->path) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        unlink(tmp);
        free(b.p);
        return cb_err(err, errlen, "%s: %s", f->path, strerror(e));
    }
    free(b.p);
    /* Later appends go to the file now under the name. */
    close(f->fd);
    f->fd = fd;
    if (lseek(fd, 0, SEEK_END) < 0) return cb_err(err, errlen, "%s: %s", f->path, strerror(errno));
    for (size_t i = 0; i < n; i++) {
        results_identity(&rows[i], id, sizeof id);
        int found = 0;
        for (size_t k = 0; k < f->ndone && !found; k++)
            if (strcmp(f->done[k].id, id) == 0) {
                f->done[k].median = rows[i].timing ? rows[i].timing->median_ns : NAN;
                found = 1;
            }
        if (!found && add_done(f, id, rows[i].timing ? rows[i].timing->median_ns : NAN) != 0)
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
    if (f->fd >= 0) {
        fsync(f->fd);
        close(f->fd);
    }
    for (i = 0; i < f->ndone; i++) free(f->done[i].id);
    free(f->done);
    free(f->fixed);
    free(f->path);
    free(f);
}
