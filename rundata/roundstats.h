/*
 * roundstats.h - statistics over the rounds of a run, shared by `run`
 * (matrix.tsv's spread and flag), `report` and `compare`.
 *
 * A run times every cell once per round, rounds spread over the whole run
 * (bench/rounds.h). A cell's per-round samples are therefore neither
 * independent (a slow phase of the machine spans several consecutive rounds)
 * nor identically distributed (the machine drifts). The intervals here are
 * built for that:
 *   - the within-run part, on each side the wider of two intervals: a
 *     circular block bootstrap over consecutive rounds (block length
 *     ceil(cbrt(n))), which keeps a phase inside a block, and the
 *     distribution-free order-statistic interval of the median (sampstat.h),
 *     which does not collapse when the rounds fall into two clusters (the
 *     bootstrap of a median of 15 rounds does);
 *   - the between-run part: a run lands in one phase of the machine, and
 *     another run in another. The medians of the run's first, middle and
 *     last thirds of rounds are three samples of the phases this run saw;
 *     their variance, less what each third's own spread of rounds gives
 *     its median, is added to the variance on both sides when positive
 *     (rs_between_var).
 *     Thirds rather than halves: two degrees of freedom instead of one.
 *     Checked against two A/A pairs (results/README.md, "Rounds").
 * Everything is computed on log(time) (ratios become differences); every
 * interval is a 95 % interval, returned on the ratio scale. Bootstrap seeds are fixed: the same input gives the same
 * output.
 */
#ifndef CASBENCH_ROUNDSTATS_H
#define CASBENCH_ROUNDSTATS_H

#include <stddef.h>
#include <stdint.h>

/* A row whose rounds disagree: relative spread (IQR / median) or drift
 * (second-half median / first-half median - 1, either sign) above this. */
#define RS_FLAG_LIMIT 0.10
/* Fewer rounds than this are not flagged: a half of two rounds is one sample. */
#define RS_FLAG_MIN_ROUNDS 5

/* Out of memory: the functions returning a double return NAN, an estimate
 * has log_center NAN; nothing here exits (common/util.h's convention). */

/* A sorted copy of v[0..n) (malloc'd, the caller frees it), or NULL when out
 * of memory. */
double *rs_sorted(const double *v, size_t n);
/* Quantile q (0..1) of sorted s[0..n), n >= 1, linear between order
 * statistics (q = 0.5: the median, the mean of the middle two for even n). */
double rs_quantile_sorted(const double *s, size_t n, double q);

/* Median of v[0..n); v is not modified. NAN when n == 0. */
double rs_median(const double *v, size_t n);
/* Quantile q (0..1) of v[0..n), linear between order statistics. */
double rs_quantile(const double *v, size_t n, double q);

/* (q75 - q25) / median of the samples. NAN when n < 2. */
double rs_spread(const double *v, size_t n);
/* median(second half) / median(first half) - 1, the samples in round order.
 * NAN when n < 2. */
double rs_drift(const double *v, size_t n);
/* "steady", "spread", "drift" or "spread+drift" (RS_FLAG_LIMIT); "few"
 * when n < RS_FLAG_MIN_ROUNDS (not judged). Static strings. */
const char *rs_flag(const double *v, size_t n);

/* The normal quantile of a two-sided 95 % interval. */
#define RS_Z95 1.959963984540054

/* The thirds of a run the between-run part compares. */
#define RS_DRIFT_BLOCKS 3

/* A location estimate with its uncertainty, on the log scale: `log_center`
 * is log(median); `log_lo` and `log_hi` how far the 95 % interval reaches
 * below and above it (the order-statistic interval is not symmetric);
 * `log_se` a symmetric standard error, their mean / 1.96, for p-values. All
 * include the between-run part; NAN when not judged. */
typedef struct {
    double log_center, log_se;
    size_t n;
    double log_lo, log_hi;
} rs_estimate;

/* The median of positive samples v[0..n) (in round order). n >= 1; with
 * n < 3 the standard error is NAN (not judged). */
rs_estimate rs_estimate_median(const double *v, size_t n, uint64_t seed);

/* The median of the per-round ratios a[i] / b[i] (the two cells ran
 * back-to-back in round i), with its interval. */
rs_estimate rs_estimate_paired(const double *a, const double *b, size_t n, uint64_t seed);

/* The between-run variance (log scale) of log values lv[0..n) in round
 * order: the sample variance of the medians of RS_DRIFT_BLOCKS consecutive
 * blocks of rounds less what each block's own spread gives its median
 * (pi/2 (1.4826 MAD)^2 / its rounds, averaged), 0 when that is negative or
 * n < 2 RS_DRIFT_BLOCKS (blocks of one round have no spread); NAN when out
 * of memory. Exported for its unit test. */
double rs_between_var(const double *lv, size_t n);

/* exp(log_center) and the 95 % interval exp(log_center - log_lo) ..
 * exp(log_center + log_hi); lo = hi = NAN when log_se is NAN. */
double rs_value(rs_estimate e, double *lo, double *hi);

/* Add var (log scale, a between-run term) to e's variance: log_se in
 * quadrature, each side as 1.96 sqrt(var). No-op on a not judged e. */
void rs_widen(rs_estimate *e, double var);

/* The difference of two independent estimates (B over A): a ratio with its
 * interval, and the two-sided p-value of "no difference" (normal
 * approximation on the log scale). p = NAN when either side is not judged. */
rs_estimate rs_ratio_of(rs_estimate b, rs_estimate a);
double rs_pvalue(rs_estimate e);

/* Benjamini-Hochberg: reject[i] = 1 for the p-values that are discoveries
 * at false discovery rate q (NAN p-values are never rejected). 0, or -1
 * when out of memory (reject[] then undefined). */
int rs_benjamini_hochberg(const double *p, size_t n, double q, int *reject);

/* A seed from a text (a row identity), so that a row's interval does not
 * depend on which other rows a file holds. */
uint64_t rs_seed(const char *text);

#endif
