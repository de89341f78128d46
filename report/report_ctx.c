/* report_ctx.c - the helpers the sections share (report_ctx.h). */
#include "report_ctx.h"

#include "atomic.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int rpt_sl_has(const strlist *l, const char *s)
{
    size_t i;
    for (i = 0; i < l->n; i++) if (strcmp(l->v[i], s) == 0) return 1;
    return 0;
}

void rpt_sl_add(strlist *l, const char *s)
{
    if (rpt_sl_has(l, s)) return;
    l->v = cb_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = cb_xstrdup(s);
}

void rpt_sl_free(strlist *l)
{
    size_t i;
    for (i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* A payload or codec name made safe for a file name. */
const char *rpt_slug(const char *s, char *buf, size_t n)
{
    size_t i;
    for (i = 0; s[i] && i + 1 < n; i++)
        buf[i] = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                 (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ? s[i] : '_';
    buf[i] = 0;
    return buf;
}

char *rpt_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int r;
    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) cb_oom();
    return s;
}

const rundir_row *rpt_find(const report_ctx *c, const char *payload, const char *stage,
                              const char *variant, const char *codec, int level,
                              const char *hash, const char *alloc)
{
    size_t i;
    int pass;
    for (pass = 0; pass < (alloc ? 1 : 2); pass++)
        for (i = 0; i < c->run->nrows; i++) {
            const rundir_row *w = &c->run->rows[i];
            if (!w->ok || strcmp(w->payload, payload) != 0 || strcmp(w->stage, stage) != 0)
                continue;
            if (strcmp(payload, SCHEMA_PAYLOAD_SWEEP) != 0 && w->protocol != c->protocol) continue;
            if (strcmp(w->variant, variant ? variant : "") != 0) continue;
            if (strcmp(w->codec, codec ? codec : "") != 0) continue;
            if (codec && *codec && w->level != level) continue;
            if (strcmp(w->hash, hash ? hash : "") != 0) continue;
            if (pass == 0 && strcmp(w->alloc, alloc ? alloc : c->alloc) != 0) continue;
            return w;
        }
    return NULL;
}

/* "gzip:3" -> codec "gzip", level 3. */
void rpt_split_spec(const char *spec, char *codec, size_t n, int *level)
{
    const char *colon = strrchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len >= n) len = n - 1;
    memcpy(codec, spec, len);
    codec[len] = 0;
    *level = colon ? atoi(colon + 1) : RUNDIR_NO_LEVEL;
}

const rundir_row *rpt_find_spec(const report_ctx *c, const char *payload, const char *stage,
                                   const char *variant, const char *spec, const char *hash,
                                   const char *alloc)
{
    char codec[64];
    int level;
    rpt_split_spec(spec, codec, sizeof codec, &level);
    return rpt_find(c, payload, stage, variant, codec, level, hash, alloc);
}

void rpt_add_job(report_ctx *c, const char *script, const char *base, char *expr)
{
    plot_job *nj = cb_xrealloc(c->jobs, (c->njobs + 1) * sizeof *nj);
    c->jobs = nj;
    nj[c->njobs].script = cb_xstrdup(script);
    nj[c->njobs].out = rpt_asprintf("%s/%s", c->plots_dir, base);
    nj[c->njobs].expr = expr;
    c->njobs++;
}

/* A gnuplot string literal: single quotes, '' for a quote. */
char *rpt_gq(const char *s)
{
    size_t n = 3, i, k = 0;
    char *o;
    for (i = 0; s[i]; i++) n += s[i] == '\'' ? 2 : 1;
    o = cb_xmalloc(n);
    o[k++] = '\'';
    for (i = 0; s[i]; i++) {
        if (s[i] == '\'') o[k++] = '\'';
        o[k++] = s[i];
    }
    o[k++] = '\'';
    o[k] = 0;
    return o;
}

/* Write a derived data file into plots/; its path (for gnuplot) is returned. */
char *rpt_write_data(report_ctx *c, const char *name, char *text, size_t len)
{
    char *path = rpt_asprintf("%s/%s", c->plots_dir, name);
    /* Volatile: plot data is regenerated from matrix.tsv by the next report. */
    if (!c->failed && cb_write_atomic(path, text, len, CB_VOLATILE, NULL, c->err, c->errlen) != 0)
        c->failed = 1;
    rpt_sl_add(&c->written, name);
    free(text);
    return path;
}

void rpt_mem_open(FILE **f, char **buf, size_t *len)
{
    *f = open_memstream(buf, len);
    if (!*f) cb_oom();
}

/* Digest size in bytes from any hash row (bytes_out is the digest size). */
int rpt_digest_bytes(const report_ctx *c, const char *hash)
{
    size_t i;
    for (i = 0; i < c->run->nrows; i++) {
        const rundir_row *w = &c->run->rows[i];
        if (w->ok && strcmp(w->stage, STAGE(HASH)) == 0 && strcmp(w->hash, hash) == 0 && w->bytes_out)
            return (int)w->bytes_out;
    }
    return 0;
}

char *rpt_plot_data(report_ctx *c, const char *base, char *text, size_t len)
{
    char *name = rpt_asprintf("%s.tsv", base), *path = rpt_write_data(c, name, text, len);
    char *q = rpt_gq(path);
    free(name);
    free(path);
    return q;
}

void rpt_plot_named(report_ctx *c, const char *script, const char *base, cb_buf *data, const cb_buf *names,
                    const char *title)
{
    if (data->oom || names->oom) rpt_oom();
    char *qd = rpt_plot_data(c, base, data->p, data->n), *qn = rpt_gq(names->p ? names->p : ""), *qt = rpt_gq(title);
    *data = (cb_buf){0};    /* rpt_plot_data took the text */
    rpt_add_job(c, script, base, rpt_asprintf("data=%s; names=%s; title=%s", qd, qn, qt));
    free(qd);
    free(qn);
    free(qt);
}
