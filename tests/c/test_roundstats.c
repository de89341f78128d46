/* test_roundstats.c - rundata/roundstats.c's intervals on simulated rounds
 * with a known truth:
 *
 *   test_roundstats
 *
 * The between-run part must widen an interval when the run's rounds drift
 * (a known step between its early and late rounds) so that it covers where
 * a run landing wholly in either phase would be, and must leave a run
 * without drift about as it was; the per-round ratios of a real A/A pair
 * (results/aa-vm-20261201T210428Z, weights sha1 / xxh3-64, whose rounds sit
 * in two clusters) must give intervals that cover each other's value.
 * Prints "PASS: ..." / "FAIL: ..." lines (tests/lib.sh); exit 1 on failure. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "roundstats.h"

#define N 15

static int failures;

static void expect(const char *what, int ok, double got_lo, double got_hi)
{
    if (ok) {
        printf("PASS: %s\n", what);
    } else {
        printf("FAIL: %s: interval %.4f-%.4f\n", what, got_lo, got_hi);
        failures++;
    }
}

/* A deterministic noise of standard deviation about sd: the sum of three
 * uniforms from a 64-bit LCG, centered. */
static double noise(uint64_t *s, double sd)
{
    double u = 0;
    for (int k = 0; k < 3; k++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        u += (double)(*s >> 11) / 9007199254740992.0 - 0.5;
    }
    return u * sd * 2; /* the sum of 3 uniforms on [-.5, .5] has sd 0.5 */
}

int main(void)
{
    double steady[N], drifted[N], ones[N], lo, hi, lo0, hi0;
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) {
        steady[i] = exp(noise(&s, 0.02));
        /* The last two thirds of the run 10 % slower on the numerator: a
         * run landing wholly in the first phase states 1.00, wholly in the
         * second 1.10. */
        drifted[i] = steady[i] * (i >= N / 3 ? 1.10 : 1.00);
        ones[i] = 1;
    }

    rs_value(rs_estimate_paired(steady, ones, N, 1), &lo0, &hi0);
    expect("steady rounds: the interval stays narrow (under +-5 %)", hi0 / lo0 < 1.10, lo0, hi0);
    rs_estimate d = rs_estimate_paired(drifted, ones, N, 1);
    rs_value(d, &lo, &hi);
    expect("drifting rounds: the interval widens beyond the steady one's",
           log(hi / lo) > 1.5 * log(hi0 / lo0), lo, hi);
    expect("drifting rounds: it covers a run wholly in the fast phase (1.00)", lo <= 1.00 && hi >= 1.00, lo, hi);
    expect("drifting rounds: it covers a run wholly in the slow phase (1.10)", lo <= 1.10 && hi >= 1.10, lo, hi);

    double lv[N], lv0[N];
    for (int i = 0; i < N; i++) {
        lv[i] = log(drifted[i]);
        lv0[i] = log(steady[i]);
    }
    /* The step's variance over the thirds' medians is 0.1^2 / 3; steady
     * rounds' thirds differ by noise alone (median of 5 rounds of sd 0.02:
     * sd 0.011), whose estimate is subtracted. */
    double bv = rs_between_var(lv, N), bv0 = rs_between_var(lv0, N);
    printf("# rs_between_var: drifting %.5f, steady %.5f\n", bv, bv0);
    expect("rs_between_var sees the step", bv > 0.001, lo, hi);
    expect("rs_between_var adds little to steady rounds (under a tenth of the step's)", bv0 < 0.0003, lo0, hi0);

    /* A real A/A pair: the rounds of each run sit near 25-26 and near 28-29. */
    static const double run1[N] = {25.9873, 24.9784, 28.1994, 26.5372, 25.1964, 26.4548, 27.1775, 27.2093,
                                   29.2689, 28.8097, 29.5961, 25.9766, 27.2446, 25.5210, 25.7235};
    static const double run2[N] = {28.0470, 25.1364, 28.2734, 26.8893, 28.1996, 25.9282, 28.7736, 25.2390,
                                   28.5744, 29.0117, 27.2792, 27.4940, 28.2896, 29.7373, 26.4081};
    double v1 = rs_value(rs_estimate_paired(run1, ones, N, 7), &lo, &hi);
    double v2 = rs_value(rs_estimate_paired(run2, ones, N, 7), &lo0, &hi0);
    expect("A/A pair: run 1's interval covers run 2's value", lo <= v2 && v2 <= hi, lo, hi);
    expect("A/A pair: run 2's interval covers run 1's value", lo0 <= v1 && v1 <= hi0, lo0, hi0);
    expect("A/A pair: neither interval wider than +-10 %", hi / v1 < 1.10 && v1 / lo < 1.10 &&
           hi0 / v2 < 1.10 && v2 / lo0 < 1.10, lo, hi);

    /* A ratio of two estimates: each side from the matching sides. */
    rs_estimate a = {0, 0.01, N, 0.03, 0.04}, b = {0, 0.01, N, 0.05, 0.02};
    rs_estimate r = rs_ratio_of(b, a);
    expect("rs_ratio_of: b/a reaches down by b's low and a's high side",
           fabs(r.log_lo - sqrt(0.05 * 0.05 + 0.04 * 0.04)) < 1e-12 &&
           fabs(r.log_hi - sqrt(0.02 * 0.02 + 0.03 * 0.03)) < 1e-12, r.log_lo, r.log_hi);
    rs_widen(&r, 0.0004);
    expect("rs_widen: both sides grow by 1.96 sqrt(var) in quadrature",
           fabs(r.log_hi - sqrt(0.02 * 0.02 + 0.03 * 0.03 + RS_Z95 * RS_Z95 * 0.0004)) < 1e-12, r.log_lo, r.log_hi);
    return failures ? 1 : 0;
}
