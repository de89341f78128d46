/* cells_cpython.c - the cpython allocation mode of the cells module (cell_impl.h). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cell_impl.h"
#include "memory.h"
#include "util.h"

/* pymalloc serves requests up to this many bytes from its own pools. */
#define PY_SMALL_MAX ((size_t)512)

/* glibc's dynamic mmap threshold of the CPython process modelled: freeing a
 * mapped chunk larger than the threshold (and at most 32 MiB, its ceiling on
 * 64-bit) raises it to that chunk's size, and the trim threshold to twice
 * that. casbench's own buffers (reuse cells, the hash sweep's inputs) move
 * this process's thresholds where CPython's never go, so py_settle sets
 * glibc's to the modelled ones with mallopt before every batch; mallopt
 * turns glibc's own raising off, so py_dealloc raises them as glibc would. */
#define PY_MMAP_MAX ((size_t)32 * 1024 * 1024)
static size_t py_threshold = 128 * 1024;

static int py_base_fixed;

/* The cell py_pin holds for, whose next batch may skip the settle
 * (py_settle); forgotten when a cell is prepared, since that resets glibc's
 * thresholds and moves the heap. */
static const cell *py_last;

/* casbench's own buffers (inputs, verification's copies, other cells'
 * outputs), allocated and freed while cells are created and verified, would
 * raise glibc's dynamic threshold, or sit under the modelled one a cpython
 * batch left, and leave holes in the heap the cpython cells share, large
 * enough to serve an 8 MB pickle's growth that CPython maps (test_faults.sh
 * saw the weights save and pickle fault 0 times instead of 1955 in some
 * runs). Once a run has a cpython cell, every cell is created under glibc's
 * initial thresholds, fixed (cell_create calls this), so such buffers are
 * mapped and leave none; py_settle sets the modelled ones for each batch. */
void py_alloc_base(void)
{
    py_last = NULL;
    if (!py_base_fixed) return;
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 2 * 128 * 1024);
}

static void py_threshold_apply(void)
{
    mallopt(M_MMAP_THRESHOLD, (int)py_threshold);
    mallopt(M_TRIM_THRESHOLD, (int)(2 * py_threshold));
}

/* A free of a mapped chunk: glibc's rule. `apply` 0 while cells are
 * created: glibc's own thresholds stay until the first cpython batch. */
static void py_threshold_raise(size_t chunk, int apply)
{
    if (chunk <= py_threshold || chunk > PY_MMAP_MAX) return;
    py_threshold = chunk;
    if (apply) py_threshold_apply();
}

/* The size of the chunk glibc maps for a request of n bytes (its header
 * word, 16-byte alignment, whole pages). */
static size_t py_mmap_chunk(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t nb = (n + sizeof(size_t) + 15) & ~(size_t)15;
    return (nb + sizeof(size_t) + page - 1) / page * page;
}

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

/* What the memory count (bench/memory.h) holds for a chunk: the bytes the
 * path has written into it, the pages a process makes resident (VmHWM, what
 * infra/python_memory.py measures). Most chunks are written whole as soon as
 * they are made and count their usable size. A few are allocated ahead of
 * what is written into them: zlib's output blocks (the last one partly
 * filled), the pickler's buffer (grown by half), lz4's and zstd's output at
 * the compress bound, BytesIO's over-allocation by 1/8. Those are "parts":
 * they count what py_wrote says was written, at most their usable size. The
 * table follows them whether or not the count is on (a part made while
 * counting may be freed after); one count per process (memory.h), one table. */
#define PY_PARTS 128
static struct { const void *p; size_t counted; } py_parts[PY_PARTS];
static size_t py_nparts;

/* The counted bytes of p, and p forgotten. */
static size_t py_counted_take(const void *p)
{
    for (size_t i = py_nparts; i-- > 0;)
        if (py_parts[i].p == p) {
            size_t k = py_parts[i].counted;
            py_parts[i] = py_parts[--py_nparts];
            return k;
        }
    return malloc_usable_size((void *)p);
}

/* Chunk p made with `written` bytes of it (its usable size at most); counted
 * when the count is on. */
static void py_count_chunk(void *p, size_t written)
{
    size_t u = malloc_usable_size((void *)p), k = written < u ? written : u;
    if (k < u && py_nparts < PY_PARTS) {
        py_parts[py_nparts].p = p;
        py_parts[py_nparts++].counted = k;
    } else {
        k = u;   /* whole, or no room to remember it: its usable size (an upper bound) */
    }
    memory_count_add(k);
}

/* `written` bytes of p are now written (from its start). */
static void py_wrote(const void *p, size_t written)
{
    if (!p) return;
    for (size_t i = 0; i < py_nparts; i++)
        if (py_parts[i].p == p) {
            size_t u = malloc_usable_size((void *)p), k = written < u ? written : u;
            if (k > py_parts[i].counted) memory_count_add(k - py_parts[i].counted);
            py_parts[i].counted = k;
            return;
        }
}

/* malloc, realloc and free of the cpython paths; while a cell settles
 * (py_settle) they count the heap bytes a call holds and note how far the
 * heap reached (sbrk(0) reads glibc's cached break: no system call). A chunk
 * from py_malloc is written whole; one from py_malloc_part counts nothing
 * until py_wrote. */
static void *py_alloc(cell *c, size_t n, size_t written)
{
    void *p = malloc(n);
    if (p) py_count_chunk(p, written);
    if (c->py_tracking) {
        uint8_t *b = sbrk(0);
        py_count(c, p, 1);
        if (b > c->py_peak) c->py_peak = b;
    }
    return p;
}

static void *py_malloc(cell *c, size_t n) { return py_alloc(c, n, SIZE_MAX); }
static void *py_malloc_part(cell *c, size_t n) { return py_alloc(c, n, 0); }

/* realloc; the chunk then holds `written` bytes (content kept or written
 * since; SIZE_MAX: all of it). */
static void *py_realloc(cell *c, void *p, size_t n, size_t written)
{
    long long before = c->py_live;
    size_t old_count = p ? py_counted_take(p) : 0;
    py_count(c, p, -1);
    void *q = realloc(p, n);
    memory_count_sub(old_count);
    if (q) py_count_chunk(q, written);
    else if (p) py_count_chunk(p, old_count);   /* p stays as it was */
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
    py_threshold_raise(py_mapped(p), 1);
    py_count(c, p, -1);
    if (p) {
        size_t k = py_counted_take(p);
        memory_count_sub(k);
    }
    free(p);
}

uint8_t *py_result(cell *c, int slot, size_t n)
{
    if (n + PY_BYTES_HEAD <= PY_SMALL_MAX) return c->py_small[slot];
    return py_malloc(c, n + PY_BYTES_HEAD);
}

void py_free(cell *c, int slot, uint8_t *p)
{
    if (p != c->py_small[slot]) py_dealloc(c, p);
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

/* Room pickle_dump needs beyond the pickle's own length: the header it
 * reserves on opening a frame, dropped again when the frame ends below 4
 * bytes (pickle.c's FRAME_HEADER_SIZE). */
#define PY_PICKLE_FRAME_ROOM ((size_t)9)

/* pickle.dumps: the buffer's growth, the array copies, the final shrink.
 * The last growth step is the reference pickle's length plus the frame room
 * when the schedule ends below it, never pickle_bound: the bound of the
 * 52 KB metrics pickle is 189 KB, above glibc's first mmap threshold, and
 * growing to it mapped and faulted 18 pages a call that CPython's buffer
 * (the schedule's last step, some 60 KB, from the heap) never does. The
 * pickle is the reference's byte for byte (cells_verify.c), so that is
 * room enough. */
uint8_t *py_pickle(cell *c, size_t *n)
{
    size_t i, cap = 4096, last = c->in.blob_len + PY_PICKLE_FRAME_ROOM;
    uint8_t *p = py_malloc(c, cap + PY_BYTES_HEAD), *q;
    *n = 0;
    if (!p) return NULL;
    for (i = 0; i < c->py_narrays; i++) {
        const pyobj *a = c->py_arrays[i];
        c->py_tmp[i] = py_malloc(c, a->u.arr.nbytes + PY_BYTES_HEAD);
        if (c->py_tmp[i]) memcpy(c->py_tmp[i], a->u.arr.data, a->u.arr.nbytes);
    }
    for (i = 0; i <= c->py_ncaps && p; i++) {
        size_t want = i < c->py_ncaps ? c->py_caps[i] : last;
        if (i == c->py_ncaps && want <= cap) break;
        q = py_realloc(c, p, want + PY_BYTES_HEAD, 0);
        if (!q) { py_dealloc(c, p); p = NULL; break; }
        p = q;
        cap = want;
    }
    if (p) *n = pickle_dump(c->in.obj, &c->in.popt, p, cap, c->errbuf, sizeof c->errbuf);
    if (p) py_wrote(p, *n + PY_BYTES_HEAD);
    if (p && *n && (q = py_realloc(c, p, *n + PY_BYTES_HEAD, SIZE_MAX)) != NULL) p = q;
    for (i = 0; i < c->py_narrays; i++) py_dealloc(c, c->py_tmp[i]);
    if (p && !*n) { py_dealloc(c, p); p = NULL; }
    return p;
}

/* Room beyond the compressed size found before timing. */
#define PY_SLACK ((size_t)64)


/* How the codec's Python binding allocates, from the facts of its row. */
py_binding py_binding_of(const codec_desc *k)
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
        py_wrote(c->py_tmp[i], k + PY_BYTES_HEAD);
        off += k;
    }
    for (i = nb; i-- > 0;) py_dealloc(c, c->py_tmp[i]);
}

/* The compressed bytes of blob, as the binding gives them; *r their size.
 * keep_bytesio: metaflow's path, which hands the BytesIO on unshrunk (its
 * byte_obj.read() copies before the write); otherwise getvalue()'s shrink. */
uint8_t *py_compress(cell *c, const uint8_t *blob, size_t n, size_t *r, int keep_bytesio)
{
    const codec_desc *k = c->spec.codec;
    size_t cap = c->cap[SLOT_STORED], nb, i;
    uint8_t *t, *p, *q, trailer[8];
    *r = 0;
    switch (py_binding_of(k)) {
    case PYB_LZ4:
        if (!(t = py_malloc_part(c, cap))) return NULL;
        *r = k->compress(c->cctx, blob, n, t, cap);
        if (codec_is_error(*r)) c->last_codec_err = *r;
        else py_wrote(t, *r);
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
        for (i = 0; i < nb; i++) c->py_tmp[i] = py_malloc_part(c, py_block(i) + PY_BYTES_HEAD);
        if (!(t = py_malloc_part(c, want + PY_BYTES_HEAD))) { py_blocks_fill_free(c, nb, NULL, 0); return NULL; }
        *r = k->compress(c->cctx, blob, n, t, want);
        if (!codec_is_error(*r)) c->py_clen = *r, py_wrote(t, *r + PY_BYTES_HEAD);
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
        if (!(q = py_realloc(c, p, *r + (*r >> 3) + 6 + PY_BYTES_HEAD, *r + PY_BYTES_HEAD))) {
            py_dealloc(c, p);
            return NULL;
        }
        p = q;
        memcpy(p + *r - 8, trailer, 8);
        if (!keep_bytesio && (q = py_realloc(c, p, *r + PY_BYTES_HEAD, SIZE_MAX)) != NULL) p = q;
        return p;
    }
    case PYB_BYTES:
    default:
        /* python-zstandard: a bytes of the bound, shrunk to the stream */
        p = cap + PY_BYTES_HEAD <= PY_SMALL_MAX ? c->py_small[SLOT_STORED] : py_malloc_part(c, cap + PY_BYTES_HEAD);
        if (!p) return NULL;
        *r = k->compress(c->cctx, blob, n, p, cap);
        if (codec_is_error(*r)) { c->last_codec_err = *r; py_free(c, SLOT_STORED, p); return NULL; }
        py_wrote(p, *r + PY_BYTES_HEAD);
        return p;
    }
}

/* One decompress(buf, sys.maxsize) of zlib's Decompress object: the output
 * in _BlocksOutputBuffer's blocks, one bytes when one block holds it (shrunk
 * in place), else the blocks joined into a new one and freed. The result's
 * size in *r; NULL on failure. */
static uint8_t *py_inflate_call(cell *c, z_stream *z, size_t *r)
{
    size_t nb = 0, total = 0, i, off;
    uint8_t *blk[32], *p;
    int ret;
    *r = 0;
    do {
        if (nb == sizeof blk / sizeof blk[0] || !(blk[nb] = py_malloc_part(c, py_block(nb) + PY_BYTES_HEAD))) {
            ret = Z_MEM_ERROR;
            break;
        }
        z->next_out = blk[nb];
        z->avail_out = (uInt)py_block(nb);
        ret = inflate(z, Z_SYNC_FLUSH);
        total += py_block(nb) - z->avail_out;
        py_wrote(blk[nb], py_block(nb) - z->avail_out + PY_BYTES_HEAD);
        nb++;
    } while (ret == Z_OK && z->avail_out == 0);
    if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) {
        for (i = nb; i-- > 0;) py_dealloc(c, blk[i]);
        return NULL;
    }
    if (nb == 1) {
        if (!(p = py_realloc(c, blk[0], total + PY_BYTES_HEAD, SIZE_MAX))) py_dealloc(c, blk[0]);
    } else {
        p = py_malloc(c, total + PY_BYTES_HEAD);
        for (i = 0, off = 0; p && i < nb; off += py_block(i), i++)
            memcpy(p + off, blk[i], total - off < py_block(i) ? total - off : py_block(i));
        for (i = nb; i-- > 0;) py_dealloc(c, blk[i]);
    }
    if (p) *r = total;
    return p;
}

/* GzipFile(fileobj=BytesIO(stored)).read() as CPython 3.11's gzip.py does
 * it (_GzipReader.read under DecompressReader.readall): a raw inflate (15
 * bits) fed 8 KiB reads of the BytesIO (io.DEFAULT_BUFFER_SIZE, each a new
 * bytes), each read's output a bytes of its own (py_inflate_call), zlib.crc32
 * over it, kept in a list, joined at the end; the trailer's CRC and size
 * checked. Against one inflate of the whole stream this is one call per
 * read and zlib copying each call's output into its window. The
 * interpreter's own cost per read is the Python run's `load-chunk` overhead
 * row (report_predict.c). The stream is casbench's: a 10-byte header. */
static uint8_t *py_gzipfile_read(cell *c)
{
    const uint8_t *in = c->stored_in;
    size_t len = c->stored_len, pos = 10, n = 0, got = 0, r, i;
    uint8_t *p = NULL;
    uLong crc = crc32(0, Z_NULL, 0);
    z_stream z;
    int done = 0;
    if (len < 18 || in[0] != 0x1f || in[1] != 0x8b || in[2] != 8 || in[3] != 0) return NULL;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return NULL;
    while (!done && pos < len) {
        size_t k = len - pos < 8192 ? len - pos : 8192;
        uint8_t *rd, *out;
        if (n == c->py_ntmp || !(rd = py_malloc(c, k + PY_BYTES_HEAD))) break;
        memcpy(rd, in + pos, k);
        z.next_in = rd;
        z.avail_in = (uInt)k;
        out = py_inflate_call(c, &z, &r);
        done = z.avail_in > 0 || (out && r == 0);
        pos += k - z.avail_in;    /* what inflate leaves is the trailer (unused_data) */
        py_dealloc(c, rd);
        if (!out) break;
        if (!r) { py_dealloc(c, out); continue; }
        crc = crc32(crc, out, (uInt)r);
        c->py_tmp[n] = out;
        c->py_tmp_len[n++] = r;
        got += r;
    }
    inflateEnd(&z);
    if (pos + 8 <= len && le(in + pos, 4) == (crc & 0xffffffffu) && le(in + pos + 4, 4) == (got & 0xffffffffu) &&
        got == c->in.blob_len && (p = py_result(c, SLOT_PLAIN, got)) != NULL)
        for (i = 0, r = 0; i < n; r += c->py_tmp_len[i], i++) memcpy(p + r, c->py_tmp[i], c->py_tmp_len[i]);
    for (i = n; i-- > 0;) py_dealloc(c, c->py_tmp[i]);
    return p;
}

/* The plain bytes of c->stored_in as the binding gives them (NULL on
 * failure, with last_codec_err set when the codec failed). gzip-compatible:
 * gzip.decompress for the decompress stage, GzipFile(fileobj=BytesIO(data))
 * .read() for load and load+verify, as metaflow reads. */
uint8_t *py_decompress(cell *c)
{
    const codec_desc *k = c->spec.codec;
    size_t n = c->in.blob_len, r, nb, i;
    uint8_t *t = NULL, *p;
    if (py_binding_of(k) == PYB_LZ4) {
        /* python-lz4 4.0's lz4.frame.decompress: a PyMem_Malloc'd buffer of
         * the content size, copied into a bytes (PyBytes_FromStringAndSize)
         * and freed (its _frame.c __decompress; perf of CPython shows that
         * memmove beside LZ4's decoder; its 2.x decoded into the bytes) */
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
        return py_gzipfile_read(c);
    }
    for (i = 0; i < nb; i++) c->py_tmp[i] = py_malloc_part(c, py_block(i) + PY_BYTES_HEAD);
    p = py_result(c, SLOT_PLAIN, n);
    r = p ? k->decompress(c->cctx, c->stored_in, c->stored_len, p, n) : 0;
    if (p && codec_is_error(r)) c->last_codec_err = r;
    py_blocks_fill_free(c, nb, p && !codec_is_error(r) ? p : NULL, p && !codec_is_error(r) ? r : 0);
    py_dealloc(c, t);
    if (p && codec_is_error(r)) { py_free(c, SLOT_PLAIN, p); return NULL; }
    return p;
}

/* What a cpython cell knows before timing: the pickle buffer's growth, the
 * arrays, room for scratch pointers. */
int py_prepare(cell *c, char *err, size_t errlen)
{
    cell_stage st = c->spec.stage;
    int saves = st == CELL_SAVE || st == CELL_SAVE_STORE;
    if (c->in.obj && (st == CELL_PICKLE || saves)) {
        py_pickle_schedule(c);
        py_find_arrays(c, c->in.obj, 0);
    }
    /* A process that holds this payload has freed a bytes of its pickle once,
     * mapped when above the threshold: the blob it unpickled (python_path.py
     * reads each payload's from `casbench pickle` before any cell; a metaflow
     * load), or that of its first save. CPython's threshold is then at least
     * that chunk's size: what every later call of this run's cells meets. */
    py_threshold_raise(py_mmap_chunk(c->in.blob_len + PY_BYTES_HEAD), 0);
    py_base_fixed = 1;
    py_alloc_base();
    /* scratch pointers: zlib's blocks, GzipFile.read's 8 KiB reads (a
     * stored stream is at most a few bytes per 16 KiB larger), the arrays */
    c->py_ntmp = c->in.blob_len / 8192 + 64 + c->py_narrays;
    c->py_tmp = calloc(c->py_ntmp, sizeof *c->py_tmp);
    c->py_tmp_len = calloc(c->py_ntmp, sizeof *c->py_tmp_len);
    if (!c->py_tmp || !c->py_tmp_len) return cb_err(err, errlen, "out of memory");
    return 0;
}

/* The block that stands for the objects a CPython process holds above the
 * memory its calls free (py_settle); one for the process, the last settled
 * cell's. */
static void *py_pin;
#define PY_WARM_PASSES 10
#define PY_WARM_NS 3000000LL
static void *py_last_brk;
static size_t py_last_free;

/* Whether the heap is as py_last's settle left it: the same break and, of
 * its free bytes, at most the few hundred the harness's bookkeeping takes
 * between two batches (more, and a piece of the hole may be gone);
 * `record` records it. */
static int py_heap_same(int record)
{
    void *b = sbrk(0);
    size_t f = mallinfo2().fordblks;
    int same = b == py_last_brk && f <= py_last_free && py_last_free - f <= 4096;
    if (record) py_last_brk = b, py_last_free = f;
    return same;
}

/* The free memory below the trimmed break: the holes casbench's own buffers
 * (payload blobs, load inputs, verified outputs) leave between them, and
 * what earlier cells freed there. glibc serves a request above the mmap
 * threshold from such a hole when one is large enough and maps it only
 * otherwise, so the holes made a cell's faults, and what py_settle measured
 * of it, depend on what ran before (weights save lz4: 0, 1954 or 5861
 * faults an iteration by the cells around it). py_settle takes them all
 * (py_plug) before it measures or holds: every batch meets the break, the
 * hole py_hold keeps above it, and nothing else, whatever ran before. The
 * pieces are never freed, so a settle takes only the holes made since the
 * last: freeing them all at every settle and taking them again made the
 * trims and plugging 4.3 s of an A/A matrix run (malloc_trim handing them
 * back, a page fault for each piece's header when taken again), 1.8 s with
 * the pieces kept (the trim alone, without plugging: 2.1 s). They hold no more
 * than the holes the run has made below its break (some 290 pieces in that
 * run, one page of each resident); the break then stays above the highest
 * piece, where a chunk of casbench's had put it. */
static void **py_plugs;
static size_t py_nplugs, py_plugs_cap;

/* Pieces of decreasing sizes until glibc serves one from the top chunk,
 * which starts keepcost bytes below the break: no hole of that size is
 * left below it. A run of weights and metrics had some 50 MB of holes at
 * every settle (its trimmed break some 290 MB above the heap's start); in
 * pieces of 64 KiB down to 64 bytes, plugging them took some 1,500 mallocs,
 * frees and page faults (each piece's header, in a hole malloc_trim had
 * returned) per settle, 3,800 in an A/A matrix run: 20 s of its 100. The
 * sizes fall by 4 from 16 MiB: a hole takes at most three pieces of each.
 * A piece at or above the mmap threshold would be mapped, not taken from a
 * hole: those sizes are skipped. Holes under 4 KiB stay: they hold no page
 * malloc_trim could return, so a request they serve faults at most a page
 * less than one the top serves. */
static void py_plug(void)
{
    static const size_t sizes[] = {16 << 20, 4 << 20, 1 << 20, 256 << 10, 64 << 10, 16 << 10, 4 << 10};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        if (sizes[k] >= py_threshold) continue;
        uint8_t *top = (uint8_t *)sbrk(0) - mallinfo2().keepcost;
        for (;;) {
            uint8_t *p = malloc(sizes[k]);
            if (!p) return;
            if (p >= top) {
                free(p);
                break;
            }
            if (py_nplugs == py_plugs_cap) {
                size_t cap = py_plugs_cap ? 2 * py_plugs_cap : 1024;
                void **q = realloc(py_plugs, cap * sizeof *q);
                if (!q) { free(p); return; }
                py_plugs = q;
                py_plugs_cap = cap;
            }
            py_plugs[py_nplugs++] = p;
        }
    }
}

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
 * batch, except the next batch of the cell settled last while the heap is
 * as that settle left it (a round's sub-batches): a CPython process does not
 * trim its heap between calls either. The settle trims the heap
 * (malloc_trim: what other cells left is returned) and takes the holes left
 * below its break (py_plug). The first time, one untimed iteration measures
 * what the call holds on the heap and how far the heap reaches. When that
 * stays under glibc's trim threshold (twice the mmap threshold), CPython
 * keeps the memory between calls: it is held here (py_hold), the objects a
 * CPython process holds lying above it, and touched by untimed warm-up
 * iterations; otherwise glibc trims it after every call, under CPython as
 * here, and every call starts from a trimmed heap. What does not fit the
 * call's own freed memory (a request larger than any it freed, above the
 * mmap threshold) gets new pages every time. The threshold is process-wide
 * and only rises in CPython: glibc's is set to the modelled one
 * (py_threshold) here, whatever casbench's own buffers did to it. */
void py_settle(void *ctx)
{
    cell *c = ctx;
    gb_iter_fn run = iteration_of(c);
    uint8_t *start;
    if (c->ho) wake_worker(c);
    /* The next batch of the cell just settled and held (a round's sub-batches)
     * finds the heap as that one left it, as a CPython process keeps its heap
     * pages between calls: trimmed and faulted in again before each batch,
     * an 8 MB copy was 1.4-1.7x slower for its next few passes
     * (infra/refault_copy.sh), which the copy-bound rows measured. */
    if (c == py_last && py_pin && c->py_settled_at == py_threshold && py_heap_same(0)) return;
    py_last = NULL;
    free(py_pin);
    py_pin = NULL;
    py_threshold_apply();
    malloc_trim(0);
    py_plug();
    malloc_trim(0);
    start = sbrk(0);
    /* Measured again when the threshold has risen since: a run's cells are
     * calibrated as they are created, payload after payload, before the
     * later payloads have raised it (python_path.py's process holds every
     * payload before its first call). */
    if (!c->py_settled || c->py_settled_at != py_threshold) {
        c->py_settled_at = py_threshold;
        c->py_peak = start;
        c->py_live = c->py_live_peak = 0;
        c->py_tracking = 1;
        (void)run(c);               /* a failure shows in the timed loop */
        c->py_tracking = 0;
        if (cell_stores(c)) store_remove(c);
        /* the heap the call needs: how far it grew the break, or what it
         * held at once when part of that came from free space below */
        c->py_extent = c->py_peak - start;
        if (c->py_live_peak > c->py_extent) c->py_extent = (ptrdiff_t)c->py_live_peak;
        c->py_held = (unsigned long long)c->py_live_peak < 2 * (unsigned long long)py_threshold;
        c->py_settled = 1;
    }
    if (!c->py_held) return;    /* each call starts from a trimmed heap */
    py_hold(c, start);
    /* Pages faulted in again stay slow for their next few passes
     * (infra/refault_copy.sh, 8 MB copy: 1.6x after one, 1.15x after five,
     * none after twenty): warm-up passes until PY_WARM_PASSES or
     * PY_WARM_NS, at least one, so that a short cell's batch meets the heap
     * of a process that has made the call many times. */
    int64_t t0 = mono_ns();
    for (int k = 0; k < PY_WARM_PASSES; k++) {
        (void)run(c);
        if (cell_stores(c)) store_remove(c);
        if (mono_ns() - t0 >= PY_WARM_NS) break;
    }
    py_last = c;
    (void)py_heap_same(1);
}

