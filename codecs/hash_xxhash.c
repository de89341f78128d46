/* hash_xxhash.c - xxh64, xxh3-64 and xxh3-128 from libxxhash. XXH3 goes
 * through the library's x86 dispatcher (the *_dispatch entry points that
 * xxhsum uses), which picks AVX-512, AVX2 or SSE2 at run time; the plain
 * XXH3 entry points of Debian's build are SSE2 only, and they are what
 * python3-xxhash calls (its module imports XXH3_64bits_update, not the
 * _dispatch names; perf shows Python in libxxhash's SSE2 loop): the py_update
 * steps below run them, for the cpython cells. The header's renaming of the
 * plain names to the dispatched ones is off, so each name here is what it
 * says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#if defined(__x86_64__)
#include <cpuid.h>
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
#define HASH_XXH3_64_UPDATE(s, d, n) XXH3_64bits_update_dispatch(s, d, n)
#define HASH_XXH3_128_UPDATE(s, d, n) XXH3_128bits_update_dispatch(s, d, n)
#else
#define HASH_XXH3_64_UPDATE(s, d, n) XXH3_64bits_update(s, d, n)
#define HASH_XXH3_128_UPDATE(s, d, n) XXH3_128bits_update(s, d, n)
#endif

#include "hash_impl.h"

const char *hash_xxhash_version(void)
{
    static char v[16];
    unsigned n = XXH_versionNumber();
    snprintf(v, sizeof v, "%u.%u.%u", n / 10000, n / 100 % 100, n % 100);
    return v;
}

const char *hash_xxh64_implementation(void) { return "scalar"; }

#if defined(__x86_64__)
static uint64_t hash_xgetbv(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}
#endif

/* The choice xxh_x86dispatch.c makes, by the same CPUID and XCR0 tests. */
const char *hash_xxh3_64_implementation(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d;
    uint64_t xcr0;
    if (__get_cpuid_max(0, NULL) < 7 || !__get_cpuid(1, &a, &b, &c, &d))
        return "SSE2";
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX))
        return "SSE2";
    xcr0 = hash_xgetbv();
    __cpuid_count(7, 0, a, b, c, d);
    if ((b & bit_AVX512F) && (xcr0 & 0xe6) == 0xe6)
        return "AVX-512";
    if ((b & bit_AVX2) && (xcr0 & 0x6) == 0x6)
        return "AVX2";
    return "SSE2";
#else
    return "default";
#endif
}

void *hash_xxh64_create(void) { return XXH64_createState(); }
void hash_xxh64_destroy(void *state) { XXH64_freeState(state); }
void hash_xxh64_reset(void *state) { XXH64_reset(state, 0); }
void hash_xxh64_update(void *state, const void *data, size_t n) { XXH64_update(state, data, n); }

/* A 64-bit hash as its canonical (big-endian) bytes, as xxhsum prints it:
 * the final of xxh64 and xxh3-64. */
static void xxh_put64(XXH64_hash_t h, uint8_t *digest)
{
    XXH64_canonical_t c;
    XXH64_canonicalFromHash(&c, h);
    memcpy(digest, c.digest, sizeof c.digest);
}

void hash_xxh64_final(void *state, uint8_t *digest) { xxh_put64(XXH64_digest(state), digest); }

/* XXH3's state serves both widths: xxh3-128's row keeps xxh3-64's
 * implementation, create and destroy (hash.c). */
void *hash_xxh3_64_create(void) { return XXH3_createState(); }
void hash_xxh3_64_destroy(void *state) { XXH3_freeState(state); }
void hash_xxh3_64_reset(void *state) { XXH3_64bits_reset(state); }

void hash_xxh3_64_update(void *state, const void *data, size_t n)
{
    HASH_XXH3_64_UPDATE(state, data, n);
}

/* The plain (not dispatched) entry point: python3-xxhash's code path. */
void hash_xxh3_64_py_update(void *state, const void *data, size_t n)
{
    XXH3_64bits_update(state, data, n);
}

void hash_xxh3_64_final(void *state, uint8_t *digest) { xxh_put64(XXH3_64bits_digest(state), digest); }

void hash_xxh3_128_reset(void *state) { XXH3_128bits_reset(state); }

void hash_xxh3_128_update(void *state, const void *data, size_t n)
{
    HASH_XXH3_128_UPDATE(state, data, n);
}

void hash_xxh3_128_py_update(void *state, const void *data, size_t n)
{
    XXH3_128bits_update(state, data, n);
}

void hash_xxh3_128_final(void *state, uint8_t *digest)
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(state));
    memcpy(digest, c.digest, sizeof c.digest);
}
