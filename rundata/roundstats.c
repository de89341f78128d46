/* roundstats.c - see roundstats.h. */
#include "roundstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampstat.h"
#include "util.h"

#define RS_RESAMPLES 1000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double *rs_sorted(const double *v, size_t n)
{
    double *s = malloc((n ? n : 1) * sizeof *s);
    if (!s) return NULL;
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    return s;
}

double rs_quantile_sorted(const double *s, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    double frac = pos - (double)lo;
    return lo + 1 < n ? s[lo] * (1 - frac) + s[lo + 1] * frac : s[lo];
}

double rs_quantile(const double *v, size_t n, double q)
{
    double *s = n ? rs_sorted(v, n) : NULL;
    if (!s) return NAN;
    double r = rs_quantile_sorted(s, n, q);
    free(s);
    return r;
}

double rs_median(const double *v, size_t n) { return rs_quantile(v, n, 0.5); }

double rs_spread(const double *v, size_t n)
{
    double *s = n >= 2 ? rs_sorted(v, n) : NULL;
    if (!s) return NAN;
    double r = (rs_quantile_sorted(s, n, 0.75) - rs_quantile_sorted(s, n, 0.25)) / rs_quantile_sorted(s, n, 0.5);
    free(s);
    return r;
}

double rs_drift(const double *v, size_t n)
{
    if (n < 2) return NAN;
    size_t h = n / 2;
    /* An odd middle round belongs to neither half. */
    return rs_median(v + n - h, h) / rs_median(v, h) - 1;
}

const char *rs_flag(const double *v, size_t n)
{
    if (n < RS_FLAG_MIN_ROUNDS) return "few";
    int spread = rs_spread(v, n) > RS_FLAG_LIMIT, drift = fabs(rs_drift(v, n)) > RS_FLAG_LIMIT;
    return spread && drift ? "spread+drift" : spread ? "spread" : drift ? "drift" : "steady";
}

uint64_t rs_seed(const char *text)
{
    uint64_t s = 0xcbf29ce484222325ull;
    for (; text && *text; text++) s = (s ^ (unsigned char)*text) * 0x100000001b3ull;
    return s;
}

double rs_between_var(const double *lv, size_t n)
{
    double m[RS_DRIFT_BLOCKS], noise = 0, mean = 0, ss = 0, *dev;
    if (n < 2 * RS_DRIFT_BLOCKS) return 0;
    if (!(dev = malloc(n * sizeof *dev))) return NAN;
    for (size_t j = 0; j < RS_DRIFT_BLOCKS; j++) {
        size_t from = j * n / RS_DRIFT_BLOCKS, len = (j + 1) * n / RS_DRIFT_BLOCKS - from;
        double sigma;
        m[j] = rs_median(lv + from, len);
        for (size_t i = 0; i < len; i++) dev[i] = fabs(lv[from + i] - m[j]);
        /* A block median's own variance from the block's spread: the MAD as
         * a standard deviation (with its small-sample factor len / (len -
         * 0.8), Croux and Rousseeuw), pi/2 sigma^2 / len for the median. */
        sigma = 1.4826 * (double)len / ((double)len - 0.8) * rs_median(dev, len);
        noise += M_PI / 2 * sigma * sigma / (double)len / RS_DRIFT_BLOCKS;
        mean += m[j] / RS_DRIFT_BLOCKS;
    }
    free(dev);
    if (isnan(mean) || isnan(noise)) return NAN;
    for (size_t j = 0; j < RS_DRIFT_BLOCKS; j++) ss += (m[j] - mean) * (m[j] - mean);
    double excess = ss / (RS_DRIFT_BLOCKS - 1) - noise;
    return excess > 0 ? excess : 0;
}

/* The estimate of the median of log values lv[0..n) (round order). */
static rs_estimate estimate_logs(const double *lv, size_t n, uint64_t seed)
{
    rs_estimate e = {rs_median(lv, n), NAN, n, NAN, NAN};
    if (n < 3) return e;
    size_t block = (size_t)ceil(cbrt((double)n));
    double *res = malloc(n * sizeof *res), *meds = malloc(RS_RESAMPLES * sizeof *meds);
    sampstat os;
    if (!res || !meds || sampstat_compute(lv, n, &os) != 0) {
        free(res);
        free(meds);
        e.log_center = NAN;
        return e;
    }
    uint64_t s = seed;
    double sum = 0, sum2 = 0;
    for (size_t r = 0; r < RS_RESAMPLES; r++) {
        for (size_t i = 0; i < n; i += block) {
            size_t start = (size_t)(cb_splitmix64(&s) % n);
            for (size_t k = 0; k < block && i + k < n; k++) res[i + k] = lv[(start + k) % n];
        }
        meds[r] = rs_median(res, n);
        sum += meds[r];
        sum2 += meds[r] * meds[r];
    }
    double var_boot = sum2 / RS_RESAMPLES - (sum / RS_RESAMPLES) * (sum / RS_RESAMPLES);
    if (var_boot < 0) var_boot = 0;
    /* The within-run part, each side the wider of the bootstrap's and the
     * order-statistic interval's: the bootstrap of a median of 15 rounds
     * takes few distinct values and collapses when the rounds sit in two
     * clusters (the weights sha1/xxh3-64 ratio: rounds near 25 and near 28),
     * the order statistics do not; the bootstrap keeps a slow phase's
     * rounds together, the order statistics do not. */
    double boot = RS_Z95 * sqrt(var_boot);
    double down = fmax(boot, e.log_center - os.ci_lo), up = fmax(boot, os.ci_hi - e.log_center);
    /* The between-run part: how far the early, middle and late thirds of
     * the run disagree beyond their own noise. A run lands in one phase of
     * the machine; the phases its thirds landed in are the only sample of
     * phases one run holds (roundstats.h). */
    double between = rs_between_var(lv, n);
    if (isnan(between)) e.log_center = NAN;
    e.log_lo = sqrt(down * down + RS_Z95 * RS_Z95 * between);
    e.log_hi = sqrt(up * up + RS_Z95 * RS_Z95 * between);
    e.log_se = (e.log_lo + e.log_hi) / (2 * RS_Z95);
    free(res);
    free(meds);
    return e;
}

rs_estimate rs_estimate_median(const double *v, size_t n, uint64_t seed)
{
    double *lv = malloc((n ? n : 1) * sizeof *lv);
    if (!lv) return (rs_estimate){NAN, NAN, n, NAN, NAN};
    for (size_t i = 0; i < n; i++) lv[i] = log(v[i]);
    rs_estimate e = estimate_logs(lv, n, seed);
    free(lv);
    return e;
}

rs_estimate rs_estimate_paired(const double *a, const double *b, size_t n, uint64_t seed)
{
    double *lv = malloc((n ? n : 1) * sizeof *lv);
    if (!lv) return (rs_estimate){NAN, NAN, n, NAN, NAN};
    for (size_t i = 0; i < n; i++) lv[i] = log(a[i]) - log(b[i]);
    rs_estimate e = estimate_logs(lv, n, seed);
    free(lv);
    return e;
}

double rs_value(rs_estimate e, double *lo, double *hi)
{
    if (lo) *lo = isnan(e.log_se) ? NAN : exp(e.log_center - e.log_lo);
    if (hi) *hi = isnan(e.log_se) ? NAN : exp(e.log_center + e.log_hi);
    return exp(e.log_center);
}

/* Each side of b - a: b's side and a's opposite side in quadrature. */
rs_estimate rs_ratio_of(rs_estimate b, rs_estimate a)
{
    rs_estimate e = {b.log_center - a.log_center, sqrt(b.log_se * b.log_se + a.log_se * a.log_se),
                     a.n < b.n ? a.n : b.n, sqrt(b.log_lo * b.log_lo + a.log_hi * a.log_hi),
                     sqrt(b.log_hi * b.log_hi + a.log_lo * a.log_lo)};
    return e;
}

void rs_widen(rs_estimate *e, double var)
{
    if (isnan(e->log_se) || !(var > 0)) return;
    e->log_se = sqrt(e->log_se * e->log_se + var);
    e->log_lo = sqrt(e->log_lo * e->log_lo + RS_Z95 * RS_Z95 * var);
    e->log_hi = sqrt(e->log_hi * e->log_hi + RS_Z95 * RS_Z95 * var);
}

double rs_pvalue(rs_estimate e)
{
    if (isnan(e.log_se)) return NAN;
    if (e.log_se <= 0) return e.log_center == 0 ? 1 : 0;
    return erfc(fabs(e.log_center / e.log_se) / sqrt(2.0));
}

typedef struct { double p; size_t i; } ranked_p;

static int cmp_ranked(const void *a, const void *b)
{
    double x = ((const ranked_p *)a)->p, y = ((const ranked_p *)b)->p;
    return (x > y) - (x < y);
}

int rs_benjamini_hochberg(const double *p, size_t n, double q, int *reject)
{
    ranked_p *r = malloc((n ? n : 1) * sizeof *r);
    size_t m = 0, k, last = 0;
    if (!r) return -1;
    for (size_t i = 0; i < n; i++) {
        reject[i] = 0;
        if (!isnan(p[i])) r[m++] = (ranked_p){p[i], i};
    }
    qsort(r, m, sizeof *r, cmp_ranked);
    /* The largest rank k with p_(k) <= k q / m; every rank up to it is a discovery. */
    for (k = 1; k <= m; k++)
        if (r[k - 1].p <= (double)k * q / (double)m) last = k;
    for (k = 0; k < last; k++) reject[r[k].i] = 1;
    free(r);
    return 0;
}
