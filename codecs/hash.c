/* hash.c - the hash table, look-up, hex and listing (hash.h). */
#include <string.h>

#include "hash_impl.h"
#include "util.h"

/* The functions of one hash module (hash_impl.h), by its prefix. A row
 * whose digest is another's cut short (blake3-160) keeps that hash's state
 * functions and names its own final; a row that shares another's state type
 * (xxh3-128, xxh3-64's) keeps its implementation, create and destroy and
 * names its own steps. */
#define HASH_STATE_OF(p)                                                      \
    .implementation = hash_##p##_implementation, .create = hash_##p##_create, \
    .destroy = hash_##p##_destroy
#define HASH_STATE_FUNCS(p) HASH_STATE_OF(p), .reset = hash_##p##_reset, .update = hash_##p##_update
#define HASH_STEPS(p) .reset = hash_##p##_reset, .update = hash_##p##_update, .final = hash_##p##_final
#define HASH_FUNCS(p) HASH_STATE_OF(p), HASH_STEPS(p)
#define OPENSSL .library = "OpenSSL", .version = hash_openssl_version
#define BLAKE3 .library = "BLAKE3", .version = hash_blake3_version
#define XXHASH .library = "xxHash", .version = hash_xxhash_version
#define D CB_SET_DEFAULT
#define Q CB_SET_QUICK
#define XXH3_PY_NOTE "python3-xxhash runs libxxhash's plain XXH3 entry points (SSE2), casbench's reuse row the dispatched SIMD ones; its cpython row runs Python's"

const hash_desc hash_table[] = {
    {.name = "sha1", OPENSSL, HASH_FUNCS(sha1), .digest_bytes = 20, .security = HASH_BROKEN,
     .python_call = "hashlib.sha1 (OpenSSL)", .sets = D | Q},
    {.name = "sha256", OPENSSL, HASH_FUNCS(sha256), .digest_bytes = 32, .security = HASH_CRYPTOGRAPHIC,
     .python_call = "hashlib.sha256 (OpenSSL)", .sets = D},
    {.name = "blake2b", OPENSSL, HASH_FUNCS(blake2b), .digest_bytes = 64, .security = HASH_CRYPTOGRAPHIC,
     .python_note = "hashlib's blake2b is CPython's own code, casbench's is OpenSSL's", .sets = D},
    {.name = "blake3", BLAKE3, HASH_FUNCS(blake3), .digest_bytes = 32, .security = HASH_CRYPTOGRAPHIC,
     .python_note = "Debian has no Python BLAKE3 module", .sets = D | Q},
    {.name = "blake3-160", BLAKE3, HASH_STATE_FUNCS(blake3), .final = hash_blake3_160_final,
     .digest_bytes = 20, .security = HASH_CRYPTOGRAPHIC,
     .python_note = "Debian has no Python BLAKE3 module", .sets = D},
    {.name = "xxh64", XXHASH, HASH_FUNCS(xxh64), .digest_bytes = 8, .security = HASH_NOT_CRYPTOGRAPHIC,
     .python_call = "xxhash.xxh64 (libxxhash)", .sets = D},
    {.name = "xxh3-64", XXHASH, HASH_FUNCS(xxh3_64), .py_update = hash_xxh3_64_py_update, .digest_bytes = 8,
     .security = HASH_NOT_CRYPTOGRAPHIC, .python_note = XXH3_PY_NOTE, .sets = D | Q},
    {.name = "xxh3-128", XXHASH, HASH_STATE_OF(xxh3_64), HASH_STEPS(xxh3_128),
     .py_update = hash_xxh3_128_py_update, .digest_bytes = 16,
     .security = HASH_NOT_CRYPTOGRAPHIC, .python_note = XXH3_PY_NOTE, .sets = D},
};
#undef D
#undef Q
const size_t hash_count = sizeof hash_table / sizeof hash_table[0];

const hash_desc *hash_find(const char *name, char *err, size_t errlen)
{
    char known[256] = "";
    size_t i;
    for (i = 0; i < hash_count; i++)
        if (strcmp(hash_table[i].name, name) == 0)
            return &hash_table[i];
    for (i = 0; i < hash_count; i++) {
        if (i)
            strncat(known, ", ", sizeof known - strlen(known) - 1);
        strncat(known, hash_table[i].name, sizeof known - strlen(known) - 1);
    }
    cb_err(err, errlen, "unknown hash %s (known: %s)", CB_Q(name), known);
    return NULL;
}

void hash_oneshot(const hash_desc *h, void *state, const void *data, size_t n,
                  uint8_t *digest)
{
    h->reset(state);
    h->update(state, data, n);
    h->final(state, digest);
}

void hash_oneshot_py(const hash_desc *h, void *state, const void *data, size_t n,
                     uint8_t *digest)
{
    h->reset(state);
    (h->py_update ? h->py_update : h->update)(state, data, n);
    h->final(state, digest);
}

void hash_hex(const uint8_t *digest, int digest_bytes, char *hex)
{
    static const char xd[] = "0123456789abcdef";
    int i;
    for (i = 0; i < digest_bytes; i++) {
        hex[2 * i] = xd[digest[i] >> 4];
        hex[2 * i + 1] = xd[digest[i] & 15];
    }
    hex[2 * digest_bytes] = '\0';
}

const char *hash_security_text(hash_security s)
{
    switch (s) {
    case HASH_CRYPTOGRAPHIC: return "yes";
    case HASH_BROKEN: return "broken (collisions known)";
    default: return "no";
    }
}

const char *hash_security_word(hash_security s)
{
    return s == HASH_CRYPTOGRAPHIC ? "yes" : s == HASH_BROKEN ? "broken" : "no";
}

size_t hash_set_names(unsigned set, char *out, size_t cap)
{
    size_t i, n = 0, len = 0;
    if (cap) out[0] = 0;
    for (i = 0; i < hash_count; i++) {
        if (!(hash_table[i].sets & set)) continue;
        cb_set_list_add(out, cap, &len, "%s", hash_table[i].name);
        n++;
    }
    return n;
}

void hash_print_list(FILE *out)
{
    size_t i;
    fprintf(out, "%-11s %-5s %-13s %-8s %-10s %s\n", "hash", "bits", "cryptographic",
            "library", "version", "implementation");
    for (i = 0; i < hash_count; i++) {
        const hash_desc *h = &hash_table[i];
        fprintf(out, "%-11s %-5d %-13s %-8s %-10s %s\n", h->name, 8 * h->digest_bytes,
                hash_security_word(h->security), h->library, h->version(),
                h->implementation());
    }
}
