/*
 * sampstat.h - the statistics of a set of timing samples, as the PR #3090
 * reproduction reports them: the mean (the PR's own statistic) and the
 * median with a distribution-free confidence interval.
 *
 * The interval is [x(k), x(n-k+1)] of the sorted samples, with the largest k
 * whose binomial coverage 1 - 2 P(Bin(n, 1/2) <= k - 1) is at least 95 %;
 * with fewer than 6 samples no k reaches 95 % and the interval is
 * [min, max] with its own, lower coverage (n = 5: 93.75 %), which is
 * returned so that a reader sees it.
 */
#ifndef CASBENCH_SAMPSTAT_H
#define CASBENCH_SAMPSTAT_H

#include <stddef.h>

typedef struct {
    size_t n;
    double mean, median, stddev, min, max;
    double ci_lo, ci_hi;   /* the median's interval; NAN when n == 0 */
    double ci_level;       /* its coverage, 0..1 */
} sampstat;

/* Statistics of x[0..n) (x is not modified). n == 0 gives NANs. Returns 0,
 * or -1 when out of memory (the median needs a sorted copy). */
int sampstat_compute(const double *x, size_t n, sampstat *out);

#endif
