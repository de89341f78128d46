/* codec_none.c - memcpy: the speed ceiling of the table and a self-test of
 * the harness (a cell slower than this one measures the harness, not a codec). */
#include <stdlib.h>
#include <string.h>

#include "codec_impl.h"

typedef struct {
    uint8_t *dst;
    size_t cap, pos, total;
} none_ctx;

const char *codec_none_version(void) { return "-"; }

size_t codec_none_bound(size_t src_size, int level)
{
    (void)level;
    return src_size;
}

void *codec_none_create(int level)
{
    (void)level;
    return calloc(1, sizeof(none_ctx));   /* state for the streaming calls only */
}

void codec_none_destroy(void *ctx) { free(ctx); }

size_t codec_none_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    (void)ctx;
    if (n > cap)
        return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    if (n)
        memcpy(dst, src, n);
    return n;
}

size_t codec_none_decompress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    return codec_none_compress(ctx, src, n, dst, cap);
}

size_t codec_none_content_size(const void *src, size_t n)
{
    (void)src;
    return n;
}

size_t codec_none_stream_begin(void *ctx, size_t total, void *dst, size_t cap)
{
    none_ctx *c = ctx;
    if (cap < total)
        return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    c->dst = dst;
    c->cap = cap;
    c->pos = 0;
    c->total = total;
    return 0;
}

size_t codec_none_stream_update(void *ctx, const void *src, size_t n)
{
    none_ctx *c = ctx;
    if (n > c->cap - c->pos)
        return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    if (n)
        memcpy(c->dst + c->pos, src, n);
    c->pos += n;
    return 0;
}

size_t codec_none_stream_end(void *ctx)
{
    none_ctx *c = ctx;
    return c->pos == c->total ? c->pos : CODEC_ERROR(CODEC_ERR_CORRUPT);
}
