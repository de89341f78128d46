/* codec_isal.c - isal:L, a gzip stream from ISA-L's igzip (its own gzip
 * header writer): readable by today's metaflow (cas_version 1). */
#include <isa-l.h>
#include <stdlib.h>

#include "codec_impl.h"

typedef struct {
    struct isal_zstream z;
    struct inflate_state inf;   /* ~ 40 KB: allocated once, with the context */
    uint8_t *level_buf;
    uint32_t level_buf_size;
    int level;
    codec_stream out;   /* the stream being written (by compress() or the streaming calls) */
} isal_ctx;

/* ISA-L counts in uint32_t: larger buffers go in CODEC_STEP pieces. */

/* ISA-L has no run-time version call: this is the header's. */
#define ISAL_STR2(x) #x
#define ISAL_STR(x) ISAL_STR2(x)
const char *codec_isal_version(void)
{
    return ISAL_STR(ISAL_MAJOR_VERSION) "." ISAL_STR(ISAL_MINOR_VERSION) "." ISAL_STR(ISAL_PATCH_VERSION);
}

size_t codec_isal_bound(size_t src_size, int level)
{
    /* ISA-L has no bound function. Level 0 codes every block with a static
     * Huffman table and never falls back to stored blocks (random input grows
     * by about a fifth): bound it by deflate's longest code, 15 bits per
     * input byte. Levels 1-3 fall back to stored blocks (5 bytes of header
     * per 64 KiB block); the margin covers the gzip wrapper and the partial
     * block ISA-L emits before switching. */
    if (level == 0)
        return src_size + src_size - src_size / 8 + 1024;
    return src_size + (src_size / 65535 + 1) * 5 + src_size / 64 + 1024;
}

static uint32_t isal_level_buf_size(int level)
{
    switch (level) {
    case 1: return ISAL_DEF_LVL1_DEFAULT;
    case 2: return ISAL_DEF_LVL2_DEFAULT;
    case 3: return ISAL_DEF_LVL3_DEFAULT;
    default: return 0;
    }
}

static int isal_init(void *ctx, int level)
{
    isal_ctx *c = ctx;
    c->level = level;
    c->level_buf_size = isal_level_buf_size(level);
    if (c->level_buf_size && !(c->level_buf = malloc(c->level_buf_size)))
        return -1;
    isal_deflate_init(&c->z);
    isal_inflate_init(&c->inf);
    return 0;
}

static void isal_fini(void *ctx)
{
    isal_ctx *c = ctx;
    free(c->level_buf);   /* ISA-L's own state lives in the context */
}

CODEC_CONTEXT(isal, isal_ctx, isal_init, isal_fini)

static const codec_error_map isal_deflate_errors[] = {
    {ISAL_INVALID_LEVEL, CODEC_ERR_LEVEL},
};

/* Ready the reused deflate state for a new gzip stream written at dst:
 * isal_deflate_reset clears the level and buffers, so they are set again. */
static void isal_deflate_start(isal_ctx *c, void *dst)
{
    struct isal_zstream *z = &c->z;
    isal_deflate_reset(z);
    z->level = (uint32_t)c->level;
    z->level_buf = c->level_buf;
    z->level_buf_size = c->level_buf_size;
    z->gzip_flag = IGZIP_GZIP;
    z->flush = NO_FLUSH;
    z->next_out = dst;
}

/* isal_deflate as a codec_step_fn: end_of_stream with the last input. */
static size_t isal_deflate_step(void *enc, const uint8_t *in, size_t in_n, int last, uint8_t *out,
                                size_t out_n, size_t *read, size_t *written)
{
    struct isal_zstream *z = enc;
    int rc;
    z->next_in = (uint8_t *)(uintptr_t)in;   /* ISA-L's API is not const */
    z->avail_in = (uint32_t)in_n;
    z->next_out = out;
    z->avail_out = (uint32_t)out_n;
    z->end_of_stream = (uint16_t)last;
    rc = isal_deflate(z);
    *read = in_n - z->avail_in;
    *written = out_n - z->avail_out;
    if (rc != COMP_OK)
        return CODEC_ERROR_FROM(isal_deflate_errors, rc);
    return z->internal_state.state == ZSTATE_END ? CODEC_STEP_END : CODEC_STEP_MORE;
}

/* isal_deflate over in[0..n) into the stream begun by stream_begin; with
 * `last`, until the stream has ended. */
static size_t isal_stream_run(isal_ctx *c, const uint8_t *in, size_t n, int last)
{
    return codec_encode_run(&c->z, isal_deflate_step, in, n, last, c->z.next_out, &c->out.left);
}

/* One whole stream: the streaming calls' begin and end in one. */
size_t codec_isal_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    isal_ctx *c = ctx;
    size_t r;
    codec_isal_stream_begin(c, n, dst, cap);   /* cannot fail */
    r = isal_stream_run(c, src, n, 1);
    return codec_is_error(r) ? r : codec_stream_written(&c->out);
}

static const codec_error_map isal_inflate_errors[] = {
    {ISAL_INCORRECT_CHECKSUM, CODEC_ERR_CHECKSUM},
    {ISAL_INVALID_BLOCK, CODEC_ERR_CORRUPT},
    {ISAL_INVALID_SYMBOL, CODEC_ERR_CORRUPT},
    {ISAL_INVALID_LOOKBACK, CODEC_ERR_CORRUPT},
    {ISAL_INVALID_WRAPPER, CODEC_ERR_CORRUPT},
    {ISAL_UNSUPPORTED_METHOD, CODEC_ERR_CORRUPT},
    {ISAL_NEED_DICT, CODEC_ERR_CORRUPT},
};

/* isal_inflate as a codec_step_fn. */
static size_t isal_inflate_step(void *dec, const uint8_t *in, size_t in_n, int last, uint8_t *out,
                                size_t out_n, size_t *read, size_t *written)
{
    struct inflate_state *s = dec;
    int rc;
    (void)last;
    s->next_in = (uint8_t *)(uintptr_t)in;   /* ISA-L's API is not const */
    s->avail_in = (uint32_t)in_n;
    s->next_out = out;
    s->avail_out = (uint32_t)out_n;
    rc = isal_inflate(s);
    *read = in_n - s->avail_in;
    *written = out_n - s->avail_out;
    if (rc < 0)
        return CODEC_ERROR_FROM(isal_inflate_errors, rc);
    return s->block_state == ISAL_BLOCK_FINISH ? CODEC_STEP_END : CODEC_STEP_MORE;
}

/* One member, as zlib_member() in codec_zlib.c: ISA-L parses the header and
 * checks CRC32 and ISIZE (crc_flag ISAL_GZIP). */
static size_t isal_member(void *ctx, const uint8_t *in, size_t n, uint8_t *out,
                          size_t cap, size_t *used, size_t *made)
{
    isal_ctx *c = ctx;
    /* RFC 1952: FLG bits 5-7 are reserved and must be zero. gzip, zlib and
     * libdeflate refuse a member that sets one; ISA-L would read past it. */
    if (n >= 4 && (in[3] & 0xe0) != 0)
        return CODEC_ERROR(CODEC_ERR_CORRUPT);
    isal_inflate_reset(&c->inf);
    c->inf.crc_flag = ISAL_GZIP;
    return codec_decode_one(&c->inf, isal_inflate_step, in, n, out, cap, used, made);
}

size_t codec_isal_decompress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    return codec_gzip_decode_members(ctx, isal_member, src, n, dst, cap);
}

size_t codec_isal_stream_begin(void *ctx, size_t total, void *dst, size_t cap)
{
    isal_ctx *c = ctx;
    isal_deflate_start(c, dst);
    codec_stream_begin(&c->out, total, dst, cap);
    return 0;
}

size_t codec_isal_stream_update(void *ctx, const void *src, size_t n)
{
    isal_ctx *c = ctx;
    size_t r = codec_stream_count_add(&c->out.count, n);
    return r != 0 ? r : isal_stream_run(c, src, n, 0);
}

size_t codec_isal_stream_end(void *ctx)
{
    isal_ctx *c = ctx;
    size_t r = codec_stream_count_end(&c->out.count);
    if (r != 0)
        return r;
    r = isal_stream_run(c, NULL, 0, 1);
    return codec_is_error(r) ? r : codec_stream_written(&c->out);
}
