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
    /* The stream being written by the streaming calls. */
    uint8_t *sdst;
    size_t scap, sleft, total, fed;
    uLong crc;
} zlib_ctx;

/* zlib counts in uInt: feed larger buffers in pieces. */
#define ZLIB_STEP ((size_t)UINT_MAX & ~(size_t)0xffff)

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
    /* Huge inputs are fed in ZLIB_STEP pieces: allow a stored block header
     * per piece beyond what compressBound assumed. */
    return b + CODEC_GZIP_HEADER + CODEC_GZIP_TRAILER + 16 * (src_size / ZLIB_STEP + 1);
}

void *codec_zlib_create(int level)
{
    zlib_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->level = level;
    if (codec_zlib_pair_init(&c->def, &c->inf, level, -MAX_WBITS, MAX_WBITS + 16) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

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

void codec_zlib_destroy(void *ctx)
{
    zlib_ctx *c = ctx;
    if (!c)
        return;
    codec_zlib_pair_end(&c->def, &c->inf);
    free(c);
}

size_t codec_zlib_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    zlib_ctx *c = ctx;
    uint8_t *out = dst;
    const uint8_t *in = src;
    size_t in_left = n, out_left, crc_done = 0;
    uLong crc = crc32(0L, Z_NULL, 0);
    int rc;

    if (cap < CODEC_GZIP_HEADER + CODEC_GZIP_TRAILER)
        return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    if (deflateReset(&c->def) != Z_OK)
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    codec_gzip_header(out, c->level);
    out_left = cap - CODEC_GZIP_HEADER - CODEC_GZIP_TRAILER;
    c->def.next_out = out + CODEC_GZIP_HEADER;
    c->def.next_in = (Bytef *)(uintptr_t)in;   /* zlib's API is not const */
    do {
        size_t step_in = in_left < ZLIB_STEP ? in_left : ZLIB_STEP;
        size_t step_out = out_left < ZLIB_STEP ? out_left : ZLIB_STEP;
        c->def.avail_in = (uInt)step_in;
        c->def.avail_out = (uInt)step_out;
        rc = deflate(&c->def, in_left == step_in ? Z_FINISH : Z_NO_FLUSH);
        in_left -= step_in - c->def.avail_in;
        out_left -= step_out - c->def.avail_out;
        if (rc == Z_STREAM_ERROR)
            return CODEC_ERROR(CODEC_ERR_LIBRARY);
        if (rc != Z_STREAM_END && out_left == 0)
            return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    } while (rc != Z_STREAM_END);
    /* crc32 also counts in uInt. */
    while (crc_done < n) {
        size_t step = n - crc_done < ZLIB_STEP ? n - crc_done : ZLIB_STEP;
        crc = crc32(crc, in + crc_done, (uInt)step);
        crc_done += step;
    }
    put_le32(c->def.next_out, (uint32_t)crc);
    put_le32(c->def.next_out + 4, (uint32_t)n);   /* ISIZE is n mod 2^32 */
    return (size_t)(c->def.next_out + CODEC_GZIP_TRAILER - out);
}

static size_t gzip_inflate_error(const z_stream *inf, int rc)
{
    (void)inf;
    switch (rc) {
    case Z_DATA_ERROR:
        return CODEC_ERROR(CODEC_ERR_CORRUPT);
    case Z_MEM_ERROR:
        return CODEC_ERROR(CODEC_ERR_ALLOC);
    default:
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    }
}

size_t codec_inflate_one(z_stream *inf, codec_inflate_error_fn on_error, const uint8_t *in, size_t n,
                         uint8_t *out, size_t cap, size_t *used, size_t *made)
{
    size_t in_left = n, out_left = cap;
    uint8_t probe[64];
    int rc, probing = 0;

    inf->next_in = (Bytef *)(uintptr_t)in;   /* zlib's API is not const */
    inf->next_out = out;
    for (;;) {
        size_t step_in = in_left < ZLIB_STEP ? in_left : ZLIB_STEP;
        size_t step_out;
        if (!probing && out_left == 0) {
            /* The output is full and the stream has not ended: decode into
             * a scratch buffer to learn whether more output follows (the
             * caller's buffer is too small) or only the trailer (done). */
            probing = 1;
            inf->next_out = probe;
        }
        step_out = probing ? sizeof probe : (out_left < ZLIB_STEP ? out_left : ZLIB_STEP);
        inf->avail_in = (uInt)step_in;
        inf->avail_out = (uInt)step_out;
        rc = inflate(inf, Z_NO_FLUSH);
        in_left -= step_in - inf->avail_in;
        if (probing) {
            if (inf->avail_out != step_out)
                return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
        } else {
            out_left -= step_out - inf->avail_out;
        }
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return on_error(inf, rc);
        /* All input read, room left, stream not ended: it was cut short. */
        if (in_left == 0 && inf->avail_out != 0)
            return CODEC_ERROR(CODEC_ERR_TRUNCATED);
        if (inf->avail_in == step_in && inf->avail_out == step_out)
            return CODEC_ERROR(CODEC_ERR_LIBRARY);   /* no progress: never spin */
    }
    *used = n - in_left;
    *made = cap - out_left;
    return 0;
}

/* One member from in[0..n) into out[0..cap); *used and *made receive the
 * bytes read and written. zlib checks the header, CRC32 and ISIZE. */
static size_t zlib_member(void *ctx, const uint8_t *in, size_t n, uint8_t *out,
                          size_t cap, size_t *used, size_t *made)
{
    zlib_ctx *c = ctx;
    if (inflateReset(&c->inf) != Z_OK)
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    return codec_inflate_one(&c->inf, gzip_inflate_error, in, n, out, cap, used, made);
}

size_t codec_zlib_decompress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    return codec_gzip_decode_members(ctx, zlib_member, src, n, dst, cap);
}

size_t codec_zlib_content_size(const void *src, size_t n)
{
    return codec_gzip_isize(src, n);
}

size_t codec_zlib_stream_begin(void *ctx, size_t total, void *dst, size_t cap)
{
    zlib_ctx *c = ctx;
    if (cap < CODEC_GZIP_HEADER + CODEC_GZIP_TRAILER)
        return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    if (deflateReset(&c->def) != Z_OK)
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    codec_gzip_header(dst, c->level);
    c->sdst = dst;
    c->scap = cap;
    c->sleft = cap - CODEC_GZIP_HEADER - CODEC_GZIP_TRAILER;   /* the trailer's room kept */
    c->def.next_out = c->sdst + CODEC_GZIP_HEADER;
    c->total = total;
    c->fed = 0;
    c->crc = crc32(0L, Z_NULL, 0);
    return 0;
}

size_t codec_deflate_run(z_stream *def, const uint8_t *in, size_t n, int flush, size_t *room)
{
    size_t in_left = n;
    def->next_in = (Bytef *)(uintptr_t)in;   /* zlib's API is not const */
    for (;;) {
        size_t step_in = in_left < ZLIB_STEP ? in_left : ZLIB_STEP;
        size_t step_out = *room < ZLIB_STEP ? *room : ZLIB_STEP;
        int rc;
        def->avail_in = (uInt)step_in;
        def->avail_out = (uInt)step_out;
        rc = deflate(def, step_in == in_left ? flush : Z_NO_FLUSH);
        in_left -= step_in - def->avail_in;
        *room -= step_out - def->avail_out;
        if (rc == Z_STREAM_ERROR)
            return CODEC_ERROR(CODEC_ERR_LIBRARY);
        if (rc == Z_STREAM_END || (flush == Z_NO_FLUSH && in_left == 0))
            return 0;
        if (*room == 0)
            return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    }
}

size_t codec_zlib_stream_update(void *ctx, const void *src, size_t n)
{
    zlib_ctx *c = ctx;
    size_t done = 0;
    if (n > c->total - c->fed)
        return CODEC_ERROR(CODEC_ERR_CORRUPT);
    while (done < n) {
        size_t step = n - done < ZLIB_STEP ? n - done : ZLIB_STEP;
        c->crc = crc32(c->crc, (const Bytef *)src + done, (uInt)step);
        done += step;
    }
    c->fed += n;
    return codec_deflate_run(&c->def, src, n, Z_NO_FLUSH, &c->sleft);
}

size_t codec_zlib_stream_end(void *ctx)
{
    zlib_ctx *c = ctx;
    size_t r;
    if (c->fed != c->total)
        return CODEC_ERROR(CODEC_ERR_CORRUPT);
    r = codec_deflate_run(&c->def, NULL, 0, Z_FINISH, &c->sleft);
    if (codec_is_error(r))
        return r;
    put_le32(c->def.next_out, (uint32_t)c->crc);
    put_le32(c->def.next_out + 4, (uint32_t)c->total);
    return (size_t)(c->def.next_out + CODEC_GZIP_TRAILER - c->sdst);
}
