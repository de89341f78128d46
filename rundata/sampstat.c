/* sampstat.c - see sampstat.h. */
#include "sampstat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "roundstats.h"

/* P(Bin(n, 1/2) <= k), summed in logs so that n in the thousands is exact
 * enough. */
static double binom_cdf_half(size_t n, size_t k)
{
    double sum = 0;
    size_t i;
    for (i = 0; i <= k; i++)
        sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                   (double)n * log(2.0));
    return sum;
}

int sampstat_compute(const double *x, size_t n, sampstat *out)
{
    size_t i, k;
    double sum = 0, ss = 0;
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n == 0) {
        out->mean = out->median = out->stddev = out->min = out->max = NAN;
        out->ci_lo = out->ci_hi = NAN;
        return 0;
    }
    double *s = rs_sorted(x, n);
    if (!s) return -1;
    for (i = 0; i < n; i++) sum += s[i];
    out->mean = sum / (double)n;
    for (i = 0; i < n; i++) ss += (s[i] - out->mean) * (s[i] - out->mean);
    out->stddev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
    out->min = s[0];
    out->max = s[n - 1];
    out->median = rs_quantile_sorted(s, n, 0.5);
    /* The largest k (1-based) with coverage >= 95 %, else k = 1. */
    size_t best = 1;
    for (k = 1; k <= (n + 1) / 2; k++) {
        if (1 - 2 * binom_cdf_half(n, k - 1) >= 0.95) best = k;
        else break;
    }
    out->ci_lo = s[best - 1];
    out->ci_hi = s[n - best];
    out->ci_level = n >= 2 ? 1 - 2 * binom_cdf_half(n, best - 1) : 0;
    free(s);
    return 0;
}
