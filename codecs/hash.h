/*
 * hash.h - the content-key hashes, one descriptor row each.
 *
 * The caller owns the state: create() once (outside timing), then any number
 * of reset/update.../final cycles, then destroy(). Hashing cannot fail once
 * the state exists. Digests are written in canonical byte order, so that
 * their lowercase hex equals sha1sum / sha256sum / b2sum / xxhsum / b3sum.
 */
#ifndef CASBENCH_HASH_H
#define CASBENCH_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HASH_MAX_DIGEST 64

typedef struct {
    const char *name;              /* stable: a column value in results */
    const char *library;           /* "OpenSSL", "BLAKE3", "xxHash" */
    const char *(*version)(void);
    const char *(*implementation)(void);  /* the code path in use, e.g. "SHA-NI", "AVX-512" */
    int digest_bytes;              /* 20 for sha1, 8 for xxh64, ... */
    int cryptographic;
    void *(*create)(void);         /* NULL on failure */
    void (*destroy)(void *state);  /* accepts NULL */
    void (*reset)(void *state);
    void (*update)(void *state, const void *data, size_t n);
    void (*final)(void *state, uint8_t *digest);  /* digest_bytes bytes */
} hash_desc;

extern const hash_desc hash_table[];
extern const size_t hash_count;

const hash_desc *hash_find(const char *name, char *err, size_t errlen);

/* reset + update + final in one call. */
void hash_oneshot(const hash_desc *h, void *state, const void *data, size_t n,
                  uint8_t *digest);

/* Lowercase hex of a digest into hex (2 * digest_bytes + 1 bytes). */
void hash_hex(const uint8_t *digest, int digest_bytes, char *hex);

void hash_print_list(FILE *out);
#endif
