/*
 * numpy_random.c - see numpy_random.h.
 *
 * The ziggurat tables. numpy ships them as constants (ziggurat_constants.h);
 * here they are recomputed on first use from the ziggurat's defining
 * constants, the way each of numpy's two sets was evidently made (checked
 * entry by entry while writing this, and draw by draw against numpy by
 * tests/test_numpy_rng.sh):
 *
 * - normal, 256 layers, 52-bit mantissas: x_0 = r, x_i = sqrt(-2 log(f(x_{i-1})
 *   + V / x_{i-1})) with f(x) = exp(-x*x/2), in double arithmetic whose exp
 *   and log are correctly rounded (computed here in quad precision and
 *   rounded once). numpy's tables agree with that everywhere except that
 *   the libm which made them returned f(x_217) one ulp above the correctly
 *   rounded value; x_218 onwards and fi[38] inherit it, so it is reproduced
 *   below (NORMAL_NUDGED_LAYER), the single departure from the algorithm.
 * - exponential, 256 layers, 53-bit mantissas: x_i = -log(exp(-x_{i-1}) +
 *   V / x_{i-1}) with V = (r + 1) exp(-r), carried in quad precision and
 *   each table entry rounded to double once.
 *
 * The acceptance thresholds ki/ke are round(2^52 x_{i-1} / x_i) (2^53 for
 * the exponential). ki is numpy's exactly; ke is not always numpy's to the
 * unit: in 201 of the 256 layers numpy's differs from it by 1 or 2 units in
 * 2^53 (numpy's generator rounded differently; no rule found reproduces all
 * of them). A threshold decides a draw only when the draw's 53-bit mantissa
 * falls between the two values: probability below 3e-16 per exponential
 * draw; the words consumed and the values returned are otherwise the same.
 * wi/we and fi/fe, which enter every value, are numpy's exactly.
 *
 * Quad precision: __float128 with libquadmath on x86-64 (whose long double
 * has only 64 bits); long double where that is IEEE binary128 (aarch64).
 */
#include "numpy_random.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
typedef __float128 quad;
/* libquadmath's entry points, declared here because quadmath.h is on gcc's
 * include path only (the fuzz build uses clang). */
extern __float128 expq(__float128);
extern __float128 logq(__float128);
extern __float128 strtoflt128(const char *, char **);
#define QEXP expq
#define QLOG logq
#define QPARSE(s) strtoflt128((s), NULL)
#elif LDBL_MANT_DIG >= 113
typedef long double quad;
#define QEXP expl
#define QLOG logl
#define QPARSE(s) strtold((s), NULL)
#else
#error "numpy_random.c needs a binary128 type (__float128 or a 113-bit long double)"
#endif

/* --- PCG64 and SeedSequence --- */

#define PCG_MULT (((unsigned __int128)2549297995355413924ULL << 64) | 4865540595714422341ULL)

static void pcg_step(npr_gen *g) { g->state = g->state * PCG_MULT + g->inc; }

uint64_t npr_next_uint64(npr_gen *g)
{
    pcg_step(g);
    uint64_t hi = (uint64_t)(g->state >> 64), lo = (uint64_t)g->state;
    unsigned rot = (unsigned)(hi >> 58);
    uint64_t x = hi ^ lo;
    return (x >> rot) | (x << ((64 - rot) & 63));
}

uint32_t npr_next_uint32(npr_gen *g)
{
    if (g->has_uint32) {
        g->has_uint32 = 0;
        return g->uinteger;
    }
    uint64_t x = npr_next_uint64(g);
    g->has_uint32 = 1;
    g->uinteger = (uint32_t)(x >> 32);
    return (uint32_t)x;
}

double npr_next_double(npr_gen *g) { return (double)(npr_next_uint64(g) >> 11) * (1.0 / 9007199254740992.0); }

/* SeedSequence's hash: the multiplier itself advances with each use. */
static uint32_t seq_hashmix(uint32_t value, uint32_t *hash_const)
{
    value ^= *hash_const;
    *hash_const *= 0x931e8875u;
    value *= *hash_const;
    return value ^ (value >> 16);
}

static uint32_t seq_mix(uint32_t x, uint32_t y)
{
    uint32_t result = 0xca01f9ddu * x - 0x4973f715u * y;
    return result ^ (result >> 16);
}

void npr_seed(npr_gen *g, uint64_t seed)
{
    /* The seed as uint32 words, least significant first ([0] for 0). */
    uint32_t entropy[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    size_t n_entropy = seed >> 32 ? 2 : 1;
    uint32_t pool[4], hash_const = 0x43b0d7e5u;
    for (size_t i = 0; i < 4; i++) pool[i] = seq_hashmix(i < n_entropy ? entropy[i] : 0, &hash_const);
    for (size_t src = 0; src < 4; src++)
        for (size_t dst = 0; dst < 4; dst++)
            if (src != dst) pool[dst] = seq_mix(pool[dst], seq_hashmix(pool[src], &hash_const));
    /* generate_state(4, uint64): eight words cycling over the pool. */
    uint32_t words[8];
    hash_const = 0x8b51f9ddu;
    for (size_t i = 0; i < 8; i++) {
        uint32_t v = pool[i % 4] ^ hash_const;
        hash_const *= 0x58f38dedu;
        v *= hash_const;
        words[i] = v ^ (v >> 16);
    }
    uint64_t w64[4];
    for (size_t i = 0; i < 4; i++) w64[i] = words[2 * i] | (uint64_t)words[2 * i + 1] << 32;
    unsigned __int128 initstate = (unsigned __int128)w64[0] << 64 | w64[1];
    unsigned __int128 initseq = (unsigned __int128)w64[2] << 64 | w64[3];
    g->state = 0;
    g->inc = initseq << 1 | 1;
    pcg_step(g);
    g->state += initstate;
    pcg_step(g);
    g->has_uint32 = 0;
    g->uinteger = 0;
}

/* --- ziggurat tables --- */

/* The ziggurat constants numpy uses (its ziggurat_nor_r, _nor_inv_r,
 * _exp_r, and the normal layer area V). */
#define NOR_R 3.6541528853610087963519472518
#define NOR_INV_R 0.27366123732975827203338247596
#define NOR_V 0.0049286732339746519
#define EXP_R_TEXT "7.6971174701310497140446280481"
#define EXP_R 7.6971174701310497140446280481
#define NORMAL_NUDGED_LAYER 217

static struct {
    uint64_t ki[256], ke[256];
    double wi[256], fi[256], we[256], fe[256];
} zig;
static pthread_once_t zig_once = PTHREAD_ONCE_INIT;

static double cr_exp(double x) { return (double)QEXP((quad)x); }
static double cr_log(double x) { return (double)QLOG((quad)x); }

/* f(x_layer) as the normal tables were made (see the top of the file). */
static double normal_pdf(double x, int layer)
{
    double f = cr_exp(-0.5 * x * x);
    return layer == NORMAL_NUDGED_LAYER ? nextafter(f, INFINITY) : f;
}

static void zig_normal(void)
{
    double x[256];     /* generation order: x[0] = r, x[255] = 0 */
    x[0] = NOR_R;
    for (int i = 1; i < 255; i++) x[i] = sqrt(-2 * cr_log(normal_pdf(x[i - 1], i - 1) + NOR_V / x[i - 1]));
    x[255] = 0;
    /* Table index j holds layer 255 - j. */
    for (int j = 1; j < 256; j++) {
        zig.ki[j] = (uint64_t)nearbyint(x[256 - j] / x[255 - j] * 0x1p52);
        zig.wi[j] = x[255 - j] / 0x1p52;
    }
    zig.ki[0] = (uint64_t)nearbyint(NOR_R * normal_pdf(NOR_R, 0) / NOR_V * 0x1p52);
    zig.wi[0] = NOR_V / normal_pdf(NOR_R, 0) / 0x1p52;
    for (int j = 0; j < 256; j++) zig.fi[j] = normal_pdf(x[255 - j], 255 - j);
}

static void zig_exponential(void)
{
    quad x[256], r = QPARSE(EXP_R_TEXT), v = (r + 1) * QEXP(-r), scale = 9007199254740992.0;
    x[0] = r;
    for (int i = 1; i < 255; i++) x[i] = -QLOG(QEXP(-x[i - 1]) + v / x[i - 1]);
    x[255] = 0;
    for (int j = 1; j < 256; j++) {
        zig.ke[j] = (uint64_t)nearbyint((double)(x[256 - j] / x[255 - j] * scale));
        zig.we[j] = (double)(x[255 - j] / scale);
    }
    zig.ke[0] = (uint64_t)nearbyint((double)(r * QEXP(-r) / v * scale));
    zig.we[0] = (double)(v / QEXP(-r) / scale);
    for (int j = 0; j < 256; j++) zig.fe[j] = (double)QEXP(-x[255 - j]);
}

static void zig_init(void)
{
    zig_normal();
    zig_exponential();
}

/* --- distributions --- */

double npr_standard_normal(npr_gen *g)
{
    pthread_once(&zig_once, zig_init);
    for (;;) {
        uint64_t r = npr_next_uint64(g);
        int idx = (int)(r & 0xff);
        r >>= 8;
        uint64_t rabs = (r >> 1) & 0x000fffffffffffffULL;
        double x = (double)rabs * zig.wi[idx];
        if (r & 1) x = -x;
        if (rabs < zig.ki[idx]) return x;
        if (idx == 0) {
            /* the tail beyond r: Marsaglia's exponential rejection, with
             * 1 - U so that log never sees 0 */
            for (;;) {
                double xx = -NOR_INV_R * log1p(-npr_next_double(g));
                double yy = -log1p(-npr_next_double(g));
                if (yy + yy > xx * xx) return ((rabs >> 8) & 1) ? -(NOR_R + xx) : NOR_R + xx;
            }
        }
        if ((zig.fi[idx - 1] - zig.fi[idx]) * npr_next_double(g) + zig.fi[idx] < exp(-0.5 * x * x)) return x;
    }
}

double npr_normal(npr_gen *g, double loc, double scale) { return loc + scale * npr_standard_normal(g); }

double npr_standard_exponential(npr_gen *g)
{
    pthread_once(&zig_once, zig_init);
    for (;;) {
        uint64_t ri = npr_next_uint64(g) >> 3;
        int idx = (int)(ri & 0xff);
        ri >>= 8;
        double x = (double)ri * zig.we[idx];
        if (ri < zig.ke[idx]) return x;
        if (idx == 0) return EXP_R - log1p(-npr_next_double(g));
        if ((zig.fe[idx - 1] - zig.fe[idx]) * npr_next_double(g) + zig.fe[idx] < exp(-x)) return x;
    }
}

double npr_exponential(npr_gen *g, double scale) { return scale * npr_standard_exponential(g); }

/* Lemire's nearly-divisionless bounded draw in [0, range] (range < max). */
static uint32_t lemire32(npr_gen *g, uint32_t range)
{
    uint32_t excl = range + 1;
    uint64_t m = (uint64_t)npr_next_uint32(g) * excl;
    uint32_t leftover = (uint32_t)m;
    if (leftover < excl) {
        uint32_t threshold = (UINT32_MAX - range) % excl;
        while (leftover < threshold) {
            m = (uint64_t)npr_next_uint32(g) * excl;
            leftover = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

static uint64_t lemire64(npr_gen *g, uint64_t range)
{
    uint64_t excl = range + 1;
    unsigned __int128 m = (unsigned __int128)npr_next_uint64(g) * excl;
    uint64_t leftover = (uint64_t)m;
    if (leftover < excl) {
        uint64_t threshold = (UINT64_MAX - range) % excl;
        while (leftover < threshold) {
            m = (unsigned __int128)npr_next_uint64(g) * excl;
            leftover = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

int64_t npr_integers(npr_gen *g, int64_t low, int64_t high)
{
    uint64_t off = (uint64_t)low, range = (uint64_t)high - 1 - (uint64_t)low, v;
    if (range == 0) v = 0;     /* no draw at all */
    else if (range == UINT32_MAX) v = npr_next_uint32(g);
    else if (range < UINT32_MAX) v = lemire32(g, (uint32_t)range);
    else if (range == UINT64_MAX) v = npr_next_uint64(g);
    else v = lemire64(g, range);
    return (int64_t)(off + v);
}

void npr_bytes(npr_gen *g, uint8_t *dst, size_t n)
{
    /* numpy counts (n - 1) / 4 + 1 words with C's truncating division, so
     * bytes(0) still draws one word (and returns nothing). */
    if (n == 0) {
        (void)npr_next_uint32(g);
        return;
    }
    for (size_t i = 0; i < n; i += 4) {
        uint32_t w = npr_next_uint32(g);
        for (size_t b = 0; b < 4 && i + b < n; b++) dst[i + b] = (uint8_t)(w >> (8 * b));
    }
}
