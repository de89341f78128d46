/* report_consistency.c - the section "Consistency checks": physical
 * orderings between rows of one run that must hold whatever the machine
 * (report_rounds.h). A violation means a figure is wrong (a slow phase of
 * the machine landed on one row), so the findings built on it are too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_ctx.h"
#include "report_rounds.h"
#include "util.h"

/* One ordering: for each row of stage `whole`, the row it must not be
 * faster than, found by `part_of`. */
typedef struct {
    schema_stage whole;         /* the stage of the larger row */
    const char *rule;           /* as printed */
    const rundir_row *(*part_of)(const rundir *run, int protocol, const rundir_row *w, int k);
    int parts;                  /* how many parts part_of(…, k) has, k = 0..parts-1 */
} ordering;

static const rundir_row *save_of_store(const rundir *run, int protocol, const rundir_row *w, int k)
{
    (void)k;
    return report_find_row(run, protocol, w->payload, STAGE(SAVE), w->variant, w->codec, w->level, w->hash, w->alloc);
}

/* A save does the pickle (same allocation mode), the hash and the compress
 * (the stage rows are timed with reused buffers: a fresh save only adds
 * allocation to them). */
static const rundir_row *stage_of_save(const rundir *run, int protocol, const rundir_row *w, int k)
{
    switch (k) {
    case 0: return report_find_row(run, protocol, w->payload, STAGE(PICKLE), "", "", 0, "", w->alloc);
    case 1: return report_find_row(run, protocol, w->payload, STAGE(HASH), "", "", 0, w->hash, NULL);
    default: return report_find_row(run, protocol, w->payload, STAGE(COMPRESS), "", w->codec, w->level, "", NULL);
    }
}

static const rundir_row *load_of_verify(const rundir *run, int protocol, const rundir_row *w, int k)
{
    if (k == 0) return report_find_row(run, protocol, w->payload, STAGE(LOAD), "", w->codec, w->level, "", w->alloc);
    return report_find_row(run, protocol, w->payload, STAGE(HASH), "", "", 0, w->hash, NULL);
}

static const rundir_row *decompress_of_load(const rundir *run, int protocol, const rundir_row *w, int k)
{
    (void)k;
    return report_find_row(run, protocol, w->payload, STAGE(DECOMPRESS), "", w->codec, w->level, "", NULL);
}

static const ordering orderings[] = {
    {SCHEMA_STAGE_SAVE_STORE, "`save+store` >= `save` of the same pairing, variant and allocation", save_of_store, 1},
    {SCHEMA_STAGE_SAVE, "`save` >= each of its stages (`pickle` of its allocation, `hash`, `compress`)",
     stage_of_save, 3},
    {SCHEMA_STAGE_LOAD_VERIFY, "`load+verify` >= `load` of its codec and allocation, and >= `hash` of its hash",
     load_of_verify, 2},
    {SCHEMA_STAGE_LOAD, "`load` >= `decompress` of its codec", decompress_of_load, 1},
};

size_t report_consistency(const rundir *run, int protocol, FILE *md)
{
    size_t checked[sizeof orderings / sizeof orderings[0]] = {0}, violated = 0, unjudged = 0;
    cb_buf tbl = {0};
    for (size_t o = 0; o < sizeof orderings / sizeof orderings[0]; o++)
        for (size_t i = 0; i < run->nrows; i++) {
            const rundir_row *w = &run->rows[i];
            if (!w->ok || strcmp(w->stage, schema_stage_names[orderings[o].whole]) != 0 || w->protocol != protocol)
                continue;
            for (int k = 0; k < orderings[o].parts; k++) {
                const rundir_row *part = orderings[o].part_of(run, protocol, w, k);
                if (!part) continue;
                checked[o]++;
                report_ratio r = report_ratio_of(w, part);
                if (isnan(r.hi)) { unjudged++; continue; }
                /* Violated only when the whole interval lies below 1. */
                if (r.hi >= 1) continue;
                char a[512], b[512], txt[160];
                rundir_row_id(w, a, sizeof a);
                rundir_row_id(part, b, sizeof b);
                report_ratio_text(r, txt, sizeof txt);
                if (!violated++)
                    cb_buf_puts(&tbl, "| ordering | larger row | smaller row | larger / smaller |\n"
                                      "|---|---|---|---|\n");
                cb_buf_printf(&tbl, "| %s | `%s` | `%s` | %s |\n", orderings[o].rule, a, b, txt);
            }
        }
    if (tbl.oom) rpt_oom();
    fprintf(md, "Orderings that must hold whatever the machine does; a violation (the whole 95 %% interval "
                "of larger / smaller below 1) means one of the rows caught a slow or fast phase of the "
                "machine and the findings built on it are wrong. Overlapping intervals are not a "
                "violation.\n\n");
    for (size_t o = 0; o < sizeof orderings / sizeof orderings[0]; o++)
        fprintf(md, "- %s: %zu pairs checked\n", orderings[o].rule, checked[o]);
    if (unjudged) fprintf(md, "- %zu pairs not judged (fewer than 3 rounds)\n", unjudged);
    fprintf(md, "\n");
    if (violated) fprintf(md, "**%zu violated:**\n\n%s\n", violated, tbl.p);
    else fprintf(md, "None violated.\n\n");
    cb_buf_free(&tbl);
    return violated;
}
