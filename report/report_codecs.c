/* report_codecs.c - section "Codecs": ratio against throughput per payload,
 * with the Pareto fronts of compress and decompress. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"
#include "report_facts.h"

typedef struct { const char *spec; double ratio, cs, ds; int pc, pd; codec_kind fam; } cpoint;

/* Pareto front on (speed, ratio), both larger-is-better; `none` is a ceiling,
 * not a candidate, so it never sits on the front. */
static void pareto(cpoint *pt, size_t n, int decompress)
{
    size_t i, j;
    for (i = 0; i < n; i++) {
        double si = decompress ? pt[i].ds : pt[i].cs;
        int dominated = pt[i].fam == CODEC_KIND_CEILING;
        for (j = 0; j < n && !dominated; j++) {
            double sj = decompress ? pt[j].ds : pt[j].cs;
            if (j == i || pt[j].fam == CODEC_KIND_CEILING) continue;
            if (sj >= si && pt[j].ratio >= pt[i].ratio && (sj > si || pt[j].ratio > pt[i].ratio))
                dominated = 1;
        }
        if (decompress) pt[i].pd = !dominated; else pt[i].pc = !dominated;
    }
}

static int cmp_cs(const void *a, const void *b)
{
    const cpoint *x = a, *y = b;
    return (x->cs > y->cs) - (x->cs < y->cs);
}
static int cmp_ds(const void *a, const void *b)
{
    const cpoint *x = a, *y = b;
    return (x->ds > y->ds) - (x->ds < y->ds);
}

/* A gnuplot data block: the points on the compress (or decompress) front,
 * sorted by that speed (pt is reordered). */
static void front_block(cb_buf *d, cpoint *pt, size_t n, int decompress)
{
    size_t k;
    qsort(pt, n, sizeof *pt, decompress ? cmp_ds : cmp_cs);
    cb_buf_printf(d, "\n\ncodec\tfamily\tratio\tcompress_mbps\tdecompress_mbps\n");
    for (k = 0; k < n; k++)
        if (decompress ? pt[k].pd : pt[k].pc)
            cb_buf_printf(d, "%s\t0\t%.6g\t%.6g\t%.6g\n", pt[k].spec, pt[k].ratio, pt[k].cs, pt[k].ds);
}

void report_sec_codecs(report_ctx *c, FILE *md)
{
    size_t p, k;
    fprintf(md, "Per payload: compression ratio (pickled bytes / compressed bytes) against "
            "throughput (pickled bytes per second, 10^6 B/s) of the `compress` and `decompress` "
            "stages (`%s` allocation). Pareto front: no other codec is both at least as fast "
            "and at least as small, and better in one; `none` is the ceiling, not a candidate. "
            "Filled circles are gzip streams today's metaflow reads (cas_version 1); triangles "
            "need a new cas_version (PR #3090's lz4, zstd).\n\n", c->alloc);
    for (p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        cpoint *pt = calloc(c->codecs.n + 1, sizeof *pt), *sorted;
        size_t n = 0;
        char *base, *qd, *qt;
        cb_buf d = {0};
        if (!pt) rpt_oom();
        for (k = 0; k < c->codecs.n; k++) {
            const rundir_row *cr = rpt_find_spec(c, pl, STAGE(COMPRESS), "", c->codecs.v[k], "", NULL);
            const rundir_row *dr = rpt_find_spec(c, pl, STAGE(DECOMPRESS), "", c->codecs.v[k], "", NULL);
            char codec[64];
            int level;
            if (!cr || !dr || !cr->bytes_out) continue;
            rpt_split_spec(c->codecs.v[k], codec, sizeof codec, &level);
            pt[n].spec = c->codecs.v[k];
            pt[n].ratio = (double)cr->pickled_bytes / (double)cr->bytes_out;
            pt[n].cs = mbps(cr->pickled_bytes, cr->median_ns);
            pt[n].ds = mbps(cr->pickled_bytes, dr->median_ns);
            pt[n].fam = report_codec_kind(c->run, codec);
            n++;
        }
        if (!n) { free(pt); continue; }
        pareto(pt, n, 0);
        pareto(pt, n, 1);
        fprintf(md, "**%s** (%llu bytes pickled)\n\n", pl,
                (unsigned long long)rpt_find_spec(c, pl, STAGE(COMPRESS), "", pt[0].spec, "", NULL)->pickled_bytes);
        fprintf(md, "| codec | readable by today's metaflow | ratio | compress MB/s | "
                "decompress MB/s | Pareto (compress) | Pareto (decompress) |\n"
                "|---|---|---|---|---|---|---|\n");
        for (k = 0; k < n; k++)
            fprintf(md, "| %s | %s | %s | %s | %s | %s | %s |\n", pt[k].spec, report_codec_kind_text(pt[k].fam),
                    NUM(pt[k].ratio), NUM(pt[k].cs), NUM(pt[k].ds), pt[k].pc ? "yes" : "",
                    pt[k].pd ? "yes" : "");
            /* Block 0: every point; block 1: the compress front by speed; block 2:
         * the decompress front. family: 0 ceiling, 1 gzip, 2 new version, 3 unknown. */
        cb_buf_printf(&d, "codec\tfamily\tratio\tcompress_mbps\tdecompress_mbps\n");
        for (k = 0; k < n; k++)
            cb_buf_printf(&d, "%s\t%d\t%.6g\t%.6g\t%.6g\n", pt[k].spec,
                    pt[k].fam == CODEC_KIND_CEILING ? 0 : pt[k].fam == CODEC_KIND_READABLE ? 1 :
                    pt[k].fam == CODEC_KIND_NEWVERSION ? 2 : 3, pt[k].ratio, pt[k].cs, pt[k].ds);
        sorted = malloc(n * sizeof *sorted);
        if (!sorted) rpt_oom();
        memcpy(sorted, pt, n * sizeof *pt);
        front_block(&d, sorted, n, 0);
        front_block(&d, sorted, n, 1);
        if (d.oom) rpt_oom();
        base = rpt_asprintf("codecs-%s", SLUG(pl));
        qd = rpt_plot_data(c, base, d.p, d.n);
        qt = rpt_gq(pl);
        {
            char *b1 = rpt_asprintf("%s-compress", base), *b2 = rpt_asprintf("%s-decompress", base);
            size_t unknown = 0;
            for (k = 0; k < n; k++) unknown += pt[k].fam == CODEC_KIND_UNKNOWN;
            rpt_add_job(c, "codecs.gp", b1, rpt_asprintf("data=%s; title=%s; which='compress'; "
                                                  "unknown=%zu", qd, qt, unknown));
            rpt_add_job(c, "codecs.gp", b2, rpt_asprintf("data=%s; title=%s; which='decompress'; "
                                                  "unknown=%zu", qd, qt, unknown));
            fprintf(md, "\n![%s compress](plots/%s.png) ![%s decompress](plots/%s.png)\n\n",
                    pl, b1, pl, b2);
            free(b1);
            free(b2);
        }
        free(qd);
        free(qt);
        free(base);
        free(sorted);
        free(pt);
    }
}
