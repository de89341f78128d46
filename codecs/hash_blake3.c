/* hash_blake3.c - BLAKE3 (256-bit) and blake3-160 (the first 20 bytes of
 * BLAKE3's output: a drop-in 40-hex key like SHA-1's), from the official C
 * sources the Makefile compiles from BLAKE3_DIR. */
#include <blake3.h>
#include <stdlib.h>

#include "hash_impl.h"

/* The Makefile compiles blake3_dispatch.c with BLAKE3_TESTING, which makes
 * its feature cache and detector extern, as BLAKE3's own tests use them:
 * casbench reads them to name the path in use, tests/c/ writes the cache to
 * force each path. The bit values are those of blake3_dispatch.c. */
enum hash_b3_feature {
    HASH_B3_SSE2 = 1 << 0,
    HASH_B3_SSE41 = 1 << 2,
    HASH_B3_AVX2 = 1 << 4,
    HASH_B3_AVX512F = 1 << 5,
    HASH_B3_AVX512VL = 1 << 6,
};
enum hash_b3_feature get_cpu_features(void);

const char *hash_blake3_version(void) { return blake3_version(); }

/* The path of blake3_hash_many(), which does the bulk of any input over
 * one chunk (1 KiB), in blake3_dispatch.c's order. */
const char *hash_blake3_implementation(void)
{
#if defined(__x86_64__)
    unsigned f = (unsigned)get_cpu_features();
    if ((f & (HASH_B3_AVX512F | HASH_B3_AVX512VL)) == (HASH_B3_AVX512F | HASH_B3_AVX512VL))
        return "AVX-512";
    if (f & HASH_B3_AVX2)
        return "AVX2";
    if (f & HASH_B3_SSE41)
        return "SSE4.1";
    if (f & HASH_B3_SSE2)
        return "SSE2";
#endif
    return "portable";
}

void *hash_blake3_create(void)
{
    blake3_hasher *h = malloc(sizeof *h);
    if (h)
        blake3_hasher_init(h);
    return h;
}

void hash_blake3_destroy(void *state) { free(state); }
void hash_blake3_reset(void *state) { blake3_hasher_reset(state); }

void hash_blake3_update(void *state, const void *data, size_t n)
{
    blake3_hasher_update(state, data, n);
}

void hash_blake3_final(void *state, uint8_t *digest)
{
    blake3_hasher_finalize(state, digest, BLAKE3_OUT_LEN);
}

/* blake3-160 is blake3's state (hash.c's row names blake3's functions)
 * with this final: BLAKE3 is an XOF, a shorter output is a prefix of the
 * longer one, which is what `b3sum --length 20` prints. */
void hash_blake3_160_final(void *state, uint8_t *digest)
{
    blake3_hasher_finalize(state, digest, 20);
}
