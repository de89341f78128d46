/*
 * hash_impl.h - internal to codecs/: the functions each hash wrapper
 * (hash_<library>.c) exports to the table in hash.c. Callers use hash.h;
 * every function follows the rules of the matching hash_desc member.
 */
#ifndef CASBENCH_HASH_IMPL_H
#define CASBENCH_HASH_IMPL_H

#include "hash.h"

#define HASH_DECLARE(p)                                                       \
    const char *hash_##p##_implementation(void);                              \
    void *hash_##p##_create(void);                                            \
    void hash_##p##_destroy(void *state);                                     \
    void hash_##p##_reset(void *state);                                       \
    void hash_##p##_update(void *state, const void *data, size_t n);          \
    void hash_##p##_final(void *state, uint8_t *digest);

const char *hash_openssl_version(void);
HASH_DECLARE(sha1)
HASH_DECLARE(sha256)
HASH_DECLARE(blake2b)

const char *hash_blake3_version(void);
HASH_DECLARE(blake3)
void hash_blake3_160_final(void *state, uint8_t *digest);   /* blake3's state */

const char *hash_xxhash_version(void);
HASH_DECLARE(xxh64)
HASH_DECLARE(xxh3_64)
HASH_DECLARE(xxh3_128)
#endif
