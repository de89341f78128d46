/* cli_compare.c - `casbench compare A B`: per-row B/A of two runs, with a
 * bootstrap confidence interval from the repetition samples. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rundir.h"
#include "util.h"

#define CMP_RESAMPLES 2000
#define CMP_SEED 0x9e3779b97f4a7c15ull
/* With two samples a side, a bootstrap interval excludes 1.0 whenever both of
 * B's samples fall on one side of both of A's: a third of the time with no
 * change at all. Three is the fewest that gives a usable verdict. */
#define CMP_MIN_SAMPLES 3
#define CMP_MIN_TEXT "3"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: casbench compare A B [--fail-above PCT]\n"
            "\n"
            "Compares two results directories row by row (identity: payload protocol\n"
            "stage variant codec level hash alloc; sweep rows also by bytes_in) and\n"
            "prints markdown: B/A of the median times, a 95 %% confidence interval on\n"
            "that ratio (bootstrap: %d resamples of each side's samples_ns, fixed seed,\n"
            "so the same inputs give the same output), and a verdict - faster or\n"
            "slower when the interval excludes 1.0, else no significant change; rows\n"
            "with fewer than %d samples a side are not judged (and 3 still flag\n"
            "unchanged rows well above 5 %% of the time: gate on 5+ repetitions). Rows\n"
            "present on one side only, and rows whose status is error, are listed and\n"
            "not compared.\n"
            "\n"
            "  --fail-above PCT  exit 1 when any row is significantly slower in B by\n"
            "                    more than PCT percent (B/A > 1 + PCT/100)\n"
            "\n"
            "exit status: 0 ok, 1 usage or --fail-above tripped, 2 bad input.\n",
            CMP_RESAMPLES, CMP_MIN_SAMPLES);
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v). */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Quantile q of sorted v, linear interpolation between order statistics. */
static double quantile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    double frac = pos - (double)lo;
    return lo + 1 < n ? v[lo] * (1 - frac) + v[lo + 1] * frac : v[lo];
}

/* The 95 % interval of median(B*)/median(A*) over bootstrap resamples. The
 * seed is derived from the row identity alone, so a row's interval does not
 * depend on which other rows the runs hold. */
static void bootstrap(const rundir_row *a, const rundir_row *b, const char *id,
                      double *lo, double *hi)
{
    double *ra = malloc(a->nsamples * sizeof *ra), *rb = malloc(b->nsamples * sizeof *rb);
    double *ratios = malloc(CMP_RESAMPLES * sizeof *ratios);
    uint64_t s = CMP_SEED;
    size_t r, i;
    if (!ra || !rb || !ratios) cb_fail(CB_EXIT_ENV, "out of memory");
    for (i = 0; id[i]; i++) s = (s ^ (unsigned char)id[i]) * 0x100000001b3ull;
    for (r = 0; r < CMP_RESAMPLES; r++) {
        for (i = 0; i < a->nsamples; i++) ra[i] = a->samples_ns[splitmix64(&s) % a->nsamples];
        for (i = 0; i < b->nsamples; i++) rb[i] = b->samples_ns[splitmix64(&s) % b->nsamples];
        ratios[r] = median(rb, b->nsamples) / median(ra, a->nsamples);
    }
    qsort(ratios, CMP_RESAMPLES, sizeof *ratios, cmp_double);
    *lo = quantile(ratios, CMP_RESAMPLES, 0.025);
    *hi = quantile(ratios, CMP_RESAMPLES, 0.975);
    free(ra);
    free(rb);
    free(ratios);
}

typedef struct { char id[512]; const rundir_row *row; } keyed;

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
        rundir_row_id(&r->rows[i], k[i].id, sizeof k[i].id);
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

int cli_compare(int argc, char **argv)
{
    const char *dirs[2] = {NULL, NULL};
    double fail_above = -1;
    rundir ra, rb;
    char err[1024];
    keyed *ka, *kb;
    size_t i, ndirs = 0, ncmp = 0, nfaster = 0, nslower = 0, ntripped = 0, nonly = 0, nerr = 0;

    for (i = 1; i < (size_t)argc; i++) {
        const char *a = argv[i];
        if (cb_is_help(a)) { usage(stdout); return CB_EXIT_OK; }
        if (cb_is_version(a)) {
            printf("casbench compare %s (commit %s)\n", cb_version, cb_git_commit);
            return CB_EXIT_OK;
        }
        if (!strcmp(a, "--fail-above")) {
            char sub[128];
            if (i + 1 >= (size_t)argc) cb_fail(CB_EXIT_USAGE, "compare: --fail-above needs a percentage");
            if (cb_parse_double(argv[++i], 0, 1e6, &fail_above, sub, sizeof sub) != 0)
                cb_fail(CB_EXIT_INPUT, "compare: --fail-above %s: %s", CB_Q(argv[i]), sub);
        } else if (a[0] == '-' && a[1]) {
            cb_fail(CB_EXIT_USAGE, "compare: unknown option %s (see casbench compare --help)", CB_Q(a));
        } else if (ndirs < 2) {
            dirs[ndirs++] = a;
        } else {
            cb_fail(CB_EXIT_USAGE, "compare: more than two run directories (%s)", CB_Q(a));
        }
    }
    if (ndirs != 2) cb_fail(CB_EXIT_USAGE, "compare: needs two run directories A and B (see casbench compare --help)");
    if (rundir_load(dirs[0], &ra, err, sizeof err) != 0) cb_fail(CB_EXIT_INPUT, "%s", err);
    if (rundir_load(dirs[1], &rb, err, sizeof err) != 0) {
        rundir_free(&ra);
        cb_fail(CB_EXIT_INPUT, "%s", err);
    }
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
    printf("B/A = B's median time / A's (below 1: B is faster). 95 %% CI: bootstrap, %d "
           "resamples of each side's per-repetition samples, fixed seed. A change is "
           "significant when the CI excludes 1.0; rows with fewer than %d samples a side are "
           "not judged. With 3 samples a side the interval is coarse and flags unchanged "
           "rows well above 5 %% of the time: gate on runs with 5 or more repetitions "
           "(see the samples column).", CMP_RESAMPLES, CMP_MIN_SAMPLES);
    if (fail_above >= 0) printf(" Rows marked **over** are significantly slower by more than %s %%.", F3(fail_above));
    printf("\n\n| row (payload protocol stage variant codec level hash alloc) | A median ms | "
           "B median ms | B/A | 95 %% CI | samples A/B | verdict |\n|---|---|---|---|---|---|---|\n");
    /* In A's file order, so the table reads like the matrix. */
    for (i = 0; i < ra.nrows; i++) {
        const rundir_row *a = &ra.rows[i], *b;
        char id[512], ci[96] = "-";
        const char *verdict;
        double ratio, lo = NAN, hi = NAN;
        rundir_row_id(a, id, sizeof id);
        b = lookup(kb, rb.nrows, id);
        if (!b || !a->ok || !b->ok) continue;
        ratio = b->median_ns / a->median_ns;
        if (a->nsamples >= CMP_MIN_SAMPLES && b->nsamples >= CMP_MIN_SAMPLES) {
            bootstrap(a, b, id, &lo, &hi);
            snprintf(ci, sizeof ci, "%s - %s", F3(lo), F3(hi));
            if (lo > 1.0) { verdict = "slower"; nslower++; }
            else if (hi < 1.0) { verdict = "faster"; nfaster++; }
            else verdict = "no significant change";
        } else {
            verdict = "not judged (fewer than " CMP_MIN_TEXT " samples a side)";
        }
        ncmp++;
        if (fail_above >= 0 && lo > 1.0 && ratio > 1.0 + fail_above / 100.0) {
            ntripped++;
            printf("| %s | %s | %s | %s | %s | %zu/%zu | **%s, over** |\n", id,
                   F3(a->median_ns / 1e6), F3(b->median_ns / 1e6), F3(ratio), ci,
                   a->nsamples, b->nsamples, verdict);
        } else {
            printf("| %s | %s | %s | %s | %s | %zu/%zu | %s |\n", id, F3(a->median_ns / 1e6),
                   F3(b->median_ns / 1e6), F3(ratio), ci, a->nsamples, b->nsamples, verdict);
        }
    }
    printf("\n%zu rows compared: %zu faster, %zu slower, %zu without a significant change.\n\n",
           ncmp, nfaster, nslower, ncmp - nfaster - nslower);

    for (i = 0; i < ra.nrows + rb.nrows; i++) {
        const rundir_row *w = i < ra.nrows ? &ra.rows[i] : &rb.rows[i - ra.nrows];
        char id[512];
        rundir_row_id(w, id, sizeof id);
        if (lookup(i < ra.nrows ? kb : ka, i < ra.nrows ? rb.nrows : ra.nrows, id)) continue;
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
    if (ntripped) {
        cb_warn("compare: %zu row%s significantly slower in B by more than %s %%", ntripped,
                ntripped == 1 ? "" : "s", F3(fail_above));
        return CB_EXIT_USAGE;
    }
    return CB_EXIT_OK;
}
