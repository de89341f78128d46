/* testcodec.c - see testcodec.h. */
#include "testcodec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const codec_desc *base;
static codec_desc broken;

/* Flip one byte in the middle: a stream that decodes to something else (or
 * not at all), which is what verification must catch. */
static size_t broken_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    size_t r = base->compress(ctx, src, n, dst, cap);
    if (!codec_is_error(r) && r > 0) ((uint8_t *)dst)[r / 2] ^= 0x5a;
    return r;
}

/* The streaming members broken the same way, so that the fused save path
 * (which compresses through them) fails verification too. Test-only and
 * single-threaded: one stream at a time. */
static uint8_t *stream_dst;

static size_t broken_stream_begin(void *ctx, size_t total, void *dst, size_t cap)
{
    stream_dst = dst;
    return base->stream_begin(ctx, total, dst, cap);
}

static size_t broken_stream_end(void *ctx)
{
    size_t r = base->stream_end(ctx);
    if (!codec_is_error(r) && r > 0) stream_dst[r / 2] ^= 0x5a;
    return r;
}

const codec_desc *testcodec_find(const char *spec, int *level, char *err, size_t errlen)
{
    const char *on = getenv("CASBENCH_TEST_BROKEN_CODEC");
    size_t i;
    (void)err;
    (void)errlen;
    if (!on || strcmp(on, "1") != 0) return NULL;
    if (strcmp(spec, "broken") != 0 && strcmp(spec, "broken:0") != 0) return NULL;
    if (!base) {
        base = &codec_table[0];
        for (i = 0; i < codec_count; i++)
            if (strcmp(codec_table[i].name, "none") == 0) base = &codec_table[i];
        broken = *base;
        broken.name = "broken";
        broken.library = "casbench test";
        broken.level_min = broken.level_max = broken.level_default = 0;
        broken.compress = broken_compress;
        if (base->stream_begin) {
            broken.stream_begin = broken_stream_begin;
            broken.stream_end = broken_stream_end;
        }
    }
    *level = 0;
    return &broken;
}
