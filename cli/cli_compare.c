/* cli_compare.c - `casbench compare A B`: per-row B/A of two runs, judged
 * over their rounds (roundstats.h), with the false discovery rate controlled
 * over all rows and a margin below which a change is "equivalent". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cliopt.h"
#include "roundstats.h"
#include "rundir.h"
#include "tsv.h"
#include "util.h"

/* Three rounds a side is the fewest that gives an interval (roundstats.h). */
#define CMP_MIN_SAMPLES 3
#define CMP_MIN_TEXT "3"
#define CMP_FDR 0.05
#define CMP_DEFAULT_MARGIN 5.0

static void usage(FILE *out)
{
    fprintf(out,
            "usage: casbench compare A B [--fail-above PCT] [--margin PCT]\n"
            "\n"
            "Compares two results directories row by row (identity: payload protocol\n"
            "stage variant codec level hash alloc; sweep rows also by bytes_in) and\n"
            "prints markdown: B/A of the median times over rounds with a 95 %% interval,\n"
            "and a verdict. Replicates are rounds, not back-to-back repetitions: each\n"
            "side's interval comes from its rounds (a block bootstrap and the median's\n"
            "order statistics) plus the drift between the thirds of its run\n"
            "(results/README.md, \"Rounds\"), the two runs sharing no rounds, widened\n"
            "by the machine's own drift between the runs (the canary of rounds.tsv,\n"
            "B/A); the p-values of all rows are corrected by\n"
            "Benjamini-Hochberg (false discovery rate %g). Verdicts: equivalent (the\n"
            "change is within the margin), faster / slower (significant and beyond the\n"
            "margin), no significant change. Rows with fewer than %d rounds a side are\n"
            "not judged. Rows present on one side only, and rows whose status is error,\n"
            "are listed and not compared. The same inputs give the same output.\n"
            "\n"
            "  --margin PCT      changes within PCT percent are equivalent (default %g)\n"
            "  --fail-above PCT  exit 1 when any row is slower in B, significantly\n"
            "                    and beyond the margin, by more than PCT percent\n"
            "\n"
            "exit status: 0 ok, 1 usage or --fail-above tripped, 2 bad input.\n",
            CMP_FDR, CMP_MIN_SAMPLES, CMP_DEFAULT_MARGIN);
}

/* Rows are matched by their key (schema_key_id), shown by their text. */
typedef struct { char id[1024]; const rundir_row *row; } keyed;

static int cmp_keyed(const void *x, const void *y)
{
    return strcmp(((const keyed *)x)->id, ((const keyed *)y)->id);
}

static keyed *index_rows(const rundir *r)
{
    keyed *k = calloc(r->nrows ? r->nrows : 1, sizeof *k);
    size_t i;
    if (!k) cb_fail(CB_EXIT_ENV, "out of memory");
    for (i = 0; i < r->nrows; i++) {
        rundir_row_key_id(&r->rows[i], k[i].id, sizeof k[i].id);
        k[i].row = &r->rows[i];
    }
    qsort(k, r->nrows, sizeof *k, cmp_keyed);
    return k;
}

static const rundir_row *lookup(const keyed *k, size_t n, const char *id)
{
    keyed key;
    const keyed *hit;
    snprintf(key.id, sizeof key.id, "%s", id);
    hit = bsearch(&key, k, n, sizeof *k, cmp_keyed);
    return hit ? hit->row : NULL;
}

#define F3(v) CB_FMT3(v)

/* One compared row. */
typedef struct {
    const rundir_row *a, *b;
    char id[512];
    rs_estimate change;        /* log(B/A) */
    double p;                  /* NAN: not judged */
    int significant;
} compared;

/* The canary's median over the run (rounds.tsv), NAN without one. */
static double canary_median(const rundir *r)
{
    char path[4200], err[256];
    snprintf(path, sizeof path, "%s/rounds.tsv", r->dir);
    tsv_table *t = tsv_load(path, 1, err, sizeof err);
    if (!t) return NAN;
    int col = tsv_col(t, "canary_ns");
    size_t nrows = tsv_nrows(t), n = 0;
    double *v = malloc((nrows ? nrows : 1) * sizeof *v), m = NAN;
    if (!v) cb_fail(CB_EXIT_ENV, "out of memory");
    for (size_t i = 0; col >= 0 && i < nrows; i++) {
        double x = strtod(tsv_str(t, i, col), NULL);
        if (x > 0) v[n++] = x;
    }
    if (n) m = rs_median(v, n);
    free(v);
    tsv_free(t);
    return m;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Judge rows[0..n): each row's change over its rounds; two between-run terms
 * added to every row's variance: the rows' spread beyond what their rounds
 * explain (tau, from the median absolute deviation of the changes: robust
 * to the few rows that really changed) and machine_drift, how far the
 * machine itself moved between the runs (log of the canary's B/A; 0 when
 * unknown); p-values; and Benjamini-Hochberg over all of them. Returns tau
 * (log scale). */
static double judge_rows(compared *rows, size_t n, double machine_drift)
{
    double *d = malloc((n ? n : 1) * sizeof *d), *v = malloc((n ? n : 1) * sizeof *v), tau2 = 0;
    int *reject = malloc((n ? n : 1) * sizeof *reject);
    size_t m = 0;
    if (!d || !v || !reject) cb_fail(CB_EXIT_ENV, "out of memory");
    for (size_t i = 0; i < n; i++) {
        compared *c = &rows[i];
        c->p = NAN;
        c->change.log_se = c->change.log_lo = c->change.log_hi = NAN;
        c->change.log_center = log(c->b->median_ns / c->a->median_ns);
        if (c->a->nsamples < CMP_MIN_SAMPLES || c->b->nsamples < CMP_MIN_SAMPLES) continue;
        char seed[560];
        snprintf(seed, sizeof seed, "A %s", c->id);
        rs_estimate ea = rs_estimate_median(c->a->samples_ns, c->a->nsamples, rs_seed(seed));
        seed[0] = 'B';
        rs_estimate eb = rs_estimate_median(c->b->samples_ns, c->b->nsamples, rs_seed(seed));
        c->change = rs_ratio_of(eb, ea);
        d[m] = c->change.log_center;
        v[m++] = c->change.log_se * c->change.log_se;
    }
    /* Too few rows to tell a spread from a change: no between-run term. */
    if (m >= 8) {
        qsort(d, m, sizeof *d, cmp_dbl);
        double med = d[m / 2];
        for (size_t i = 0; i < m; i++) d[i] = fabs(d[i] - med);
        qsort(d, m, sizeof *d, cmp_dbl);
        qsort(v, m, sizeof *v, cmp_dbl);
        double mad = 1.4826 * d[m / 2];
        tau2 = mad * mad - v[m / 2];
        if (tau2 < 0) tau2 = 0;
    }
    double *p = d;
    for (size_t i = 0; i < n; i++) {
        compared *c = &rows[i];
        if (!isnan(c->change.log_se)) {
            rs_widen(&c->change, tau2 + machine_drift * machine_drift);
            c->p = rs_pvalue(c->change);
        }
        p[i] = c->p;
    }
    if (rs_benjamini_hochberg(p, n, CMP_FDR, reject) != 0) cb_fail(CB_EXIT_ENV, "out of memory");
    for (size_t i = 0; i < n; i++) rows[i].significant = reject[i];
    free(d);
    free(v);
    free(reject);
    return sqrt(tau2);
}

static const char *verdict_of(const compared *c, double margin, int *flag)
{
    double lo, hi, ratio = rs_value(c->change, &lo, &hi);
    double up = 1 + margin / 100, down = 1 / up;
    *flag = 0;
    if (isnan(c->p)) return "not judged (fewer than " CMP_MIN_TEXT " rounds a side)";
    if (ratio <= up && ratio >= down) return lo >= down && hi <= up ? "equivalent" : "equivalent (point within margin)";
    if (!c->significant) return "no significant change";
    *flag = 1;
    return ratio > 1 ? "slower" : "faster";
}

static void print_method(double margin, double fail_above)
{
    printf("Method: each row's B/A (ratio of its medians over rounds) is judged with a 95 %% interval "
           "from each run's own rounds (a block bootstrap over consecutive rounds or the median's order "
           "statistics, whichever is wider, plus the drift between the thirds of each run, since two runs "
           "share no rounds) widened by the rows' between-run "
           "spread and by the machine's own drift between the runs (the canary's B/A), Benjamini-Hochberg over all judged rows at a false discovery rate of %g, and a "
           "change within %s %% called equivalent.", CMP_FDR, F3(margin));
    if (fail_above >= 0)
        printf(" Rows marked **over** are slower in B, significantly and beyond the margin, by more "
               "than %s %%.", F3(fail_above));
    printf("\n\n");
}

/* Options and the two run directories; 1 after --help / --version. */
static int parse_args(int argc, char **argv, const char *dirs[2], size_t *ndirs, double *fail_above,
                      double *margin)
{
    char err[512];
    int i;
    static const struct option longopts[] = {
        CB_OPT_VALUE("fail-above", 'f'), CB_OPT_VALUE("margin", 'm'),
        CB_OPT_HELP, CB_OPT_FLAG("version", 'V'), CB_OPT_END,
    };
    int c;
    cb_getopt_reset();
    while ((c = cb_getopt(argc, argv, "h", longopts, err, sizeof err)) != -1) {
        char sub[128];
        switch (c) {
        case 'h': usage(stdout); return 1;
        case 'V': printf("casbench compare %s (commit %s)\n", cb_version, cb_git_commit); return 1;
        case 'f':
        case 'm':
            if (cb_parse_double(optarg, 0, 1e6, c == 'f' ? fail_above : margin, sub, sizeof sub) != 0)
                cb_fail(CB_EXIT_INPUT, "compare: --%s %s: %s", c == 'f' ? "fail-above" : "margin",
                        CB_Q(optarg), sub);
            break;
        default:
            if (strstr(err, "missing value"))
                cb_fail(CB_EXIT_USAGE, "compare: %s (a percentage; see casbench compare --help)", err);
            cb_fail(CB_EXIT_USAGE, "compare: %s (see casbench compare --help)", err);
        }
    }
    for (i = optind; i < argc; i++) {
        if (*ndirs == 2) cb_fail(CB_EXIT_USAGE, "compare: more than two run directories (%s)", CB_Q(argv[i]));
        dirs[(*ndirs)++] = argv[i];
    }
    return 0;
}


int cli_compare(int argc, char **argv)
{
    const char *dirs[2] = {NULL, NULL};
    double fail_above = -1, margin = CMP_DEFAULT_MARGIN;
    rundir ra, rb, la, lb;
    char err[1024];
    keyed *ka, *kb;
    size_t i, ndirs = 0, ncmp = 0, nfaster = 0, nslower = 0, nequiv = 0, ntripped = 0, nonly = 0, nerr = 0;

    int done = parse_args(argc, argv, dirs, &ndirs, &fail_above, &margin);
    if (done) return CB_EXIT_OK;
    if (ndirs != 2) cb_fail(CB_EXIT_USAGE, "compare: needs two run directories A and B (see casbench compare --help)");
    if (rundir_load(dirs[0], &la, err, sizeof err) != 0) cb_fail(CB_EXIT_INPUT, "%s", err);
    if (rundir_load(dirs[1], &lb, err, sizeof err) != 0) {
        rundir_free(&la);
        cb_fail(CB_EXIT_INPUT, "%s", err);
    }
    /* The prediction's own rows (rundir_view) are no figure to compare. */
    if (rundir_view(&la, &ra) != 0 || rundir_view(&lb, &rb) != 0) cb_fail(CB_EXIT_ENV, "out of memory");
    ka = index_rows(&ra);
    kb = index_rows(&rb);

    printf("# casbench compare\n\n");
    /* casbench writes casbench_commit (results/README.md); git_commit is the
     * older spelling. runtime: c, or python for infra/python_path.py runs. */
    for (i = 0; i < 2; i++) {
        const rundir *r = i ? &rb : &ra;
        const char *commit = rundir_env(r, "casbench_commit");
        if (!strcmp(commit, "unknown")) commit = rundir_env(r, "git_commit");
        printf("- %c: `%s` (%s, %s, runtime %s, commit %s)\n%s", i ? 'B' : 'A', r->dir,
               rundir_env(r, "utc_time"), rundir_env(r, "cpu_model"), rundir_env(r, "runtime"), commit,
               i ? "\n" : "");
    }
    print_method(margin, fail_above);
    /* The canary is a yardstick, not a divisor: on a machine oversubscribed
     * by other work its median moved 13 % between two runs whose rows did not
     * move at all (a 64 KiB hash is cut by time slices differently from the
     * cells), and dividing by it called 30 unchanged rows slower. Read as how
     * far the machine moved, it widens every interval instead: a row is
     * called changed only when it moved further than the machine did. */
    double ca = canary_median(&ra), cbm = canary_median(&rb);
    double machine_drift = isnan(ca) || isnan(cbm) ? 0 : fabs(log(cbm / ca));
    if (!isnan(ca) && !isnan(cbm))
        printf("The canary (rounds.tsv) ran %s x as long in B as in A: the machine's own drift between "
               "the runs, added to every row's interval (a row is called changed only when it moved "
               "further than the machine did).\n\n", F3(cbm / ca));
    else
        printf("No canary in %s (rounds.tsv): the machine's drift between the runs is not known and not "
               "in the intervals.\n\n", isnan(ca) ? "A" : "B");

    /* Every row first: Benjamini-Hochberg needs all the p-values. */
    compared *rows = calloc(ra.nrows ? ra.nrows : 1, sizeof *rows);
    if (!rows) cb_fail(CB_EXIT_ENV, "out of memory");
    for (i = 0; i < ra.nrows; i++) {
        compared *c = &rows[ncmp];
        char key[1024];
        c->a = &ra.rows[i];
        rundir_row_id(c->a, c->id, sizeof c->id);
        rundir_row_key_id(c->a, key, sizeof key);
        c->b = lookup(kb, rb.nrows, key);
        if (c->b && c->a->ok && c->b->ok) ncmp++;
    }
    double tau = judge_rows(rows, ncmp, machine_drift);
    if (tau > 0)
        printf("Rows disagree between the runs beyond what their rounds explain: a between-run spread of "
               "%s %% (from the median absolute deviation of the rows' changes) is added to every row's "
               "interval.\n\n", F3(100 * (exp(tau) - 1)));
    printf("| row (payload protocol stage variant codec level hash alloc) | A median ms | "
           "B median ms | B/A | 95 %% CI | rounds A/B | verdict |\n|---|---|---|---|---|---|---|\n");
    /* In A's file order, so the table reads like the matrix. */
    for (i = 0; i < ncmp; i++) {
        compared *c = &rows[i];
        char ci[96] = "-";
        int flag;
        double lo, hi, ratio = rs_value(c->change, &lo, &hi);
        const char *verdict = verdict_of(c, margin, &flag);
        if (!isnan(lo)) snprintf(ci, sizeof ci, "%s - %s", F3(lo), F3(hi));
        if (flag) { if (ratio > 1) nslower++; else nfaster++; }
        else if (!strncmp(verdict, "equivalent", 10)) nequiv++;
        int over = flag && fail_above >= 0 && ratio > 1.0 + fail_above / 100.0;
        ntripped += over;
        printf("| %s | %s | %s | %s | %s | %zu/%zu | %s%s%s |\n", c->id, F3(c->a->median_ns / 1e6),
               F3(c->b->median_ns / 1e6), F3(ratio), ci, c->a->nsamples, c->b->nsamples, over ? "**" : "",
               verdict, over ? ", over**" : "");
    }
    free(rows);
    printf("\n%zu rows compared: %zu faster, %zu slower, %zu equivalent, %zu without a significant change "
           "or not judged.\n\n", ncmp, nfaster, nslower, nequiv, ncmp - nfaster - nslower - nequiv);

    for (i = 0; i < ra.nrows + rb.nrows; i++) {
        const rundir_row *w = i < ra.nrows ? &ra.rows[i] : &rb.rows[i - ra.nrows];
        char id[512], key[1024];
        rundir_row_key_id(w, key, sizeof key);
        if (lookup(i < ra.nrows ? kb : ka, i < ra.nrows ? rb.nrows : ra.nrows, key)) continue;
        rundir_row_id(w, id, sizeof id);
        if (!nonly++) printf("Rows in one run only (not compared):\n\n");
        printf("- only in %s: `%s`\n", i < ra.nrows ? "A" : "B", id);
    }
    if (nonly) printf("\n");
    for (i = 0; i < ra.nrows + rb.nrows; i++) {
        const rundir_row *w = i < ra.nrows ? &ra.rows[i] : &rb.rows[i - ra.nrows];
        char id[512];
        if (w->ok) continue;
        rundir_row_id(w, id, sizeof id);
        if (!nerr++) printf("Rows with status error (shown, not compared):\n\n");
        printf("- %s line %zu `%s`: %s\n", i < ra.nrows ? "A" : "B", w->line, id,
               *w->message ? w->message : "(no message)");
    }
    if (nerr) printf("\n");
    fflush(stdout);
    free(ka);
    free(kb);
    rundir_free(&ra);
    rundir_free(&rb);
    rundir_free(&la);
    rundir_free(&lb);
    if (ntripped) {
        cb_warn("compare: %zu row%s significantly slower in B, beyond the margin, by more than %s %%", ntripped,
                ntripped == 1 ? "" : "s", F3(fail_above));
        return CB_EXIT_USAGE;
    }
    return CB_EXIT_OK;
}
