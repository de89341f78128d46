/* report_findings.c - the section "Findings with intervals": the ratios the
 * report's other sections state as points (the PR #3090 speedup, the hash
 * ratios, "x sequential", the hash's share of a save), each as a median of
 * per-round ratios with its 95 % interval (report_rounds.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"
#include "report_rounds.h"
#include "roundstats.h"
#include "util.h"

/* The codec pair PR #3090 is about: metaflow's codec against the proposal. */
static const struct { const char *codec; int level; } pr3090_pair[2] = {{BASE_CODEC, BASE_LEVEL},
                                                                        {PR_CODEC, PR_LEVEL}};
/* metaflow's key hash: the other hashes are compared with it. */
static const char key_hash[] = BASE_HASH;
static const char *const save_variants[] = {SCHEMA_VARIANT_FUSED, SCHEMA_VARIANT_OVERLAPPED,
                                            SCHEMA_VARIANT_OVERLAPPED_SPIN};

static void payloads_of(const rundir *run, const char **out, size_t *n, size_t cap)
{
    *n = 0;
    for (size_t i = 0; i < run->nrows; i++) {
        const rundir_row *w = &run->rows[i];
        size_t k;
        if (!w->ok || strcmp(w->payload, SCHEMA_PAYLOAD_SWEEP) == 0) continue;
        for (k = 0; k < *n && strcmp(out[k], w->payload) != 0; k++) {}
        if (k == *n && *n < cap) out[(*n)++] = w->payload;
    }
}

/* How far each interval the section printed reaches above its ratio (hi /
 * value - 1), by kind of finding: the precision the run bought. */
enum { K_SAVE, K_HASH, K_VARIANT, K_SHARE, K_COUNT };
static const char *const kind_names[K_COUNT] = {"the " BASE_SPEC " / " PR_SPEC " `save` ratio",
                                                "`hash` " BASE_HASH " / another hash",
                                                "x sequential", "the hash's share of a save"};
static double g_half[K_COUNT][1024];
static size_t g_nhalf[K_COUNT];

static void note_precision(report_ratio r, int kind)
{
    if (!isnan(r.hi) && g_nhalf[kind] < sizeof g_half[0] / sizeof g_half[0][0])
        g_half[kind][g_nhalf[kind]++] = r.hi / r.value - 1;
}

static void cell(report_ratio r, int have, int kind, FILE *md)
{
    char t[160];
    if (!have) { fprintf(md, " - |"); return; }
    note_precision(r, kind);
    report_ratio_text(r, t, sizeof t);
    fprintf(md, " %s |", t);
}

/* A share (part / whole) as a percentage with its interval. */
static void share_cell(const rundir_row *part, const rundir_row *whole, FILE *md)
{
    if (!part || !whole) { fprintf(md, " - |"); return; }
    report_ratio r = report_ratio_of(part, whole);
    note_precision(r, K_SHARE);
    if (isnan(r.lo)) fprintf(md, " %s %% |", CB_FMT3(100 * r.value));
    else fprintf(md, " %s %% (95 %% CI %s-%s %%) |", CB_FMT3(100 * r.value), CB_FMT3(100 * r.lo), CB_FMT3(100 * r.hi));
}

static void pr3090_table(const rundir *run, int protocol, const char *alloc, const char **pl, size_t np, FILE *md)
{
    fprintf(md, "| payload | %s:%d / %s:%d `save` time | `hash` %s / the %s:%d save | `hash` %s / the %s:%d save |\n"
                "|---|---|---|---|\n", pr3090_pair[0].codec, pr3090_pair[0].level, pr3090_pair[1].codec,
            pr3090_pair[1].level, key_hash, pr3090_pair[0].codec, pr3090_pair[0].level, key_hash,
            pr3090_pair[1].codec, pr3090_pair[1].level);
    for (size_t p = 0; p < np; p++) {
        const rundir_row *s[2], *h = report_find_row(run, protocol, pl[p], STAGE(HASH), "", "", 0, key_hash, NULL);
        for (int k = 0; k < 2; k++)
            s[k] = report_find_row(run, protocol, pl[p], STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, pr3090_pair[k].codec,
                                   pr3090_pair[k].level, key_hash, alloc);
        fprintf(md, "| %s |", pl[p]);
        cell(s[0] && s[1] ? report_ratio_of(s[0], s[1]) : (report_ratio){0}, s[0] && s[1], K_SAVE, md);
        for (int k = 0; k < 2; k++) share_cell(h, s[k], md);
        fprintf(md, "\n");
    }
    fprintf(md, "\n");
}

static void hash_table(const rundir *run, int protocol, const char **pl, size_t np, FILE *md)
{
    size_t rows = 0;
    for (size_t p = 0; p < np; p++) {
        const rundir_row *base = report_find_row(run, protocol, pl[p], STAGE(HASH), "", "", 0, key_hash, NULL);
        if (!base) continue;
        for (size_t i = 0; i < run->nrows; i++) {
            const rundir_row *w = &run->rows[i];
            if (!w->ok || w->protocol != protocol || strcmp(w->payload, pl[p]) != 0 ||
                strcmp(w->stage, STAGE(HASH)) != 0 || w == base)
                continue;
            if (!rows++) fprintf(md, "| payload | hash | %s time / this hash's |\n|---|---|---|\n", key_hash);
            fprintf(md, "| %s | %s |", pl[p], w->hash);
            cell(report_ratio_of(base, w), 1, K_HASH, md);
            fprintf(md, "\n");
        }
    }
    if (rows) fprintf(md, "\n");
}

static void variant_table(const rundir *run, int protocol, const char **pl, size_t np, FILE *md)
{
    size_t rows = 0;
    for (size_t p = 0; p < np; p++)
        for (int k = 0; k < 2; k++)
            for (int a = 0; a < SCHEMA_ALLOC_COUNT; a++) {
                const rundir_row *seq = report_find_row(run, protocol, pl[p], STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL,
                                                        pr3090_pair[k].codec, pr3090_pair[k].level, key_hash,
                                                        schema_alloc_names[a]);
                for (size_t v = 0; seq && v < sizeof save_variants / sizeof save_variants[0]; v++) {
                    const rundir_row *w = report_find_row(run, protocol, pl[p], STAGE(SAVE), save_variants[v],
                                                          pr3090_pair[k].codec, pr3090_pair[k].level, key_hash,
                                                          schema_alloc_names[a]);
                    if (!w) continue;
                    if (!rows++)
                        fprintf(md, "| payload | codec | alloc | variant | x sequential |\n|---|---|---|---|---|\n");
                    fprintf(md, "| %s | %s:%d | %s | %s |", pl[p], pr3090_pair[k].codec, pr3090_pair[k].level,
                            schema_alloc_names[a], save_variants[v]);
                    cell(report_ratio_of(w, seq), 1, K_VARIANT, md);
                    fprintf(md, "\n");
                }
            }
    if (rows) fprintf(md, "\n");
}

void report_findings(const rundir *run, int protocol, const char *alloc, FILE *md)
{
    const char *pl[64];
    size_t np;
    payloads_of(run, pl, &np, 64);
    fprintf(md, "The ratios the sections above state as points, each with its 95 %% interval: the median of "
                "per-round ratios where the two rows ran back-to-back in every round (\"paired\"), else the "
                "ratio of the rows' medians over rounds; both intervals include how far the figure drifts "
                "between the first, middle and last thirds of the run (results/README.md, \"Rounds\"). Where an interval includes 1 "
                "the row says \"no difference\": neither side is faster at this precision, whatever the "
                "point figures above say. `save` rows: variant sequential, %s buffers, key hash %s.\n\n",
            alloc, key_hash);
    memset(g_nhalf, 0, sizeof g_nhalf);
    pr3090_table(run, protocol, alloc, pl, np, md);
    hash_table(run, protocol, pl, np, md);
    variant_table(run, protocol, pl, np, md);
    size_t rounds = 0, any = 0;
    for (size_t i = 0; i < run->nrows; i++)
        if (run->rows[i].ok && run->rows[i].nsamples > rounds) rounds = run->rows[i].nsamples;
    fprintf(md, "Precision this run bought (%zu rounds, profile %s), as the median of how far the intervals "
                "above reach beyond their figure:", rounds, rundir_env(run, "profile"));
    for (int k = 0; k < K_COUNT; k++) {
        if (!g_nhalf[k]) continue;
        fputs(any++ ? "; " : " ", md);
        fprintf(md, "%s %s %% (%zu intervals, the widest %s %%)", kind_names[k],
                CB_FMT3(100 * rs_median(g_half[k], g_nhalf[k])), g_nhalf[k],
                CB_FMT3(100 * rs_quantile(g_half[k], g_nhalf[k], 1.0)));
    }
    fprintf(md, "%s. The intervals include the between-run part (how far the run's first, middle and last "
                "thirds of rounds disagree), so a second run of the same plan lands inside most of them; "
                "`make aa` checks the two headline ratios on two runs.\n\n", any ? "" : " none (too few rounds)");
}
