/* codec_zlib.c - gzip:L, the stream CPython's gzip.GzipFile writes (the save
 * path of today's metaflow), built from zlib's raw deflate and our own header
 * and trailer so that the bytes equal CPython's for every level. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec_impl.h"

typedef struct {
    int level;
    z_stream def;   /* raw deflate, set up once; deflateReset per call */
    z_stream inf;   /* gzip-wrapped inflate (windowBits 15 + 16) */
    codec_stream out;   /* the stream being written */
    uLong crc;
} zlib_ctx;

/* zlib counts in uInt: larger buffers go in CODEC_STEP pieces. */
_Static_assert(CODEC_STEP <= UINT_MAX, "zlib's uInt holds a CODEC_STEP piece");

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void codec_gzip_header(uint8_t *dst, int level)
{
    static const uint8_t head[4] = {0x1f, 0x8b, 0x08, 0x00};
    memcpy(dst, head, 4);
    put_le32(dst + 4, 0);   /* mtime 0: reproducible streams */
    /* CPython's gzip.py: XFL 2 for the slowest level, 4 for the fastest. */
    dst[8] = level == 9 ? 2 : level == 1 ? 4 : 0;
    dst[9] = 0xff;          /* OS "unknown", as CPython writes */
}

size_t codec_gzip_isize(const void *src, size_t n)
{
    const uint8_t *s = src;
    if (n < CODEC_GZIP_HEADER + CODEC_GZIP_TRAILER || s[0] != 0x1f || s[1] != 0x8b)
        return CODEC_SIZE_UNKNOWN;
    return le32(s + n - 4);
}

size_t codec_gzip_after_member(const uint8_t *src, size_t n, size_t used)
{
    size_t i;
    if (used >= n)
        return 0;
    if (src[used] == 0x1f)
        return 1;
    for (i = used; i < n; i++)
        if (src[i] != 0)
            return CODEC_ERROR(CODEC_ERR_CORRUPT);
    return 0;
}

size_t codec_gzip_decode_members(void *ctx, codec_gzip_member_fn member,
                                 const void *src, size_t n, void *dst, size_t cap)
{
    const uint8_t *in = src;
    uint8_t *out = dst;
    size_t pos = 0, total = 0;

    if (n == 0)
        return CODEC_ERROR(CODEC_ERR_TRUNCATED);
    for (;;) {
        size_t used = 0, made = 0, r;
        r = member(ctx, in + pos, n - pos, out + total, cap - total, &used, &made);
        if (codec_is_error(r))
            return r;
        pos += used;
        total += made;
        r = codec_gzip_after_member(in, n, pos);
        if (codec_is_error(r))
            return r;
        if (r == 0)
            return total;
    }
}

const char *codec_zlib_version(void) { return zlibVersion(); }

size_t codec_zlib_bound(size_t src_size, int level)
{
    (void)level;
    /* compressBound() covers a zlib-wrapped stream at memLevel 8, whose
     * 6-byte wrapper is larger than nothing: it bounds the raw stream too.
     * It is computed in uLong, which is 64 bits on the platforms we build. */
    size_t b = compressBound((uLong)src_size);
    /* Huge inputs are fed in CODEC_STEP pieces: allow a stored block header
     * per piece beyond what compressBound assumed. */
    return b + CODEC_GZIP_HEADER + CODEC_GZIP_TRAILER + 16 * (src_size / CODEC_STEP + 1);
}

static int zlib_init(void *ctx, int level)
{
    zlib_ctx *c = ctx;
    c->level = level;
    return codec_zlib_pair_init(&c->def, &c->inf, level, -MAX_WBITS, MAX_WBITS + 16);
}

static void zlib_fini(void *ctx)
{
    zlib_ctx *c = ctx;
    codec_zlib_pair_end(&c->def, &c->inf);
}

CODEC_CONTEXT(zlib, zlib_ctx, zlib_init, zlib_fini)

int codec_zlib_pair_init(z_stream *def, z_stream *inf, int level, int deflate_bits, int inflate_bits)
{
    if (deflateInit2(def, level, Z_DEFLATED, deflate_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    if (inflateInit2(inf, inflate_bits) != Z_OK) {
        deflateEnd(def);
        return -1;
    }
    return 0;
}

void codec_zlib_pair_end(z_stream *def, z_stream *inf)
{
    deflateEnd(def);
    inflateEnd(inf);
}

/* crc32 over p[0..n), continuing from crc; zlib counts in uInt, so larger
 * buffers go in pieces. */
static uLong gzip_crc(uLong crc, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t step = n < CODEC_STEP ? n : CODEC_STEP;
        crc = crc32(crc, p, (uInt)step);
        p += step;
        n -= step;
    }
    return crc;
}

/* Starts a gzip stream of `total` input bytes in dst (cap bytes): the
 * header written, the deflate stream reset to write after it, the
 * trailer's room kept. 0 or an error. */
static size_t gzip_begin(zlib_ctx *c, size_t total, void *dst, size_t cap)
{
    if (cap < CODEC_GZIP_HEADER + CODEC_GZIP_TRAILER)
        return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    if (deflateReset(&c->def) != Z_OK)
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    codec_gzip_header(dst, c->level);
    codec_stream_begin(&c->out, total, dst, cap);
    c->out.left -= CODEC_GZIP_HEADER + CODEC_GZIP_TRAILER;
    c->def.next_out = c->out.dst + CODEC_GZIP_HEADER;
    return 0;
}

/* Writes the trailer after the finished deflate stream: CRC32 and ISIZE
 * (the input size mod 2^32). Returns the stream's size. */
static size_t gzip_end(zlib_ctx *c, uLong crc, size_t total)
{
    put_le32(c->def.next_out, (uint32_t)crc);
    put_le32(c->def.next_out + 4, (uint32_t)total);
    return (size_t)(c->def.next_out + CODEC_GZIP_TRAILER - c->out.dst);
}

size_t codec_zlib_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    zlib_ctx *c = ctx;
    size_t r = gzip_begin(c, n, dst, cap);
    if (r == 0)
        r = codec_deflate_run(&c->def, src, n, Z_FINISH, &c->out.left);
    if (r != 0)
        return r;
    return gzip_end(c, gzip_crc(crc32(0L, Z_NULL, 0), src, n), n);
}

static const codec_error_map inflate_errors[] = {
    {Z_DATA_ERROR, CODEC_ERR_CORRUPT},
    {Z_MEM_ERROR, CODEC_ERR_ALLOC},
};

size_t codec_inflate_error(const z_stream *inf, int rc)
{
    (void)inf;
    return CODEC_ERROR_FROM(inflate_errors, rc);
}

size_t codec_decode_one(void *dec, codec_step_fn step, const uint8_t *in, size_t n,
                        uint8_t *out, size_t cap, size_t *used, size_t *made)
{
    size_t ipos = 0, opos = 0;
    uint8_t probe[64];

    for (;;) {
        size_t step_in = n - ipos < CODEC_STEP ? n - ipos : CODEC_STEP;
        /* Once the output is full (and the stream has not ended), decode
         * into a scratch buffer: output there means the caller's buffer is
         * too small; none, and only the trailer was left. */
        int probing = opos == cap;
        size_t step_out = probing ? sizeof probe : (cap - opos < CODEC_STEP ? cap - opos : CODEC_STEP);
        size_t read = 0, written = 0;
        /* (in + ipos only where it points into in: NULL + 0 is undefined.) */
        size_t r = step(dec, step_in ? in + ipos : in, step_in, 0, probing ? probe : out + opos,
                        step_out, &read, &written);
        ipos += read;
        if (probing && written)
            return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
        if (!probing)
            opos += written;
        if (r == CODEC_STEP_END)
            break;
        if (r != CODEC_STEP_MORE)
            return r;
        /* All input read, room left, stream not ended: it was cut short. */
        if (ipos == n && written < step_out)
            return CODEC_ERROR(CODEC_ERR_TRUNCATED);
        if (read == 0 && written == 0)
            return CODEC_ERROR(CODEC_ERR_LIBRARY);   /* no progress: never spin */
    }
    *used = ipos;
    *made = opos;
    return 0;
}

/* zlib's inflate as a codec_step_fn, its codes translated by on_error. */
typedef struct {
    z_stream *inf;
    codec_inflate_error_fn on_error;
} inflate_call;

static size_t inflate_step(void *dec, const uint8_t *in, size_t in_n, int last, uint8_t *out,
                           size_t out_n, size_t *read, size_t *written)
{
    inflate_call *ic = dec;
    (void)last;
    z_stream *inf = ic->inf;
    int rc;
    inf->next_in = (Bytef *)(uintptr_t)in;   /* zlib's API is not const */
    inf->avail_in = (uInt)in_n;
    inf->next_out = out;
    inf->avail_out = (uInt)out_n;
    rc = inflate(inf, Z_NO_FLUSH);
    *read = in_n - inf->avail_in;
    *written = out_n - inf->avail_out;
    if (rc == Z_STREAM_END)
        return CODEC_STEP_END;
    if (rc == Z_OK || rc == Z_BUF_ERROR)
        return CODEC_STEP_MORE;
    return ic->on_error(inf, rc);
}

size_t codec_inflate_one(z_stream *inf, codec_inflate_error_fn on_error, const uint8_t *in, size_t n,
                         uint8_t *out, size_t cap, size_t *used, size_t *made)
{
    inflate_call ic = {inf, on_error};
    return codec_decode_one(&ic, inflate_step, in, n, out, cap, used, made);
}

/* One member from in[0..n) into out[0..cap); *used and *made receive the
 * bytes read and written. zlib checks the header, CRC32 and ISIZE. */
static size_t zlib_member(void *ctx, const uint8_t *in, size_t n, uint8_t *out,
                          size_t cap, size_t *used, size_t *made)
{
    zlib_ctx *c = ctx;
    if (inflateReset(&c->inf) != Z_OK)
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    return codec_inflate_one(&c->inf, codec_inflate_error, in, n, out, cap, used, made);
}

size_t codec_zlib_decompress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    return codec_gzip_decode_members(ctx, zlib_member, src, n, dst, cap);
}

size_t codec_zlib_stream_begin(void *ctx, size_t total, void *dst, size_t cap)
{
    zlib_ctx *c = ctx;
    size_t r = gzip_begin(c, total, dst, cap);
    if (r != 0)
        return r;
    c->crc = crc32(0L, Z_NULL, 0);
    return 0;
}

size_t codec_encode_run(void *enc, codec_step_fn step, const uint8_t *in, size_t n, int last,
                        uint8_t *out, size_t *room)
{
    size_t ipos = 0;
    for (;;) {
        size_t step_in = n - ipos < CODEC_STEP ? n - ipos : CODEC_STEP;
        size_t step_out = *room < CODEC_STEP ? *room : CODEC_STEP;
        size_t read = 0, written = 0;
        /* (Pointers move only by what was read or written: a stream's
         * end has no input, NULL, and NULL + 0 is undefined.) */
        size_t r = step(enc, step_in ? in + ipos : in, step_in, last && step_in == n - ipos, out,
                        step_out, &read, &written);
        ipos += read;
        if (written)
            out += written;
        *room -= written;
        if (r != CODEC_STEP_MORE && r != CODEC_STEP_END)
            return r;
        if (last ? r == CODEC_STEP_END : ipos == n)
            return 0;
        if (*room == 0)
            return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    }
}

/* zlib's deflate as a codec_step_fn: Z_FINISH with the last input. */
static size_t deflate_step(void *enc, const uint8_t *in, size_t in_n, int last, uint8_t *out,
                           size_t out_n, size_t *read, size_t *written)
{
    z_stream *def = enc;
    int rc;
    def->next_in = (Bytef *)(uintptr_t)in;   /* zlib's API is not const */
    def->avail_in = (uInt)in_n;
    def->next_out = out;
    def->avail_out = (uInt)out_n;
    rc = deflate(def, last ? Z_FINISH : Z_NO_FLUSH);
    *read = in_n - def->avail_in;
    *written = out_n - def->avail_out;
    if (rc == Z_STREAM_ERROR)
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    return rc == Z_STREAM_END ? CODEC_STEP_END : CODEC_STEP_MORE;
}

size_t codec_deflate_run(z_stream *def, const uint8_t *in, size_t n, int flush, size_t *room)
{
    return codec_encode_run(def, deflate_step, in, n, flush == Z_FINISH, def->next_out, room);
}

size_t codec_deflate_finish(z_stream *def, codec_stream *s)
{
    size_t r = codec_stream_count_end(&s->count);
    return r != 0 ? r : codec_deflate_run(def, NULL, 0, Z_FINISH, &s->left);
}

size_t codec_zlib_stream_update(void *ctx, const void *src, size_t n)
{
    zlib_ctx *c = ctx;
    size_t r = codec_stream_count_add(&c->out.count, n);
    if (r != 0)
        return r;
    c->crc = gzip_crc(c->crc, src, n);
    return codec_deflate_run(&c->def, src, n, Z_NO_FLUSH, &c->out.left);
}

size_t codec_zlib_stream_end(void *ctx)
{
    zlib_ctx *c = ctx;
    size_t r = codec_deflate_finish(&c->def, &c->out);
    return codec_is_error(r) ? r : gzip_end(c, c->crc, c->out.count.total);
}
