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
    /* verifying run of an overlapped save: when the caller compressed and
     * the worker hashed (cell_overlap) */
    int64_t ov_ns[4];
    double cold_ns;                   /* cpython saves: the verified (first) run */
    /* cpython: the pickle buffer's capacities in order, the arrays numpy
     * copies, scratch pointers (blocks, chunks, copies), the GzipFile
     * stream's size, pymalloc's stand-in for small results */
    size_t *py_caps, py_ncaps;
    const pyobj **py_arrays;
    size_t py_narrays;
    uint8_t **py_tmp;
    size_t py_ntmp;
    size_t py_clen;                   /* GzipFile: the stream's size, from the first run */
    uint8_t py_small[SLOT_COUNT][512];
    int py_tracking;
    uint8_t *py_peak;                 /* the highest break while settling */
    long long py_live, py_live_peak;  /* heap bytes held while settling */
    ptrdiff_t py_extent;              /* how far the settling call grew the heap */
    int py_settled, py_held;          /* py_settle measured the call; it keeps its heap */
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

/* What a PyBytesObject asks of the allocator beyond its data: the object
 * header (32 bytes on 64-bit) and the trailing NUL. */
#define PY_BYTES_HEAD ((size_t)33)
/* pymalloc serves requests up to this many bytes from its own pools. */
#define PY_SMALL_MAX ((size_t)512)

/* glibc's dynamic mmap threshold as the cpython cells' own frees move it:
 * freeing a mapped chunk larger than the threshold (and at most 32 MiB, its
 * ceiling on 64-bit) raises it to that chunk's size, and the trim threshold
 * to twice that. */
#define PY_MMAP_MAX ((size_t)32 * 1024 * 1024)
static size_t py_threshold = 128 * 1024;

/* A chunk's size when glibc mapped it, else 0. The main thread's chunks
 * come from the heap between the end of the program's data (`end`) and the
 * break, or are mapped elsewhere; a mapped chunk's size is its usable size
 * and its header (two words). No header is read: under ASan or valgrind,
 * whose malloc is not glibc's, chunks merely count as mapped. */
extern char end;
static size_t py_mapped(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (!p || (a >= (uintptr_t)&end && a < (uintptr_t)sbrk(0))) return 0;
    return malloc_usable_size((void *)p) + 2 * sizeof(size_t);
}

/* Heap bytes (mapped chunks excluded) the settling iteration holds. */
static void py_count(cell *c, const void *p, int sign)
{
    if (!c->py_tracking || !p || py_mapped(p)) return;
    c->py_live += sign * (long long)malloc_usable_size((void *)p);
    if (c->py_live > c->py_live_peak) c->py_live_peak = c->py_live;
}

/* malloc, realloc and free of the cpython paths; while a cell settles
 * (py_settle) they count the heap bytes a call holds and note how far the
 * heap reached (sbrk(0) reads glibc's cached break: no system call). */
static void *py_malloc(cell *c, size_t n)
{
    void *p = malloc(n);
    if (p && memory_counting()) memory_count_add(malloc_usable_size(p));
    if (c->py_tracking) {
        uint8_t *b = sbrk(0);
        py_count(c, p, 1);
        if (b > c->py_peak) c->py_peak = b;
    }
    return p;
}

static void *py_realloc(cell *c, void *p, size_t n)
{
    long long before = c->py_live;
    size_t old_size = p && memory_counting() ? malloc_usable_size(p) : 0;
    py_count(c, p, -1);
    void *q = realloc(p, n);
    if (q && memory_counting()) {
        memory_count_sub(old_size);
        memory_count_add(malloc_usable_size(q));
    }
    if (!q) c->py_live = before;
    else if (c->py_tracking) {
        uint8_t *b = sbrk(0);
        py_count(c, q, 1);
        if (b > c->py_peak) c->py_peak = b;
    }
    return q;
}

static void py_dealloc(cell *c, void *p)
{
    size_t m = py_mapped(p);
    if (m > py_threshold && m <= PY_MMAP_MAX) py_threshold = m;
    py_count(c, p, -1);
    if (p && memory_counting()) memory_count_sub(malloc_usable_size(p));
    free(p);
}

static uint8_t *py_result(cell *c, int slot, size_t n)
{
    if (n + PY_BYTES_HEAD <= PY_SMALL_MAX) return c->py_small[slot];
    return py_malloc(c, n + PY_BYTES_HEAD);
}

static void py_free(cell *c, int slot, uint8_t *p)
{
    if (p != c->py_small[slot]) py_dealloc(c, p);
}

/* Outputs of fresh and reuse cells (cpython cells allocate per stage, below). */
static uint8_t *acquire(cell *c, int slot)
{
    if (c->spec.alloc == CELL_ALLOC_REUSE) return c->buf[slot];
    if (c->spec.alloc == CELL_ALLOC_CPYTHON) return py_result(c, slot, c->cap[slot]);
    return fresh_alloc(c->cap[slot]);
}

static void out_free(cell *c, int slot)
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

/* ---- cpython: CPython 3.11's allocations (cells.h) ----------------------- */

/* The blocks of CPython's _BlocksOutputBuffer (zlib's output), in order; the
 * last repeats. */
static size_t py_block(size_t i)
{
    static const size_t kib[] = {32, 64, 256, 1024, 4096, 8192, 16384, 16384, 32768, 32768, 32768,
                                 32768, 65536, 65536, 131072, 131072, 262144};
    size_t k = sizeof kib / sizeof kib[0];
    return kib[i < k ? i : k - 1] * 1024;
}

/* How many blocks hold n bytes. */
static size_t py_nblocks(size_t n)
{
    size_t i = 0, total = 0;
    while (total < n) total += py_block(i++);
    return i ? i : 1;
}

static uint64_t le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void caps_push(cell *c, size_t cap)
{
    c->py_caps = cb_xrealloc(c->py_caps, (c->py_ncaps + 1) * sizeof *c->py_caps);
    c->py_caps[c->py_ncaps++] = cap;
}

/* _Pickler_Write: a write of k bytes that does not fit makes the buffer
 * (len + k) / 2 * 3. Small writes (opcodes, frame contents) are taken as
 * 8 bytes each; a bytes or str of 64 KiB or more is one write outside any
 * frame. The writes are read off the reference pickle: protocol 4 and 5
 * frames, and the large opcodes between them; anything else (protocols 2
 * and 3) is small writes to the end. */
static void py_pickle_schedule(cell *c)
{
    const uint8_t *b = c->in.blob;
    size_t n = c->in.blob_len, cap = 4096, pos = 0, stop, hdr;
    uint64_t d;
#define SMALL_TO(x) while ((x) > cap) { cap = (cap + 8) / 2 * 3; caps_push(c, cap); }
    if (n >= 2 && b[0] == 0x80 && b[1] >= 4) pos = 2;
    else pos = n;
    while (pos < n) {
        uint8_t op = b[pos];
        if (op == 0x95 && pos + 9 <= n) {                      /* FRAME */
            d = le(b + pos + 1, 8);
            if (d > n - pos - 9) break;
            stop = pos + 9 + (size_t)d;
            SMALL_TO(stop);
            pos = stop;
            continue;
        }
        if ((op == 'B' || op == 'X') && pos + 5 <= n) { d = le(b + pos + 1, 4); hdr = 5; }
        else if ((op == 0x8e || op == 0x8d || op == 0x96) && pos + 9 <= n) { d = le(b + pos + 1, 8); hdr = 9; }
        else break;
        if (d > n - pos - hdr) break;
        SMALL_TO(pos + hdr);
        if (pos + hdr + d > cap) {
            cap = (pos + hdr + (size_t)d) / 2 * 3;
            caps_push(c, cap);
        }
        pos += hdr + (size_t)d;
    }
    SMALL_TO(n);
#undef SMALL_TO
}

/* The arrays of the object, in pickling order: numpy's __reduce__ copies
 * each (tobytes) into a bytes that the pickler's memo keeps to the end. */
static void py_find_arrays(cell *c, const pyobj *o, int depth)
{
    size_t i;
    if (!o || depth > PYOBJ_MAX_DEPTH) return;
    switch (o->kind) {
    case PYOBJ_NDARRAY:
        c->py_arrays = cb_xrealloc(c->py_arrays, (c->py_narrays + 1) * sizeof *c->py_arrays);
        c->py_arrays[c->py_narrays++] = o;
        break;
    case PYOBJ_LIST: case PYOBJ_TUPLE:
        for (i = 0; i < o->u.seq.n; i++) py_find_arrays(c, o->u.seq.items[i], depth + 1);
        break;
    case PYOBJ_DICT:
        for (i = 0; i < o->u.dict.n; i++) {
            py_find_arrays(c, o->u.dict.keys[i], depth + 1);
            py_find_arrays(c, o->u.dict.values[i], depth + 1);
        }
        break;
    default:
        break;
    }
}

/* pickle.dumps: the buffer's growth, the array copies, the final shrink.
 * pickle_dump needs its bound as capacity: the last growth step is at least
 * that (a small pickle's bound exceeds CPython's buffer; both come from the
 * heap once the mmap threshold has risen). */
static uint8_t *py_pickle(cell *c, size_t *n)
{
    size_t i, cap = 4096;
    uint8_t *p = py_malloc(c, cap + PY_BYTES_HEAD), *q;
    *n = 0;
    if (!p) return NULL;
    for (i = 0; i < c->py_narrays; i++) {
        const pyobj *a = c->py_arrays[i];
        c->py_tmp[i] = py_malloc(c, a->u.arr.nbytes + PY_BYTES_HEAD);
        if (c->py_tmp[i]) memcpy(c->py_tmp[i], a->u.arr.data, a->u.arr.nbytes);
    }
    for (i = 0; i <= c->py_ncaps && p; i++) {
        size_t want = i < c->py_ncaps ? c->py_caps[i] : c->cap[SLOT_PICKLE];
        if (i == c->py_ncaps && want <= cap) break;
        q = py_realloc(c, p, want + PY_BYTES_HEAD);
        if (!q) { py_dealloc(c, p); p = NULL; break; }
        p = q;
        cap = want;
    }
    if (p) *n = pickle_dump(c->in.obj, &c->in.popt, p, cap, c->errbuf, sizeof c->errbuf);
    if (p && *n && (q = py_realloc(c, p, *n + PY_BYTES_HEAD)) != NULL) p = q;
    for (i = 0; i < c->py_narrays; i++) py_dealloc(c, c->py_tmp[i]);
    if (p && !*n) { py_dealloc(c, p); p = NULL; }
    return p;
}

/* Room beyond the compressed size found before timing. */
#define PY_SLACK ((size_t)64)

typedef enum { PYB_GZIPFILE, PYB_LZ4, PYB_BYTES } py_binding;

/* How the codec's Python binding allocates, from the facts of its row. */
static py_binding py_binding_of(const codec_desc *k)
{
    if (k->gzip_compatible && !k->ceiling) return PYB_GZIPFILE;
    if (strcmp(k->family, "lz4") == 0) return PYB_LZ4;
    return PYB_BYTES;
}

/* n bytes of src written into blocks as zlib fills them, then the blocks
 * freed, last first. */
static void py_blocks_fill_free(cell *c, size_t nb, const uint8_t *src, size_t n)
{
    size_t i, off = 0;
    for (i = 0; i < nb && off < n; i++) {
        size_t k = py_block(i) < n - off ? py_block(i) : n - off;
        if (c->py_tmp[i]) memcpy(c->py_tmp[i], src + off, k);
        off += k;
    }
    for (i = nb; i-- > 0;) py_dealloc(c, c->py_tmp[i]);
}

/* The compressed bytes of blob, as the binding gives them; *r their size.
 * keep_bytesio: metaflow's path, which hands the BytesIO on unshrunk (its
 * byte_obj.read() copies before the write); otherwise getvalue()'s shrink. */
static uint8_t *py_compress(cell *c, const uint8_t *blob, size_t n, size_t *r, int keep_bytesio)
{
    const codec_desc *k = c->spec.codec;
    size_t cap = c->cap[SLOT_STORED], nb, i;
    uint8_t *t, *p, *q, trailer[8];
    *r = 0;
    switch (py_binding_of(k)) {
    case PYB_LZ4:
        if (!(t = py_malloc(c, cap))) return NULL;
        *r = k->compress(c->cctx, blob, n, t, cap);
        if (codec_is_error(*r)) c->last_codec_err = *r;
        if (codec_is_error(*r) || !(p = py_result(c, SLOT_STORED, *r))) { py_dealloc(c, t); return NULL; }
        memcpy(p, t, *r);
        py_dealloc(c, t);
        return p;
    case PYB_GZIPFILE: {
        /* zlib's output blocks, joined into one bytes, both of the size the
         * first (verifying) run found; that run, not knowing it, takes the
         * bound. */
        size_t want = c->py_clen ? c->py_clen + PY_SLACK : cap;
        nb = py_nblocks(want);
        for (i = 0; i < nb; i++) c->py_tmp[i] = py_malloc(c, py_block(i) + PY_BYTES_HEAD);
        if (!(t = py_malloc(c, want + PY_BYTES_HEAD))) { py_blocks_fill_free(c, nb, NULL, 0); return NULL; }
        *r = k->compress(c->cctx, blob, n, t, want);
        if (!codec_is_error(*r)) c->py_clen = *r;
        if (codec_is_error(*r) || *r < 8) {
            c->last_codec_err = codec_is_error(*r) ? *r : 0;
            py_blocks_fill_free(c, nb, NULL, 0);
            py_dealloc(c, t);
            return NULL;
        }
        py_blocks_fill_free(c, nb, t, *r);
        /* The BytesIO: the stream but its trailer, then the trailer, which
         * grows the buffer by 1/8 (BytesIO's resize_buffer). */
        memcpy(trailer, t + *r - 8, 8);
        p = py_malloc(c, *r - 8 + 1 + PY_BYTES_HEAD);
        if (p) memcpy(p, t, *r - 8);
        py_dealloc(c, t);
        if (!p) return NULL;
        if (!(q = py_realloc(c, p, *r + (*r >> 3) + 6 + PY_BYTES_HEAD))) { py_dealloc(c, p); return NULL; }
        p = q;
        memcpy(p + *r - 8, trailer, 8);
        if (!keep_bytesio && (q = py_realloc(c, p, *r + PY_BYTES_HEAD)) != NULL) p = q;
        return p;
    }
    case PYB_BYTES:
    default:
        if (!(p = py_result(c, SLOT_STORED, cap))) return NULL;
        *r = k->compress(c->cctx, blob, n, p, cap);
        if (codec_is_error(*r)) { c->last_codec_err = *r; py_free(c, SLOT_STORED, p); return NULL; }
        return p;
    }
}

/* The plain bytes of c->stored_in as the binding gives them (NULL on
 * failure, with last_codec_err set when the codec failed). gzip-compatible:
 * gzip.decompress for the decompress stage, GzipFile(fileobj=BytesIO(data))
 * .read() for load and load+verify, as metaflow reads. */
static uint8_t *py_decompress(cell *c)
{
    const codec_desc *k = c->spec.codec;
    size_t n = c->in.blob_len, r, nb, i, off;
    uint8_t *t = NULL, *p;
    if (py_binding_of(k) == PYB_LZ4) {
        /* python-lz4: a buffer of the content size, copied into a bytes */
        if (!(t = py_malloc(c, n ? n : 1))) return NULL;
        r = k->decompress(c->cctx, c->stored_in, c->stored_len, t, n);
        if (codec_is_error(r) || !(p = py_result(c, SLOT_PLAIN, r))) {
            if (codec_is_error(r)) c->last_codec_err = r;
            py_dealloc(c, t);
            return NULL;
        }
        memcpy(p, t, r);
        py_dealloc(c, t);
        return p;
    }
    if (py_binding_of(k) == PYB_BYTES) {
        if (!(p = py_result(c, SLOT_PLAIN, n))) return NULL;
        r = k->decompress(c->cctx, c->stored_in, c->stored_len, p, n);
        if (codec_is_error(r)) { c->last_codec_err = r; py_free(c, SLOT_PLAIN, p); return NULL; }
        return p;
    }
    if (c->spec.stage == CELL_DECOMPRESS) {
        /* gzip.decompress: data[fp.tell():] (a copy after the 10-byte
         * header), zlib's blocks, joined */
        size_t len = c->stored_len > 10 ? c->stored_len - 10 : 0;
        if (!(t = py_malloc(c, len + PY_BYTES_HEAD))) return NULL;
        memcpy(t, c->stored_in + (c->stored_len - len), len);
        nb = py_nblocks(n);
    } else {
        /* GzipFile.read(): 8 KiB chunks, each decompressed through a
         * 32 KiB block, kept in a list and joined */
        nb = (n + 8191) / 8192;
        for (i = 0; i < nb; i++) {
            uint8_t *blk = py_malloc(c, 32768 + PY_BYTES_HEAD);
            c->py_tmp[i] = py_malloc(c, 8192 + PY_BYTES_HEAD);
            py_dealloc(c, blk);
        }
    }
    if (c->spec.stage == CELL_DECOMPRESS)
        for (i = 0; i < nb; i++) c->py_tmp[i] = py_malloc(c, py_block(i) + PY_BYTES_HEAD);
    p = py_result(c, SLOT_PLAIN, n);
    r = p ? k->decompress(c->cctx, c->stored_in, c->stored_len, p, n) : 0;
    if (p && codec_is_error(r)) c->last_codec_err = r;
    if (c->spec.stage == CELL_DECOMPRESS) {
        py_blocks_fill_free(c, nb, p && !codec_is_error(r) ? p : NULL, p && !codec_is_error(r) ? r : 0);
    } else {
        for (i = 0, off = 0; i < nb; i++, off += 8192)
            if (c->py_tmp[i] && p && !codec_is_error(r) && off < r) memcpy(c->py_tmp[i], p + off, r - off < 8192 ? r - off : 8192);
        for (i = 0; i < nb; i++) py_dealloc(c, c->py_tmp[i]);
    }
    py_dealloc(c, t);
    if (p && codec_is_error(r)) { py_free(c, SLOT_PLAIN, p); return NULL; }
    return p;
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
    hash_oneshot(c->spec.hash, c->hstate, blob, n, c->digest);
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

static int64_t mono_ns(void)
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
    hash_oneshot(c->spec.hash, c->hstate, c->job_blob, c->job_len, c->digest);
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
    if (!bad && c->spec.alloc == CELL_ALLOC_CPYTHON && py_binding_of(c->spec.codec) == PYB_GZIPFILE) {
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

/* What a cpython cell knows before timing: the pickle buffer's growth, the
 * arrays, room for scratch pointers. */
static int py_prepare(cell *c, char *err, size_t errlen)
{
    cell_stage st = c->spec.stage;
    int saves = st == CELL_SAVE || st == CELL_SAVE_STORE;
    if (c->in.obj && (st == CELL_PICKLE || saves)) {
        py_pickle_schedule(c);
        py_find_arrays(c, c->in.obj, 0);
    }
    c->py_ntmp = c->in.blob_len / 8192 + 64 + c->py_narrays;
    c->py_tmp = calloc(c->py_ntmp, sizeof *c->py_tmp);
    if (!c->py_tmp) return cb_err(err, errlen, "out of memory");
    return 0;
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
        out_free(c, s);
    }
    free(c->stored_in);
    free(c->py_caps);
    free(c->py_arrays);
    free(c->py_tmp);
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

/* The file at path, which should hold `want` bytes: *n is what it holds
 * (up to want + 1 bytes are read, so that a longer file shows). */
static int read_exact(const char *path, size_t want, uint8_t **data, size_t *n, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t r = 0;
    *n = 0;
    if (fd < 0) return cb_err(err, errlen, "%s", strerror(errno));
    if (!(*data = malloc(want + 1))) { close(fd); return cb_err(err, errlen, "out of memory"); }
    while (*n < want + 1 && (r = read(fd, *data + *n, want + 1 - *n)) > 0) *n += (size_t)r;
    if (r < 0) {
        int e = errno;
        close(fd);
        free(*data);
        return cb_err(err, errlen, "%s", strerror(e));
    }
    close(fd);
    return 0;
}

static int check_stored_file(cell *c, char *err, size_t errlen)
{
    uint8_t *data;
    size_t n;
    char sub[256];
    int rc = 0;
    /* Read into a buffer of the expected size, not a growing one: freeing
     * a grown buffer would raise glibc's mmap threshold past what CPython
     * reaches, and cpython cells depend on it (cells.h). */
    if (read_exact(c->path, c->out[SLOT_STORED].n, &data, &n, sub, sizeof sub) != 0)
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
    int64_t t0 = mono_ns();
    int failed = iteration_of(c)(c);
    if (c->spec.alloc == CELL_ALLOC_CPYTHON && (c->spec.stage == CELL_SAVE || c->spec.stage == CELL_SAVE_STORE))
        c->cold_ns = (double)(mono_ns() - t0);
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
        if (c->out[s].owned) out_free(c, s);
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

/* The block that stands for the objects a CPython process holds above the
 * memory its calls free (py_settle); one for the process, the last settled
 * cell's. */
static void *py_pin;

/* Keep the heap a call reached: fill it in pieces under any mmap threshold
 * until a piece lies at its top, keep that piece (it stands for the objects
 * above), free the others. The call's buffers are then served from this
 * hole and never trimmed. */
static void py_hold(cell *c, uint8_t *start)
{
    enum { PIECE = 64 * 1024 };
    size_t n = 0;
    while (n < c->py_ntmp) {
        uint8_t *p = malloc(PIECE);
        if (!p) break;
        c->py_tmp[n++] = p;
        if (p + PIECE >= start + c->py_extent) {
            py_pin = c->py_tmp[--n];
            break;
        }
    }
    while (n > 0) free(c->py_tmp[--n]);
}

/* A cpython cell's steady state, whatever ran before it, set up before each
 * batch. The heap is trimmed (malloc_trim: what other cells left is
 * returned). The first time, one untimed iteration measures what the call
 * holds on the heap and how far the heap reaches. When that stays under
 * glibc's trim threshold (twice the mmap threshold), CPython keeps the
 * memory between calls: it is held here (py_hold), the objects a CPython
 * process holds lying above it; otherwise glibc trims it after every call,
 * under CPython as here, and every call starts from a trimmed heap. A held
 * heap is touched by one untimed iteration. What does not fit the call's own freed memory (a request larger
 * than any it freed, above the mmap threshold) gets new pages every time.
 * The threshold is process-wide and only rises: it stays where frees have
 * raised it, which for casbench's own buffers is no higher than CPython's
 * (see read_exact). */
static void py_settle(void *ctx)
{
    cell *c = ctx;
    gb_iter_fn run = iteration_of(c);
    uint8_t *start;
    if (c->ho) wake_worker(c);
    free(py_pin);
    py_pin = NULL;
    malloc_trim(0);
    start = sbrk(0);
    if (!c->py_settled) {
        c->py_peak = start;
        c->py_live = c->py_live_peak = 0;
        c->py_tracking = 1;
        (void)run(c);               /* a failure shows in the timed loop */
        c->py_tracking = 0;
        if (c->spec.stage == CELL_SAVE_STORE) store_remove(c);
        c->py_extent = c->py_peak - start;
        c->py_held = (unsigned long long)c->py_live_peak < 2 * (unsigned long long)py_threshold;
        c->py_settled = 1;
    }
    if (!c->py_held) return;    /* each call starts from a trimmed heap */
    py_hold(c, start);
    (void)run(c);
    if (c->spec.stage == CELL_SAVE_STORE) store_remove(c);
}

gb_measurement cell_measurement(cell *c, const char *name)
{
    gb_measurement m;
    m.name = name;
    m.run = iteration_of(c);
    m.between = c->spec.stage == CELL_SAVE_STORE || c->st ? store_remove : NULL;
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
    if (c->spec.stage == CELL_SAVE_STORE || c->st) store_remove(c);
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
