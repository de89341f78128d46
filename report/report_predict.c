/* report_predict.c - section "What metaflow would see: predicted against
 * measured": every Python row predicted as its C cell plus the interpreter's
 * measured per-call costs (the python run's stage `overhead` rows), beside
 * the Python measurement, written to RUN_DIR/predict.tsv (results/README.md)
 * and judged against +-10 % and +-25 %. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "report_ctx.h"
#include "report_facts.h"
#include "roundstats.h"
#include "strbuf.h"
#include "util.h"

#define TOL_NEAR 0.10
#define TOL_FAR 0.25
/* A fault count that differs by more than this share (and this many faults)
 * between the C cell and Python explains a miss. */
#define FAULTS_DIFFER 0.20
#define FAULTS_MIN 16.0
/* Per-call costs above this share of the prediction dominate it. */
#define OVERHEAD_DOMINATES 0.5
/* A copy of the blob explains a miss only where it is this share of the
 * prediction or more. */
#define COPY_VISIBLE 0.05

/* The alloc of the a-th C row a prediction may start from, in order of
 * preference (schema_alloc_predicted_from). */
#define C_ALLOC(a) schema_alloc_names[schema_alloc_predicted_from[a]]

/* The reasons a miss can have, as explain() finds them in the data. */
enum { WHY_CODE, WHY_FAULTS, WHY_PER_CALL, WHY_COPY, WHY_NOISE, WHY_NONE, WHY_COUNT };
static const char *const why_names[WHY_COUNT] = {
    "different code", "allocation faults that differ", "per-call cost dominating", "one or more copies of the blob",
    "noisy rounds", "none of these"};

/* The per-call costs a stage's Python calls add to its C cell: the
 * overhead rows it names, each less the fixed work the C cell pays already
 * (its C twin, else an estimate), `times` times (an array's reduce counts
 * once per array), and GzipFile.read's passes (stage_costs); found once per
 * row, summed per round (costs_at). */
#define CALL_COSTS_MAX 5
typedef struct {
    const rundir_row *row[CALL_COSTS_MAX], *twin[CALL_COSTS_MAX], *pass[CALL_COSTS_MAX];
    double fixed[CALL_COSTS_MAX], passes[CALL_COSTS_MAX], times[CALL_COSTS_MAX];
    size_t n;
} call_costs;

typedef struct {
    const rundir_row *py, *c;
    call_costs costs;
    unsigned why_mask;         /* bits WHY_* */
    double c_ns, over_ns, pred_ns, lo_ns, hi_ns, ratio;
    char why[512];
} prediction;

static double minflt(const rundir *r, const rundir_row *w)
{
    int col = tsv_col(r->matrix, "minflt_per_iter");
    double v;
    int present;
    /* The row of the matrix by its line: r may be a view (rundir_view),
     * whose rows are not the matrix's one for one. Lines rise with rows. */
    size_t lo = 0, hi = tsv_nrows(r->matrix);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tsv_line(r->matrix, mid) < w->line) lo = mid + 1;
        else hi = mid;
    }
    if (col < 0 || lo == tsv_nrows(r->matrix) || tsv_line(r->matrix, lo) != w->line ||
        tsv_double_opt(r->matrix, lo, col, &v, &present, NULL, 0) != 0 || !present)
        return NAN;
    return v;
}

static const rundir_row *py_overhead(const rundir *py, const char *variant, const char *codec, int level,
                                     const char *hash)
{
    for (size_t i = 0; i < py->nrows; i++) {
        const rundir_row *w = &py->rows[i];
        if (w->ok && strcmp(w->stage, SCHEMA_STAGE_PY_OVERHEAD) == 0 && strcmp(w->variant, variant) == 0 &&
            strcmp(w->codec, codec ? codec : "") == 0 && (!codec || w->level == level) &&
            strcmp(w->hash, hash ? hash : "") == 0)
            return w;
    }
    return NULL;
}

/* C's hash h of `bytes` bytes (its init and final and those few bytes),
 * which the Python call of the `hash` overhead row, on as many bytes, pays
 * as well, for runs without the row's C twin: the line through C's hash
 * rows of the smallest and the largest payload (a hash's cost per byte does
 * not depend on the bytes) at `bytes`, within [0, the smallest row]; 0
 * without two sizes. */
static double c_hash_fixed(const report_ctx *c, const char *hash, uint64_t bytes)
{
    const rundir_row *s = NULL, *l = NULL;
    for (size_t a = 0; a < 2 && !s; a++)
        for (size_t i = 0; i < c->run->nrows; i++) {
            const rundir_row *r = &c->run->rows[i];
            if (!r->ok || strcmp(r->stage, "hash") != 0 || strcmp(r->hash, hash) != 0 ||
                strcmp(r->payload, SCHEMA_PAYLOAD_SWEEP) == 0 || strcmp(r->alloc, C_ALLOC(a == 0 ? 0 : 2)) != 0)
                continue;
            if (!s || r->bytes_in < s->bytes_in) s = r;
            if (!l || r->bytes_in > l->bytes_in) l = r;
        }
    if (!s || !l || l->bytes_in <= s->bytes_in) return 0;
    double per_byte = (l->median_ns - s->median_ns) / (double)(l->bytes_in - s->bytes_in);
    double fixed = s->median_ns - per_byte * ((double)s->bytes_in - (double)bytes);
    return fixed < 0 ? 0 : fixed > s->median_ns ? s->median_ns : fixed;
}

/* The C twin of a Python overhead row (payload SCHEMA_PAYLOAD_OVERHEAD,
 * plan.h plan_overhead): C's same call on the row's own input (stage and
 * variant as schema_overhead_twin names them, which the run paired by too;
 * its protocol, codec, level and hash, and as many bytes
 * in: a twin on other bytes, from a run of another version, is none), in
 * the C cell's allocation mode when there is one, else in any; NULL in runs
 * without them (made without --python, or before them). */
static const rundir_row *c_twin(const report_ctx *c, const rundir_row *o, const rundir_row *cr)
{
    const rundir *r = c->all;
    const char *stage, *variant;
    schema_overhead_twin(o->variant, &stage, &variant);
    for (size_t a = 0; a <= SCHEMA_ALLOC_COUNT; a++) {
        const char *alloc = a == 0 ? cr->alloc : C_ALLOC(a - 1);
        for (size_t i = 0; i < r->nrows; i++) {
            const rundir_row *t = &r->rows[i];
            if (t->ok && strcmp(t->payload, SCHEMA_PAYLOAD_OVERHEAD) == 0 && strcmp(t->stage, stage) == 0 &&
                strcmp(t->variant, variant) == 0 &&
                t->protocol == o->protocol && t->bytes_in == o->bytes_in && strcmp(t->codec, o->codec) == 0 &&
                (!*o->codec || t->level == o->level) && strcmp(t->hash, o->hash) == 0 && strcmp(t->alloc, alloc) == 0)
                return t;
        }
    }
    return NULL;
}

/* For runs without the hand-off's C twin (stage thread-handoff): the fixed
 * cost of C's own hand-off to the worker, which the C cell of an
 * overlapped save `cr` pays for the same wake-up of a thread as Python's
 * `thread-handoff` row: the overlapped save less the sequential one (same
 * codec, hash and alloc) on the smallest payload that has both, whose hash
 * takes next to nothing to overlap, within [0, the overlapped row]; 0
 * without such a pair. */
static double c_handoff_fixed(const report_ctx *c, const rundir_row *cr)
{
    const rundir_row *small = NULL, *seq = NULL;
    for (size_t i = 0; i < c->run->nrows; i++) {
        const rundir_row *r = &c->run->rows[i], *q;
        if (!r->ok || strcmp(r->stage, "save") != 0 || strcmp(r->variant, "overlapped") != 0 ||
            strcmp(r->codec, cr->codec) != 0 || r->level != cr->level || strcmp(r->hash, cr->hash) != 0 ||
            strcmp(r->alloc, cr->alloc) != 0 || r->protocol != cr->protocol || (small && r->bytes_in >= small->bytes_in))
            continue;
        if (!(q = rpt_find(c, r->payload, "save", "sequential", r->codec, r->level, r->hash, r->alloc))) continue;
        small = r;
        seq = q;
    }
    if (!small) return 0;
    double d = small->median_ns - seq->median_ns;
    return d < 0 ? 0 : d > small->median_ns ? small->median_ns : d;
}

/* A row's figure: its median (round < 0) or its sample of that round (NAN
 * when it has none). */
static double row_ns(const rundir_row *r, long round)
{
    if (round < 0) return r->median_ns;
    return r->samples_ns && (size_t)round < r->nsamples ? r->samples_ns[round] : NAN;
}

/* The per-call costs of the Python calls a stage makes (call_costs): the
 * overhead rows it names into *cc; -1 when one is missing. `parts` receives
 * their names ("pickle + hash sha1 + ..."). */
static int stage_costs(const report_ctx *c, const rundir_row *w, const rundir_row *cr, call_costs *cc, char *parts,
                       size_t cap)
{
    const rundir *py = c->python;
    const char *v[CALL_COSTS_MAX] = {0}, *cod[CALL_COSTS_MAX] = {0}, *h[CALL_COSTS_MAX] = {0};
    size_t n = 0;
    const char *codec = *w->codec ? w->codec : NULL;
    if (strcmp(w->stage, "pickle") == 0) {
        v[n++] = "pickle";
    } else if (strcmp(w->stage, "hash") == 0) {
        v[n] = "hash", h[n++] = w->hash;
    } else if (strcmp(w->stage, "compress") == 0 || strcmp(w->stage, "decompress") == 0 ||
               strcmp(w->stage, "load") == 0) {
        v[n] = w->stage, cod[n++] = codec;
    } else if (strcmp(w->stage, "load+verify") == 0) {
        v[n] = "load", cod[n++] = codec;
        v[n] = "hash", h[n++] = w->hash;
    } else if (strcmp(w->stage, "save") == 0 && (strcmp(w->variant, "sequential") == 0 ||
                                                  strcmp(w->variant, "overlapped") == 0)) {
        v[n++] = "pickle";
        v[n] = "hash", h[n++] = w->hash;
        v[n] = "compress", cod[n++] = codec;
        if (strcmp(w->variant, "overlapped") == 0) v[n++] = "thread-handoff";
    } else {
        return -1;
    }
    size_t off = 0;
    parts[0] = '\0';
    memset(cc, 0, sizeof *cc);
    for (size_t i = 0; i < n; i++) {
        const rundir_row *o = py_overhead(py, v[i], cod[i], w->level, h[i]);
        if (!o) return -1;
        cc->row[i] = o;
        cc->times[i] = 1;
        /* The library's fixed work of the call (a hash's init and final,
         * the codec's reset and framing, the pickler's set-up), and C's own
         * hand-off, are in the C cell already: the C twin of the row, timed
         * in the same rounds, else an estimate for a hash and the
         * hand-off. */
        cc->twin[i] = c_twin(c, o, cr);
        cc->fixed[i] = cc->twin[i]                           ? cc->twin[i]->median_ns
                       : h[i]                                ? c_hash_fixed(c, h[i], o->bytes_in)
                       : strcmp(v[i], "thread-handoff") == 0 ? c_handoff_fixed(c, cr)
                                                             : 0;
        int k = snprintf(parts + off, cap - off, "%s%s%s%s", i ? " + " : "", v[i], h[i] ? " " : "", h[i] ? h[i] : "");
        if (k > 0 && (size_t)k < cap - off) off += (size_t)k;
        /* GzipFile.read() passes its loop once per 8 KiB read of the stream
         * (gzip.py, io.DEFAULT_BUFFER_SIZE), the stream being the row's
         * input after its 10-byte header: the interpreter's cost of a pass
         * is the `load-chunk` row (infra/python_path.py). */
        const rundir_row *pass = strcmp(v[i], "load") == 0 ? py_overhead(py, "load-chunk", cod[i], w->level, NULL) : NULL;
        if (pass && w->bytes_in > 10) {
            cc->pass[i] = pass;
            cc->passes[i] = ceil((double)(w->bytes_in - 10) / 8192.0);
            k = snprintf(parts + off, cap - off, " + %.0f x load-chunk", cc->passes[i]);
            if (k > 0 && (size_t)k < cap - off) off += (size_t)k;
        }
    }
    cc->n = n;
    /* Each numpy array of the payload (python/env.tsv ndarrays_PAYLOAD) is
     * a call of its __reduce_ex__ inside pickle.dumps, which the C pickler
     * writes out directly: the `pickle-ndarray` row (a one-element array)
     * less the `pickle` row (the int 0), both Python's, round by round.
     * C's own work on the tiny array's few bytes is counted again in it, a
     * small part of it. Runs from before the row predict without it. */
    const rundir_row *nd = n && strcmp(v[0], "pickle") == 0 ? py_overhead(py, "pickle-ndarray", NULL, 0, NULL) : NULL;
    char key[300];
    snprintf(key, sizeof key, "ndarrays_%s", w->payload);
    const char *arrays = rundir_env(py, key);
    long k = nd && strcmp(arrays, "unknown") != 0 ? strtol(arrays, NULL, 10) : 0;
    if (k > 0 && n < CALL_COSTS_MAX) {
        cc->row[n] = nd;
        cc->twin[n] = cc->row[0];
        cc->fixed[n] = cc->row[0]->median_ns;
        cc->times[n] = (double)k;
        snprintf(parts + off, cap - off, " + %ld x ndarray reduce", k);
        cc->n = n + 1;
    }
    return 0;
}

/* The costs' sum: of the rows' medians (round < 0) or of their samples of
 * one round (NAN when one has none); each row less its C twin's figure of
 * the same round (its median when it lacks that round), or less the
 * estimate, at least 0. */
static double costs_at(const call_costs *cc, long round)
{
    double sum = 0;
    for (size_t i = 0; i < cc->n; i++) {
        double on = row_ns(cc->row[i], round), fixed = cc->fixed[i];
        if (cc->twin[i] && !isnan(row_ns(cc->twin[i], round))) fixed = row_ns(cc->twin[i], round);
        sum += cc->times[i] * (on > fixed ? on - fixed : isnan(on) ? NAN : 0);
        if (cc->pass[i]) sum += cc->passes[i] * row_ns(cc->pass[i], round);
    }
    return sum;
}

/* Why a prediction misses by more than TOL_NEAR, from the data of both rows. */
static void explain(const report_ctx *c, prediction *p)
{
    const rundir_row *w = p->py, *cr = p->c;
    cb_buf b = {0};
    const char *why;
    double cf = minflt(c->run, cr), pf = minflt(c->python, w);
    double miss = w->median_ns - p->pred_ns;
    /* A cpython hash row runs the binding's own code (hash.h, py_update). */
    int binding_code = strcmp(w->stage, "hash") == 0 && strcmp(cr->alloc, "cpython") == 0;
    if (!binding_code && !report_python_same(c->run, w, &why)) {
        p->why_mask |= 1u << WHY_CODE;
        cb_buf_printf(&b, "; different code: %s", why);
    }
    if (!isnan(cf) && !isnan(pf) && fabs(cf - pf) > FAULTS_MIN && fabs(cf - pf) > FAULTS_DIFFER * fmax(cf, pf)) {
        p->why_mask |= 1u << WHY_FAULTS;
        cb_buf_printf(&b, "; allocation faults: the C cell (alloc %s) %.0f minor faults per call, Python %.0f",
                      cr->alloc, cf, pf);
    }
    if (p->over_ns > OVERHEAD_DOMINATES * p->pred_ns) {
        p->why_mask |= 1u << WHY_PER_CALL;
        cb_buf_printf(&b, "; per-call cost dominates: %s of the predicted %s ms is the interpreter's",
                      NUM(ms(p->over_ns)), NUM(ms(p->pred_ns)));
    }
    /* A copy of the blob, as C times it (compress none, reuse buffers), when
     * one is a visible part of the prediction. */
    const rundir_row *copy = rpt_find(c, w->payload, "compress", "", "none", 0, NULL, "reuse");
    if (copy && miss > 0 && copy->median_ns > COPY_VISIBLE * p->pred_ns) {
        double k = miss / copy->median_ns;
        if (k >= 0.5 && k < 3.5) {
            p->why_mask |= 1u << WHY_COPY;
            cb_buf_printf(&b, "; Python pays %s ms more, about %.0f cop%s of the %llu-byte blob (a copy: %s ms in C)",
                          NUM(ms(miss)), round(k), round(k) == 1 ? "y" : "ies", (unsigned long long)w->pickled_bytes,
                          NUM(ms(copy->median_ns)));
        }
    }
    int c_noisy = !isnan(cr->spread) && cr->spread > TOL_NEAR, py_noisy = !isnan(w->spread) && w->spread > TOL_NEAR;
    if (c_noisy || py_noisy) {
        p->why_mask |= 1u << WHY_NOISE;
        cb_buf_printf(&b, "; noisy rounds (spread = interquartile range / median):");
        if (c_noisy) cb_buf_printf(&b, " C %.0f %%%s", 100 * cr->spread, py_noisy ? "," : "");
        if (py_noisy) cb_buf_printf(&b, " Python %.0f %%", 100 * w->spread);
    }
    if (!p->why_mask) p->why_mask = 1u << WHY_NONE;
    if (b.oom) rpt_oom();
    snprintf(p->why, sizeof p->why, "%s", b.n ? b.p + 2 : "not explained by faults, per-call cost, a copy or noise");
    cb_buf_free(&b);
}

static const rundir_row *c_row(const report_ctx *c, const rundir_row *w)
{
    for (size_t a = 0; a < SCHEMA_ALLOC_COUNT; a++) {
        const rundir_row *r = rpt_find(c, w->payload, w->stage, w->variant, *w->codec ? w->codec : NULL, w->level,
                                       w->hash, C_ALLOC(a));
        if (r) return r;
    }
    return NULL;
}

/* The C cell's interval over its rounds (roundstats), else its range. */
static void c_interval(const rundir_row *cr, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (cr->samples_ns && cr->nsamples >= 3) {
        char id[512];
        rundir_row_key_id(cr, id, sizeof id);
        rs_value(rs_estimate_median(cr->samples_ns, cr->nsamples, rs_seed(id)), lo, hi);
    }
    if (isnan(*lo) || isnan(*hi)) {
        *lo = cr->min_ns;
        *hi = cr->max_ns;
    }
}

/* Python over predicted. When the Python rows were timed in the C run's
 * rounds (python env.tsv `timing`), sample k of both rows comes from round k:
 * the median over the rounds of Python's sample over the C sample plus the
 * per-call costs of that round (the overhead rows' samples, timed in the same
 * turn of the Python side; their medians when one lacks it), so that a round
 * slowed for both (another process on the machine) is not a prediction
 * error; else the ratio of the medians. */
static double paired_ratio(const report_ctx *c, const prediction *p)
{
    const rundir_row *w = p->py, *cr = p->c;
    size_t n = w->nsamples;
    if (strcmp(rundir_env(c->python, "timing"), "unknown") == 0 || !w->samples_ns || !cr->samples_ns || n < 3 ||
        n != cr->nsamples)
        return w->median_ns / p->pred_ns;
    double *r = cb_xmalloc(n * sizeof *r), m;
    for (size_t k = 0; k < n; k++) {
        /* the per-call costs of the same round when every row has it: timed
         * in the same turn of the Python side as its sample */
        double o = costs_at(&p->costs, (long)k);
        r[k] = w->samples_ns[k] / (cr->samples_ns[k] + (isnan(o) ? p->over_ns : o));
    }
    m = rs_median(r, n);
    free(r);
    return m;
}

static void fmt_level(const rundir_row *w, char *buf, size_t n)
{
    if (*w->codec && w->level != RUNDIR_NO_LEVEL) snprintf(buf, n, "%d", w->level);
    else buf[0] = '\0';
}

/* The predictions of every Python row that has a C cell and overhead rows;
 * NULL when none. counts: within +-10 %, within +-25 %, and per C alloc. */
static prediction *predict_all(const report_ctx *c, size_t *n_out, size_t *near_out, size_t *far_out,
                               size_t nalloc[3])
{
    const rundir *py = c->python;
    prediction *v;
    size_t n = 0, near = 0, far = 0;
    if (!(v = calloc(py->nrows ? py->nrows : 1, sizeof *v))) rpt_oom();
    for (size_t i = 0; i < py->nrows; i++) {
        const rundir_row *w = &py->rows[i];
        prediction *p = &v[n];
        char parts[256];
        if (!w->ok || w->protocol != c->protocol || strcmp(w->stage, SCHEMA_STAGE_PY_OVERHEAD) == 0) continue;
        if (!(p->c = c_row(c, w))) continue;
        if (stage_costs(c, w, p->c, &p->costs, parts, sizeof parts) != 0) continue;
        p->over_ns = costs_at(&p->costs, -1);
        if (isnan(p->over_ns)) continue;
        p->py = w;
        p->c_ns = p->c->median_ns;
        p->pred_ns = p->c_ns + p->over_ns;
        c_interval(p->c, &p->lo_ns, &p->hi_ns);
        p->lo_ns += p->over_ns;
        p->hi_ns += p->over_ns;
        p->ratio = paired_ratio(c, p);
        near += fabs(p->ratio - 1) <= TOL_NEAR;
        far += fabs(p->ratio - 1) <= TOL_FAR;
        for (size_t a = 0; a < 3; a++) nalloc[a] += strcmp(p->c->alloc, C_ALLOC(a)) == 0;
        if (fabs(p->ratio - 1) > TOL_NEAR) explain(c, p);
        n++;
    }
    *n_out = n;
    *near_out = near;
    *far_out = far;
    return v;
}

/* The run's predictions, computed once (predict_all runs a bootstrap per
 * row) and kept for the report: predict.tsv and the section show the same. */
struct report_predictions {
    prediction *v;
    size_t n, near, far, nalloc[3];
};

static const struct report_predictions *predictions(report_ctx *c)
{
    if (!c->predictions) {
        struct report_predictions *s = cb_xcalloc(1, sizeof *s);
        s->v = predict_all(c, &s->n, &s->near, &s->far, s->nalloc);
        c->predictions = s;
    }
    return c->predictions;
}

void report_predict_free(report_ctx *c)
{
    if (c->predictions) free(c->predictions->v);
    free(c->predictions);
    c->predictions = NULL;
}

/* Before any section: the recommendation reads predict.tsv, so it is written
 * from this run's rows first (a re-run of report gives the same REPORT.md). */
int report_predict_write(report_ctx *c)
{
    const struct report_predictions *s;
    cb_buf tsv = {0};
    int rc = 0;
    if (!c->python) return 0;
    s = predictions(c);
    const prediction *v = s->v;
    size_t n = s->n;
    if (!n) {
        /* Nothing predicted (no overhead rows): a predict.tsv already in
         * RUN_DIR, for example one the user gave, stays the recommendation's. */
        return 0;
    }
    cb_buf_printf(&tsv, "payload\tstage\tvariant\tcodec\tlevel\thash\tpredicted_ms\tpython_ms\tratio\t"
                  "predicted_lo_ms\tpredicted_hi_ms\tc_alloc\tc_ms\toverhead_ms\texplanation\n");
    for (size_t i = 0; i < n; i++) {
        const prediction *p = &v[i];
        const rundir_row *w = p->py;
        char lv[16];
        fmt_level(w, lv, sizeof lv);
        cb_buf_printf(&tsv, "%s\t%s\t%s\t%s\t%s\t%s\t%.6f\t%.6f\t%.4f\t%.6f\t%.6f\t%s\t%.6f\t%.6f\t%s\n", w->payload,
                      w->stage, w->variant, w->codec, lv, w->hash, ms(p->pred_ns), ms(w->median_ns), p->ratio,
                      ms(p->lo_ns), ms(p->hi_ns), p->c->alloc, ms(p->c_ns), ms(p->over_ns), p->why);
    }
    if (tsv.oom) rpt_oom();
    char *path = rpt_asprintf("%s/predict.tsv", c->run->dir);
    if (cb_write_atomic(path, tsv.p ? tsv.p : "", tsv.n, CB_VOLATILE, NULL, c->err, c->errlen) != 0) rc = -1;
    free(path);
    cb_buf_free(&tsv);
    return rc;
}

void report_sec_predict(report_ctx *c, FILE *md)
{
    const rundir *py = c->python;
    if (!py) {
        fprintf(md, "No Python run. `casbench run --python` times CPython's cells in the same rounds "
                "(RUN_DIR/python, found here without options); `casbench report RUN_DIR --python "
                "PY_RUN_DIR` takes a run of `infra/python_path.py` made apart. Then this section "
                "predicts every Python row from its C cell and the interpreter's measured per-call "
                "costs, and writes predict.tsv.\n\n");
        return;
    }
    const struct report_predictions *s = predictions(c);
    const prediction *v = s->v;
    size_t n = s->n, near = s->near, far = s->far;
    const size_t *nalloc = s->nalloc;
    fprintf(md, "Python run: `%s` (%s %s%s). predicted = the C cell's median + the interpreter's "
            "per-call costs of the calls the stage makes, measured by the Python run itself (its "
            "`overhead` rows: each binding on the 5-byte pickle of 0, the worker hand-off of the "
            "overlapped save; results/README.md). The C cell is the one with alloc `cpython` when the run has "
            "it, else `fresh`, else `reuse`: here %zu `cpython`, %zu `fresh`, %zu `reuse`. The "
            "interval is the C cell's 95 %% interval over its rounds plus the same costs. Every row "
            "is in `predict.tsv`.\n\n", py->dir, rundir_env(py, "python_implementation"),
            rundir_env(py, "python_version"),
            strcmp(rundir_env(py, "timing"), "unknown") != 0 ? ", timed in the C run's rounds: Python / predicted "
                                                               "is the median over the rounds of the ratio of "
                                                               "the two samples of each round"
                                                             : ", a separate run: drift between the two runs "
                                                               "counts as prediction error",
            nalloc[0], nalloc[1], nalloc[2]);
    /* the twins the predictions took (a run's twins on other bytes than
     * the Python rows', or of a hash Python lacks, are not) */
    size_t ntwins = 0, nhandoff = 0;
    for (size_t i = 0; i < c->all->nrows; i++) {
        const rundir_row *t = &c->all->rows[i];
        int used = 0;
        for (size_t k = 0; k < n && !used; k++)
            for (size_t j = 0; j < v[k].costs.n && !used; j++) used = v[k].costs.twin[j] == t;
        if (!used) continue;
        ntwins++;
        nhandoff += strcmp(t->stage, STAGE(HANDOFF)) == 0;
    }
    if (ntwins)
        fprintf(md, "Each per-call cost is the Python row less the library's fixed work of the call (a hash's "
                "init and final, a codec's reset and framing, the pickler's set-up), which the C cell pays "
                "too: C's same call on the same tiny input, timed in the same rounds (the run's %zu rows of "
                "payload `%s`; round by round, at least 0). The worker hand-off is taken less C's own "
                "hand-off%s, GzipFile.read's passes (`load-chunk`) as they are: not library work.\n\n",
                ntwins, SCHEMA_PAYLOAD_OVERHEAD,
                nhandoff ? " (a trivial job handed to the overlapped save's worker and waited for, its twin)"
                         : " (the overlapped save less the sequential one on the smallest payload)");
    size_t nreduce = 0;
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < v[k].costs.n; j++) nreduce += strcmp(v[k].costs.row[j]->variant, "pickle-ndarray") == 0;
    if (nreduce)
        fprintf(md, "A payload's numpy arrays (python/env.tsv `ndarrays_PAYLOAD`) add to its pickle, and to the saves "
                "that pickle it, one reduce each (ndarray.__reduce_ex__ and the pickler's checks of its globals, "
                "which the C pickler writes out directly): the `pickle-ndarray` row (a one-element array) less "
                "the `pickle` row, round by round (%zu rows).\n\n", nreduce);
    if (!n) {
        fprintf(md, "No Python row has a C cell and its overhead rows under protocol %d.\n\n", c->protocol);
        return;
    }
    fprintf(md, "%zu rows: %zu (%.0f %%) within +-%d %%, %zu (%.0f %%) within +-%d %%.\n\n",
            n, near, 100.0 * (double)near / (double)n, (int)(TOL_NEAR * 100), far,
            100.0 * (double)far / (double)n, (int)(TOL_FAR * 100));
    if (near == n) return;
    fprintf(md, "Of the %zu rows outside +-%d %%, what the data shows (a row may show several):", n - near,
            (int)(TOL_NEAR * 100));
    for (int k = 0; k < WHY_COUNT; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) m += (v[i].why_mask >> k) & 1u;
        fprintf(md, "%s %s %zu", k ? ";" : "", why_names[k], m);
    }
    fprintf(md, ". Row by row:\n\n");
    fprintf(md, "| payload | stage | variant | codec | hash | C alloc | C ms | per-call ms | predicted ms | "
            "Python ms | Python / predicted | why |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        const prediction *p = &v[i];
        const rundir_row *w = p->py;
        char codec[80] = "-";
        if (fabs(p->ratio - 1) <= TOL_NEAR) continue;
        if (*w->codec) snprintf(codec, sizeof codec, "%s:%d", w->codec, w->level);
        fprintf(md, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w->payload, w->stage,
                *w->variant ? w->variant : "-", codec, *w->hash ? w->hash : "-", p->c->alloc, NUM(ms(p->c_ns)),
                NUM(ms(p->over_ns)), NUM(ms(p->pred_ns)), NUM(ms(w->median_ns)), NUM(p->ratio), p->why);
    }
    fprintf(md, "\n");
}
