/* codec_lz4block.c - see codec_lz4block.h. */
#include "codec_lz4block.h"

#include <lz4.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    void *state;   /* LZ4_sizeofState() bytes: LZ4_compress_fast keeps it on its stack */
} lzb_ctx;

static const char *lzb_version(void) { return LZ4_versionString(); }

static size_t lzb_bound(size_t n, int level)
{
    (void)level;
    if (n > LZ4_MAX_INPUT_SIZE) return 4 + n;   /* compress() refuses it */
    return 4 + (size_t)LZ4_compressBound((int)n);
}

static void lzb_destroy(void *ctx)
{
    lzb_ctx *c = ctx;
    if (!c) return;
    free(c->state);
    free(c);
}

static void *lzb_create(int level)
{
    lzb_ctx *c;
    if (level < 0 || level > 2) return NULL;
    c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->state = malloc((size_t)LZ4_sizeofState());
    if (!c->state) {
        lzb_destroy(c);
        return NULL;
    }
    return c;
}

static size_t lzb_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    lzb_ctx *c = ctx;
    uint8_t *o = dst;
    if (n > LZ4_MAX_INPUT_SIZE) return CODEC_ERROR(CODEC_ERR_LIBRARY);
    if (cap < lzb_bound(n, 0)) return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    for (int i = 0; i < 4; i++) o[i] = (uint8_t)(n >> (8 * i));
    /* LZ4_compress_fast() is this call with the state on its stack. */
    int r = LZ4_compress_fast_extState(c->state, src, (char *)o + 4, (int)n,
                                       (int)(cap - 4 > INT32_MAX ? INT32_MAX : cap - 4), 1);
    if (r <= 0 && n > 0) return CODEC_ERROR(CODEC_ERR_LIBRARY);
    return 4 + (size_t)r;
}

static size_t lzb_content_size(const void *src, size_t n)
{
    const uint8_t *s = src;
    size_t v = 0;
    if (n < 4) return CODEC_SIZE_UNKNOWN;
    for (int i = 0; i < 4; i++) v |= (size_t)s[i] << (8 * i);
    return v;
}

static size_t lzb_decompress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    const uint8_t *s = src;
    size_t want = lzb_content_size(src, n);
    (void)ctx;
    if (want == CODEC_SIZE_UNKNOWN) return CODEC_ERROR(CODEC_ERR_TRUNCATED);
    if (want > cap) return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    if (n - 4 > INT32_MAX) return CODEC_ERROR(CODEC_ERR_CORRUPT);
    int r = LZ4_decompress_safe((const char *)s + 4, dst, (int)(n - 4), (int)want);
    if (r < 0 || (size_t)r != want) return CODEC_ERROR(CODEC_ERR_CORRUPT);
    return (size_t)r;
}

const codec_desc codec_lz4_block = {
    .name = "lz4-block",
    .library = "liblz4",
    .version = lzb_version,
    .level_min = 0,
    .level_max = 2,
    .level_default = 1,
    .family = "lz4",
    .stream_format = "LZ4 block after its 4-byte little-endian size",
    .gzip_compatible = 0,
    .ceiling = 0,
    .stream_same_min_level = CODEC_STREAM_DIFFERS,
    .python_call = "lz4.block.compress (liblz4)",
    .bound = lzb_bound,
    .create = lzb_create,
    .destroy = lzb_destroy,
    .compress = lzb_compress,
    .decompress = lzb_decompress,
    .content_size = lzb_content_size,
};
