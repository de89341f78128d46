/* report_stages.c - section "Where the time goes": the save path's stages
 * per payload, stacked, and the stage that dominates after PR #3090's codec. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"
#include "report_facts.h"
#include "report_rounds.h"

/* After PR #3090's codec with today's key hash: one payload's three stage
 * medians and the one that dominates. */
typedef struct {
    const char *payload;
    const rundir_row *stage[3];   /* pickle, hash (BASE_HASH), compress (PR_SPEC) */
    int dominant;                 /* index into stage */
    int second;                   /* the next largest */
    report_ratio share;           /* the dominant stage's share of the three */
    report_ratio lead;            /* dominant / second */
    const rundir_row *save;       /* the measured save row, or NULL */
} stage_split;

static const char *const stage_names[3] = {"pickle", "hash (" BASE_HASH ")", "compress (" PR_SPEC ")"};

/* 0, or -1 when the run lacks one of the three stages for the payload. */
static int split_of(const report_ctx *c, const char *pl, stage_split *s)
{
    int j;
    s->payload = pl;
    s->stage[0] = rpt_find(c, pl, STAGE(PICKLE), "", "", -1, "", NULL);
    s->stage[1] = rpt_find(c, pl, STAGE(HASH), "", "", -1, BASE_HASH, NULL);
    s->stage[2] = rpt_find(c, pl, STAGE(COMPRESS), "", PR_CODEC, PR_LEVEL, "", NULL);
    s->save = rpt_find(c, pl, STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, PR_CODEC, PR_LEVEL, BASE_HASH, NULL);
    if (!s->stage[0] || !s->stage[1] || !s->stage[2]) return -1;
    s->dominant = 0;
    for (j = 1; j < 3; j++)
        if (s->stage[j]->median_ns > s->stage[s->dominant]->median_ns) s->dominant = j;
    s->second = s->dominant == 0 ? 1 : 0;
    for (j = 0; j < 3; j++)
        if (j != s->dominant && s->stage[j]->median_ns > s->stage[s->second]->median_ns) s->second = j;
    s->share = report_share_of(s->stage, 3, (size_t)s->dominant);
    s->lead = report_ratio_of(s->stage[s->dominant], s->stage[s->second]);
    return 0;
}

/* The stacked bars of one payload: plots/stages-<payload>.tsv and its plot;
 * its image link on md. */
static void stage_plot(report_ctx *c, const char *pl, FILE *md)
{
    const rundir_row *pk = rpt_find(c, pl, STAGE(PICKLE), "", "", -1, "", NULL);
    const rundir_row *h1 = rpt_find(c, pl, STAGE(HASH), "", "", -1, BASE_HASH, NULL);
    const rundir_row *pr = rpt_find(c, pl, STAGE(COMPRESS), "", PR_CODEC, PR_LEVEL, "", NULL);
    char *base, *qd, *qt;
    cb_buf d = {0};
    size_t nbars = 0, k;
    if (!pk) return;
    cb_buf_printf(&d, "config\tpickle_ms\thash_ms\tcompress_ms\n");
    for (k = 0; k < c->codecs.n && h1; k++) {
        const rundir_row *cp = rpt_find_spec(c, pl, STAGE(COMPRESS), "", c->codecs.v[k], "", NULL);
        if (!cp) continue;
        cb_buf_printf(&d, "%s+" BASE_HASH "\t%.6g\t%.6g\t%.6g\n", c->codecs.v[k], ms(pk->median_ns),
                ms(h1->median_ns), ms(cp->median_ns));
        nbars++;
    }
    for (k = 0; k < c->hashes.n && pr; k++) {
        const rundir_row *h = rpt_find(c, pl, STAGE(HASH), "", "", -1, c->hashes.v[k], NULL);
        if (!h || strcmp(c->hashes.v[k], BASE_HASH) == 0) continue;
        cb_buf_printf(&d, PR_SPEC "+%s\t%.6g\t%.6g\t%.6g\n", c->hashes.v[k], ms(pk->median_ns),
                ms(h->median_ns), ms(pr->median_ns));
        nbars++;
    }
    if (d.oom) rpt_oom();
    if (!nbars) { cb_buf_free(&d); return; }
    base = rpt_asprintf("stages-%s", SLUG(pl));
    qd = rpt_plot_data(c, base, d.p, d.n);
    qt = rpt_gq(pl);
    rpt_add_job(c, "stages.gp", base, rpt_asprintf("data=%s; title=%s", qd, qt));
    fprintf(md, "![save-path stages, %s](plots/%s.png) ", pl, base);
    free(qd);
    free(qt);
    free(base);
}

void report_sec_stages(report_ctx *c, FILE *md)
{
    size_t p;
    fprintf(md, "Each bar adds the medians of the separate stages `pickle`, `hash` and "
            "`compress` (`%s` allocation) for one codec with `" BASE_HASH "`, and for `" PR_SPEC "` with "
            "each hash.\n\n", c->alloc);
    for (p = 0; p < c->payloads.n; p++) stage_plot(c, c->payloads.v[p], md);
    fprintf(md, "\n\nAfter lz4 (`" PR_SPEC "` with `" BASE_HASH "`), the stage that dominates each payload "
            "(largest median of the three; where its interval against the next largest includes 1, "
            "the two are named as a tie: at this precision neither dominates), and its share of the "
            "three with its 95 %% interval from the rounds:\n\n");
    fprintf(md, "| payload | pickle ms | " BASE_HASH " ms | " PR_SPEC " compress ms | dominant | its share | "
            "measured save (" PR_SPEC ", " BASE_HASH ") ms |\n|---|---|---|---|---|---|---|\n");
    for (p = 0; p < c->payloads.n; p++) {
        stage_split s;
        char dom[160], share[128];
        if (split_of(c, c->payloads.v[p], &s) != 0) continue;
        if (s.lead.lo <= 1) /* NAN (no interval) compares false: named alone */
            snprintf(dom, sizeof dom, "no difference: %s or %s", stage_names[s.dominant], stage_names[s.second]);
        else snprintf(dom, sizeof dom, "**%s**", stage_names[s.dominant]);
        report_ratio_cell(s.share, 0, 100, " %", share, sizeof share);
        fprintf(md, "| %s | %s | %s | %s | %s | %s | %s |\n", s.payload, NUM(ms(s.stage[0]->median_ns)),
                NUM(ms(s.stage[1]->median_ns)), NUM(ms(s.stage[2]->median_ns)), dom, share,
                s.save ? NUM(ms(s.save->median_ns)) : "-");
    }
    fprintf(md, "\n");
}
