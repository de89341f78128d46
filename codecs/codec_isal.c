/* codec_isal.c - isal:L, a gzip stream from ISA-L's igzip (its own gzip
 * header writer): readable by today's metaflow (cas_version 1). */
#include <isa-l.h>
#include <limits.h>
#include <stdlib.h>

#include "codec_impl.h"

typedef struct {
    struct isal_zstream z;
    struct inflate_state inf;   /* ~ 40 KB: allocated once, with the context */
    uint8_t *level_buf;
    uint32_t level_buf_size;
    int level;
    /* The stream being written by the streaming calls. */
    uint8_t *sdst;
    size_t scap, sleft, total, fed;
} isal_ctx;

/* ISA-L counts in uint32_t: feed larger buffers in pieces. */
#define ISAL_STEP ((size_t)UINT32_MAX & ~(size_t)0xffff)

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

void *codec_isal_create(int level)
{
    isal_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->level = level;
    c->level_buf_size = isal_level_buf_size(level);
    if (c->level_buf_size && !(c->level_buf = malloc(c->level_buf_size))) {
        free(c);
        return NULL;
    }
    isal_deflate_init(&c->z);
    isal_inflate_init(&c->inf);
    return c;
}

void codec_isal_destroy(void *ctx)
{
    isal_ctx *c = ctx;
    if (!c)
        return;
    free(c->level_buf);
    free(c);
}

static size_t isal_comp_error(int rc)
{
    switch (rc) {
    case ISAL_INVALID_LEVEL:
        return CODEC_ERROR(CODEC_ERR_LEVEL);
    default:
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    }
}

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

size_t codec_isal_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    isal_ctx *c = ctx;
    struct isal_zstream *z = &c->z;
    size_t in_left = n, out_left = cap;
    int rc;

    isal_deflate_start(c, dst);
    z->next_in = (uint8_t *)(uintptr_t)src;   /* ISA-L's API is not const */
    for (;;) {
        size_t step_in = in_left < ISAL_STEP ? in_left : ISAL_STEP;
        size_t step_out = out_left < ISAL_STEP ? out_left : ISAL_STEP;
        z->avail_in = (uint32_t)step_in;
        z->avail_out = (uint32_t)step_out;
        z->end_of_stream = step_in == in_left;
        rc = isal_deflate(z);
        in_left -= step_in - z->avail_in;
        out_left -= step_out - z->avail_out;
        if (rc != COMP_OK)
            return isal_comp_error(rc);
        if (z->internal_state.state == ZSTATE_END)
            return cap - out_left;
        if (out_left == 0)
            return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    }
}

static size_t isal_inflate_error(int rc)
{
    switch (rc) {
    case ISAL_INCORRECT_CHECKSUM:
        return CODEC_ERROR(CODEC_ERR_CHECKSUM);
    case ISAL_INVALID_BLOCK:
    case ISAL_INVALID_SYMBOL:
    case ISAL_INVALID_LOOKBACK:
    case ISAL_INVALID_WRAPPER:
    case ISAL_UNSUPPORTED_METHOD:
    case ISAL_NEED_DICT:
        return CODEC_ERROR(CODEC_ERR_CORRUPT);
    default:
        return CODEC_ERROR(CODEC_ERR_LIBRARY);
    }
}

/* One member, as zlib_member() in codec_zlib.c: ISA-L parses the header and
 * checks CRC32 and ISIZE (crc_flag ISAL_GZIP). */
static size_t isal_member(void *ctx, const uint8_t *in, size_t n, uint8_t *out,
                          size_t cap, size_t *used, size_t *made)
{
    isal_ctx *c = ctx;
    struct inflate_state *s = &c->inf;
    size_t in_left = n, out_left = cap;
    uint8_t probe[64];
    int rc, probing = 0;

    /* RFC 1952: FLG bits 5-7 are reserved and must be zero. gzip, zlib and
     * libdeflate refuse a member that sets one; ISA-L would read past it. */
    if (n >= 4 && (in[3] & 0xe0) != 0)
        return CODEC_ERROR(CODEC_ERR_CORRUPT);
    isal_inflate_reset(s);
    s->crc_flag = ISAL_GZIP;
    s->next_in = (uint8_t *)(uintptr_t)in;
    s->next_out = out;
    for (;;) {
        size_t step_in = in_left < ISAL_STEP ? in_left : ISAL_STEP;
        size_t step_out;
        if (!probing && out_left == 0) {
            /* Output full, member not ended: does more output follow (the
             * buffer is too small) or only the trailer? */
            probing = 1;
            s->next_out = probe;
        }
        step_out = probing ? sizeof probe : (out_left < ISAL_STEP ? out_left : ISAL_STEP);
        s->avail_in = (uint32_t)step_in;
        s->avail_out = (uint32_t)step_out;
        rc = isal_inflate(s);
        in_left -= step_in - s->avail_in;
        if (probing) {
            if (s->avail_out != step_out)
                return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
        } else {
            out_left -= step_out - s->avail_out;
        }
        if (rc < 0)
            return isal_inflate_error(rc);
        if (s->block_state == ISAL_BLOCK_FINISH)
            break;
        if (in_left == 0 && s->avail_out != 0)
            return CODEC_ERROR(CODEC_ERR_TRUNCATED);
        if (s->avail_in == step_in && s->avail_out == step_out)
            return CODEC_ERROR(CODEC_ERR_LIBRARY);   /* no progress: never spin */
    }
    *used = n - in_left;
    *made = cap - out_left;
    return 0;
}

size_t codec_isal_decompress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    return codec_gzip_decode_members(ctx, isal_member, src, n, dst, cap);
}

size_t codec_isal_content_size(const void *src, size_t n)
{
    return codec_gzip_isize(src, n);
}

size_t codec_isal_stream_begin(void *ctx, size_t total, void *dst, size_t cap)
{
    isal_ctx *c = ctx;
    isal_deflate_start(c, dst);
    c->sdst = dst;
    c->scap = c->sleft = cap;
    c->total = total;
    c->fed = 0;
    return 0;
}

/* isal_deflate over in[0..n) until the input is used up; with `last`, until
 * the stream has ended. */
static size_t isal_stream_run(isal_ctx *c, const uint8_t *in, size_t n, int last)
{
    struct isal_zstream *z = &c->z;
    size_t in_left = n;
    int rc;
    z->next_in = (uint8_t *)(uintptr_t)in;
    for (;;) {
        size_t step_in = in_left < ISAL_STEP ? in_left : ISAL_STEP;
        size_t step_out = c->sleft < ISAL_STEP ? c->sleft : ISAL_STEP;
        z->avail_in = (uint32_t)step_in;
        z->avail_out = (uint32_t)step_out;
        z->end_of_stream = (uint16_t)(last && step_in == in_left);
        rc = isal_deflate(z);
        in_left -= step_in - z->avail_in;
        c->sleft -= step_out - z->avail_out;
        if (rc != COMP_OK)
            return isal_comp_error(rc);
        if (last ? z->internal_state.state == ZSTATE_END : in_left == 0 && z->avail_in == 0)
            return 0;
        if (c->sleft == 0)
            return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    }
}

size_t codec_isal_stream_update(void *ctx, const void *src, size_t n)
{
    isal_ctx *c = ctx;
    if (n > c->total - c->fed)
        return CODEC_ERROR(CODEC_ERR_CORRUPT);
    c->fed += n;
    return isal_stream_run(c, src, n, 0);
}

size_t codec_isal_stream_end(void *ctx)
{
    isal_ctx *c = ctx;
    size_t r;
    if (c->fed != c->total)
        return CODEC_ERROR(CODEC_ERR_CORRUPT);
    r = isal_stream_run(c, NULL, 0, 1);
    return codec_is_error(r) ? r : c->scap - c->sleft;
}
