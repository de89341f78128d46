/* codec_zlibfmt.c - zlib:L, the zlib format (RFC 1950: a 2-byte header, raw
 * deflate, an Adler-32 trailer), as CPython's zlib.compress(blob, L) writes
 * it: deflateInit2 with windowBits 15, memLevel 8, the default strategy, so
 * the bytes equal CPython's at every level. PR #3090's micro suite times it;
 * it is not a gzip stream, and today's metaflow cannot read it. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec_impl.h"

typedef struct {
    z_stream def;   /* zlib-wrapped deflate, set up once; deflateReset per call */
    z_stream inf;   /* zlib-wrapped inflate only (windowBits 15: no gzip detection) */
    codec_stream out;   /* the stream the streaming calls write */
} zlibfmt_ctx;

/* zlib counts in uInt: larger buffers go in CODEC_STEP pieces. */
_Static_assert(CODEC_STEP <= UINT_MAX, "zlib's uInt holds a CODEC_STEP piece");
#define ZLIB_WRAPPER 6   /* 2-byte header, 4-byte Adler-32 */

const char *codec_zlibfmt_version(void) { return zlibVersion(); }

size_t codec_zlibfmt_bound(size_t src_size, int level)
{
    (void)level;
    /* compressBound() is the zlib-wrapped stream's bound at memLevel 8, in
     * uLong (64 bits where we build); add a stored block header for each
     * CODEC_STEP piece a huge input is fed in. */
    return compressBound((uLong)src_size) + ZLIB_WRAPPER + 16 * (src_size / CODEC_STEP + 1);
}

static int zlibfmt_init(void *ctx, int level)
{
    zlibfmt_ctx *c = ctx;
    return codec_zlib_pair_init(&c->def, &c->inf, level, MAX_WBITS, MAX_WBITS);
}

static void zlibfmt_fini(void *ctx)
{
    zlibfmt_ctx *c = ctx;
    codec_zlib_pair_end(&c->def, &c->inf);
}

CODEC_CONTEXT(zlibfmt, zlibfmt_ctx, zlibfmt_init, zlibfmt_fini)

/* The output room CPython's zlib.compress gives each deflate() call: its
 * output buffer grows by these blocks (the last one repeating). At levels
 * 1..9 the bytes do not depend on it; at level 0 a stored block ends where a
 * call's room ends, so the same rooms give the same bytes. */
static const size_t cpython_blocks[] = {
    32 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20, 16 << 20,
    32 << 20, 32 << 20, 32 << 20, 32 << 20, 64 << 20, 64 << 20, 128 << 20, 128 << 20, 256 << 20,
};

/* One zlib.compress(src, level): every input byte offered at once with
 * Z_FINISH (CPython does so below 4 GiB), the output in cpython_blocks. */
size_t codec_zlibfmt_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    zlibfmt_ctx *c = ctx;
    size_t in_left = n, out_left = cap, block = 0;
    int rc;
    if (deflateReset(&c->def) != Z_OK)
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    c->def.next_in = (Bytef *)(uintptr_t)src;   /* zlib's API is not const */
    c->def.next_out = dst;
    do {
        size_t nb = sizeof cpython_blocks / sizeof cpython_blocks[0];
        size_t step_in = in_left < CODEC_STEP ? in_left : CODEC_STEP;
        size_t room = cpython_blocks[block < nb ? block : nb - 1];
        size_t step_out = out_left < room ? out_left : room;
        if (step_out == 0)
            return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
        block++;
        c->def.avail_in = (uInt)step_in;
        c->def.avail_out = (uInt)step_out;
        rc = deflate(&c->def, step_in == in_left ? Z_FINISH : Z_NO_FLUSH);
        in_left -= step_in - c->def.avail_in;
        out_left -= step_out - c->def.avail_out;
        if (rc == Z_STREAM_ERROR)
            return CODEC_ERROR(CODEC_ERR_LIBRARY);
    } while (rc != Z_STREAM_END);
    return cap - out_left;
}

/* codec_inflate_error, and what the zlib format adds to a gzip member's
 * errors: a preset dictionary and the Adler-32 told apart. */
static size_t inflate_error(const z_stream *inf, int rc)
{
    if (rc == Z_NEED_DICT)   /* FDICT set: a preset dictionary we do not have */
        return CODEC_ERROR(CODEC_ERR_CORRUPT);
    /* zlib's message for a wrong Adler-32 is "incorrect data check" */
    if (rc == Z_DATA_ERROR && inf->msg && strstr(inf->msg, "data check"))
        return CODEC_ERROR(CODEC_ERR_CHECKSUM);
    return codec_inflate_error(inf, rc);
}

/* Exactly one zlib stream: bytes after its Adler-32 are corrupt (CPython's
 * zlib.decompress ignores them; a stored blob never has any). */
size_t codec_zlibfmt_decompress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    zlibfmt_ctx *c = ctx;
    size_t used = 0, made = 0, rc;
    if (n == 0)
        return CODEC_ERROR(CODEC_ERR_TRUNCATED);
    if (inflateReset(&c->inf) != Z_OK)
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    rc = codec_inflate_one(&c->inf, inflate_error, src, n, dst, cap, &used, &made);
    if (rc != 0)
        return rc;
    if (used != n)
        return CODEC_ERROR(CODEC_ERR_CORRUPT);
    return made;
}

size_t codec_zlibfmt_content_size(const void *src, size_t n)
{
    (void)src;
    (void)n;
    return CODEC_SIZE_UNKNOWN;   /* the format does not carry it */
}

size_t codec_zlibfmt_stream_begin(void *ctx, size_t total, void *dst, size_t cap)
{
    zlibfmt_ctx *c = ctx;
    if (deflateReset(&c->def) != Z_OK)
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    codec_stream_begin(&c->out, total, dst, cap);
    c->def.next_out = dst;
    return 0;
}

size_t codec_zlibfmt_stream_update(void *ctx, const void *src, size_t n)
{
    zlibfmt_ctx *c = ctx;
    size_t r = codec_stream_count_add(&c->out.count, n);
    return r != 0 ? r : codec_deflate_run(&c->def, src, n, Z_NO_FLUSH, &c->out.left);
}

size_t codec_zlibfmt_stream_end(void *ctx)
{
    zlibfmt_ctx *c = ctx;
    size_t r = codec_deflate_finish(&c->def, &c->out);
    return codec_is_error(r) ? r : codec_stream_written(&c->out);
}
