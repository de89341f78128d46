/* codec_libdeflate.c - libdeflate:L, a gzip stream from libdeflate's
 * whole-buffer compressor: readable by today's metaflow (cas_version 1). */
#include <libdeflate.h>
#include <stdlib.h>

#include "codec_impl.h"

typedef struct {
    struct libdeflate_compressor *c;
    struct libdeflate_decompressor *d;
} ldf_ctx;

/* libdeflate has no run-time version call: this is the header's. */
const char *codec_libdeflate_version(void) { return LIBDEFLATE_VERSION_STRING; }

size_t codec_libdeflate_bound(size_t src_size, int level)
{
    (void)level;
    /* NULL: the bound over every compressor this build can allocate. */
    return libdeflate_gzip_compress_bound(NULL, src_size);
}

static int ldf_init(void *ctx, int level)
{
    ldf_ctx *c = ctx;
    c->c = libdeflate_alloc_compressor(level);
    c->d = libdeflate_alloc_decompressor();
    return c->c && c->d ? 0 : -1;
}

CODEC_CONTEXT_PAIR(libdeflate, ldf_ctx, ldf_init, libdeflate_free_compressor, libdeflate_free_decompressor)

size_t codec_libdeflate_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    ldf_ctx *c = ctx;
    size_t r = libdeflate_gzip_compress(c->c, src, n, dst, cap);
    /* 0 is libdeflate's only failure: the output did not fit. */
    return r ? r : CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
}

static const codec_error_map ldf_errors[] = {
    {LIBDEFLATE_INSUFFICIENT_SPACE, CODEC_ERR_DST_TOO_SMALL},
    /* libdeflate does not tell a short stream from a bad one. */
    {LIBDEFLATE_BAD_DATA, CODEC_ERR_CORRUPT},
};

/* One member through libdeflate, its result translated to casbench's codes. */
static size_t ldf_member(void *ctx, const uint8_t *in, size_t n, uint8_t *out,
                         size_t cap, size_t *used, size_t *made)
{
    ldf_ctx *c = ctx;
    enum libdeflate_result r = libdeflate_gzip_decompress_ex(c->d, in, n, out, cap, used, made);
    return r == LIBDEFLATE_SUCCESS ? 0 : CODEC_ERROR_FROM(ldf_errors, r);
}

size_t codec_libdeflate_decompress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    return codec_gzip_decode_members(ctx, ldf_member, src, n, dst, cap);
}
