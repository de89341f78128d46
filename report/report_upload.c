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

void report_sec_upload(report_ctx *c, FILE *md)
{
    static const char *const targets[] = {"embeddings", "weights"};
    size_t t, k, j;
    fprintf(md, "Total = CPU time of the save path (stage `save`, `sequential`, `" BASE_HASH "`, `%s` "
            "allocation) + compressed bytes / bandwidth, for bandwidths from %s MB/s to %s MB/s. "
            "Break-even: the bandwidth above which a codec's total is lower than `" BASE_SPEC "`'s "
            "(\"always\": lower at every bandwidth; \"never\": at none; \"below\": it wins only "
            "on slower links). In the plots, the thick line is `" BASE_SPEC "`.\n\n", c->alloc,
            NUM(BW_MIN), NUM(BW_MAX));
    for (t = 0; t < 2; t++) {
        const char *pl = targets[t];
        const rundir_row *g3 = rpt_find(c, pl, "save", "sequential", BASE_CODEC, BASE_LEVEL, BASE_HASH, NULL);
        char *buf, *names = NULL, *path, *qd, *qn, *base, *name;
        size_t len, ncurves = 0;
        FILE *f;
        if (!rpt_sl_has(&c->payloads, pl)) {
            fprintf(md, "Payload `%s` not in this run.\n\n", pl);
            continue;
        }
        rpt_mem_open(&f, &buf, &len);
        fprintf(md, "**%s**\n\n| codec | save CPU ms | compressed bytes | total ms at 100 MB/s | "
                "total ms at 1 GB/s | beats " BASE_SPEC " |\n|---|---|---|---|---|---|\n", pl);
        for (k = 0; k < c->codecs.n; k++) {
            const rundir_row *s = rpt_find_spec(c, pl, "save", "sequential", c->codecs.v[k], BASE_HASH, NULL);
            char be[64] = "-";
            if (!s) continue;
            if (g3) break_even(s->median_ns, (double)s->bytes_out, g3->median_ns,
                               (double)g3->bytes_out, be, sizeof be);
            fprintf(md, "| %s | %s | %llu | %s | %s | %s |\n", c->codecs.v[k], NUM(ms(s->median_ns)),
                    (unsigned long long)s->bytes_out,
                    NUM(ms(s->median_ns + (double)s->bytes_out / 100e6 * 1e9)),
                    NUM(ms(s->median_ns + (double)s->bytes_out / 1000e6 * 1e9)), be);
            fprintf(f, "%s# %s\nbandwidth_mbps\ttotal_ms\n", ncurves ? "\n\n" : "", c->codecs.v[k]);
            for (j = 0; j < BW_POINTS; j++) {
                double bw = BW_MIN * pow(BW_MAX / BW_MIN, (double)j / (BW_POINTS - 1));
                fprintf(f, "%.6g\t%.6g\n", bw, ms(s->median_ns) + (double)s->bytes_out / (bw * 1e3));
            }
            {
                char *nn = rpt_asprintf("%s%s%s", names ? names : "", names ? " " : "", c->codecs.v[k]);
                free(names);
                names = nn;
            }
            ncurves++;
        }
        fclose(f);
        if (!g3) fprintf(md, "\nNo `" BASE_SPEC "` save row for %s: no break-even.\n", pl);
        if (!ncurves) { free(buf); free(names); fprintf(md, "\n"); continue; }
        base = rpt_asprintf("upload-%s", SLUG(pl));
        name = rpt_asprintf("%s.tsv", base);
        path = rpt_write_data(c, name, buf, len);
        qd = rpt_gq(path);
        qn = rpt_gq(names);
        {
            char *qt = rpt_gq(pl);
            rpt_add_job(c, "upload.gp", base, rpt_asprintf("data=%s; names=%s; title=%s", qd, qn, qt));
            free(qt);
        }
        fprintf(md, "\n![save + upload, %s](plots/%s.png)\n\n", pl, base);
        free(qd);
        free(qn);
        free(path);
        free(name);
        free(base);
        free(names);
    }
}
