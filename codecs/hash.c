/* hash.c - the hash table, look-up, hex and listing (hash.h). */
#include <string.h>

#include "hash_impl.h"
#include "util.h"

#define ROW(name, lib, ver, p, bytes, crypto)                                  \
    {name, lib, ver, hash_##p##_implementation, bytes, crypto,                 \
     hash_##p##_create, hash_##p##_destroy, hash_##p##_reset,                  \
     hash_##p##_update, hash_##p##_final}

const hash_desc hash_table[] = {
    ROW("sha1", "OpenSSL", hash_openssl_version, sha1, 20, 1),
    ROW("sha256", "OpenSSL", hash_openssl_version, sha256, 32, 1),
    ROW("blake2b", "OpenSSL", hash_openssl_version, blake2b, 64, 1),
    ROW("blake3", "BLAKE3", hash_blake3_version, blake3, 32, 1),
    ROW("blake3-160", "BLAKE3", hash_blake3_version, blake3_160, 20, 1),
    ROW("xxh64", "xxHash", hash_xxhash_version, xxh64, 8, 0),
    ROW("xxh3-64", "xxHash", hash_xxhash_version, xxh3_64, 8, 0),
    ROW("xxh3-128", "xxHash", hash_xxhash_version, xxh3_128, 16, 0),
};
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

void hash_print_list(FILE *out)
{
    size_t i;
    fprintf(out, "%-11s %-5s %-13s %-8s %-10s %s\n", "hash", "bits", "cryptographic",
            "library", "version", "implementation");
    for (i = 0; i < hash_count; i++) {
        const hash_desc *h = &hash_table[i];
        fprintf(out, "%-11s %-5d %-13s %-8s %-10s %s\n", h->name, 8 * h->digest_bytes,
                h->cryptographic ? "yes" : "no", h->library, h->version(),
                h->implementation());
    }
}
