/* fuzz_decompress.c - every decompressor of codec_table on arbitrary bytes.
 *
 * The first input byte picks the codec (modulo the table size); the rest is
 * the stream. Output capacity is the size the stream declares, clamped to
 * FUZZ_MAX_OUT, or a guess: a decoder must report DST_TOO_SMALL or an
 * error, never write past cap, and a success must decode to at most cap
 * bytes. A stream that decodes is compressed again and must round-trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define FUZZ_MAX_OUT ((size_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const codec_desc *c = &codec_table[data[0] % codec_count];
    const uint8_t *src = data + 1;
    size_t n = size - 1, cap, r;
    /* Contexts are reused across inputs, as the benchmark reuses them: a
     * decoder must not carry state from a failed stream into the next. */
    static void *ctxs[16];
    if (codec_count > 16) abort();
    void **slot = &ctxs[data[0] % codec_count];
    if (!*slot && !(*slot = c->create(c->level_default))) abort();
    void *ctx = *slot;
    cap = c->content_size(src, n);
    if (cap == CODEC_SIZE_UNKNOWN || cap > FUZZ_MAX_OUT) cap = n * 4 + 64 < FUZZ_MAX_OUT ? n * 4 + 64 : FUZZ_MAX_OUT;
    uint8_t *dst = malloc(cap ? cap : 1);
    if (!dst) abort();
    r = c->decompress(ctx, src, n, dst, cap);
    if (!codec_is_error(r)) {
        if (r > cap) abort();
        /* What decoded must survive a round trip through the same codec. */
        size_t bcap = c->bound(r, c->level_default);
        uint8_t *z = malloc(bcap ? bcap : 1), *back = malloc(r ? r : 1);
        if (!z || !back) abort();
        size_t zn = c->compress(ctx, dst, r, z, bcap);
        if (codec_is_error(zn)) abort();
        size_t bn = c->decompress(ctx, z, zn, back, r);
        if (bn != r || memcmp(back, dst, r) != 0) abort();
        free(z);
        free(back);
    } else if (codec_error_name(r) == NULL) {
        abort();
    }
    free(dst);
    return 0;
}
