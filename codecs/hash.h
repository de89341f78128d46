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

#include "sets.h"

#define HASH_MAX_DIGEST 64

/* What a hash promises about collisions (facts about the algorithm). */
typedef enum {
    HASH_NOT_CRYPTOGRAPHIC,        /* xxHash: fast, no resistance to chosen inputs */
    HASH_CRYPTOGRAPHIC,            /* no practical collision known */
    HASH_BROKEN,                   /* designed as cryptographic, collisions known (SHA-1: SHAttered, 2017) */
} hash_security;

/* "no", "yes", "broken (collisions known)". */
const char *hash_security_text(hash_security s);
/* One word for columns: "no", "yes", "broken". */
const char *hash_security_word(hash_security s);

typedef struct {
    const char *name;              /* stable: a column value in results */
    const char *library;           /* "OpenSSL", "BLAKE3", "xxHash" */
    const char *(*version)(void);
    const char *(*implementation)(void);  /* the code path in use, e.g. "SHA-NI", "AVX-512" */
    int digest_bytes;              /* 20 for sha1, 8 for xxh64, ... */
    /* Facts, here and nowhere else (read by `list`, the planner and, through
     * env.tsv, the report). */
    hash_security security;
    /* The Python call that runs this same library code, as
     * infra/python_path.py times it ("hashlib.sha1 (OpenSSL)"); NULL when
     * Python's differs or is missing, python_note then says why. */
    const char *python_call, *python_note;
    unsigned sets;                 /* named sets (sets.h) it belongs to */
    void *(*create)(void);         /* NULL on failure */
    void (*destroy)(void *state);  /* accepts NULL */
    void (*reset)(void *state);
    void (*update)(void *state, const void *data, size_t n);
    void (*final)(void *state, uint8_t *digest);  /* digest_bytes bytes */
    /* update as the Python binding runs it, where its code differs from
     * update's (python3-xxhash calls libxxhash's plain XXH3 entry points,
     * SSE2, where update dispatches to AVX2 / AVX-512); NULL: update. The
     * cpython cells hash with it (hash_oneshot_py). */
    void (*py_update)(void *state, const void *data, size_t n);
} hash_desc;

extern const hash_desc hash_table[];
extern const size_t hash_count;

const hash_desc *hash_find(const char *name, char *err, size_t errlen);

/* The members of a named set (sets.h), in table order, joined by commas
 * into out (truncated at cap); returns how many. */
size_t hash_set_names(unsigned set, char *out, size_t cap);

/* reset + update + final in one call. */
void hash_oneshot(const hash_desc *h, void *state, const void *data, size_t n,
                  uint8_t *digest);

/* hash_oneshot through py_update when the row has one. */
void hash_oneshot_py(const hash_desc *h, void *state, const void *data, size_t n,
                     uint8_t *digest);

/* Lowercase hex of a digest into hex (2 * digest_bytes + 1 bytes). */
void hash_hex(const uint8_t *digest, int digest_bytes, char *hex);

void hash_print_list(FILE *out);
#endif
