/* report_drift.c - the section "Drift over the run": the canary of
 * rounds.tsv over time (plots/canary.gp), the machine's steal, iowait and
 * load, and the rows whose rounds disagree (matrix.tsv's spread, drift and
 * flag columns). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_ctx.h"
#include "report_rounds.h"
#include "roundstats.h"
#include "tsv.h"
#include "util.h"

#define DRIFT_ROWS_SHOWN 15

typedef struct {
    double *t, *canary, *steal, *iowait, *load;
    size_t n, rounds;
} canary_series;

static double field(const tsv_table *t, size_t row, int col)
{
    if (col < 0) return NAN;
    char *end;
    const char *s = tsv_str(t, row, col);
    double v = strtod(s, &end);
    return end == s ? NAN : v;
}

/* 0, or -1 when the run has no readable rounds.tsv. */
static int load_series(const rundir *run, canary_series *s)
{
    char path[4200], err[256];
    snprintf(path, sizeof path, "%s/rounds.tsv", run->dir);
    tsv_table *t = tsv_load(path, 1, err, sizeof err);
    if (!t) return -1;
    size_t n = tsv_nrows(t);
    int ct = tsv_col(t, "t_s"), cc = tsv_col(t, "canary_ns"), cs = tsv_col(t, "steal_pct"),
        ci = tsv_col(t, "iowait_pct"), cl = tsv_col(t, "loadavg_1m"), cr = tsv_col(t, "round");
    double **cols[] = {&s->t, &s->canary, &s->steal, &s->iowait, &s->load};
    for (size_t k = 0; k < 5; k++)
        if (!(*cols[k] = calloc(n ? n : 1, sizeof(double)))) rpt_oom();
    s->n = s->rounds = 0;
    for (size_t i = 0; i < n; i++) {
        double c = field(t, i, cc);
        if (!(c > 0)) continue;
        s->t[s->n] = field(t, i, ct);
        s->canary[s->n] = c;
        s->steal[s->n] = field(t, i, cs);
        s->iowait[s->n] = field(t, i, ci);
        s->load[s->n] = field(t, i, cl);
        double r = field(t, i, cr);
        if (r > (double)s->rounds) s->rounds = (size_t)r;
        s->n++;
    }
    tsv_free(t);
    return s->n ? 0 : -1;
}

static void free_series(canary_series *s)
{
    free(s->t);
    free(s->canary);
    free(s->steal);
    free(s->iowait);
    free(s->load);
}

/* max over the finite values, NAN when none. */
static double max_of(const double *v, size_t n)
{
    double m = NAN;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]) && (isnan(m) || v[i] > m)) m = v[i];
    return m;
}

static double min_of(const double *v, size_t n)
{
    double m = NAN;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]) && (isnan(m) || v[i] < m)) m = v[i];
    return m;
}

static double badness(const rundir_row *w)
{
    double d = isnan(w->drift) ? 0 : fabs(w->drift), s = isnan(w->spread) ? 0 : w->spread;
    return d > s ? d : s;
}

static int cmp_bad(const void *a, const void *b)
{
    double x = badness(*(const rundir_row *const *)a), y = badness(*(const rundir_row *const *)b);
    return (x < y) - (x > y);
}

static void flagged_rows(const rundir *run, FILE *md)
{
    const rundir_row **bad = calloc(run->nrows ? run->nrows : 1, sizeof *bad);
    size_t nbad = 0, nok = 0;
    if (!bad) rpt_oom();
    for (size_t i = 0; i < run->nrows; i++) {
        const rundir_row *w = &run->rows[i];
        if (!w->ok) continue;
        nok++;
        if (*w->flag && strcmp(w->flag, "steady") != 0 && strcmp(w->flag, "few") != 0) bad[nbad++] = w;
    }
    fprintf(md, "Rows whose rounds disagree (matrix.tsv `flag`: spread = interquartile range / median above "
                "%s, or drift = second-half median / first-half median - 1 beyond +-%s): **%zu of %zu** ok "
                "rows. Their figures are the least certain; their intervals (above and in `compare`) are "
                "widened accordingly.\n\n", CB_FMT3(RS_FLAG_LIMIT), CB_FMT3(RS_FLAG_LIMIT), nbad, nok);
    qsort(bad, nbad, sizeof *bad, cmp_bad);
    if (nbad) {
        fprintf(md, "| row | rounds | spread | drift | flag |\n|---|---|---|---|---|\n");
        for (size_t i = 0; i < nbad && i < DRIFT_ROWS_SHOWN; i++) {
            char id[512];
            rundir_row_id(bad[i], id, sizeof id);
            fprintf(md, "| `%s` | %zu | %s | %s | %s |\n", id, bad[i]->nsamples, CB_FMT3(bad[i]->spread),
                    CB_FMT3(bad[i]->drift), bad[i]->flag);
        }
        if (nbad > DRIFT_ROWS_SHOWN) fprintf(md, "\n(%zu more in matrix.tsv.)\n", nbad - DRIFT_ROWS_SHOWN);
        fprintf(md, "\n");
    }
    free(bad);
}

void report_drift(const rundir *run, FILE *md, char **plot_tsv, size_t *plot_len)
{
    canary_series s = {0};
    *plot_tsv = NULL;
    *plot_len = 0;
    if (load_series(run, &s) != 0) {
        fprintf(md, "This run has no rounds.tsv (it was made before casbench timed in rounds): the machine's "
                    "drift over the run cannot be shown.\n\n");
        free_series(&s);
        flagged_rows(run, md);
        return;
    }
    double med = rs_median(s.canary, s.n);
    fprintf(md, "A fixed canary cell (sha1 of 64 KiB) was timed %zu times over %s s: at every boundary of the "
                "%zu rounds and between groups inside them. It does the same work every time, so its "
                "changes are the machine's: median %s us, fastest %s x the median, slowest %s x, "
                "spread (interquartile range / median) %s. Steal time peaked at %s %% of the CPUs, iowait "
                "at %s %%; the 1-minute load average ranged %s-%s (this process counts for about 1).\n\n",
            s.n, CB_FMT3(max_of(s.t, s.n)), s.rounds, CB_FMT3(med / 1e3), CB_FMT3(min_of(s.canary, s.n) / med),
            CB_FMT3(max_of(s.canary, s.n) / med), CB_FMT3(rs_spread(s.canary, s.n)), CB_FMT3(max_of(s.steal, s.n)),
            CB_FMT3(max_of(s.iowait, s.n)), CB_FMT3(min_of(s.load, s.n)), CB_FMT3(max_of(s.load, s.n)));
    cb_buf d = {0};
    cb_buf_puts(&d, "t_s\tcanary_rel\tloadavg_1m\tsteal_pct\n");
    for (size_t i = 0; i < s.n; i++)
        cb_buf_printf(&d, "%.3f\t%.4f\t%.2f\t%.2f\n", s.t[i], s.canary[i] / med, isnan(s.load[i]) ? 0 : s.load[i],
                isnan(s.steal[i]) ? 0 : s.steal[i]);
    if (d.oom) rpt_oom();
    *plot_tsv = d.p;
    *plot_len = d.n;
    free_series(&s);
    fprintf(md, "![the canary over the run](plots/canary.png)\n\n");
    flagged_rows(run, md);
}
