/* hash_openssl.c - sha1, sha256 and blake2b (512-bit) through OpenSSL's EVP
 * interface: the algorithm fetched and the context made once per state. */
#include <cpuid.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "hash_impl.h"

typedef struct {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
} ossl_state;

const char *hash_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION_STRING); }

static void *ossl_create(const char *alg)
{
    ossl_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->md = EVP_MD_fetch(NULL, alg, NULL);
    s->ctx = EVP_MD_CTX_new();
    if (!s->md || !s->ctx || !EVP_DigestInit_ex2(s->ctx, s->md, NULL)) {
        EVP_MD_CTX_free(s->ctx);
        EVP_MD_free(s->md);
        free(s);
        return NULL;
    }
    return s;
}

static void ossl_destroy(void *state)
{
    ossl_state *s = state;
    if (!s)
        return;
    EVP_MD_CTX_free(s->ctx);
    EVP_MD_free(s->md);
    free(s);
}

/* Hashing cannot fail once the state exists (hash.h): the EVP calls below
 * fail only on a NULL or unfetched algorithm, which create() rules out. */
static void ossl_reset(void *state)
{
    ossl_state *s = state;
    EVP_DigestInit_ex2(s->ctx, NULL, NULL);
}

static void ossl_update(void *state, const void *data, size_t n)
{
    ossl_state *s = state;
    EVP_DigestUpdate(s->ctx, data, n);
}

static void ossl_final(void *state, uint8_t *digest)
{
    ossl_state *s = state;
    unsigned int len = 0;
    EVP_DigestFinal_ex(s->ctx, digest, &len);
}

/* OpenSSL 3.0 keeps its capability vector (OPENSSL_ia32cap_P) private, so
 * this rebuilds the bits its SHA code tests, as crypto/cpuid.c does: CPUID,
 * then the OPENSSL_ia32cap environment variable ("[~]A[:[~]B]": A replaces,
 * or with ~ masks, words 0-1; B words 2-3; words 2-3 are zeroed when the
 * variable is set without a ':'). */
typedef struct {
    uint32_t w[4];
} ossl_cap;

/* OpenSSL's ossl_strtouint64: decimal, 0-octal or 0x-hex, up to the first
 * character that is not a digit. */
static uint64_t ossl_num(const char *s)
{
    uint64_t v = 0;
    unsigned base = 10, d;
    if (*s == '0') {
        base = 8, s++;
        if (*s == 'x' || *s == 'X')
            base = 16, s++;
    }
    for (;; s++) {
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (*s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (*s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            break;
        if (d >= base)
            break;
        v = v * base + d;
    }
    return v;
}

static ossl_cap ossl_capabilities(void)
{
    ossl_cap c;
    unsigned a = 0, b = 0, cx = 0, d = 0, max;
    const char *env = getenv("OPENSSL_ia32cap");
    uint64_t vec;

    memset(&c, 0, sizeof c);
    max = __get_cpuid_max(0, NULL);
    if (max >= 1 && __get_cpuid(1, &a, &b, &cx, &d)) {
        c.w[0] = d;
        c.w[1] = cx;
    }
    if (max >= 7) {
        __cpuid_count(7, 0, a, b, cx, d);
        c.w[2] = b;
        c.w[3] = cx;
    }
    /* Bit 30 of word 0 is OpenSSL's own "Intel CPU" flag. */
    __get_cpuid(0, &a, &b, &cx, &d);
    c.w[0] &= ~(1u << 30);
    if (b == 0x756e6547 && d == 0x49656e69 && cx == 0x6c65746e)   /* GenuineIntel */
        c.w[0] |= 1u << 30;
    if (!env)
        return c;
    vec = (uint64_t)c.w[1] << 32 | c.w[0];
    if (env[0] == '~')
        vec &= ~ossl_num(env + 1);
    else if (env[0] != ':')
        vec = ossl_num(env);
    c.w[0] = (uint32_t)vec;
    c.w[1] = (uint32_t)(vec >> 32);
    env = strchr(env, ':');
    if (env) {
        env++;
        uint64_t x = ossl_num(env + (env[0] == '~'));
        if (env[0] == '~') {
            c.w[2] &= ~(uint32_t)x;
            c.w[3] &= ~(uint32_t)(x >> 32);
        } else {
            c.w[2] = (uint32_t)x;
            c.w[3] = (uint32_t)(x >> 32);
        }
    } else {
        c.w[2] = c.w[3] = 0;
    }
    return c;
}

/* The branch order of OpenSSL's sha1-x86_64 / sha256 (sha512-x86_64)
 * assembly: SHA extensions, then AVX2 with BMI1+BMI2, then AVX on Intel CPUs,
 * then SSSE3, then plain x86-64. */
static const char *ossl_sha_path(void)
{
#if defined(__x86_64__)
    ossl_cap c = ossl_capabilities();
    const uint32_t bmi_avx2 = 1u << 3 | 1u << 5 | 1u << 8;
    if ((c.w[2] & (1u << 29)) && (c.w[1] & (1u << 9)))
        return "SHA-NI";
    if ((c.w[2] & bmi_avx2) == bmi_avx2)
        return "AVX2 (no SHA-NI)";
    if ((c.w[1] & (1u << 28)) && (c.w[0] & (1u << 30)))
        return "AVX (no SHA-NI)";
    if (c.w[1] & (1u << 9))
        return "SSSE3 (no SHA-NI)";
    return "x86-64 (no SHA-NI)";
#else
    return "OpenSSL default";
#endif
}

#define OSSL_ROW(p, alg)                                                       \
    void *hash_##p##_create(void) { return ossl_create(alg); }                 \
    void hash_##p##_destroy(void *state) { ossl_destroy(state); }              \
    void hash_##p##_reset(void *state) { ossl_reset(state); }                  \
    void hash_##p##_update(void *state, const void *data, size_t n)            \
    { ossl_update(state, data, n); }                                           \
    void hash_##p##_final(void *state, uint8_t *digest) { ossl_final(state, digest); }

OSSL_ROW(sha1, "SHA1")
OSSL_ROW(sha256, "SHA2-256")
OSSL_ROW(blake2b, "BLAKE2B-512")

const char *hash_sha1_implementation(void) { return ossl_sha_path(); }
const char *hash_sha256_implementation(void) { return ossl_sha_path(); }
/* OpenSSL 3.0 has no BLAKE2 assembly. */
const char *hash_blake2b_implementation(void) { return "portable C"; }
