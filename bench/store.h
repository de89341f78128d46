/*
 * store.h - a content-addressed artifact store laid out, byte for byte, as
 * metaflow's ContentAddressedStore over LocalStorage writes it.
 *
 * Layout (metaflow: datastore/content_addressed_store.py and
 * plugins/datastores/local_storage.py):
 *   ROOT[/PREFIX]/<key[:2]>/<key>        the packed blob
 *   ROOT[/PREFIX]/<key[:2]>/<key>_meta   {"cas_raw": false, "cas_version": N}
 * where key is the lowercase hex digest of the UNcompressed blob (metaflow:
 * SHA-1) and N names the packing: 1 a gzip stream (metaflow master's
 * GzipFile(compresslevel=3)), 2 an LZ4 frame (PR #3090's lz4.frame.compress).
 * A raw blob (codec `none`, metaflow's raw=True) is stored as is with
 * {"cas_raw": true, "cas_version": 1}.
 *
 * save, in metaflow's order: key = hash(blob) -> existence check of the blob
 * path (a regular file: nothing is written, deduplication) -> compress ->
 * makedirs of the key directory -> the blob, then its _meta, each written to
 * a temporary file (mkstemp: mode 0600) in the key directory and renamed
 * over the final name. gzip streams carry the current time as mtime, as
 * GzipFile writes it.
 * load, in metaflow's order: existence of the blob, existence of its _meta,
 * the _meta read and parsed, the blob read, unpacked by its cas_version
 * (no _meta: version 1, metaflow's backward-compatible path; cas_raw true:
 * the bytes as stored). Errors for a bad artifact use metaflow's wording
 * ("Unknown encoding version N for 'PATH' -- ...").
 *
 * Every output (the packed stream, the read buffer, the unpacked blob) is
 * allocated with malloc and freed on every call, as CPython allocates its
 * bytes objects, so that glibc's policy for large blocks acts alike on both.
 * Release a loaded blob with store_blob_free().
 */
#ifndef CASBENCH_STORE_H
#define CASBENCH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "hash.h"

#define STORE_KEY_MAX (2 * HASH_MAX_DIGEST + 1)

/* How a codec's stream is marked in _meta: one row per codec a store may
 * write. cas_version 0 with raw = 1 is `none`. metaflow_reads says which
 * metaflow reads it: "master" (every release), "PR #3090", or NULL for a
 * version no metaflow defines (zstd: casbench's own, so that the round trip
 * can time it; `store put` refuses it). */
typedef struct {
    const char *codec;           /* codec_desc name */
    int cas_version;
    int raw;                     /* cas_raw true: stored as is */
    const char *decoder;         /* the codec that unpacks this version on load */
    const char *metaflow_reads;
} store_packing;

/* The row for a codec, or NULL when no store packs with it (e.g. `zlib`,
 * whose RFC 1950 stream no metaflow version reads). */
const store_packing *store_packing_for(const char *codec_name);

typedef struct store store;

/* A store at root (an existing or creatable directory; nothing is created
 * until a save) under prefix ("" or NULL: none; the PR's scripts use
 * "cas"), packing with codec at level and keying with hash. Contexts are
 * made here, outside any timed region. NULL with a one-line message in err
 * (codec with no packing row, a library context that cannot be had). */
store *store_open(const char *root, const char *prefix, const codec_desc *codec, int level,
                  const hash_desc *hash, char *err, size_t errlen);
void store_close(store *s);      /* accepts NULL */

/* Save one blob. key receives the hex key (STORE_KEY_MAX bytes);
 * *written (may be NULL) is 0 when the key existed and nothing was written.
 * Returns 0, or -1 with "PATH: problem" in err. */
int store_save(store *s, const uint8_t *blob, size_t n, char *key, int *written,
               char *err, size_t errlen);

/* Load the blob of a key. *blob receives it (release with store_blob_free);
 * *len its length. Returns 0, or a util.h status with one line in err:
 * CB_EXIT_INPUT for a missing or bad artifact (no such key, malformed _meta,
 * unknown cas_version, a stream that does not unpack), CB_EXIT_ENV for I/O. */
int store_load(store *s, const char *key, uint8_t **blob, size_t *len, char *err, size_t errlen);
void store_blob_free(uint8_t *blob, size_t len);

/* The packed size and cas_version of the last save that wrote (for results). */
size_t store_last_packed_bytes(const store *s);
const store_packing *store_packing_of(const store *s);

/* Whether key is a key this store could have made: 2 to STORE_KEY_MAX - 1
 * lowercase hex characters. */
int store_key_valid(const char *key);

#endif
