/* report_recommend.c - section "Recommendation": the codec to ship now and
 * the one to ship with a cas_version bump, by what a flow step pays
 * (report_cost.h) under the workload mix (report_mix.h); hashes ranked by
 * their hash stage. Every rule is stated in the section; baselines from
 * baselines.h, codec facts from env.tsv (report_facts.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"
#include "report_cost.h"
#include "readme.h"
#include "report_facts.h"
#include "report_rounds.h"

/* A hash's score with its 95 % interval (lo = hi = NAN: not judged). */
typedef struct { const char *name; double score, lo, hi; size_t n; } ranked;
#define DIGEST_BYTES_MAX 65   /* hash.h's HASH_MAX_DIGEST + 1 */

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score) return (x->score > y->score) - (x->score < y->score);
    return strcmp(x->name, y->name);
}

/* The geometric mean, over the payloads with a `hash` row of den, of num's
 * hash median / den's; NAN when num misses one. Its interval: each payload's
 * ratio with its own (report_ratio_of: the per-round ratios where the two
 * rows ran back-to-back, as the hashes of one payload do), each side's
 * half-width on the log scale combined in quadrature and divided by the
 * number of payloads (the payloads' estimates taken as independent); not
 * judged when any payload's is not. */
static ranked hash_ratio(const report_ctx *c, const char *num, const char *den)
{
    size_t p;
    double sum = 0, lo2 = 0, hi2 = 0;
    int judged = 1;
    ranked r = {num, NAN, NAN, NAN, 0};
    for (p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        const rundir_row *b = rpt_find(c, pl, STAGE(HASH), "", "", -1, den, NULL), *x;
        if (!b) continue;
        if (!(x = rpt_find(c, pl, STAGE(HASH), "", "", -1, num, NULL))) return r;
        report_ratio q = report_ratio_of(x, b);
        double l = log(q.value);
        sum += l;
        judged &= !isnan(q.lo);
        if (judged) lo2 += pow(l - log(q.lo), 2), hi2 += pow(log(q.hi) - l, 2);
        r.n++;
    }
    if (!r.n) return r;
    r.score = exp(sum / (double)r.n);
    if (judged) {
        r.lo = r.score * exp(-sqrt(lo2) / (double)r.n);
        r.hi = r.score * exp(sqrt(hi2) / (double)r.n);
    }
    return r;
}

/* "0.123 (0.1-0.15)", or "0.123" without an interval: report_ratio_cell's
 * text, returned for use inside a printf's arguments. */
static const char *score_text(double v, double lo, double hi, char *buf, size_t n)
{
    report_ratio_cell((report_ratio){v, lo, hi, 0}, 0, 1, "", buf, n);
    return buf;
}

/* Whether hashing with a differs measurably from b: their own ratio a / b
 * (hash_ratio), whose interval excludes 1. Not judged counts as a
 * difference not shown: 0, and *r says why. */
static int hash_differs(const report_ctx *c, const char *a, const char *b, ranked *r)
{
    *r = hash_ratio(c, a, b);
    return !isnan(r->lo) && (r->hi < 1 || r->lo > 1);
}

/* The hash ranking, fastest first. */
typedef struct {
    ranked *r;
    size_t n;
} hash_ranking;

/* Score every hash by its hash stage against BASE_HASH's, fastest first.
 * Returns how many were ranked into *out. */
static size_t rank_list(const report_ctx *c, const strlist *names, ranked **out)
{
    size_t k, n = 0;
    *out = calloc(names->n + 1, sizeof **out);
    if (!*out) rpt_oom();
    for (k = 0; k < names->n; k++) {
        ranked r = hash_ratio(c, names->v[k], BASE_HASH);
        if (isfinite(r.score)) (*out)[n++] = r;
    }
    qsort(*out, n, sizeof **out, cmp_ranked);
    return n;
}

/* The classes of rule 5, each picking its fastest hash. */
typedef int (*hash_class)(const report_ctx *c, const char *hash);

static int class_sound(const report_ctx *c, const char *h)
{
    return report_hash_sound(c->run, h) && 8 * rpt_digest_bytes(c, h) >= 160;
}

static int class_key40(const report_ctx *c, const char *h) { return 8 * rpt_digest_bytes(c, h) == 160; }

static int class_any(const report_ctx *c, const char *h)
{
    (void)c;
    (void)h;
    return 1;
}

/* The i-th fastest hash of a class (0: its pick, 1: the runner-up), or NULL. */
static const ranked *class_nth(const report_ctx *c, const hash_ranking *hr, hash_class in, size_t i)
{
    size_t k;
    for (k = 0; k < hr->n; k++)
        if (in(c, hr->r[k].name) && i-- == 0) return &hr->r[k];
    return NULL;
}

static void rank_hashes(const report_ctx *c, hash_ranking *out)
{
    memset(out, 0, sizeof *out);
    out->n = rank_list(c, &c->hashes, &out->r);
}

/* ------------------------------------------------------------ the codecs */

/* The codec ranking: each codec at its cheapest measured level. */
typedef struct {
    cost_model m;
    int model_ok;
    cost_cand *best;        /* ranked, cheapest first */
    size_t n;
    cost_cand *unranked;    /* codecs with no level whose every cell exists */
    size_t nunranked;
    const cost_cand *now;   /* the cheapest gzip-compatible codec, or NULL */
    const cost_cand *bump;  /* the cheapest needing a cas_version bump, or NULL */
    size_t nunknown;        /* ranked codecs whose facts env.tsv lacks */
} codec_ranking;

#define HIT 1   /* cost index of the stated hit rate */

static int cmp_cost(const void *a, const void *b)
{
    const cost_cand *x = a, *y = b;
    if (x->cost_ns[HIT] != y->cost_ns[HIT]) return (x->cost_ns[HIT] > y->cost_ns[HIT]) - (x->cost_ns[HIT] < y->cost_ns[HIT]);
    return strcmp(x->spec, y->spec);
}

/* "gzip:3" -> "gzip" into buf. */
static const char *codec_name(const char *spec, char *buf, size_t n)
{
    int level;
    rpt_split_spec(spec, buf, n, &level);
    return buf;
}

static void rank_codecs(const report_ctx *c, codec_ranking *out)
{
    strlist names = {0};
    size_t i, k;
    memset(out, 0, sizeof *out);
    out->model_ok = cost_model_init(c, &out->m) == 0;
    if (!out->model_ok) return;
    for (k = 0; k < c->codecs.n; k++) {
        char name[64];
        if (report_codec_kind(c->run, c->codecs.v[k]) != CODEC_KIND_CEILING)
            rpt_sl_add(&names, codec_name(c->codecs.v[k], name, sizeof name));
    }
    out->best = calloc(names.n + 1, sizeof *out->best);
    out->unranked = calloc(names.n + 1, sizeof *out->unranked);
    if (!out->best || !out->unranked) rpt_oom();
    for (i = 0; i < names.n; i++) {
        cost_cand best = {0}, first_bad = {0};
        for (k = 0; k < c->codecs.n; k++) {
            char name[64];
            cost_cand x;
            if (strcmp(codec_name(c->codecs.v[k], name, sizeof name), names.v[i]) != 0) continue;
            cost_eval(c, &out->m, c->codecs.v[k], SCHEMA_VARIANT_SEQUENTIAL, &x);
            if (x.ok && (!best.ok || x.cost_ns[HIT] < best.cost_ns[HIT])) {
                cost_cand_free(&best);
                best = x;
            } else if (!x.ok && !first_bad.spec[0]) {
                first_bad = x;
            } else {
                cost_cand_free(&x);
            }
        }
        if (best.ok) {
            out->best[out->n++] = best;
            cost_cand_free(&first_bad);
        } else {
            out->unranked[out->nunranked++] = first_bad;
        }
    }
    rpt_sl_free(&names);
    qsort(out->best, out->n, sizeof *out->best, cmp_cost);
    for (k = 0; k < out->n; k++) {
        codec_kind kind = report_codec_kind(c->run, out->best[k].spec);
        if (!out->now && kind == CODEC_KIND_READABLE) out->now = &out->best[k];
        if (!out->bump && kind == CODEC_KIND_NEWVERSION) out->bump = &out->best[k];
        out->nunknown += kind == CODEC_KIND_UNKNOWN;
    }
}

static void free_ranking(codec_ranking *cr)
{
    size_t k;
    for (k = 0; k < cr->n; k++) cost_cand_free(&cr->best[k]);
    for (k = 0; k < cr->nunranked; k++) cost_cand_free(&cr->unranked[k]);
    free(cr->best);
    free(cr->unranked);
    cost_model_free(&cr->m);
}

/* Whether shipping spec adds a dependency: a C library other than today's
 * codec's (CPython's zlib), and the Python call that would run it. */
static const char *new_dependency(const report_ctx *c, const char *spec, char *buf, size_t n)
{
    const char *lib = report_codec_library(c->run, spec), *py = report_codec_python(c->run, spec);
    if (strcmp(lib, "unknown") == 0) return "unknown";
    if (strcmp(lib, report_codec_library(c->run, BASE_SPEC)) == 0) snprintf(buf, n, "no (%s, as today)", lib);
    else if (strcmp(py, "-") == 0) snprintf(buf, n, "yes: %s, and a Python binding (none recorded)", lib);
    else snprintf(buf, n, "yes: %s (Python: %s)", lib, py);
    return buf;
}

/* "0.123 ms (95 % interval 0.1 to 0.15)" or "... (not judged: fewer than 3 rounds)". */
static const char *saving_text(const cost_versus *v, char *buf, size_t n)
{
    if (v->verdict == COST_NOT_JUDGED)
        snprintf(buf, n, "%s ms (no interval: fewer than 3 rounds)", NUM(ms(v->saving_ns)));
    else
        snprintf(buf, n, "%s ms (95 %% interval %s to %s)", NUM(ms(v->saving_ns)), NUM(ms(v->lo_ns)),
                 NUM(ms(v->hi_ns)));
    return buf;
}

static const char *verdict_text(cost_verdict v)
{
    switch (v) {
    case COST_CHEAPER: return "cheaper";
    case COST_DEARER: return "dearer";
    case COST_SAME: return "no difference";
    default: return "not judged";
    }
}

/* What the timings of a candidate came from. */
static const char *sources_text(const cost_cand *x, char *buf, size_t n)
{
    size_t s, used = 0, len = 0;
    for (s = 0; s < COST_SRC_COUNT; s++) used += x->nsrc[s] > 0;
    buf[0] = 0;
    for (s = 0; s < COST_SRC_COUNT; s++) {
        if (!x->nsrc[s]) continue;
        if (used == 1) snprintf(buf, n, "%s", cost_src_names[s]);
        else len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%zu %s", len ? ", " : "", x->nsrc[s],
                                     cost_src_names[s]);
        if (len >= n) break;
    }
    return buf;
}

/* The two sentences a maintainer acts on. */
static void render_verdict(const report_ctx *c, const codec_ranking *cr, FILE *md)
{
    const cost_cand *base = &cr->m.base, *ref = base;
    char b1[128], b2[128], dep[192];
    double base_ms = ms(base->cost_ns[HIT]);
    const cost_cand *now = cr->now, *bump = cr->bump;
    if (!now) {
        fprintf(md, "- **Ship now (no cas_version bump): %s** - %s.\n",
                cr->nunknown == cr->n ? "unknown" : "no gzip-compatible codec ranked",
                cr->nunknown == cr->n ? "env.tsv does not say which codecs today's metaflow reads (a run older "
                                        "than the codec facts)"
                                      : "no gzip-compatible codec has every cell the model needs");
    } else if (strcmp(now->spec, BASE_SPEC) == 0) {
        fprintf(md, "- **Ship now (no cas_version bump): keep `" BASE_SPEC "`** - no other gzip-compatible codec "
                "or level measured costs a flow step less (%s ms per step under the mix below).\n", NUM(base_ms));
    } else {
        cost_versus v = cost_compare(now, base, HIT);
        new_dependency(c, now->spec, dep, sizeof dep);
        if (v.verdict == COST_CHEAPER) {
            fprintf(md, "- **Ship now (no cas_version bump): `%s`** - every metaflow release reads its gzip "
                    "stream, and it saves %s per flow step against `" BASE_SPEC "`'s %s ms under the mix "
                    "below (new dependency: %s).\n", now->spec, saving_text(&v, b1, sizeof b1), NUM(base_ms), dep);
            ref = now;
        } else {
            fprintf(md, "- **Ship now (no cas_version bump): nothing measurably cheaper than `" BASE_SPEC "`** - "
                    "the cheapest gzip-compatible candidate, `%s`, saves %s per flow step under the mix below, "
                    "%s.\n", now->spec, saving_text(&v, b1, sizeof b1),
                    v.verdict == COST_NOT_JUDGED ? "too few rounds to name a winner"
                    : v.verdict == COST_SAME ? "an interval that includes no difference"
                                             : "which is a loss");
        }
    }
    if (!bump) {
        fprintf(md, "- **With a cas_version bump: nothing to ship** - no codec that needs one was ranked.\n\n");
    } else if (bump->cost_ns[HIT] >= ref->cost_ns[HIT]) {
        fprintf(md, "- **With a cas_version bump: nothing to ship** - no codec that needs one costs a flow step "
                "less than `%s` (the cheapest, `%s`, costs %s ms against %s ms).\n\n", ref->spec, bump->spec,
                NUM(ms(bump->cost_ns[HIT])), NUM(ms(ref->cost_ns[HIT])));
    } else {
        cost_versus vb = cost_compare(bump, base, HIT), vr = cost_compare(bump, ref, HIT);
        new_dependency(c, bump->spec, dep, sizeof dep);
        char more[256] = "";
        if (ref != base) snprintf(more, sizeof more, ", %s more than `%s`,", saving_text(&vr, b2, sizeof b2), ref->spec);
        if (vr.verdict == COST_CHEAPER && (ref == base || vb.verdict == COST_CHEAPER))
            fprintf(md, "- **Ship with a cas_version bump: `%s`** - it saves %s per flow step against `" BASE_SPEC
                    "`%s under the mix below; old metaflow installations cannot read what it writes (new "
                    "dependency: %s).\n\n", bump->spec, saving_text(&vb, b1, sizeof b1), more, dep);
        else
            fprintf(md, "- **With a cas_version bump: nothing measurably cheaper than `%s`** - the cheapest "
                    "codec that needs one, `%s`, saves %s per flow step against it under the mix below, %s.\n\n",
                    ref->spec, bump->spec, saving_text(&vr, b1, sizeof b1),
                    vr.verdict == COST_NOT_JUDGED ? "too few rounds to name a winner"
                                                  : "an interval that includes no difference");
    }
}

/* What the model covers on payload p of the mix. */
static const char *modelled(const codec_ranking *cr, size_t p)
{
    if (!cr->m.in[p]) return "left out (no `" BASE_SPEC "` save row)";
    if (cr->m.load[p] && cr->m.hit[p]) return "save, hit, load";
    if (cr->m.load[p]) return "save, load (no `pickle` or `hash` row: a hit costs a save)";
    if (cr->m.hit[p]) return "save, hit (no `load` row: no load side)";
    return "save (no `load`, `pickle` or `hash` row)";
}

/* The model, as the numbers below used it. */
static void render_model(const report_ctx *c, const codec_ranking *cr, FILE *md)
{
    size_t p, k, s, nsrc[COST_SRC_COUNT] = {0}, ncells = 0;
    char used[256];
    const char *src = c->predict ? "predicted Python times (`predict.tsv` of this run, column `predicted_ms`)"
                      : c->python ? "measured Python times (the `--python` run)"
                                  : "C times (this run's cells; `--python` or a `predict.tsv` gives Python's)";
    /* What the ranked codecs' cells came from, so that a source that
     * matched nothing (other payload names) is not taken for used. */
    for (k = 0; k < cr->n; k++)
        for (s = 0; s < COST_SRC_COUNT; s++) nsrc[s] += cr->best[k].nsrc[s], ncells += cr->best[k].nsrc[s];
    used[0] = 0;
    for (s = 0, p = 0; s < COST_SRC_COUNT; s++)
        if (nsrc[s]) p += (size_t)snprintf(used + p, p < sizeof used ? sizeof used - p : 0, "%s%zu %s",
                                           p ? ", " : "", nsrc[s], cost_src_names[s]);
    fprintf(md, "What a flow step pays, per payload of the mix: weight x ((1 - h) x (save + upload) + h x hit + "
            "load + download), summed over the mix. save: stage `save` (`sequential`, `" BASE_HASH "`: pickle, "
            "key, compress); hit: a save whose key is already stored, where metaflow skips the compression "
            "and the upload (`pickle` + `hash` `" BASE_HASH "`); load: stage `load`; upload and download: the "
            "compressed bytes at %s MB/s each. Each codec at its cheapest level among those measured; a "
            "ceiling (`codec_ceiling_*` yes) is a bound, not a candidate. Timings: %s (of the %zu save and load "
            "cells of the ranked codecs: %s); a cell the source "
            "lacks takes `" BASE_SPEC "`'s offset to C on the same payload and stage when it has one, else "
            "its C time (the column \"timings\" counts the cells of each source). Intervals: the per-round "
            "costs (each C sample plus its cell's offset) of a candidate and of `" BASE_SPEC "`, paired by "
            "round; the 95 %% interval of the median of their ratio (rundata/roundstats.h: a block bootstrap "
            "over rounds plus the run's drift), relative to that median, applied to the candidate's cost; "
            "where the saving's interval includes 0, no winner is named, and the column \"against the next rank\" "
            "judges each rank against the one below it in the same way. `%s` allocation, protocol %d.\n\n",
            NUM(RPT_TRANSFER_MBPS), src, ncells, ncells ? used : "none", c->alloc, c->protocol);
    fprintf(md, "Hit rate h = %s (%s). Mix: %s%s%s: artifacts of each payload a step saves and later loads%s:\n\n"
            "| payload | artifacts per step | modelled |\n|---|---|---|\n", NUM(c->hit_rate),
            c->opts->has_hit_rate ? "`--hit-rate`" : "the default: an assumption; `--hit-rate F` gives another",
            c->opts->mix ? "`" : "", c->opts->mix ? c->opts->mix : "the default", c->opts->mix ? "`" : "",
            c->opts->mix ? "" : " (an assumption, not a measurement; `--mix FILE` gives another)");
    for (p = 0; p < c->mix.n; p++) {
        const char *why = "";
        for (k = 0; !c->opts->mix && k < rpt_mix_ndefaults; k++)
            if (strcmp(rpt_mix_defaults[k].payload, c->mix.payload[p]) == 0) why = rpt_mix_defaults[k].why;
        fprintf(md, "| %s | %s%s%s%s | %s |\n", c->mix.payload[p], NUM(c->mix.weight[p]), *why ? " (" : "", why,
                *why ? ")" : "", modelled(cr, p));
    }
    if (c->mix.ndropped) {
        fprintf(md, "\nNot in this run, so left out of the default mix:");
        for (p = 0; p < c->mix.ndropped; p++) fprintf(md, "%s `%s`", p ? "," : "", c->mix.dropped[p]);
        fprintf(md, ".\n");
    }
    fprintf(md, "\n");
}

static void render_ranking(const report_ctx *c, const codec_ranking *cr, FILE *md)
{
    size_t k;
    char b1[128], b2[128], b3[128], dep[192], srcs[160];
    const cost_cand *base = &cr->m.base;
    fprintf(md, "Today (`" BASE_SPEC "`): %s ms per flow step at h = %s, %s ms at h = 0.\n\n"
            "| rank | codec | readable by today's metaflow | new dependency | ms per step | saving vs "
            BASE_SPEC " per step | verdict | saving at h = 0 | against the next rank | timings |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n",
            NUM(ms(base->cost_ns[HIT])), NUM(c->hit_rate), NUM(ms(base->cost_ns[0])));
    for (k = 0; k < cr->n; k++) {
        const cost_cand *x = &cr->best[k];
        cost_versus v = cost_compare(x, base, HIT), v0 = cost_compare(x, base, 0);
        char next[192] = "-";
        if (k + 1 < cr->n) {
            /* A rank is a finding too: where the saving over the next one
             * includes 0, the two are tied, not ordered. */
            cost_versus vn = cost_compare(x, &cr->best[k + 1], HIT);
            snprintf(next, sizeof next, "%s, saves %s", verdict_text(vn.verdict), saving_text(&vn, b3, sizeof b3));
        }
        fprintf(md, "| %zu | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", k + 1, x->spec,
                report_codec_kind_text(report_codec_kind(c->run, x->spec)),
                new_dependency(c, x->spec, dep, sizeof dep), NUM(ms(x->cost_ns[HIT])),
                strcmp(x->spec, BASE_SPEC) == 0 ? "(today)" : saving_text(&v, b1, sizeof b1),
                strcmp(x->spec, BASE_SPEC) == 0 ? "-" : verdict_text(v.verdict),
                strcmp(x->spec, BASE_SPEC) == 0 ? "-" : saving_text(&v0, b2, sizeof b2), next,
                sources_text(x, srcs, sizeof srcs));
    }
    for (k = 0; k < cr->nunranked; k++)
        fprintf(md, "%s`%s` (%s)%s", k ? "; " : "\nNot ranked (a cell the model needs is missing at every level): ",
                cr->unranked[k].spec, cr->unranked[k].why, k + 1 == cr->nunranked ? ".\n" : "");
    fprintf(md, "\n");
}

/* The cells behind each line of the ranking. */
static void render_details(const report_ctx *c, const codec_ranking *cr, FILE *md)
{
    size_t k, p;
    const cost_cand *base = &cr->m.base;
    fprintf(md, "Per artifact, the save and load ms used above:\n\n| codec |");
    for (p = 0; p < c->mix.n; p++)
        if (cr->m.in[p]) fprintf(md, " %s save / load ms |", c->mix.payload[p]);
    fprintf(md, "\n|---|");
    for (p = 0; p < c->mix.n; p++)
        if (cr->m.in[p]) fprintf(md, "---|");
    fprintf(md, "\n");
    for (k = 0; k <= cr->n; k++) {
        const cost_cand *x = k < cr->n ? &cr->best[k] : base;
        size_t j;
        for (j = 0; k == cr->n && j < cr->n; j++)
            if (strcmp(cr->best[j].spec, BASE_SPEC) == 0) break;
        if (k == cr->n && j < cr->n) break;   /* today's codec is ranked above */
        fprintf(md, "| %s%s |", x->spec, k == cr->n ? " (today)" : "");
        for (p = 0; p < c->mix.n; p++)
            if (cr->m.in[p]) fprintf(md, " %s / %s |", NUM(ms(x->save_ns[p])), NUM(ms(x->load_ns[p])));
        fprintf(md, "\n");
    }
    fprintf(md, "\n");
}

/* The dedup case: fused and overlapped saves compress while hashing, so a
 * hit saves them nothing; the sequential path skips the compression. */
static void render_dedup(const report_ctx *c, const codec_ranking *cr, FILE *md)
{
    static const char *const variants[] = {SCHEMA_VARIANT_FUSED, SCHEMA_VARIANT_OVERLAPPED,
                                           SCHEMA_VARIANT_OVERLAPPED_SPIN};
    size_t k, v, shown = 0;
    char b1[128], b2[128];
    for (k = 0; k < c->codecs.n; k++) {
        cost_cand seq;
        cost_eval(c, &cr->m, c->codecs.v[k], SCHEMA_VARIANT_SEQUENTIAL, &seq);
        for (v = 0; v < sizeof variants / sizeof variants[0]; v++) {
            cost_cand x;
            cost_eval(c, &cr->m, c->codecs.v[k], variants[v], &x);
            if (x.ok) {
                cost_versus a = cost_compare(&x, &cr->m.base, 0), b = cost_compare(&x, &cr->m.base, HIT);
                if (!shown++)
                    fprintf(md, "The dedup case: metaflow hashes first and skips the compression when the key is "
                            "already stored; a `fused` or `overlapped` save compresses while it hashes, so on a "
                            "hit it pays its whole save (above, a hit costs `pickle` + `hash`). Saving per flow "
                            "step against `" BASE_SPEC "` `sequential`:\n\n| codec | variant | saving at h = 0 | "
                            "saving at h = %s | the same codec `sequential`, saving at h = %s |\n|---|---|---|---|---|\n", NUM(c->hit_rate),
                            NUM(c->hit_rate));
                fprintf(md, "| %s | %s | %s | %s | %s |\n", x.spec, x.variant, saving_text(&a, b1, sizeof b1),
                        saving_text(&b, b2, sizeof b2),
                        seq.ok ? NUM(ms(cr->m.base.cost_ns[HIT] - seq.cost_ns[HIT])) : "-");
            }
            cost_cand_free(&x);
        }
        cost_cand_free(&seq);
    }
    if (shown) fprintf(md, "\n");
}

static void render_codecs(const report_ctx *c, const codec_ranking *cr, FILE *md)
{
    size_t p;
    if (!c->mix.n) {
        fprintf(md, "No codec could be ranked: none of the default mix's payloads (");
        for (p = 0; p < c->mix.ndropped; p++) fprintf(md, "%s`%s`", p ? ", " : "", c->mix.dropped[p]);
        fprintf(md, ") is in this run; `--mix FILE` weighs this run's payloads.\n\n");
        return;
    }
    if (!cr->model_ok) {
        fprintf(md, "No codec could be ranked: %s (the model needs `save` rows with `" BASE_HASH "` and a `"
                BASE_SPEC "` baseline on the mix's payloads).\n\n", cr->m.base.why);
        return;
    }
    render_verdict(c, cr, md);
    render_model(c, cr, md);
    render_ranking(c, cr, md);
    /* The README block keeps the verdict, the model and the ranking. */
    fprintf(md, README_OMIT_BEGIN);
    render_details(c, cr, md);
    render_dedup(c, cr, md);
    fprintf(md, README_OMIT_END);
}
static void render_hash_rules(const report_ctx *c, FILE *md)
{
    fprintf(md, "Hashes (protocol %d; a hash's facts are those the run recorded in env.tsv): a hash's score is "
            "the geometric mean, over every payload with a `" BASE_HASH "` `hash` row, of its `hash`-stage "
            "median divided by `" BASE_HASH "`'s. Picked: the lowest score among (a) cryptographic hashes "
            "without known collisions (`hash_cryptographic_*` yes) with at least 160-bit digests, (b) hashes "
            "with a 160-bit digest (a 40-hex key, metaflow's key length today), (c) all hashes; and the "
            "fastest at each digest length. Intervals: each payload's ratio is the median of its per-round "
            "ratios (the hashes of a payload run back-to-back in every round) with its 95 %% interval; the "
            "geometric mean's interval combines them (the half-widths on the log scale in quadrature, over the "
            "number of payloads). The same for two hashes against each other: where a pick's ratio to its "
            "class's next hash has an interval that includes 1, the two are tied and the line says so.\n",
            c->protocol);
}

/* A pick of rule 5 with its interval, and whether it beats its class's
 * runner-up: where the two do not differ measurably no winner is named. */
static void hash_line(const report_ctx *c, const char *label, const hash_ranking *hr, hash_class in, FILE *md)
{
    const ranked *r = class_nth(c, hr, in, 0), *next = class_nth(c, hr, in, 1);
    char sc[96], vs[96], tail[320] = "";
    if (!r) {
        fprintf(md, "- **%s: none measured.**\n", label);
        return;
    }
    if (next) {
        ranked d;
        int differs = hash_differs(c, r->name, next->name, &d);
        report_ratio q = {d.score, d.lo, d.hi, 0};
        report_ratio_cell(q, 0, 1, "", vs, sizeof vs);
        if (isnan(d.lo))
            snprintf(tail, sizeof tail, "; against the next, `%s`: %s x its time (no interval: fewer than 3 "
                     "rounds)", next->name, vs);
        else if (differs)
            snprintf(tail, sizeof tail, "; %s x the time of the next, `%s`", vs, next->name);
        else
            snprintf(tail, sizeof tail, "; **no difference** from the next, `%s` (%s x its time, an interval "
                     "that includes 1): either serves", next->name, vs);
    }
    fprintf(md, "- **%s: `%s`** - %s x " BASE_HASH "'s hashing time (geometric mean over %zu "
            "payloads, 95 %% interval in parentheses), %d-bit digest, %d-hex key%s.\n", label, r->name,
            score_text(r->score, r->lo, r->hi, sc, sizeof sc), r->n, 8 * rpt_digest_bytes(c, r->name),
            2 * rpt_digest_bytes(c, r->name), tail);
}

static void render_hashes(const report_ctx *c, const hash_ranking *hr, FILE *md)
{
    int seen[DIGEST_BYTES_MAX] = {0}, b, first = 1;
    size_t k;
    if (!hr->n) {
        fprintf(md, "\nNo hash could be ranked (the rules need `hash` rows with a `" BASE_HASH "` "
                "baseline).\n\n");
        return;
    }
    fprintf(md, "\n| rank | hash | digest bits | cryptographic | score (hash time / " BASE_HASH ", 95 %% "
            "interval) | time / the next rank's |\n|---|---|---|---|---|---|\n");
    for (k = 0; k < hr->n; k++) {
        char sc[96], vs[96] = "-";
        ranked d;
        if (k + 1 < hr->n) {
            hash_differs(c, hr->r[k].name, hr->r[k + 1].name, &d);
            report_ratio_cell((report_ratio){d.score, d.lo, d.hi, 0}, 1, 1, "", vs, sizeof vs);
        }
        fprintf(md, "| %zu | %s | %d | %s | %s | %s |\n", k + 1, hr->r[k].name,
                8 * rpt_digest_bytes(c, hr->r[k].name), report_hash_crypto(c->run, hr->r[k].name),
                score_text(hr->r[k].score, hr->r[k].lo, hr->r[k].hi, sc, sizeof sc), vs);
    }
    fprintf(md, "\n");
    hash_line(c, "Hash, cryptographic, >= 160 bits", hr, class_sound, md);
    hash_line(c, "Hash with a 40-hex key (160 bits)", hr, class_key40, md);
    hash_line(c, "Fastest hash overall", hr, class_any, md);
    fprintf(md, "- Fastest at each digest length (score, 95 %% interval):");
    /* The ranking is fastest first: the first hash of each length is its
     * fastest, the second its runner-up. */
    for (b = 1; b < DIGEST_BYTES_MAX; b++) {
        const ranked *pick = NULL;
        for (k = 0; k < hr->n; k++) {
            if (rpt_digest_bytes(c, hr->r[k].name) != b || seen[b] > 1) continue;
            if (seen[b]++) {
                ranked d;
                if (!hash_differs(c, pick->name, hr->r[k].name, &d) && !isnan(d.lo))
                    fprintf(md, ", no difference from `%s`", hr->r[k].name);
                continue;
            }
            pick = &hr->r[k];
            char sc[96];
            fprintf(md, "%s %d bits: `%s` %s", first ? "" : ";", 8 * b, pick->name,
                    score_text(pick->score, pick->lo, pick->hi, sc, sizeof sc));
            first = 0;
        }
    }
    fprintf(md, ".\n\n");
}

void report_sec_recommend(report_ctx *c, FILE *md)
{
    codec_ranking cr;
    hash_ranking hr;
    rank_codecs(c, &cr);
    rank_hashes(c, &hr);
    render_codecs(c, &cr, md);
    render_hash_rules(c, md);
    render_hashes(c, &hr, md);
    free_ranking(&cr);
    free(hr.r);
}
