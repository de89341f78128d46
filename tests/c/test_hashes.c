/* test_hashes.c - the hash table against itself and against each library's
 * own one-shot call, under the sanitizers:
 *
 *   test_hashes [BLOB...]
 *
 * For every hash and every length 0..1024 of the period-251 pattern (byte i
 * is i % 251), plus 1 MiB + 3 bytes of it and each BLOB: one update = one
 * update after the state hashed something else = byte by byte = uneven
 * pieces; and = the library's one-shot call where it has one (EVP_Digest,
 * XXH64, XXH3's dispatched and plain SSE2 entry points).
 * BLAKE3: every dispatch path this CPU supports (the feature cache of
 * blake3_dispatch.c, exported by BLAKE3_TESTING, as BLAKE3's own c/main.c
 * forces it) gives the digests of the path chosen by default.
 * (The digests against sha1sum, b3sum, xxhsum... are tests/test_hashes.sh.)
 *
 * Prints "PASS: ..." / "FAIL: ..." lines (tests/lib.sh); exit 1 on failure. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <xxh_x86dispatch.h>

#include "hash.h"
#include "util.h"

/* blake3_dispatch.c's feature bits, and its cache (BLAKE3_TESTING). */
enum test_b3_feature {
    T_SSE2 = 1 << 0,
    T_SSE41 = 1 << 2,
    T_AVX2 = 1 << 4,
    T_AVX512 = (1 << 5) | (1 << 6),   /* AVX512F | AVX512VL */
    T_UNDEFINED = 1 << 30,
};
extern enum test_b3_feature g_cpu_features;
enum test_b3_feature get_cpu_features(void);

static int failures;

static void check(int ok, const char *what, const char *hash, const char *detail)
{
    if (ok) {
        printf("PASS: %s %s\n", what, hash);
    } else {
        printf("FAIL: %s %s: %s\n", what, hash, detail);
        failures++;
    }
}

typedef struct {
    const char *name;
    const uint8_t *data;
    size_t n;
} input;

/* The library's own one-shot digest in canonical bytes; 0 when it has none. */
static int library_oneshot(const hash_desc *h, const uint8_t *d, size_t n, uint8_t *out,
                           int plain_xxh3)
{
    const char *evp = strcmp(h->name, "sha1") == 0 ? "SHA1"
                      : strcmp(h->name, "sha256") == 0 ? "SHA256"
                      : strcmp(h->name, "blake2b") == 0 ? "BLAKE2B-512" : NULL;
    if (evp) {
        unsigned len = 0;
        EVP_MD *md = EVP_MD_fetch(NULL, evp, NULL);
        int ok = md && EVP_Digest(d, n, out, &len, md, NULL);
        EVP_MD_free(md);
        return ok;
    }
    if (strcmp(h->name, "xxh64") == 0) {
        XXH64_canonicalFromHash((XXH64_canonical_t *)out, XXH64(d, n, 0));
        return 1;
    }
    if (strcmp(h->name, "xxh3-64") == 0) {
        XXH64_hash_t v = plain_xxh3 ? XXH3_64bits(d, n) : XXH3_64bits_dispatch(d, n);
        XXH64_canonicalFromHash((XXH64_canonical_t *)out, v);
        return 1;
    }
    if (strcmp(h->name, "xxh3-128") == 0) {
        XXH128_hash_t v = plain_xxh3 ? XXH3_128bits(d, n) : XXH3_128bits_dispatch(d, n);
        XXH128_canonicalFromHash((XXH128_canonical_t *)out, v);
        return 1;
    }
    return 0;
}

static void test_hash(const hash_desc *h, const input *in, size_t n_in)
{
    void *s = h->create();
    uint8_t a[HASH_MAX_DIGEST], b[HASH_MAX_DIGEST];
    char detail[256];
    int bad_update = 0, bad_reuse = 0, bad_bytes = 0, bad_pieces = 0, bad_lib = 0, bad_plain = 0;
    int has_lib = 0;
    size_t i, k;

    if (!s) {
        check(0, "create", h->name, "NULL state");
        return;
    }
    for (i = 0; i < n_in; i++) {
        const uint8_t *d = in[i].data;
        size_t n = in[i].n;
        uint32_t seed = 12345u + (uint32_t)i;

        hash_oneshot(h, s, d, n, a);
        /* The same state after hashing something else. */
        hash_oneshot(h, s, "other input", 11, b);
        hash_oneshot(h, s, d, n, b);
        bad_reuse += memcmp(a, b, (size_t)h->digest_bytes) != 0;
        /* Reset, one update, final: without hash_oneshot. */
        h->reset(s);
        h->update(s, d, n);
        h->final(s, b);
        bad_update += memcmp(a, b, (size_t)h->digest_bytes) != 0;
        /* Byte by byte (up to 64 KiB: the rest is the uneven pieces' job). */
        if (n <= 65536) {
            h->reset(s);
            for (k = 0; k < n; k++)
                h->update(s, d + k, 1);
            h->final(s, b);
            bad_bytes += memcmp(a, b, (size_t)h->digest_bytes) != 0;
        }
        /* Uneven pieces, empty ones included. */
        h->reset(s);
        for (k = 0; k < n;) {
            size_t step;
            seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
            step = seed % 3000;
            if (step > n - k)
                step = n - k;
            h->update(s, d + k, step);
            k += step;
        }
        h->final(s, b);
        bad_pieces += memcmp(a, b, (size_t)h->digest_bytes) != 0;
        if (library_oneshot(h, d, n, b, 0)) {
            has_lib = 1;
            bad_lib += memcmp(a, b, (size_t)h->digest_bytes) != 0;
            if (strncmp(h->name, "xxh3", 4) == 0 && library_oneshot(h, d, n, b, 1))
                bad_plain += memcmp(a, b, (size_t)h->digest_bytes) != 0;
        }
    }
    snprintf(detail, sizeof detail, "%d of %zu inputs differ", bad_update, n_in);
    check(!bad_update, "reset+update+final = hash_oneshot", h->name, detail);
    snprintf(detail, sizeof detail, "%d of %zu inputs differ", bad_reuse, n_in);
    check(!bad_reuse, "reused state", h->name, detail);
    snprintf(detail, sizeof detail, "%d inputs differ", bad_bytes);
    check(!bad_bytes, "byte by byte", h->name, detail);
    snprintf(detail, sizeof detail, "%d of %zu inputs differ", bad_pieces, n_in);
    check(!bad_pieces, "uneven pieces", h->name, detail);
    if (has_lib) {
        snprintf(detail, sizeof detail, "%d of %zu inputs differ", bad_lib, n_in);
        check(!bad_lib, "= the library's one-shot call", h->name, detail);
    }
    if (strncmp(h->name, "xxh3", 4) == 0) {
        snprintf(detail, sizeof detail, "%d of %zu inputs differ", bad_plain, n_in);
        check(!bad_plain, "dispatched = plain (SSE2) XXH3 entry point", h->name, detail);
    }
    h->destroy(s);
}

/* Digests of every input with BLAKE3's dispatcher held at `features`. */
static void blake3_digests(const hash_desc *h, const input *in, size_t n_in, uint8_t *out)
{
    void *s = h->create();
    size_t i;
    for (i = 0; i < n_in; i++)
        hash_oneshot(h, s, in[i].data, in[i].n, out + i * (size_t)h->digest_bytes);
    h->destroy(s);
}

static void test_blake3_paths(const input *in, size_t n_in)
{
    static const struct {
        const char *name;
        unsigned features;
    } paths[] = {
        {"portable", 0},
        {"SSE2", T_SSE2},
        {"SSE4.1", T_SSE2 | T_SSE41},
        {"AVX2", T_SSE2 | T_SSE41 | T_AVX2},
        {"AVX-512", T_SSE2 | T_SSE41 | T_AVX2 | T_AVX512},
    };
    const hash_desc *h = hash_find("blake3", NULL, 0);
    unsigned detected = (unsigned)get_cpu_features();
    size_t dl = (size_t)h->digest_bytes * n_in, p;
    uint8_t *want = malloc(dl), *got = malloc(dl);
    char what[96];

    if (!want || !got)
        exit(3);
    blake3_digests(h, in, n_in, want);
    for (p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        if ((paths[p].features & detected) != paths[p].features) {
            printf("PASS: blake3 dispatch path %s: not supported by this CPU, skipped\n", paths[p].name);
            continue;
        }
        g_cpu_features = (enum test_b3_feature)paths[p].features;
        snprintf(what, sizeof what, "dispatch path %s (implementation() says %s) = default path",
                 paths[p].name, h->implementation());
        blake3_digests(h, in, n_in, got);
        check(memcmp(want, got, dl) == 0 && strcmp(h->implementation(), paths[p].name) == 0,
              what, "blake3", "digests or reported path differ");
    }
    g_cpu_features = (enum test_b3_feature)detected;
    free(want);
    free(got);
}

int main(int argc, char **argv)
{
    size_t n_in = 1025 + 1 + (size_t)(argc - 1), i, big = ((size_t)1 << 20) + 3;
    input *in = calloc(n_in, sizeof *in);
    uint8_t *pattern = malloc(big);
    int a;

    if (!in || !pattern)
        return 3;
    for (i = 0; i < big; i++)
        pattern[i] = (uint8_t)(i % 251);
    for (i = 0; i <= 1024; i++)
        in[i] = (input){"pattern", pattern, i};
    in[1025] = (input){"pattern 1 MiB + 3", pattern, big};
    for (a = 1; a < argc; a++) {
        uint8_t *d;
        size_t n;
        char err[256];
        if (cb_read_file(argv[a], (size_t)1 << 30, &d, &n, err, sizeof err) != 0) {
            fprintf(stderr, "test_hashes: %s: %s\n", argv[a], err);
            return 3;
        }
        in[1025 + (size_t)a] = (input){argv[a], d, n};
    }
    for (i = 0; i < hash_count; i++)
        test_hash(&hash_table[i], in, n_in);
    test_blake3_paths(in, n_in);
    for (a = 1; a < argc; a++)
        free((void *)in[1025 + (size_t)a].data);
    free(in);
    free(pattern);
    return failures ? 1 : 0;
}
