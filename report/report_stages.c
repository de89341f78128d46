/* report_stages.c - section "Where the time goes": the save path's stages
 * per payload, stacked, and the stage that dominates after PR #3090's codec. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"
#include "report_facts.h"

void report_sec_stages(report_ctx *c, FILE *md)
{
    size_t p, k;
    fprintf(md, "Each bar adds the medians of the separate stages `pickle`, `hash` and "
            "`compress` (`%s` allocation) for one codec with `" BASE_HASH "`, and for `" PR_SPEC "` with "
            "each hash.\n\n", c->alloc);
    for (p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        const rundir_row *pk = rpt_find(c, pl, "pickle", "", "", -1, "", NULL);
        const rundir_row *h1 = rpt_find(c, pl, "hash", "", "", -1, BASE_HASH, NULL);
        char *buf, *base, *path;
        size_t len, nbars = 0;
        FILE *f;
        if (!pk) continue;
        rpt_mem_open(&f, &buf, &len);
        fprintf(f, "config\tpickle_ms\thash_ms\tcompress_ms\n");
        for (k = 0; k < c->codecs.n; k++) {
            const rundir_row *cp = rpt_find_spec(c, pl, "compress", "", c->codecs.v[k], "", NULL);
            if (!cp || !h1) continue;
            fprintf(f, "%s+" BASE_HASH "\t%.6g\t%.6g\t%.6g\n", c->codecs.v[k], ms(pk->median_ns),
                    ms(h1->median_ns), ms(cp->median_ns));
            nbars++;
        }
        for (k = 0; k < c->hashes.n; k++) {
            const rundir_row *cp = rpt_find(c, pl, "compress", "", PR_CODEC, PR_LEVEL, "", NULL);
            const rundir_row *h = rpt_find(c, pl, "hash", "", "", -1, c->hashes.v[k], NULL);
            if (!cp || !h || strcmp(c->hashes.v[k], BASE_HASH) == 0) continue;
            fprintf(f, PR_SPEC "+%s\t%.6g\t%.6g\t%.6g\n", c->hashes.v[k], ms(pk->median_ns),
                    ms(h->median_ns), ms(cp->median_ns));
            nbars++;
        }
        fclose(f);
        if (!nbars) { free(buf); continue; }
        base = rpt_asprintf("stages-%s", SLUG(pl));
        {
            char *name = rpt_asprintf("%s.tsv", base);
            path = rpt_write_data(c, name, buf, len);
            free(name);
        }
        {
            char *qd = rpt_gq(path), *qt = rpt_gq(pl);
            rpt_add_job(c, "stages.gp", base, rpt_asprintf("data=%s; title=%s", qd, qt));
            free(qd);
            free(qt);
        }
        fprintf(md, "![save-path stages, %s](plots/%s.png) ", pl, base);
        free(base);
        free(path);
    }
    fprintf(md, "\n\nAfter lz4 (`" PR_SPEC "` with `" BASE_HASH "`), the stage that dominates each payload "
            "(largest median of the three):\n\n");
    fprintf(md, "| payload | pickle ms | " BASE_HASH " ms | " PR_SPEC " compress ms | dominant | its share | "
            "measured save (" PR_SPEC ", " BASE_HASH ") ms |\n|---|---|---|---|---|---|---|\n");
    for (p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        const rundir_row *s[3] = {rpt_find(c, pl, "pickle", "", "", -1, "", NULL),
                                  rpt_find(c, pl, "hash", "", "", -1, BASE_HASH, NULL),
                                  rpt_find(c, pl, "compress", "", PR_CODEC, PR_LEVEL, "", NULL)};
        const rundir_row *sv = rpt_find(c, pl, "save", "sequential", PR_CODEC, PR_LEVEL, BASE_HASH, NULL);
        static const char *const names[3] = {"pickle", "hash (" BASE_HASH ")", "compress (" PR_SPEC ")"};
        int best = 0, j;
        double sum;
        if (!s[0] || !s[1] || !s[2]) continue;
        sum = s[0]->median_ns + s[1]->median_ns + s[2]->median_ns;
        for (j = 1; j < 3; j++) if (s[j]->median_ns > s[best]->median_ns) best = j;
        fprintf(md, "| %s | %s | %s | %s | **%s** | %s %% | %s |\n", pl, NUM(ms(s[0]->median_ns)),
                NUM(ms(s[1]->median_ns)), NUM(ms(s[2]->median_ns)), names[best],
                NUM(100.0 * s[best]->median_ns / sum), sv ? NUM(ms(sv->median_ns)) : "-");
    }
    fprintf(md, "\n");
}
