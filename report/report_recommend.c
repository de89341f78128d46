/* report_recommend.c - section "Recommendation": codecs and hashes ranked by
 * rules the section states, against today's baselines (baselines.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"
#include "report_facts.h"

typedef struct { const char *name; double score; size_t n; } ranked;
#define DIGEST_BYTES_MAX 65   /* hash.h's HASH_MAX_DIGEST + 1 */

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score) return (x->score > y->score) - (x->score < y->score);
    return strcmp(x->name, y->name);
}

/* Geometric mean over the payloads that have a baseline row of
 * candidate median / baseline median; NAN when the candidate misses one. */
static double geo_score(const report_ctx *c, const char *stage, const char *variant,
                        const char *base_spec, const char *base_hash,
                        const char *spec, const char *hash, size_t *npay)
{
    size_t p;
    double sum = 0;
    *npay = 0;
    for (p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        const rundir_row *b = base_spec ? rpt_find_spec(c, pl, stage, variant, base_spec, base_hash, NULL)
                                        : rpt_find(c, pl, stage, variant, "", -1, base_hash, NULL);
        const rundir_row *x;
        if (!b) continue;
        x = spec ? rpt_find_spec(c, pl, stage, variant, spec, hash, NULL)
                 : rpt_find(c, pl, stage, variant, "", -1, hash, NULL);
        if (!x) return NAN;
        sum += log(x->median_ns / b->median_ns);
        (*npay)++;
    }
    return *npay ? exp(sum / (double)*npay) : NAN;
}

/* The codec ranking: every non-ceiling codec with a score, fastest first. */
typedef struct {
    ranked *r;
    size_t n;
    const ranked *best_readable;   /* the codec for today's metaflow, or NULL */
    const ranked *best_any;
    size_t nunknown;               /* ranked codecs whose facts env.tsv lacks */
} codec_ranking;

/* The hash ranking, fastest first, and the picks of rule 5. */
typedef struct {
    ranked *r;
    size_t n;
    const ranked *sound, *key40, *any;
} hash_ranking;

/* Score every name of names, fastest first: codecs ("codec:level") by their
 * save against BASE_SPEC's (a ceiling is not ranked), hashes by their hash
 * stage against BASE_HASH's. Returns how many were ranked into *out. */
static size_t rank_list(const report_ctx *c, const strlist *names, int codecs, ranked **out)
{
    size_t k, n = 0;
    *out = calloc(names->n + 1, sizeof **out);
    if (!*out) rpt_oom();
    for (k = 0; k < names->n; k++) {
        const char *x = names->v[k];
        size_t np;
        double s = codecs ? geo_score(c, STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, BASE_SPEC, BASE_HASH, x, BASE_HASH,
                                      &np)
                          : geo_score(c, STAGE(HASH), "", NULL, BASE_HASH, NULL, x, &np);
        if (!isfinite(s) || (codecs && report_codec_kind(c->run, x) == CODEC_KIND_CEILING)) continue;
        (*out)[n++] = (ranked){x, s, np};
    }
    qsort(*out, n, sizeof **out, cmp_ranked);
    return n;
}

static void rank_codecs(const report_ctx *c, codec_ranking *out)
{
    size_t k;
    memset(out, 0, sizeof *out);
    out->n = rank_list(c, &c->codecs, 1, &out->r);
    for (k = 0; k < out->n; k++) {
        codec_kind kind = report_codec_kind(c->run, out->r[k].name);
        if (!out->best_readable && kind == CODEC_KIND_READABLE) out->best_readable = &out->r[k];
        out->nunknown += kind == CODEC_KIND_UNKNOWN;
    }
    out->best_any = out->n ? &out->r[0] : NULL;
}

static void rank_hashes(const report_ctx *c, hash_ranking *out)
{
    size_t k;
    memset(out, 0, sizeof *out);
    out->n = rank_list(c, &c->hashes, 0, &out->r);
    for (k = 0; k < out->n; k++) {
        int bits = 8 * rpt_digest_bytes(c, out->r[k].name);
        if (!out->sound && report_hash_sound(c->run, out->r[k].name) && bits >= 160) out->sound = &out->r[k];
        if (!out->key40 && bits == 160) out->key40 = &out->r[k];
    }
    out->any = out->n ? &out->r[0] : NULL;
}

static void render_rules(const report_ctx *c, FILE *md)
{
    fprintf(md, "Rules (applied to this run's rows; protocol %d, `%s` allocation; a codec's and "
            "a hash's facts are those the run recorded in env.tsv):\n\n"
            "1. A codec's score is the geometric mean, over every payload with a `" BASE_SPEC "` "
            "save row, of its save-path median (stage `save`, `sequential`, `" BASE_HASH "`) divided by "
            "`" BASE_SPEC "`'s. Lower is faster; a codec missing any of those payloads is not "
            "ranked; a ceiling (`codec_ceiling_*` yes: it stores the blob as is) is a bound, "
            "not a candidate.\n"
            "2. **Codec for today's metaflow**: the lowest score among codecs whose stream today's "
            "metaflow reads (`codec_metaflow_readable_*` yes: a gzip stream, cas_version 1, read "
            "by every metaflow release).\n"
            "3. **Codec overall**: the lowest score among all codecs (one whose stream today's "
            "metaflow does not read needs a new cas_version, which old metaflow installations "
            "cannot read).\n"
            "4. A hash's score is the geometric mean, over every payload with a `" BASE_HASH "` `hash` "
            "row, of its `hash`-stage median divided by `" BASE_HASH "`'s.\n"
            "5. **Hashes**: the lowest score among (a) cryptographic hashes without known "
            "collisions (`hash_cryptographic_*` yes) with at least 160-bit digests, (b) hashes "
            "with a 160-bit digest (a 40-hex key, metaflow's key length today), (c) all hashes; "
            "and the fastest at each digest length.\n\n", c->protocol, c->alloc);
}

static void render_codecs(const report_ctx *c, const codec_ranking *cr, FILE *md)
{
    size_t k, p;
    if (!cr->n) {
        fprintf(md, "No codec could be ranked (the rules need `save` rows with `" BASE_HASH "` and a "
                "`" BASE_SPEC "` baseline).\n\n");
        return;
    }
    fprintf(md, "| rank | codec | readable by today's metaflow | score (save time / " BASE_SPEC ") |");
    for (p = 0; p < c->payloads.n; p++) fprintf(md, " %s save ms |", c->payloads.v[p]);
    fprintf(md, "\n|---|---|---|---|");
    for (p = 0; p < c->payloads.n; p++) fprintf(md, "---|");
    fprintf(md, "\n");
    for (k = 0; k < cr->n; k++) {
        fprintf(md, "| %zu | %s | %s | %s |", k + 1, cr->r[k].name,
                report_codec_kind_text(report_codec_kind(c->run, cr->r[k].name)), NUM(cr->r[k].score));
        for (p = 0; p < c->payloads.n; p++) {
            const rundir_row *s = rpt_find_spec(c, c->payloads.v[p], STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL,
                                                cr->r[k].name, BASE_HASH, NULL);
            fprintf(md, " %s |", s ? NUM(ms(s->median_ns)) : "-");
        }
        fprintf(md, "\n");
    }
    fprintf(md, "\n");
    if (cr->best_readable)
        fprintf(md, "- **Recommended codec for today's metaflow: `%s`** - save path %s x "
                BASE_SPEC "'s time (geometric mean over %zu payloads), no cas_version change.\n",
                cr->best_readable->name, NUM(cr->best_readable->score), cr->best_readable->n);
    else if (cr->nunknown == cr->n)
        fprintf(md, "- **Recommended codec for today's metaflow: unknown** (env.tsv does not say "
                "which codecs today's metaflow reads: a run older than the codec facts).\n");
    else
        fprintf(md, "- **Recommended codec for today's metaflow: none ranked** (no "
                "gzip-compatible codec has save rows on every payload).\n");
    {
        codec_kind kind = report_codec_kind(c->run, cr->best_any->name);
        fprintf(md, "- **Fastest codec overall: `%s`** - %s x " BASE_SPEC "'s time%s.\n", cr->best_any->name,
                NUM(cr->best_any->score),
                kind == CODEC_KIND_READABLE ? ", readable by today's metaflow"
                : kind == CODEC_KIND_UNKNOWN ? "; whether today's metaflow reads it: unknown"
                : "; needs a new cas_version, which old metaflow installations cannot read");
    }
}

static void hash_line(const report_ctx *c, const char *label, const ranked *r, FILE *md)
{
    if (!r) {
        fprintf(md, "- **%s: none measured.**\n", label);
        return;
    }
    fprintf(md, "- **%s: `%s`** - %s x " BASE_HASH "'s hashing time (geometric mean over %zu "
            "payloads), %d-bit digest, %d-hex key.\n", label, r->name, NUM(r->score), r->n,
            8 * rpt_digest_bytes(c, r->name), 2 * rpt_digest_bytes(c, r->name));
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
    fprintf(md, "\n| rank | hash | digest bits | cryptographic | score (hash time / " BASE_HASH ") |\n"
            "|---|---|---|---|---|\n");
    for (k = 0; k < hr->n; k++)
        fprintf(md, "| %zu | %s | %d | %s | %s |\n", k + 1, hr->r[k].name,
                8 * rpt_digest_bytes(c, hr->r[k].name), report_hash_crypto(c->run, hr->r[k].name),
                NUM(hr->r[k].score));
    fprintf(md, "\n");
    hash_line(c, "Hash, cryptographic, >= 160 bits", hr->sound, md);
    hash_line(c, "Hash with a 40-hex key (160 bits)", hr->key40, md);
    hash_line(c, "Fastest hash overall", hr->any, md);
    fprintf(md, "- Fastest at each digest length:");
    /* The ranking is fastest first: the first hash of each length is its fastest. */
    for (b = 1; b < DIGEST_BYTES_MAX; b++)
        for (k = 0; k < hr->n; k++) {
            if (rpt_digest_bytes(c, hr->r[k].name) != b || seen[b]) continue;
            seen[b] = 1;
            fprintf(md, "%s %d bits: `%s` (%s)", first ? "" : ";", 8 * b, hr->r[k].name, NUM(hr->r[k].score));
            first = 0;
        }
    fprintf(md, ".\n\n");
}

void report_sec_recommend(report_ctx *c, FILE *md)
{
    codec_ranking cr;
    hash_ranking hr;
    rank_codecs(c, &cr);
    rank_hashes(c, &hr);
    render_rules(c, md);
    render_codecs(c, &cr, md);
    render_hashes(c, &hr, md);
    free(cr.r);
    free(hr.r);
}
