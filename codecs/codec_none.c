/* codec_none.c - memcpy: the speed ceiling of the table and a self-test of
 * the harness (a cell slower than this one measures the harness, not a codec). */
#include <string.h>

#include "codec_impl.h"

static int none_ctx;   /* create() must return non-NULL; there is no state */

const char *codec_none_version(void) { return "-"; }

size_t codec_none_bound(size_t src_size, int level)
{
    (void)level;
    return src_size;
}

void *codec_none_create(int level)
{
    (void)level;
    return &none_ctx;
}

void codec_none_destroy(void *ctx) { (void)ctx; }

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
