/* report_cost.c - what a flow step pays (report_cost.h). */
#include "report_cost.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_rounds.h"
#include "roundstats.h"

const char *const cost_src_names[COST_SRC_COUNT] = {"predicted", "Python", "C + " BASE_SPEC "'s overhead", "C"};

/* One cell of the model: its C row and the offset to its source's level. */
typedef struct {
    const rundir_row *row;
    double off_ns;
    cost_src src;
} cell;

static int empty(const char *s) { return !*s || strcmp(s, "-") == 0; }

static int same_field(const char *field, const char *want) { return empty(want) ? empty(field) : strcmp(field, want) == 0; }

/* predicted_ms of predict.tsv's row for these fields, in ns, or NAN. */
static double predicted_ns(const report_ctx *c, const char *payload, const char *stage, const char *variant,
                           const char *codec, int level, const char *hash)
{
    const tsv_table *t = c->predict;
    char lv[16] = "";
    char err[256];
    int cp, cs, cv, cc, cl, ch, cm;
    size_t r;
    if (!t) return NAN;
    cp = tsv_col(t, "payload"), cs = tsv_col(t, "stage"), cv = tsv_col(t, "variant"), cc = tsv_col(t, "codec");
    cl = tsv_col(t, "level"), ch = tsv_col(t, "hash"), cm = tsv_col(t, "predicted_ms");
    if (*codec) snprintf(lv, sizeof lv, "%d", level);
    for (r = 0; r < tsv_nrows(t); r++) {
        double v;
        if (strcmp(tsv_str(t, r, cp), payload) != 0 || strcmp(tsv_str(t, r, cs), stage) != 0 ||
            !same_field(tsv_str(t, r, cv), variant) || !same_field(tsv_str(t, r, cc), codec) ||
            !same_field(tsv_str(t, r, cl), lv) || !same_field(tsv_str(t, r, ch), hash))
            continue;
        /* rpt_predict_load checked every number. */
        if (tsv_double(t, r, cm, &v, err, sizeof err) == 0) return v * 1e6;
    }
    return NAN;
}

/* The --python run's ok row for these fields, or NULL. */
static const rundir_row *python_row(const report_ctx *c, const char *payload, const char *stage,
                                    const char *variant, const char *codec, int level, const char *hash)
{
    return c->python ? report_find_row(c->python, c->protocol, payload, stage, variant, codec, level, hash, NULL)
                     : NULL;
}

/* The cell, its source the first that has it; base: today's codec's cell of
 * the same payload and stage (its offset stands in for a codec without a
 * Python row), or NULL. -1 when the C run has no such row. */
static int find_cell(const report_ctx *c, const char *payload, const char *stage, const char *variant,
                     const char *spec, const char *hash, const cell *base, cell *out)
{
    char codec[64] = "";
    int level = RUNDIR_NO_LEVEL;
    const rundir_row *py;
    double pred;
    if (spec) rpt_split_spec(spec, codec, sizeof codec, &level);
    out->row = rpt_find(c, payload, stage, variant, codec, level, hash, NULL);
    if (!out->row) return -1;
    pred = predicted_ns(c, payload, stage, variant, codec, level, hash);
    if (isfinite(pred)) {
        out->src = COST_SRC_PREDICT, out->off_ns = pred - out->row->median_ns;
    } else if ((py = python_row(c, payload, stage, variant, codec, level, hash))) {
        out->src = COST_SRC_PYTHON, out->off_ns = py->median_ns - out->row->median_ns;
    } else if (base && (base->src == COST_SRC_PREDICT || base->src == COST_SRC_PYTHON)) {
        out->src = COST_SRC_BASE, out->off_ns = base->off_ns;
    } else {
        out->src = COST_SRC_C, out->off_ns = 0;
    }
    return 0;
}

/* The time of a cell: its median (round < 0) or its sample of that round. */
static double at(const cell *x, long round)
{
    return (round < 0 ? x->row->median_ns : x->row->samples_ns[round]) + x->off_ns;
}

void cost_cand_free(cost_cand *x)
{
    int k;
    for (k = 0; k < COST_HITS; k++) free(x->rounds[k]);
    free(x->save_ns);
    free(x->load_ns);
    memset(x, 0, sizeof *x);
}

/* The cells of one payload; -1 with out->why when one is missing. */
struct cost_pay_cells { cell save, load, pickle, hash; };
typedef cost_pay_cells pay_cells;

static int pay_cells_find(const report_ctx *c, const cost_model *m, size_t p, const char *spec,
                          const char *variant, const pay_cells *base, pay_cells *pc, cost_cand *out)
{
    const char *pl = c->mix.payload[p];
    if (find_cell(c, pl, STAGE(SAVE), variant, spec, BASE_HASH, base ? &base->save : NULL, &pc->save) != 0) {
        snprintf(out->why, sizeof out->why, "no `save` %s row on %s", variant, pl);
        return -1;
    }
    if (m->load[p] && find_cell(c, pl, STAGE(LOAD), "", spec, "", base ? &base->load : NULL, &pc->load) != 0) {
        snprintf(out->why, sizeof out->why, "no `load` row on %s", pl);
        return -1;
    }
    if (m->hit[p]) {
        /* Both exist: cost_model_init checked them. */
        find_cell(c, pl, STAGE(PICKLE), "", NULL, "", NULL, &pc->pickle);
        find_cell(c, pl, STAGE(HASH), "", NULL, BASE_HASH, NULL, &pc->hash);
    }
    return 0;
}

/* One payload's cost at hit rate h, from the medians (round < 0) or a round. */
static double pay_cost(const pay_cells *pc, int load, int hit, int sequential, double h, long round)
{
    double bytes_ns = (double)pc->save.row->bytes_out / (RPT_TRANSFER_MBPS * 1e-3);   /* MB/s = 1e-3 B/ns */
    double save = at(&pc->save, round), on_hit = save, rest = 0;
    if (hit && sequential) on_hit = at(&pc->pickle, round) + at(&pc->hash, round);
    if (load) rest = at(&pc->load, round) + bytes_ns;
    return (1 - h) * (save + bytes_ns) + h * on_hit + rest;
}

static size_t min_rounds(const pay_cells *pc, int load, int hit, size_t n)
{
    n = pc->save.row->nsamples < n ? pc->save.row->nsamples : n;
    if (load && pc->load.row->nsamples < n) n = pc->load.row->nsamples;
    if (hit && pc->pickle.row->nsamples < n) n = pc->pickle.row->nsamples;
    if (hit && pc->hash.row->nsamples < n) n = pc->hash.row->nsamples;
    return n;
}

/* base_cells: today's codec's cells per payload (for the offsets), or NULL
 * while computing today's codec itself. cells_out: the cells found, or NULL. */
static void eval(const report_ctx *c, const cost_model *m, const char *spec, const char *variant,
                 const pay_cells *base_cells, pay_cells *cells_out, cost_cand *out)
{
    size_t p, n = (size_t)-1;
    long r;
    int k, seq = strcmp(variant, SCHEMA_VARIANT_SEQUENTIAL) == 0;
    const double hs[COST_HITS] = {0, c->hit_rate};
    pay_cells *pc = cells_out ? cells_out : calloc(c->mix.n + 1, sizeof *pc);
    memset(out, 0, sizeof *out);
    snprintf(out->spec, sizeof out->spec, "%s", spec);
    out->variant = variant;
    out->save_ns = calloc(c->mix.n + 1, sizeof *out->save_ns);
    out->load_ns = calloc(c->mix.n + 1, sizeof *out->load_ns);
    if (!pc || !out->save_ns || !out->load_ns) rpt_oom();
    for (p = 0; p < c->mix.n; p++) {
        out->save_ns[p] = out->load_ns[p] = NAN;
        if (!m->in[p]) continue;
        if (pay_cells_find(c, m, p, spec, variant, base_cells ? &base_cells[p] : NULL, &pc[p], out) != 0) goto done;
        out->nsrc[pc[p].save.src]++;
        if (m->load[p]) out->nsrc[pc[p].load.src]++;
        out->save_ns[p] = at(&pc[p].save, -1);
        if (m->load[p]) out->load_ns[p] = at(&pc[p].load, -1);
        n = min_rounds(&pc[p], m->load[p], m->hit[p], n);
    }
    out->ok = 1;
    out->nrounds = n;
    for (k = 0; k < COST_HITS; k++) {
        if (n) {
            out->rounds[k] = calloc(n, sizeof *out->rounds[k]);
            if (!out->rounds[k]) rpt_oom();
        }
        for (p = 0; p < c->mix.n; p++) {
            if (!m->in[p]) continue;
            out->cost_ns[k] += c->mix.weight[p] * pay_cost(&pc[p], m->load[p], m->hit[p], seq, hs[k], -1);
            for (r = 0; r < (long)n; r++)
                out->rounds[k][r] += c->mix.weight[p] * pay_cost(&pc[p], m->load[p], m->hit[p], seq, hs[k], r);
        }
    }
done:
    if (!cells_out) free(pc);
}

int cost_model_init(const report_ctx *c, cost_model *m)
{
    size_t p;
    memset(m, 0, sizeof *m);
    m->in = calloc(c->mix.n + 1, sizeof *m->in);
    m->load = calloc(c->mix.n + 1, sizeof *m->load);
    m->hit = calloc(c->mix.n + 1, sizeof *m->hit);
    if (!m->in || !m->load || !m->hit) rpt_oom();
    for (p = 0; p < c->mix.n; p++) {
        const char *pl = c->mix.payload[p];
        m->in[p] = rpt_find_spec(c, pl, STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, BASE_SPEC, BASE_HASH, NULL) != NULL;
        m->load[p] = m->in[p] && rpt_find_spec(c, pl, STAGE(LOAD), "", BASE_SPEC, "", NULL) != NULL;
        m->hit[p] = m->in[p] && rpt_find(c, pl, STAGE(PICKLE), "", "", 0, "", NULL) &&
                    rpt_find(c, pl, STAGE(HASH), "", "", 0, BASE_HASH, NULL);
        m->npay += (size_t)m->in[p];
    }
    if (!m->npay) {
        snprintf(m->base.why, sizeof m->base.why, "no `" BASE_SPEC "` save row on a payload of the mix");
        return -1;
    }
    m->base_cells = calloc(c->mix.n + 1, sizeof *m->base_cells);
    if (!m->base_cells) rpt_oom();
    eval(c, m, BASE_SPEC, SCHEMA_VARIANT_SEQUENTIAL, NULL, m->base_cells, &m->base);
    return m->base.ok ? 0 : -1;
}

void cost_model_free(cost_model *m)
{
    free(m->in);
    free(m->load);
    free(m->hit);
    free(m->base_cells);
    cost_cand_free(&m->base);
    memset(m, 0, sizeof *m);
}

void cost_eval(const report_ctx *c, const cost_model *m, const char *spec, const char *variant, cost_cand *out)
{
    eval(c, m, spec, variant, m->base_cells, NULL, out);
}

cost_versus cost_compare(const cost_cand *x, const cost_cand *ref, int k)
{
    cost_versus v = {ref->cost_ns[k] - x->cost_ns[k], NAN, NAN, COST_NOT_JUDGED};
    size_t n = x->nrounds < ref->nrounds ? x->nrounds : ref->nrounds;
    char seed[160];
    double center, lo, hi;
    if (n < 3 || !x->rounds[k] || !ref->rounds[k]) return v;
    snprintf(seed, sizeof seed, "%s %s / %s", x->spec, x->variant, ref->spec);
    center = rs_value(rs_estimate_paired(x->rounds[k], ref->rounds[k], n, rs_seed(seed)), &lo, &hi);
    if (!isfinite(lo) || !isfinite(hi) || !(center > 0)) return v;
    /* The paired ratio's interval, relative to its median, around x's cost
     * from the medians: the point estimate stays inside its interval. */
    v.lo_ns = ref->cost_ns[k] - x->cost_ns[k] * hi / center;
    v.hi_ns = ref->cost_ns[k] - x->cost_ns[k] * lo / center;
    v.verdict = v.lo_ns <= 0 && v.hi_ns >= 0 ? COST_SAME : v.lo_ns > 0 ? COST_CHEAPER : COST_DEARER;
    return v;
}
