/* cells.c - see cells.h. */
#include "cells.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handoff.h"
#include "memory.h"
#include "streaming.h"
#include "util.h"

/* Output slots: where each kind of output lives in reuse mode, and where a
 * verifying run leaves it for the checks. */
enum { SLOT_PICKLE, SLOT_STORED, SLOT_PLAIN, SLOT_COUNT };

struct cell {
    cell_spec spec;
    cell_input in;
    void *cctx;
    void *hstate;
    size_t cap[SLOT_COUNT];
    uint8_t *buf[SLOT_COUNT];         /* reuse mode: allocated and touched at creation */
    int verifying;
    struct { uint8_t *p; size_t n; int owned; } out[SLOT_COUNT];
    /* Input of decompress/load: the blob compressed once before timing. */
    uint8_t *stored_in;
    size_t stored_len;
    /* The save path's current outputs, between the variant and its release. */
    uint8_t *cur_pickle, *cur_stored;
    size_t cur_pickle_len, cur_stored_len;
    uint8_t digest[HASH_MAX_DIGEST];
    uint8_t want[HASH_MAX_DIGEST];    /* load+verify: the key's digest */
    char key[2 * HASH_MAX_DIGEST + 1];
    size_t last_codec_err;
    char errbuf[256];
    /* save+store */
    char dir[PATH_MAX], path[PATH_MAX], meta[PATH_MAX], tmpl[PATH_MAX];
    int store_err;                    /* errno of the first failed store call */
    const char *store_what;
    /* overlapped: the worker thread and the blob it hashes */
    handoff *ho;
    const uint8_t *job_blob;
    size_t job_len;
    streaming *st;                    /* the streaming variant (streaming.h) */
};

/* The metadata metaflow's local datastore writes next to each blob, as
 * json.dump writes it: cas_version 1 for gzip-compatible blobs, 2 for the
 * formats of PR #3090 and later. */
static const char meta_v1[] = "{\"cas_raw\": false, \"cas_version\": 1}";
static const char meta_v2[] = "{\"cas_raw\": false, \"cas_version\": 2}";

static const char *meta_json(const cell *c)
{
    return c->spec.codec && c->spec.codec->gzip_compatible ? meta_v1 : meta_v2;
}

/* ---- buffers ---------------------------------------------------------- */

/* Fresh outputs of CELL_FRESH_MMAP_MIN bytes or more are mapped and unmapped
 * directly: new pages, faulted in by the iteration, every time. Through malloc
 * they would be that only sometimes: glibc serves a large request from free
 * heap memory when it has enough (pages an earlier cell touched), and mmaps
 * only otherwise, so the result would depend on what ran before. Smaller
 * outputs come from malloc, as small objects do in Python. */
static uint8_t *fresh_alloc(size_t n)
{
    memory_count_add(n);
    if (n < CELL_FRESH_MMAP_MIN) return malloc(n ? n : 1);
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void fresh_free(uint8_t *p, size_t n)
{
    if (!p) return;
    memory_count_sub(n);
    if (n < CELL_FRESH_MMAP_MIN) free(p);
    else munmap(p, n);
}

static uint8_t *acquire(cell *c, int slot)
{
    if (c->spec.alloc == CELL_ALLOC_REUSE) return c->buf[slot];
    return fresh_alloc(c->cap[slot]);
}

/* Fresh outputs are freed here, inside the iteration, as Python frees its
 * bytes objects; a verifying run keeps them for the checks instead. */
static void release(cell *c, int slot, uint8_t *p, size_t n)
{
    if (c->verifying) {
        if (c->out[slot].owned) fresh_free(c->out[slot].p, c->cap[slot]);
        c->out[slot].p = p;
        c->out[slot].n = n;
        c->out[slot].owned = c->spec.alloc == CELL_ALLOC_FRESH;
        return;
    }
    if (c->spec.alloc == CELL_ALLOC_FRESH) fresh_free(p, c->cap[slot]);
}

static void set_key(cell *c)
{
    hash_hex(c->digest, c->spec.hash->digest_bytes, c->key);
}

/* ---- stages ------------------------------------------------------------ */

static int k_pickle(void *p)
{
    cell *c = p;
    uint8_t *b = acquire(c, SLOT_PICKLE);
    if (!b) return 1;
    size_t n = pickle_dump(c->in.obj, &c->in.popt, b, c->cap[SLOT_PICKLE], c->errbuf, sizeof c->errbuf);
    release(c, SLOT_PICKLE, b, n);
    return n == 0;
}

static int k_hash(void *p)
{
    cell *c = p;
    hash_oneshot(c->spec.hash, c->hstate, c->in.blob, c->in.blob_len, c->digest);
    set_key(c);
    return 0;
}

static int k_compress(void *p)
{
    cell *c = p;
    uint8_t *b = acquire(c, SLOT_STORED);
    if (!b) return 1;
    size_t r = c->spec.codec->compress(c->cctx, c->in.blob, c->in.blob_len, b, c->cap[SLOT_STORED]);
    int bad = codec_is_error(r);
    if (bad) c->last_codec_err = r;
    release(c, SLOT_STORED, b, bad ? 0 : r);
    return bad;
}

static int decompress_into(cell *c, uint8_t *b)
{
    size_t r = c->spec.codec->decompress(c->cctx, c->stored_in, c->stored_len, b, c->in.blob_len);
    if (codec_is_error(r)) {
        c->last_codec_err = r;
        release(c, SLOT_PLAIN, b, 0);
        return 1;
    }
    if (c->spec.stage == CELL_LOAD_VERIFY) {
        hash_oneshot(c->spec.hash, c->hstate, b, r, c->digest);
        set_key(c);
        if (memcmp(c->digest, c->want, (size_t)c->spec.hash->digest_bytes) != 0) {
            release(c, SLOT_PLAIN, b, r);
            return 1;
        }
    }
    release(c, SLOT_PLAIN, b, r);
    return 0;
}

/* decompress, load and load+verify share this iteration: load is what
 * metaflow does (decompress), load+verify adds the re-hash it does not do. */
static int k_decompress(void *p)
{
    cell *c = p;
    uint8_t *b = acquire(c, SLOT_PLAIN);
    if (!b) return 1;
    return decompress_into(c, b);
}

/* The blob the save path starts from: pickled into a slot buffer, or the
 * given blob (file payloads). NULL on failure. */
static const uint8_t *save_pickle(cell *c, size_t *n)
{
    c->cur_pickle = NULL;
    c->cur_stored = NULL;
    *n = c->in.blob_len;
    if (!c->in.obj) return c->in.blob;
    c->cur_pickle = acquire(c, SLOT_PICKLE);
    if (!c->cur_pickle) return NULL;
    *n = pickle_dump(c->in.obj, &c->in.popt, c->cur_pickle, c->cap[SLOT_PICKLE], c->errbuf, sizeof c->errbuf);
    c->cur_pickle_len = *n;
    return *n ? c->cur_pickle : NULL;
}

static int codec_failed(cell *c, size_t r)
{
    if (!codec_is_error(r)) return 0;
    c->last_codec_err = r;
    c->cur_stored_len = 0;
    return 1;
}

/* metaflow's order: pickle, then sha1 of the uncompressed blob as the key
 * (hex, the form the path uses), then compress. */
static int save_sequential(cell *c)
{
    size_t n;
    const uint8_t *blob = save_pickle(c, &n);
    if (!blob) return 1;
    hash_oneshot(c->spec.hash, c->hstate, blob, n, c->digest);
    set_key(c);
    c->cur_stored = acquire(c, SLOT_STORED);
    if (!c->cur_stored) return 1;
    size_t r = c->spec.codec->compress(c->cctx, blob, n, c->cur_stored, c->cap[SLOT_STORED]);
    if (codec_failed(c, r)) return 1;
    c->cur_stored_len = r;
    return 0;
}

/* Chunks small enough to stay in L2 between the hash and the compressor
 * (L2 is 512 KiB to 2 MiB a core on current x86), large enough that the
 * per-call costs vanish, and a multiple of LZ4F's 64 KiB blocks. */
#ifndef CELLS_FUSED_CHUNK
#define CELLS_FUSED_CHUNK (128 * 1024)   /* -DCELLS_FUSED_CHUNK=N to measure another size */
#endif
#define FUSED_CHUNK ((size_t)CELLS_FUSED_CHUNK)

/* One pass: each chunk is hashed, then compressed while it is still in
 * cache, instead of the blob streaming through memory twice. */
static int save_fused(cell *c)
{
    const codec_desc *k = c->spec.codec;
    const hash_desc *h = c->spec.hash;
    size_t n, off, r;
    const uint8_t *blob = save_pickle(c, &n);
    if (!blob) return 1;
    c->cur_stored = acquire(c, SLOT_STORED);
    if (!c->cur_stored) return 1;
    if (codec_failed(c, k->stream_begin(c->cctx, n, c->cur_stored, c->cap[SLOT_STORED]))) return 1;
    h->reset(c->hstate);
    for (off = 0; off < n; off += FUSED_CHUNK) {
        size_t len = n - off < FUSED_CHUNK ? n - off : FUSED_CHUNK;
        h->update(c->hstate, blob + off, len);
        if (codec_failed(c, k->stream_update(c->cctx, blob + off, len))) {
            h->final(c->hstate, c->digest);
            return 1;
        }
    }
    h->final(c->hstate, c->digest);
    set_key(c);
    r = k->stream_end(c->cctx);
    if (codec_failed(c, r)) return 1;
    c->cur_stored_len = r;
    return 0;
}

/* The worker's half of an overlapped save. */
static void hash_job(void *p)
{
    cell *c = p;
    hash_oneshot(c->spec.hash, c->hstate, c->job_blob, c->job_len, c->digest);
}

/* The worker hashes while this thread compresses the same blob; both only
 * read it. The worker is always waited for, also when compress fails: it
 * still reads the blob that the caller frees next. */
static int save_overlapped(cell *c)
{
    size_t n, r = 0;
    int bad = 0;
    const uint8_t *blob = save_pickle(c, &n);
    if (!blob) return 1;
    c->job_blob = blob;
    c->job_len = n;
    handoff_start(c->ho, hash_job, c);
    c->cur_stored = acquire(c, SLOT_STORED);
    if (!c->cur_stored) bad = 1;
    else r = c->spec.codec->compress(c->cctx, blob, n, c->cur_stored, c->cap[SLOT_STORED]);
    handoff_wait(c->ho);
    set_key(c);
    if (bad || codec_failed(c, r)) return 1;
    c->cur_stored_len = r;
    return 0;
}

/* streaming.h: the key and the stored file at the end; a verifying run
 * reads the file back for the checks every save variant passes. */
static int save_streaming(cell *c)
{
    char sub[256];
    uint8_t *data;
    size_t n;
    if (streaming_save(c->st, c->in.obj, &c->in.popt, c->in.blob, c->in.blob_len, c->digest, c->errbuf,
                       sizeof c->errbuf) != 0)
        return 1;
    set_key(c);
    if (!c->verifying) return 0;
    if (cb_read_file(streaming_path(c->st), SIZE_MAX / 2, &data, &n, sub, sizeof sub) != 0) {
        cb_err(c->errbuf, sizeof c->errbuf, "streaming: read back: %.200s", sub);
        return 1;
    }
    c->cur_stored = n <= c->cap[SLOT_STORED] ? fresh_alloc(c->cap[SLOT_STORED]) : NULL;
    if (c->cur_stored) memcpy(c->cur_stored, data, n);
    c->cur_stored_len = n;
    free(data);
    if (!c->cur_stored) return 1;
    /* release() files it as a fresh output, whatever the cell's mode */
    if (c->out[SLOT_STORED].owned) fresh_free(c->out[SLOT_STORED].p, c->cap[SLOT_STORED]);
    c->out[SLOT_STORED].p = c->cur_stored;
    c->out[SLOT_STORED].n = n;
    c->out[SLOT_STORED].owned = 1;
    c->cur_stored = NULL;
    return 0;
}

const cell_save_variant cell_save_variants[] = {
    {SCHEMA_VARIANT_SEQUENTIAL, save_sequential, 0, -1},
    {SCHEMA_VARIANT_FUSED, save_fused, 1, -1},
    {SCHEMA_VARIANT_OVERLAPPED, save_overlapped, 0, HANDOFF_CONDVAR},
    {SCHEMA_VARIANT_OVERLAPPED_SPIN, save_overlapped, 0, HANDOFF_SPIN},
    {SCHEMA_VARIANT_STREAMING, save_streaming, 1, -1},
};
const size_t cell_save_variant_count = sizeof cell_save_variants / sizeof cell_save_variants[0];

const cell_save_variant *cell_save_variant_find(const char *name)
{
    size_t i;
    for (i = 0; i < cell_save_variant_count; i++)
        if (strcmp(cell_save_variants[i].name, name) == 0) return &cell_save_variants[i];
    return NULL;
}

int cell_save_variant_applies(const cell_save_variant *v, const codec_desc *codec)
{
    return !v->needs_stream || (codec && codec->stream_begin && codec->stream_update && codec->stream_end);
}

static void save_release(cell *c, int failed)
{
    if (c->cur_stored) release(c, SLOT_STORED, c->cur_stored, failed ? 0 : c->cur_stored_len);
    if (c->cur_pickle) release(c, SLOT_PICKLE, c->cur_pickle, failed ? 0 : c->cur_pickle_len);
    c->cur_stored = c->cur_pickle = NULL;
}

static int k_save(void *p)
{
    cell *c = p;
    int bad = c->spec.variant->run(c);
    save_release(c, bad);
    return bad;
}

static int store_fail(cell *c, const char *what)
{
    if (!c->store_err) {
        c->store_err = errno ? errno : EIO;
        c->store_what = what;
    }
    return 1;
}

/* One file as metaflow's local datastore writes it: a temporary file in the
 * target directory, then a rename over the final name. */
static int store_file(cell *c, const char *dst, const void *data, size_t n)
{
    memcpy(c->tmpl, c->dir, strlen(c->dir));
    snprintf(c->tmpl + strlen(c->dir), sizeof c->tmpl - strlen(c->dir), "/.tmpXXXXXX");
    int fd = mkstemp(c->tmpl);
    if (fd < 0) return store_fail(c, "create a temporary file");
    if (cb_write_all(fd, data, n) != 0 || (c->spec.store_fsync && fsync(fd) != 0)) {
        int e = errno;
        close(fd);
        unlink(c->tmpl);
        errno = e;
        return store_fail(c, "write a temporary file");
    }
    if (close(fd) != 0) {
        unlink(c->tmpl);
        return store_fail(c, "close a temporary file");
    }
    if (rename(c->tmpl, dst) != 0) {
        int e = errno;
        unlink(c->tmpl);
        errno = e;
        return store_fail(c, "rename a temporary file");
    }
    return 0;
}

static int store(cell *c, const uint8_t *data, size_t n)
{
    struct stat st;
    const char *root = c->spec.store_dir;
    if (snprintf(c->dir, sizeof c->dir, "%s/%.2s", root, c->key) >= (int)sizeof c->dir ||
        snprintf(c->path, sizeof c->path, "%s/%s", c->dir, c->key) >= (int)sizeof c->path ||
        snprintf(c->meta, sizeof c->meta, "%s_meta", c->path) >= (int)sizeof c->meta) {
        errno = ENAMETOOLONG;
        return store_fail(c, "name a file");
    }
    /* metaflow writes nothing when the key exists (deduplication); the
     * harness removes the files between iterations so that this is a miss. */
    if (!c->st && stat(c->path, &st) == 0) return 0;
    if (mkdir(c->dir, 0777) != 0 && errno != EEXIST) return store_fail(c, "create the key directory");
    /* streaming: the blob is in place already (streaming.h) */
    if (!c->st && store_file(c, c->path, data, n) != 0) return 1;
    const char *m = meta_json(c);
    return store_file(c, c->meta, m, strlen(m));
}

static int k_save_store(void *p)
{
    cell *c = p;
    int bad = c->spec.variant->run(c);
    if (!bad) bad = store(c, c->cur_stored, c->cur_stored_len);
    save_release(c, bad);
    return bad;
}

/* With the timer paused: the next iteration must find no file, as the first
 * save of a new key does. */
static void store_remove(void *p)
{
    cell *c = p;
    if (c->st) streaming_remove(c->st);
    unlink(c->path);
    unlink(c->meta);
}

/* ---- creation ---------------------------------------------------------- */

static int stage_has_codec(cell_stage s) { return s != CELL_PICKLE && s != CELL_HASH; }
static int stage_has_hash(cell_stage s)
{
    return s == CELL_HASH || s == CELL_SAVE || s == CELL_SAVE_STORE || s == CELL_LOAD_VERIFY;
}
static int stage_is_load(cell_stage s)
{
    return s == CELL_DECOMPRESS || s == CELL_LOAD || s == CELL_LOAD_VERIFY;
}

cell *cell_create(const cell_spec *spec, const cell_input *in, char *err, size_t errlen)
{
    cell *c = calloc(1, sizeof *c);
    int s;
    if (!c) { cb_err(err, errlen, "out of memory"); return NULL; }
    c->spec = *spec;
    c->in = *in;
    if (stage_has_codec(spec->stage) && !spec->codec) { cb_err(err, errlen, "stage needs a codec"); goto fail; }
    if (stage_has_hash(spec->stage) && !spec->hash) { cb_err(err, errlen, "stage needs a hash"); goto fail; }
    if ((spec->stage == CELL_SAVE || spec->stage == CELL_SAVE_STORE) && !spec->variant) {
        cb_err(err, errlen, "save needs a variant");
        goto fail;
    }
    if (spec->stage == CELL_PICKLE && !in->obj) { cb_err(err, errlen, "no object to pickle"); goto fail; }
    if ((spec->stage == CELL_SAVE || spec->stage == CELL_SAVE_STORE) &&
        !cell_save_variant_applies(spec->variant, spec->codec)) {
        cb_err(err, errlen, "variant %s: %s has no streaming compression", spec->variant->name, spec->codec->name);
        goto fail;
    }
    if (spec->stage == CELL_SAVE_STORE && !spec->store_dir) { cb_err(err, errlen, "no store directory"); goto fail; }
    if (stage_has_codec(spec->stage)) {
        c->cctx = spec->codec->create(spec->level);
        if (!c->cctx) {
            cb_err(err, errlen, "%s: cannot create a context at level %d", spec->codec->name, spec->level);
            goto fail;
        }
        c->cap[SLOT_STORED] = spec->codec->bound(in->blob_len, spec->level);
    }
    if (stage_has_hash(spec->stage)) {
        c->hstate = spec->hash->create();
        if (!c->hstate) { cb_err(err, errlen, "%s: cannot create a hash state", spec->hash->name); goto fail; }
    }
    if ((spec->stage == CELL_SAVE || spec->stage == CELL_SAVE_STORE) && spec->variant->handoff >= 0) {
        /* Pinned to one CPU (run --cpu N): the worker goes to another one,
         * or the two threads would take turns on N and measure nothing. */
        int cpu = handoff_worker_cpu();
        char sub[200];
        if (cpu == -2) {
            cb_err(err, errlen, "variant %s: the process is pinned to one CPU and no other CPU is online",
                   spec->variant->name);
            goto fail;
        }
        c->ho = handoff_create((handoff_mode)spec->variant->handoff, cpu, sub, sizeof sub);
        if (!c->ho) { cb_err(err, errlen, "variant %s: %s", spec->variant->name, sub); goto fail; }
    }
    if ((spec->stage == CELL_SAVE || spec->stage == CELL_SAVE_STORE) && spec->variant->run == save_streaming) {
        if (!spec->store_dir) { cb_err(err, errlen, "variant streaming: no store directory"); goto fail; }
        c->st = streaming_create(spec->codec, c->cctx, spec->level, spec->hash, c->hstate, spec->store_dir,
                                 spec->store_fsync, err, errlen);
        if (!c->st) goto fail;
    }
    if (in->obj) c->cap[SLOT_PICKLE] = pickle_bound(in->obj, &in->popt);
    c->cap[SLOT_PLAIN] = in->blob_len;
    if (spec->alloc == CELL_ALLOC_REUSE) {
        int need[SLOT_COUNT] = {0};
        need[SLOT_PICKLE] = in->obj && (spec->stage == CELL_PICKLE || spec->stage == CELL_SAVE ||
                                        spec->stage == CELL_SAVE_STORE) && !c->st;
        need[SLOT_STORED] = (spec->stage == CELL_COMPRESS || spec->stage == CELL_SAVE ||
                             spec->stage == CELL_SAVE_STORE) && !c->st;
        need[SLOT_PLAIN] = stage_is_load(spec->stage);
        for (s = 0; s < SLOT_COUNT; s++) {
            if (!need[s]) continue;
            c->buf[s] = malloc(c->cap[s] ? c->cap[s] : 1);
            if (!c->buf[s]) { cb_err(err, errlen, "out of memory (%zu bytes)", c->cap[s]); goto fail; }
            /* Touch every page now, so that reuse means no page faults. */
            memset(c->buf[s], 0, c->cap[s]);
        }
    }
    return c;
fail:
    cell_destroy(c);
    return NULL;
}

void cell_destroy(cell *c)
{
    int s;
    if (!c) return;
    handoff_destroy(c->ho);
    streaming_destroy(c->st);
    for (s = 0; s < SLOT_COUNT; s++) {
        free(c->buf[s]);
        if (c->out[s].owned) fresh_free(c->out[s].p, c->cap[s]);
    }
    free(c->stored_in);
    /* The key directory this cell created, if nothing else is in it. */
    if (c->spec.stage == CELL_SAVE_STORE && c->dir[0]) rmdir(c->dir);
    if (c->cctx) c->spec.codec->destroy(c->cctx);
    if (c->hstate) c->spec.hash->destroy(c->hstate);
    free(c);
}

/* ---- verification ------------------------------------------------------ */

static gb_iter_fn iteration_of(const cell *c)
{
    switch (c->spec.stage) {
    case CELL_PICKLE: return k_pickle;
    case CELL_HASH: return k_hash;
    case CELL_COMPRESS: return k_compress;
    case CELL_SAVE: return k_save;
    case CELL_SAVE_STORE: return k_save_store;
    case CELL_DECOMPRESS: case CELL_LOAD: case CELL_LOAD_VERIFY: return k_decompress;
    default: return NULL;
    }
}

/* The key again, by another route: a new state, fed in uneven pieces. */
static int check_key(cell *c, const uint8_t *blob, size_t n, char *err, size_t errlen)
{
    static const size_t pieces[] = {1, 63, 64, 1000, 4096, 65537};
    uint8_t d[HASH_MAX_DIGEST];
    char hex[2 * HASH_MAX_DIGEST + 1];
    size_t off = 0, i = 0;
    void *st = c->spec.hash->create();
    if (!st) return cb_err(err, errlen, "%s: cannot create a second hash state", c->spec.hash->name);
    c->spec.hash->reset(st);
    while (off < n) {
        size_t k = i < sizeof pieces / sizeof pieces[0] ? pieces[i++] : n - off;
        if (k > n - off) k = n - off;
        c->spec.hash->update(st, blob + off, k);
        off += k;
    }
    c->spec.hash->final(st, d);
    c->spec.hash->destroy(st);
    hash_hex(d, c->spec.hash->digest_bytes, hex);
    if (strcmp(hex, c->key) != 0)
        return cb_err(err, errlen, "key %s differs from an independent %s computation (%s)",
                      c->key, c->spec.hash->name, hex);
    return 0;
}

static size_t first_difference(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t i;
    for (i = 0; i < n && a[i] == b[i]; i++) {}
    return i;
}

static int check_plain(const cell *c, const uint8_t *p, size_t n, const char *what,
                       char *err, size_t errlen)
{
    if (n != c->in.blob_len)
        return cb_err(err, errlen, "%s gives %zu bytes, the blob has %zu", what, n, c->in.blob_len);
    if (n && memcmp(p, c->in.blob, n) != 0)
        return cb_err(err, errlen, "%s differs from the blob at byte %zu", what,
                      first_difference(p, c->in.blob, n));
    return 0;
}

/* decompress(stored) == blob, with a context of its own. */
static int check_roundtrip(const cell *c, const uint8_t *stored, size_t n, char *err, size_t errlen)
{
    const codec_desc *k = c->spec.codec;
    void *ctx = k->create(c->spec.level);
    uint8_t *dst = malloc(c->in.blob_len ? c->in.blob_len : 1);
    int rc;
    if (!ctx || !dst) {
        if (ctx) k->destroy(ctx);
        free(dst);
        return cb_err(err, errlen, "out of memory");
    }
    size_t r = k->decompress(ctx, stored, n, dst, c->in.blob_len);
    if (codec_is_error(r))
        rc = cb_err(err, errlen, "decompress(compress(blob)) fails: %s", codec_error_name(r));
    else
        rc = check_plain(c, dst, r, "decompress(compress(blob))", err, errlen);
    k->destroy(ctx);
    free(dst);
    return rc;
}

/* A save variant other than sequential must store what sequential stores:
 * the same bytes as one compress() of the blob, with a context of its own. */
static int check_same_bytes(const cell *c, const uint8_t *stored, size_t n, char *err, size_t errlen)
{
    const codec_desc *k = c->spec.codec;
    size_t cap = k->bound(c->in.blob_len, c->spec.level), r;
    int rc = 0;
    /* Only where the row says streamed output equals one-shot (codec.h). */
    if (!codec_stream_same(k, c->spec.level) || c->spec.variant == &cell_save_variants[0]) return 0;
    void *ctx = k->create(c->spec.level);
    uint8_t *dst = malloc(cap ? cap : 1);
    if (!ctx || !dst) {
        if (ctx) k->destroy(ctx);
        free(dst);
        return cb_err(err, errlen, "out of memory");
    }
    r = k->compress(ctx, c->in.blob, c->in.blob_len, dst, cap);
    if (codec_is_error(r))
        rc = cb_err(err, errlen, "one-shot compress fails: %s", codec_error_name(r));
    else if (r != n || memcmp(dst, stored, n) != 0)
        rc = cb_err(err, errlen, "variant %s stores %zu bytes that differ from one-shot compress (%zu bytes) at byte %zu",
                    c->spec.variant->name, n, r, first_difference(dst, stored, r < n ? r : n));
    k->destroy(ctx);
    free(dst);
    return rc;
}

static int check_stored_file(cell *c, char *err, size_t errlen)
{
    uint8_t *data;
    size_t n;
    char sub[256];
    int rc = 0;
    if (cb_read_file(c->path, SIZE_MAX / 2, &data, &n, sub, sizeof sub) != 0)
        return cb_err(err, errlen, "stored blob %s: %s", c->path, sub);
    if (n != c->out[SLOT_STORED].n || memcmp(data, c->out[SLOT_STORED].p, n) != 0)
        rc = cb_err(err, errlen, "stored blob %s differs from the compressed bytes", c->path);
    free(data);
    if (rc) return rc;
    if (cb_read_file(c->meta, 1 << 16, &data, &n, sub, sizeof sub) != 0)
        return cb_err(err, errlen, "metadata %s: %s", c->meta, sub);
    if (strcmp((char *)data, meta_json(c)) != 0)
        rc = cb_err(err, errlen, "metadata %s is not %s", c->meta, meta_json(c));
    free(data);
    return rc;
}

/* Prepare the input of decompress/load: the blob compressed once. */
static int prepare_stored(cell *c, char *err, size_t errlen)
{
    size_t cap = c->spec.codec->bound(c->in.blob_len, c->spec.level);
    c->stored_in = malloc(cap ? cap : 1);
    if (!c->stored_in) return cb_err(err, errlen, "out of memory");
    size_t r = c->spec.codec->compress(c->cctx, c->in.blob, c->in.blob_len, c->stored_in, cap);
    if (codec_is_error(r)) return cb_err(err, errlen, "compress fails: %s", codec_error_name(r));
    c->stored_len = r;
    if (check_roundtrip(c, c->stored_in, r, err, errlen) != 0) return -1;
    if (c->spec.stage == CELL_LOAD_VERIFY) {
        hash_oneshot(c->spec.hash, c->hstate, c->in.blob, c->in.blob_len, c->want);
        hash_hex(c->want, c->spec.hash->digest_bytes, c->key);
        if (check_key(c, c->in.blob, c->in.blob_len, err, errlen) != 0) return -1;
    }
    return 0;
}

static int run_failure(cell *c, char *err, size_t errlen)
{
    const char *stage = cell_stage_names[c->spec.stage];
    if (c->store_err)
        return cb_err(err, errlen, "%s: cannot %s under %s: %s", stage, c->store_what,
                      c->spec.store_dir, strerror(c->store_err));
    if (c->last_codec_err)
        return cb_err(err, errlen, "%s: %s %s", stage, c->spec.codec->name, codec_error_name(c->last_codec_err));
    if (c->spec.stage == CELL_LOAD_VERIFY)
        return cb_err(err, errlen, "load+verify: the re-hash does not match the key");
    if (c->errbuf[0]) return cb_err(err, errlen, "%s: pickle: %s", stage, c->errbuf);
    return cb_err(err, errlen, "%s: the iteration failed (out of memory?)", stage);
}

int cell_verify(cell *c, char *err, size_t errlen)
{
    int rc = 0;
    if (stage_is_load(c->spec.stage) && prepare_stored(c, err, errlen) != 0) return -1;
    c->verifying = 1;
    c->errbuf[0] = 0;
    c->last_codec_err = 0;
    c->store_err = 0;
    int failed = iteration_of(c)(c);
    c->verifying = 0;
    if (failed) {
        rc = run_failure(c, err, errlen);
        if (c->spec.stage == CELL_SAVE_STORE || c->st) store_remove(c);
        return rc;
    }
    switch (c->spec.stage) {
    case CELL_PICKLE:
        rc = check_plain(c, c->out[SLOT_PICKLE].p, c->out[SLOT_PICKLE].n, "the pickle", err, errlen);
        break;
    case CELL_HASH:
        rc = check_key(c, c->in.blob, c->in.blob_len, err, errlen);
        break;
    case CELL_COMPRESS:
        rc = check_roundtrip(c, c->out[SLOT_STORED].p, c->out[SLOT_STORED].n, err, errlen);
        break;
    case CELL_DECOMPRESS: case CELL_LOAD: case CELL_LOAD_VERIFY:
        rc = check_plain(c, c->out[SLOT_PLAIN].p, c->out[SLOT_PLAIN].n, cell_stage_names[c->spec.stage],
                         err, errlen);
        break;
    case CELL_SAVE: case CELL_SAVE_STORE:
        if (c->in.obj && !c->st)   /* streaming has no whole pickle: the round trip checks it */
            rc = check_plain(c, c->out[SLOT_PICKLE].p, c->out[SLOT_PICKLE].n, "the pickle", err, errlen);
        if (!rc) rc = check_key(c, c->in.blob, c->in.blob_len, err, errlen);
        if (!rc) rc = check_roundtrip(c, c->out[SLOT_STORED].p, c->out[SLOT_STORED].n, err, errlen);
        if (!rc) rc = check_same_bytes(c, c->out[SLOT_STORED].p, c->out[SLOT_STORED].n, err, errlen);
        if (!rc && c->spec.stage == CELL_SAVE_STORE) rc = check_stored_file(c, err, errlen);
        if (c->spec.stage == CELL_SAVE_STORE || c->st) store_remove(c);
        break;
    default:
        rc = cb_err(err, errlen, "unknown stage");
    }
    /* Fresh outputs are not needed any more: keep their sizes, free the memory
     * before timing so that it does not count against the peak. */
    for (int s = 0; s < SLOT_COUNT; s++)
        if (c->out[s].owned) {
            fresh_free(c->out[s].p, c->cap[s]);
            c->out[s].p = NULL;
            c->out[s].owned = 0;
        }
    return rc;
}

static void handoff_noop(void *arg) { (void)arg; }

/* A spinning hand-off's worker sleeps after a long idle spell (handoff.h);
 * one empty job before the timed loop wakes it, so that a batch times the
 * spin hand-off and not the wake-up. */
static void wake_worker(void *ctx)
{
    cell *c = ctx;
    handoff_start(c->ho, handoff_noop, NULL);
    handoff_wait(c->ho);
}

gb_measurement cell_measurement(cell *c, const char *name)
{
    gb_measurement m;
    m.name = name;
    m.run = iteration_of(c);
    m.between = c->spec.stage == CELL_SAVE_STORE || c->st ? store_remove : NULL;
    m.prepare = c->ho ? wake_worker : NULL;
    m.ctx = c;
    m.bytes_per_iter = cell_bytes_in(c);
    return m;
}

uint64_t cell_peak_bytes(cell *c)
{
    uint64_t held = c->st ? streaming_held(c->st) : 0, peak;
    for (int s = 0; s < SLOT_COUNT; s++)
        if (c->buf[s]) held += c->cap[s];
    memory_count_begin(held);
    int bad = iteration_of(c)(c);
    peak = memory_count_end();
    if (c->spec.stage == CELL_SAVE_STORE || c->st) store_remove(c);
    return bad ? CELL_NO_PEAK : peak;
}

const char *cell_key(const cell *c) { return stage_has_hash(c->spec.stage) ? c->key : ""; }

uint64_t cell_stored_bytes(const cell *c)
{
    if (stage_is_load(c->spec.stage)) return c->stored_len;
    if (c->spec.stage == CELL_COMPRESS || c->spec.stage == CELL_SAVE || c->spec.stage == CELL_SAVE_STORE)
        return c->out[SLOT_STORED].n;
    return 0;
}

uint64_t cell_bytes_in(const cell *c)
{
    return stage_is_load(c->spec.stage) ? c->stored_len : c->in.blob_len;
}

uint64_t cell_bytes_out(const cell *c)
{
    switch (c->spec.stage) {
    case CELL_PICKLE: return c->out[SLOT_PICKLE].n;
    case CELL_HASH: return (uint64_t)c->spec.hash->digest_bytes;
    case CELL_DECOMPRESS: case CELL_LOAD: case CELL_LOAD_VERIFY: return c->in.blob_len;
    default: return cell_stored_bytes(c);
    }
}
