/* cells.c - see cells.h. */
#include "cells.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cell_impl.h"
#include "memory.h"
#include "util.h"


/* The metadata metaflow's local datastore writes next to each blob, as
 * json.dump writes it: cas_version 1 for gzip-compatible blobs, 2 for the
 * formats of PR #3090 and later. */
static const char meta_v1[] = "{\"cas_raw\": false, \"cas_version\": 1}";
static const char meta_v2[] = "{\"cas_raw\": false, \"cas_version\": 2}";

const char *meta_json(const cell *c)
{
    return c->spec.codec && c->spec.codec->gzip_compatible ? meta_v1 : meta_v2;
}

/* ---- buffers ---------------------------------------------------------- */

/* Large outputs get one page policy in every process, whatever the system's
 * transparent huge page setting (always, madvise or never) and whatever the
 * heap looked like: the page size of a buffer decides how many TLB misses a
 * pass over it takes, and 4 KiB pages place it on whatever physical pages
 * (cache sets) the process happened to get.
 *   fresh  4 KiB pages (MADV_NOHUGEPAGE): the iteration faults in every page
 *          of a new mapping, as a large bytes object does under CPython with
 *          the `madvise` setting (Ubuntu's default): an upper bound.
 *   reuse  2 MiB pages (MADV_HUGEPAGE), the mapping aligned to 2 MiB (a
 *          buffer under 2 MiB: its own 4 KiB pages, MADV_NOHUGEPAGE): the
 *          lower bound, and the same layout in every process. Before this a
 *          reuse buffer came from malloc, on 4 KiB heap pages at an offset
 *          that depended on what was allocated before; an 8 MB memcpy (the
 *          weights pickle) measured 0.30 ms in one process and 0.73 ms in the
 *          next, each steady over its rounds (results/aa-vm-20261202T000751Z):
 *          the copy with source and buffer held in the cache and the copy
 *          from memory (0.25-0.30 and 0.72-0.90 ms there, timed apart): 16 MB
 *          stayed cached in one process and not in the next, whose layout
 *          differed only in its physical pages and a 32-byte shift of the
 *          heap. The source, the payload's array, is still on heap pages
 *          (payloads/).
 *          The advice is advice: with THP `never` (or no
 *          2 MiB page free) the kernel maps 4 KiB pages; env.tsv records the
 *          setting (`thp_enabled`). */
#define HUGE_PAGE ((size_t)2 << 20)

/* The length of the mapping map_pages leaves for n bytes at this alignment
 * (munmap's): whole 2 MiB pages for an aligned one, so that its last bytes
 * are on a huge page too. */
static size_t mapped_len(size_t n, size_t align)
{
    size_t unit = align ? align : (size_t)getpagesize();
    return (n + unit - 1) & ~(unit - 1);
}

/* n bytes of new anonymous pages under advice, starting at a multiple of
 * align (a power of two; 0: the page): a larger mapping, trimmed. */
static uint8_t *map_pages(size_t n, size_t align, int advice)
{
    size_t keep = mapped_len(n, align), len = keep + align;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    uint8_t *a = align ? (uint8_t *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1)) : p;
    if (a > p) munmap(p, (size_t)(a - p));
    if (p + len > a + keep) munmap(a + keep, (size_t)(p + len - (a + keep)));
    (void)madvise(a, keep, advice);    /* refused only where THP is not built in */
    return a;
}

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
    return map_pages(n, 0, MADV_NOHUGEPAGE);
}

static void fresh_free(uint8_t *p, size_t n)
{
    if (!p) return;
    memory_count_sub(n);
    if (n < CELL_FRESH_MMAP_MIN) free(p);
    else munmap(p, n);
}

/* A reuse cell's buffer, allocated once (the policy above). One under a huge
 * page would waste most of one: it is mapped on its own 4 KiB pages. */
static size_t reuse_align(size_t n) { return n >= HUGE_PAGE ? HUGE_PAGE : 0; }

static uint8_t *reuse_alloc(size_t n)
{
    if (n < CELL_FRESH_MMAP_MIN) return malloc(n ? n : 1);
    return map_pages(n, reuse_align(n), n >= HUGE_PAGE ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

static void reuse_free(uint8_t *p, size_t n)
{
    if (!p) return;
    if (n < CELL_FRESH_MMAP_MIN) free(p);
    else munmap(p, mapped_len(n, reuse_align(n)));
}

/* Outputs of fresh and reuse cells (cpython cells allocate per stage, below). */
static uint8_t *acquire(cell *c, int slot)
{
    if (c->spec.alloc == CELL_ALLOC_REUSE) return c->buf[slot];
    if (c->spec.alloc == CELL_ALLOC_CPYTHON) return py_result(c, slot, c->cap[slot]);
    return fresh_alloc(c->cap[slot]);
}

void out_free(cell *c, int slot)
{
    if (c->out[slot].owned && c->spec.alloc == CELL_ALLOC_CPYTHON) py_free(c, slot, c->out[slot].p);
    else if (c->out[slot].owned) fresh_free(c->out[slot].p, c->cap[slot]);
    c->out[slot].p = NULL;
    c->out[slot].owned = 0;
}

/* Fresh and cpython outputs are freed here, inside the iteration, as Python
 * frees its bytes objects; a verifying run keeps them for the checks instead. */
static void release(cell *c, int slot, uint8_t *p, size_t n)
{
    if (c->verifying) {
        out_free(c, slot);
        c->out[slot].p = p;
        c->out[slot].n = n;
        c->out[slot].owned = c->spec.alloc != CELL_ALLOC_REUSE;
        return;
    }
    if (c->spec.alloc == CELL_ALLOC_FRESH) fresh_free(p, c->cap[slot]);
    else if (c->spec.alloc == CELL_ALLOC_CPYTHON) py_free(c, slot, p);
}

static void set_key(cell *c)
{
    hash_hex(c->digest, c->spec.hash->digest_bytes, c->key);
}

/* ---- stages ------------------------------------------------------------ */

static int k_pickle(void *p)
{
    cell *c = p;
    size_t n;
    uint8_t *b;
    if (c->spec.alloc == CELL_ALLOC_CPYTHON) {
        if (!(b = py_pickle(c, &n))) return 1;
        release(c, SLOT_PICKLE, b, n);
        return 0;
    }
    b = acquire(c, SLOT_PICKLE);
    if (!b) return 1;
    n = pickle_dump(c->in.obj, &c->in.popt, b, c->cap[SLOT_PICKLE], c->errbuf, sizeof c->errbuf);
    release(c, SLOT_PICKLE, b, n);
    return n == 0;
}

/* The cell's hash of n bytes at d into c->digest: a cpython cell runs the
 * code the Python binding runs (hash.h, py_update). */
static void cell_hash(cell *c, const void *d, size_t n)
{
    if (c->spec.alloc == CELL_ALLOC_CPYTHON) hash_oneshot_py(c->spec.hash, c->hstate, d, n, c->digest);
    else hash_oneshot(c->spec.hash, c->hstate, d, n, c->digest);
}

static int k_hash(void *p)
{
    cell *c = p;
    cell_hash(c, c->in.blob, c->in.blob_len);
    set_key(c);
    return 0;
}

static int k_compress(void *p)
{
    cell *c = p;
    if (c->spec.alloc == CELL_ALLOC_CPYTHON) {
        size_t r;
        uint8_t *out = py_compress(c, c->in.blob, c->in.blob_len, &r, 0);
        if (!out) return 1;
        release(c, SLOT_STORED, out, r);
        return 0;
    }
    uint8_t *b = acquire(c, SLOT_STORED);
    if (!b) return 1;
    size_t r = c->spec.codec->compress(c->cctx, c->in.blob, c->in.blob_len, b, c->cap[SLOT_STORED]);
    int bad = codec_is_error(r);
    if (bad) c->last_codec_err = r;
    release(c, SLOT_STORED, b, bad ? 0 : r);
    return bad;
}

/* load+verify's re-hash of the plain bytes b (r of them), then b's release. */
static int decompressed(cell *c, uint8_t *b, size_t r)
{
    if (c->spec.stage == CELL_LOAD_VERIFY) {
        cell_hash(c, b, r);
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
    uint8_t *b;
    if (c->spec.alloc == CELL_ALLOC_CPYTHON) {
        if (!(b = py_decompress(c))) return 1;
        return decompressed(c, b, c->in.blob_len);
    }
    if (!(b = acquire(c, SLOT_PLAIN))) return 1;
    size_t r = c->spec.codec->decompress(c->cctx, c->stored_in, c->stored_len, b, c->in.blob_len);
    if (codec_is_error(r)) {
        c->last_codec_err = r;
        release(c, SLOT_PLAIN, b, 0);
        return 1;
    }
    return decompressed(c, b, r);
}

/* The blob the save path starts from: pickled into a slot buffer, or the
 * given blob (file payloads). NULL on failure. */
static const uint8_t *save_pickle(cell *c, size_t *n)
{
    c->cur_pickle = NULL;
    c->cur_stored = NULL;
    *n = c->in.blob_len;
    if (!c->in.obj) return c->in.blob;
    if (c->spec.alloc == CELL_ALLOC_CPYTHON) {
        c->cur_pickle = py_pickle(c, n);
        c->cur_pickle_len = *n;
        return c->cur_pickle;
    }
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

/* The stored bytes of a save (c->cur_stored); 0, or 1 on failure. */
static int save_compress(cell *c, const uint8_t *blob, size_t n)
{
    size_t r;
    if (c->spec.alloc == CELL_ALLOC_CPYTHON) {
        c->cur_stored = py_compress(c, blob, n, &r, c->spec.stage == CELL_SAVE_STORE);
        c->cur_stored_len = c->cur_stored ? r : 0;
        return !c->cur_stored;
    }
    c->cur_stored = acquire(c, SLOT_STORED);
    if (!c->cur_stored) return 1;
    r = c->spec.codec->compress(c->cctx, blob, n, c->cur_stored, c->cap[SLOT_STORED]);
    if (codec_failed(c, r)) return 1;
    c->cur_stored_len = r;
    return 0;
}

/* metaflow's order: pickle, then sha1 of the uncompressed blob as the key
 * (hex, the form the path uses), then compress. */
static int save_sequential(cell *c)
{
    size_t n;
    const uint8_t *blob = save_pickle(c, &n);
    if (!blob) return 1;
    cell_hash(c, blob, n);
    set_key(c);
    return save_compress(c, blob, n);
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

int64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The worker's half of an overlapped save. */
static void hash_job(void *p)
{
    cell *c = p;
    if (c->verifying) c->ov_ns[2] = mono_ns();
    cell_hash(c, c->job_blob, c->job_len);
    if (c->verifying) c->ov_ns[3] = mono_ns();
}

/* The worker hashes while this thread compresses the same blob; both only
 * read it. The worker is always waited for, also when compress fails: it
 * still reads the blob that the caller frees next. */
static int save_overlapped(cell *c)
{
    size_t n;
    int bad;
    const uint8_t *blob = save_pickle(c, &n);
    if (!blob) return 1;
    c->job_blob = blob;
    c->job_len = n;
    /* The caller's interval starts at the hand-off: from there it goes
     * straight to compress (it may be descheduled on the way). */
    if (c->verifying) c->ov_ns[0] = mono_ns();
    handoff_start(c->ho, hash_job, c);
    bad = save_compress(c, blob, n);
    if (c->verifying) c->ov_ns[1] = mono_ns();
    handoff_wait(c->ho);
    set_key(c);
    return bad;
}

/* streaming.h: the key, the stored bytes piece by piece (and, in
 * save+store, the stored file) at the end; a verifying run keeps the pieces
 * for the checks every save variant passes (save+store's file is then
 * checked against them). */
static int save_streaming(cell *c)
{
    const uint8_t *data;
    size_t n;
    streaming_keep(c->st, c->verifying);
    if (streaming_save(c->st, c->in.obj, &c->in.popt, c->in.blob, c->in.blob_len, c->digest, c->errbuf,
                       sizeof c->errbuf) != 0)
        return 1;
    set_key(c);
    if (!c->verifying) return 0;
    data = streaming_kept(c->st, &n);
    /* kept as the cell's mode keeps an output (out_free frees it so; a
     * cpython cell's is not a fresh mapping) */
    out_free(c, SLOT_STORED);
    if (c->spec.alloc == CELL_ALLOC_CPYTHON) c->cur_stored = py_result(c, SLOT_STORED, n);
    else c->cur_stored = n <= c->cap[SLOT_STORED] ? fresh_alloc(c->cap[SLOT_STORED]) : NULL;
    if (c->cur_stored && n) memcpy(c->cur_stored, data, n);
    c->cur_stored_len = n;
    streaming_keep(c->st, 0);
    if (!c->cur_stored) return 1;
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
    if (!bad && !c->st && c->spec.alloc == CELL_ALLOC_CPYTHON && py_binding_of(c->spec.codec) == PYB_GZIPFILE) {
        /* metaflow's byte_obj.read(): a copy of the BytesIO's bytes (its
         * buffer is larger than its contents), written, then dropped */
        uint8_t *copy = malloc(c->cur_stored_len + PY_BYTES_HEAD);
        if (!copy) bad = 1;
        else {
            memcpy(copy, c->cur_stored, c->cur_stored_len);
            bad = store(c, copy, c->cur_stored_len);
            free(copy);
        }
    } else if (!bad) {
        bad = store(c, c->cur_stored, c->cur_stored_len);
    }
    save_release(c, bad);
    return bad;
}

/* The iteration leaves a stored file: save+store (a streaming one writes
 * it as it goes; a streaming save writes none, as a sequential save). */
int cell_stores(const cell *c) { return c->spec.stage == CELL_SAVE_STORE; }

/* With the timer paused: the next iteration must find no file, as the first
 * save of a new key does. */
void store_remove(void *p)
{
    cell *c = p;
    if (c->st) streaming_remove(c->st);
    unlink(c->path);
    unlink(c->meta);
}

/* The job of a thread-handoff cell: as trivial as Python's `len(tiny)`; a
 * verifying run notes that the worker ran it. */
static void handoff_job(void *p)
{
    cell *c = p;
    if (c->verifying) c->ov_ns[2] = mono_ns();
}

static int k_handoff(void *p)
{
    cell *c = p;
    handoff_start(c->ho, handoff_job, c);
    handoff_wait(c->ho);
    return 0;
}

/* ---- creation ---------------------------------------------------------- */

static int stage_has_codec(cell_stage s) { return s != CELL_PICKLE && s != CELL_HASH && s != CELL_HANDOFF; }
static int stage_has_hash(cell_stage s)
{
    return s == CELL_HASH || s == CELL_SAVE || s == CELL_SAVE_STORE || s == CELL_LOAD_VERIFY;
}
int stage_is_load(cell_stage s)
{
    return s == CELL_DECOMPRESS || s == CELL_LOAD || s == CELL_LOAD_VERIFY;
}

cell *cell_create(const cell_spec *spec, const cell_input *in, char *err, size_t errlen)
{
    cell *c;
    int s;
    py_alloc_base();
    if (!(c = calloc(1, sizeof *c))) { cb_err(err, errlen, "out of memory"); return NULL; }
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
    if (spec->stage == CELL_HANDOFF && (!spec->variant || spec->variant->handoff < 0)) {
        cb_err(err, errlen, "thread-handoff needs a save variant with a worker");
        goto fail;
    }
    if ((spec->stage == CELL_SAVE || spec->stage == CELL_SAVE_STORE || spec->stage == CELL_HANDOFF) &&
        spec->variant->handoff >= 0) {
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
        /* save: no file (the key and the stored bytes, as sequential's
         * save); save+store: the store's file, written as it goes */
        c->st = streaming_create(spec->codec, c->cctx, spec->level, spec->hash, c->hstate,
                                 spec->stage == CELL_SAVE_STORE ? spec->store_dir : NULL, spec->store_fsync, err,
                                 errlen);
        if (!c->st) goto fail;
    }
    if (in->obj) c->cap[SLOT_PICKLE] = pickle_bound(in->obj, &in->popt);
    c->cap[SLOT_PLAIN] = in->blob_len;
    if (spec->alloc == CELL_ALLOC_CPYTHON && py_prepare(c, err, errlen) != 0) goto fail;
    if (spec->alloc == CELL_ALLOC_REUSE) {
        int need[SLOT_COUNT] = {0};
        need[SLOT_PICKLE] = in->obj && (spec->stage == CELL_PICKLE || spec->stage == CELL_SAVE ||
                                        spec->stage == CELL_SAVE_STORE) && !c->st;
        need[SLOT_STORED] = (spec->stage == CELL_COMPRESS || spec->stage == CELL_SAVE ||
                             spec->stage == CELL_SAVE_STORE) && !c->st;
        need[SLOT_PLAIN] = stage_is_load(spec->stage);
        for (s = 0; s < SLOT_COUNT; s++) {
            if (!need[s]) continue;
            c->buf[s] = reuse_alloc(c->cap[s]);
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
        reuse_free(c->buf[s], c->cap[s]);
        out_free(c, s);
    }
    free(c->stored_in);
    free(c->py_caps);
    free(c->py_arrays);
    free(c->py_tmp);
    free(c->py_tmp_len);
    /* The key directory this cell created, if nothing else is in it. */
    if (c->spec.stage == CELL_SAVE_STORE && c->dir[0]) rmdir(c->dir);
    if (c->cctx) c->spec.codec->destroy(c->cctx);
    if (c->hstate) c->spec.hash->destroy(c->hstate);
    free(c);
}

gb_iter_fn iteration_of(const cell *c)
{
    switch (c->spec.stage) {
    case CELL_PICKLE: return k_pickle;
    case CELL_HASH: return k_hash;
    case CELL_COMPRESS: return k_compress;
    case CELL_SAVE: return k_save;
    case CELL_SAVE_STORE: return k_save_store;
    case CELL_DECOMPRESS: case CELL_LOAD: case CELL_LOAD_VERIFY: return k_decompress;
    case CELL_HANDOFF: return k_handoff;
    default: return NULL;
    }
}

static void handoff_noop(void *arg) { (void)arg; }

/* A spinning hand-off's worker sleeps after a long idle spell (handoff.h);
 * one empty job before the timed loop wakes it, so that a batch times the
 * spin hand-off and not the wake-up. */
void wake_worker(void *ctx)
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
    m.between = cell_stores(c) ? store_remove : NULL;
    m.prepare = c->spec.alloc == CELL_ALLOC_CPYTHON ? py_settle : c->ho ? wake_worker : NULL;
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
    if (cell_stores(c)) store_remove(c);
    return bad ? CELL_NO_PEAK : peak;
}

double cell_cold_ns(const cell *c) { return c->cold_ns; }

int cell_overlap(const cell *c, int64_t ns[4])
{
    if (!c->ho || !c->ov_ns[1] || !c->ov_ns[3]) return -1;
    memcpy(ns, c->ov_ns, sizeof c->ov_ns);
    return 0;
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
    if (c->spec.stage == CELL_HANDOFF) return 0;
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
