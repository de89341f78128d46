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

/* The half-widths (hi / value - 1, on the upper side) of every interval the
 * section printed, paired and unpaired: the precision the run bought. */
static double g_half[2][1024];
static size_t g_nhalf[2];

static void note_precision(report_ratio r)
{
    int k = r.paired ? 0 : 1;
    if (!isnan(r.hi) && g_nhalf[k] < sizeof g_half[0] / sizeof g_half[0][0])
        g_half[k][g_nhalf[k]++] = r.hi / r.value - 1;
}

static void cell(report_ratio r, int have, FILE *md)
{
    char t[160];
    if (!have) { fprintf(md, " - |"); return; }
    note_precision(r);
    report_ratio_text(r, t, sizeof t);
    fprintf(md, " %s |", t);
}

/* A share (part / whole) as a percentage with its interval. */
static void share_cell(const rundir_row *part, const rundir_row *whole, FILE *md)
{
    if (!part || !whole) { fprintf(md, " - |"); return; }
    report_ratio r = report_ratio_of(part, whole);
    note_precision(r);
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
        cell(s[0] && s[1] ? report_ratio_of(s[0], s[1]) : (report_ratio){0}, s[0] && s[1], md);
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
            cell(report_ratio_of(base, w), 1, md);
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
                    cell(report_ratio_of(w, seq), 1, md);
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
    g_nhalf[0] = g_nhalf[1] = 0;
    pr3090_table(run, protocol, alloc, pl, np, md);
    hash_table(run, protocol, pl, np, md);
    variant_table(run, protocol, pl, np, md);
    size_t rounds = 0;
    for (size_t i = 0; i < run->nrows; i++)
        if (run->rows[i].ok && run->rows[i].nsamples > rounds) rounds = run->rows[i].nsamples;
    fprintf(md, "Precision this run bought (%zu rounds, profile %s): the intervals above reach, at the "
                "median, %s %% above their ratio when paired (%zu intervals) and %s %% when not (%zu); the "
                "widest paired one %s %%.\n\n", rounds, rundir_env(run, "profile"),
            g_nhalf[0] ? CB_FMT3(100 * rs_median(g_half[0], g_nhalf[0])) : "-", g_nhalf[0],
            g_nhalf[1] ? CB_FMT3(100 * rs_median(g_half[1], g_nhalf[1])) : "-", g_nhalf[1],
            g_nhalf[0] ? CB_FMT3(100 * rs_quantile(g_half[0], g_nhalf[0], 1.0)) : "-");
}
