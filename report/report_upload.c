/* report_upload.c - section "Save + upload": save CPU time plus compressed
 * bytes over a range of bandwidths, and each codec's break-even against
 * today's codec. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"
#include "report_facts.h"

#define BW_MIN 10.0       /* MB/s */
#define BW_MAX 10000.0
#define BW_POINTS 61

static void break_even(double cpu, double bytes, double cpu0, double bytes0, char *out, size_t n)
{
    /* cpu + bytes/bw < cpu0 + bytes0/bw  <=>  dc + db/bw < 0 (bw in B/ns). */
    double dc = cpu - cpu0, db = bytes - bytes0;
    if (dc == 0 && db == 0) snprintf(out, n, "(same)");
    else if (dc <= 0 && db <= 0) snprintf(out, n, "always");
    else if (dc >= 0 && db >= 0) snprintf(out, n, "never");
    else {
        double bw = db / -dc * 1e3;     /* B/ns -> MB/s */
        snprintf(out, n, "%s %s MB/s", dc < 0 ? "above" : "below", NUM(bw));
    }
}

/* One codec's save on one payload, and its break-even against today's codec. */
typedef struct {
    const char *spec;
    const rundir_row *save;
    char break_even[64];       /* "-" without a baseline row */
} upload_point;

/* The save rows of every codec on pl; returns how many (pts has room for
 * every codec). *base receives today's codec's row, or NULL. */
static size_t upload_points(const report_ctx *c, const char *pl, upload_point *pts, const rundir_row **base)
{
    size_t k, n = 0;
    *base = rpt_find(c, pl, STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, BASE_CODEC, BASE_LEVEL, BASE_HASH, NULL);
    for (k = 0; k < c->codecs.n; k++) {
        const rundir_row *s = rpt_find_spec(c, pl, STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, c->codecs.v[k], BASE_HASH,
                                            NULL);
        if (!s) continue;
        pts[n].spec = c->codecs.v[k];
        pts[n].save = s;
        snprintf(pts[n].break_even, sizeof pts[n].break_even, "-");
        if (*base) break_even(s->median_ns, (double)s->bytes_out, (*base)->median_ns,
                              (double)(*base)->bytes_out, pts[n].break_even, sizeof pts[n].break_even);
        n++;
    }
    return n;
}

/* plots/upload-<payload>.tsv (one curve per codec) and its plot. */
static void upload_plot(report_ctx *c, const char *pl, const upload_point *pts, size_t n, FILE *md)
{
    char *base;
    cb_buf d = {0}, names = {0};
    size_t k, j;
    for (k = 0; k < n; k++) {
        const rundir_row *s = pts[k].save;
        cb_buf_printf(&names, "%s%s", names.n ? " " : "", pts[k].spec);
        cb_buf_printf(&d, "%s# %s\nbandwidth_mbps\ttotal_ms\n", k ? "\n\n" : "", pts[k].spec);
        for (j = 0; j < BW_POINTS; j++) {
            double bw = BW_MIN * pow(BW_MAX / BW_MIN, (double)j / (BW_POINTS - 1));
            cb_buf_printf(&d, "%.6g\t%.6g\n", bw, ms(s->median_ns) + (double)s->bytes_out / (bw * 1e3));
        }
    }
    base = rpt_asprintf("upload-%s", SLUG(pl));
    rpt_plot_named(c, "upload.gp", base, &d, &names, pl);
    fprintf(md, "\n![save + upload, %s](plots/%s.png)\n\n", pl, base);
    free(base);
    cb_buf_free(&names);
}

void report_sec_upload(report_ctx *c, FILE *md)
{
    static const char *const targets[] = {"embeddings", "weights"};
    upload_point *pts = calloc(c->codecs.n + 1, sizeof *pts);
    size_t t, k, n;
    if (!pts) rpt_oom();
    fprintf(md, "Total = CPU time of the save path (stage `save`, `sequential`, `" BASE_HASH "`, `%s` "
            "allocation) + compressed bytes / bandwidth, for bandwidths from %s MB/s to %s MB/s. "
            "Break-even: the bandwidth above which a codec's total is lower than `" BASE_SPEC "`'s "
            "(\"always\": lower at every bandwidth; \"never\": at none; \"below\": it wins only "
            "on slower links). In the plots, the thick line is `" BASE_SPEC "`.\n\n", c->alloc,
            NUM(BW_MIN), NUM(BW_MAX));
    for (t = 0; t < 2; t++) {
        const char *pl = targets[t];
        const rundir_row *base;
        if (!rpt_sl_has(&c->payloads, pl)) {
            fprintf(md, "Payload `%s` not in this run.\n\n", pl);
            continue;
        }
        n = upload_points(c, pl, pts, &base);
        fprintf(md, "**%s**\n\n| codec | save CPU ms | compressed bytes | total ms at 100 MB/s | "
                "total ms at 1 GB/s | beats " BASE_SPEC " |\n|---|---|---|---|---|---|\n", pl);
        for (k = 0; k < n; k++) {
            const rundir_row *s = pts[k].save;
            fprintf(md, "| %s | %s | %llu | %s | %s | %s |\n", pts[k].spec, NUM(ms(s->median_ns)),
                    (unsigned long long)s->bytes_out,
                    NUM(ms(s->median_ns + (double)s->bytes_out / 100e6 * 1e9)),
                    NUM(ms(s->median_ns + (double)s->bytes_out / 1000e6 * 1e9)), pts[k].break_even);
        }
        if (!base) fprintf(md, "\nNo `" BASE_SPEC "` save row for %s: no break-even.\n", pl);
        if (!n) fprintf(md, "\n");
        else upload_plot(c, pl, pts, n, md);
    }
    free(pts);
}
