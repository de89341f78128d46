/* codec_zstd.c - zstd:L, one zstd frame that declares its content size. */
#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "codec_impl.h"

typedef struct {
    ZSTD_CCtx *c;
    ZSTD_DCtx *d;
    ZSTD_outBuffer out;   /* the stream being written by the streaming calls */
    codec_stream_count count;   /* of the streaming calls */
} zstd_ctx;

const char *codec_zstd_version(void) { return ZSTD_versionString(); }

size_t codec_zstd_bound(size_t src_size, int level)
{
    (void)level;
    return ZSTD_compressBound(src_size);
}

static int zstd_init(void *ctx, int level)
{
    zstd_ctx *c = ctx;
    c->c = ZSTD_createCCtx();
    c->d = ZSTD_createDCtx();
    /* Parameters are sticky: set once here, kept by ZSTD_compress2(). */
    if (!c->c || !c->d ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c->c, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(c->c, ZSTD_c_contentSizeFlag, 1)))
        return -1;
    return 0;
}

CODEC_CONTEXT_PAIR(zstd, zstd_ctx, zstd_init, ZSTD_freeCCtx, ZSTD_freeDCtx)

static const codec_error_map zstd_errors[] = {
    {ZSTD_error_dstSize_tooSmall, CODEC_ERR_DST_TOO_SMALL},
    {ZSTD_error_memory_allocation, CODEC_ERR_ALLOC},
    {ZSTD_error_checksum_wrong, CODEC_ERR_CHECKSUM},
    {ZSTD_error_srcSize_wrong, CODEC_ERR_TRUNCATED},   /* the input ends inside a frame */
    {ZSTD_error_prefix_unknown, CODEC_ERR_CORRUPT},
    {ZSTD_error_version_unsupported, CODEC_ERR_CORRUPT},
    {ZSTD_error_frameParameter_unsupported, CODEC_ERR_CORRUPT},
    {ZSTD_error_frameParameter_windowTooLarge, CODEC_ERR_CORRUPT},
    {ZSTD_error_corruption_detected, CODEC_ERR_CORRUPT},
    {ZSTD_error_dictionary_wrong, CODEC_ERR_CORRUPT},
    {ZSTD_error_literals_headerWrong, CODEC_ERR_CORRUPT},
    {ZSTD_error_parameter_outOfBound, CODEC_ERR_LEVEL},   /* the level is the parameter a caller picks */
};

static size_t zstd_error(size_t r) { return CODEC_ERROR_FROM(zstd_errors, ZSTD_getErrorCode(r)); }

size_t codec_zstd_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    zstd_ctx *c = ctx;
    size_t r = ZSTD_compress2(c->c, dst, cap, src, n);
    return ZSTD_isError(r) ? zstd_error(r) : r;
}

/* Bytes after the last whole frame that cannot begin another (as `zstd -t`
 * finds them: "unsupported format"): zstd's own decoder would call them a
 * truncated frame. A short tail that is the start of a frame magic is left
 * to the decoder: it is a truncated frame. */
static int has_trailing_data(const uint8_t *src, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        size_t left = n - pos, k;
        uint32_t magic = 0;
        for (k = 0; k < 4 && k < left; k++) magic |= (uint32_t)src[pos + k] << (8 * k);
        if (left < 4) {
            uint32_t mask = (1u << (8 * left)) - 1;
            return pos > 0 && (magic & mask) != (ZSTD_MAGICNUMBER & mask) &&
                   (magic & mask) != (ZSTD_MAGIC_SKIPPABLE_START & mask);
        }
        if (magic != ZSTD_MAGICNUMBER && (magic & ZSTD_MAGIC_SKIPPABLE_MASK) != ZSTD_MAGIC_SKIPPABLE_START)
            return pos > 0;
        size_t fsz = ZSTD_findFrameCompressedSize(src + pos, left);
        if (ZSTD_isError(fsz)) return 0;   /* a bad or truncated frame: the decoder says which */
        pos += fsz;
    }
    return 0;
}

size_t codec_zstd_decompress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    zstd_ctx *c = ctx;
    size_t declared = codec_zstd_content_size(src, n);
    size_t r;

    if (n == 0)
        return CODEC_ERROR(CODEC_ERR_TRUNCATED);   /* as `zstd -d`: no frame at all */
    if (declared != CODEC_SIZE_UNKNOWN && declared > cap)
        return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    /* Decodes every frame of the input (as `zstd -d` does); zstd checks
     * each frame's declared size and, when present, its checksum. */
    r = ZSTD_decompressDCtx(c->d, dst, cap, src, n);
    if (ZSTD_isError(r))
        return has_trailing_data(src, n) ? CODEC_ERROR(CODEC_ERR_TRAILING) : zstd_error(r);
    return r;
}

size_t codec_zstd_content_size(const void *src, size_t n)
{
    unsigned long long v = ZSTD_getFrameContentSize(src, n);
    if (v == ZSTD_CONTENTSIZE_UNKNOWN || v == ZSTD_CONTENTSIZE_ERROR ||
        v >= (unsigned long long)CODEC_SIZE_UNKNOWN)
        return CODEC_SIZE_UNKNOWN;
    return (size_t)v;
}

size_t codec_zstd_stream_begin(void *ctx, size_t total, void *dst, size_t cap)
{
    zstd_ctx *c = ctx;
    size_t r = ZSTD_CCtx_reset(c->c, ZSTD_reset_session_only);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setPledgedSrcSize(c->c, total);   /* the frame's content size */
    if (ZSTD_isError(r))
        return zstd_error(r);
    c->out.dst = dst;
    c->out.size = cap;
    c->out.pos = 0;
    codec_stream_count_begin(&c->count, total);
    return 0;
}

size_t codec_zstd_stream_update(void *ctx, const void *src, size_t n)
{
    zstd_ctx *c = ctx;
    ZSTD_inBuffer in = {src, n, 0};
    size_t r = codec_stream_count_add(&c->count, n);
    if (r != 0)
        return r;
    while (in.pos < in.size) {
        r = ZSTD_compressStream2(c->c, &c->out, &in, ZSTD_e_continue);
        if (ZSTD_isError(r))
            return zstd_error(r);
        if (in.pos < in.size && c->out.pos == c->out.size)
            return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    }
    return 0;
}

size_t codec_zstd_stream_end(void *ctx)
{
    zstd_ctx *c = ctx;
    ZSTD_inBuffer in = {NULL, 0, 0};
    size_t r = codec_stream_count_end(&c->count);
    if (r != 0)
        return r;
    do {
        r = ZSTD_compressStream2(c->c, &c->out, &in, ZSTD_e_end);
        if (ZSTD_isError(r))
            return zstd_error(r);
        if (r != 0 && c->out.pos == c->out.size)
            return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    } while (r != 0);
    return c->out.pos;
}
