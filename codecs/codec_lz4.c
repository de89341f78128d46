/* codec_lz4.c - lz4:L, an LZ4 frame as python-lz4's lz4.frame.compress(blob,
 * compression_level=L) writes it (metaflow PR #3090, cas_version 2): 64 KiB
 * linked blocks, content size stored, no checksums.
 *
 * python-lz4 calls LZ4F_compressFrame(), which makes a context per call. We
 * make the same frame with a context built once: LZ4F_compressBegin/Update/
 * End on the preferences LZ4F_compressFrame() derives (autoFlush, block size
 * fitted to the input, independent blocks when one block holds the input)
 * and a stable source, as LZ4F_compressFrame() itself does. tests/ check the
 * bytes against python-lz4. */
#include <lz4.h>
/* For LZ4F_getErrorCode() and its enum only, to translate errors; the
 * compression calls are all from the stable API. */
#define LZ4F_STATIC_LINKING_ONLY
#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>

#include "codec_impl.h"

#define LZ4_BLOCK_64K ((size_t)64 * 1024)

typedef struct {
    LZ4F_cctx *c;
    LZ4F_dctx *d;
    int level;
    codec_stream out;   /* the stream the streaming calls write */
} lz4_ctx;

const char *codec_lz4_version(void) { return LZ4_versionString(); }

/* The preferences LZ4F_compressFrame() uses for python-lz4's defaults. */
static LZ4F_preferences_t lz4_prefs(size_t n, int level)
{
    LZ4F_preferences_t p;
    memset(&p, 0, sizeof p);
    p.frameInfo.blockSizeID = LZ4F_max64KB;
    p.frameInfo.blockMode = n <= LZ4_BLOCK_64K ? LZ4F_blockIndependent : LZ4F_blockLinked;
    p.frameInfo.contentSize = n;
    p.compressionLevel = level;
    p.autoFlush = 1;
    return p;
}

size_t codec_lz4_bound(size_t src_size, int level)
{
    LZ4F_preferences_t p = lz4_prefs(src_size, level);
    /* Begin writes at most LZ4F_HEADER_SIZE_MAX; the rest is the frame bound. */
    return LZ4F_HEADER_SIZE_MAX + LZ4F_compressBound(src_size, &p);
}

static int lz4_init(void *ctx, int level)
{
    lz4_ctx *c = ctx;
    c->level = level;
    return LZ4F_isError(LZ4F_createCompressionContext(&c->c, LZ4F_VERSION)) ||
           LZ4F_isError(LZ4F_createDecompressionContext(&c->d, LZ4F_VERSION)) ? -1 : 0;
}

CODEC_CONTEXT_PAIR(lz4, lz4_ctx, lz4_init, LZ4F_freeCompressionContext, LZ4F_freeDecompressionContext)

static const codec_error_map lz4_errors[] = {
    {LZ4F_ERROR_dstMaxSize_tooSmall, CODEC_ERR_DST_TOO_SMALL},
    {LZ4F_ERROR_allocation_failed, CODEC_ERR_ALLOC},
    {LZ4F_ERROR_contentChecksum_invalid, CODEC_ERR_CHECKSUM},
    {LZ4F_ERROR_blockChecksum_invalid, CODEC_ERR_CHECKSUM},
    {LZ4F_ERROR_headerChecksum_invalid, CODEC_ERR_CHECKSUM},
    {LZ4F_ERROR_frameSize_wrong, CODEC_ERR_CHECKSUM},
    {LZ4F_ERROR_frameHeader_incomplete, CODEC_ERR_TRUNCATED},
    {LZ4F_ERROR_maxBlockSize_invalid, CODEC_ERR_CORRUPT},
    {LZ4F_ERROR_blockMode_invalid, CODEC_ERR_CORRUPT},
    {LZ4F_ERROR_contentChecksumFlag_invalid, CODEC_ERR_CORRUPT},
    {LZ4F_ERROR_headerVersion_wrong, CODEC_ERR_CORRUPT},
    {LZ4F_ERROR_decompressionFailed, CODEC_ERR_CORRUPT},
    {LZ4F_ERROR_frameType_unknown, CODEC_ERR_CORRUPT},
    {LZ4F_ERROR_srcPtr_wrong, CODEC_ERR_CORRUPT},
    {LZ4F_ERROR_reservedFlag_set, CODEC_ERR_CORRUPT},
};

static size_t lz4_error(size_t r) { return CODEC_ERROR_FROM(lz4_errors, LZ4F_getErrorCode(r)); }

size_t codec_lz4_compress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    lz4_ctx *c = ctx;
    LZ4F_preferences_t p = lz4_prefs(n, c->level);
    LZ4F_compressOptions_t opt;
    uint8_t *out = dst;
    size_t pos, r;

    if (cap < codec_lz4_bound(n, c->level))
        return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    memset(&opt, 0, sizeof opt);
    opt.stableSrc = 1;   /* as LZ4F_compressFrame(): the input stays put */
    r = LZ4F_compressBegin(c->c, out, cap, &p);
    if (LZ4F_isError(r))
        return lz4_error(r);
    pos = r;
    r = LZ4F_compressUpdate(c->c, out + pos, cap - pos, src, n, &opt);
    if (LZ4F_isError(r))
        return lz4_error(r);
    pos += r;
    r = LZ4F_compressEnd(c->c, out + pos, cap - pos, &opt);
    if (LZ4F_isError(r))
        return lz4_error(r);
    return pos + r;
}

static size_t lz4_decompress_frame(lz4_ctx *c, const void *src, size_t n, void *dst, size_t cap);

/* LZ4F_resetDecompressionContext (liblz4 1.9.4) does not clear the frame
 * size a failed frame declared: a later frame without a content size then
 * fails with "frame size wrong" (found by tests/fuzz/fuzz_decompress.c: a
 * truncated frame declaring 256 bytes, then an empty frame). After a failed
 * stream the decompression context is made anew, so that no state crosses
 * from one stream into the next; a stream that decodes leaves none. */
size_t codec_lz4_decompress(void *ctx, const void *src, size_t n, void *dst, size_t cap)
{
    lz4_ctx *c = ctx;
    if (!c->d && LZ4F_isError(LZ4F_createDecompressionContext(&c->d, LZ4F_VERSION))) {
        c->d = NULL;
        return CODEC_ERROR(CODEC_ERR_ALLOC);
    }
    size_t r = lz4_decompress_frame(c, src, n, dst, cap);
    if (codec_is_error(r)) {
        LZ4F_freeDecompressionContext(c->d);
        c->d = NULL;   /* made anew by the next call */
    }
    return r;
}

static size_t lz4_decompress_frame(lz4_ctx *c, const void *src, size_t n, void *dst, size_t cap)
{
    const uint8_t *in = src;
    uint8_t *out = dst;
    uint8_t probe[64];
    size_t ipos = 0, opos = 0, hint = 1;
    size_t declared = codec_lz4_content_size(src, n);

    if (n == 0)
        return CODEC_ERROR(CODEC_ERR_TRUNCATED);
    if (declared != CODEC_SIZE_UNKNOWN && declared > cap)
        return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    LZ4F_resetDecompressionContext(c->d);
    while (hint != 0) {
        size_t src_len = n - ipos;
        int full = opos == cap;
        /* When the output is full and the frame has not ended, decode into
         * a scratch buffer: output there means the caller's buffer is too
         * small; none, and the frame may still end (or be truncated). */
        size_t dst_len = full ? sizeof probe : cap - opos;
        hint = LZ4F_decompress(c->d, full ? probe : out + opos, &dst_len,
                               in + ipos, &src_len, NULL);
        if (LZ4F_isError(hint))
            return lz4_error(hint);
        if (full && dst_len)
            return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
        ipos += src_len;
        if (!full)
            opos += dst_len;
        if (hint != 0 && src_len == 0 && dst_len == 0)   /* no progress */
            return CODEC_ERROR(ipos == n ? CODEC_ERR_TRUNCATED : CODEC_ERR_LIBRARY);
    }
    if (ipos != n)
        return CODEC_ERROR(CODEC_ERR_CORRUPT);   /* one frame: nothing may follow */
    /* LZ4F checks the declared size itself; a second look costs nothing. */
    if (declared != CODEC_SIZE_UNKNOWN && declared != opos)
        return CODEC_ERROR(CODEC_ERR_CHECKSUM);
    return opos;
}

size_t codec_lz4_content_size(const void *src, size_t n)
{
    const uint8_t *s = src;
    uint64_t v = 0;
    int i;
    /* Magic 184D2204 (LE), FLG, BD, then the 8-byte size when FLG bit 3 is set. */
    if (n < 14 || s[0] != 0x04 || s[1] != 0x22 || s[2] != 0x4d || s[3] != 0x18 || !(s[4] & 0x08))
        return CODEC_SIZE_UNKNOWN;
    for (i = 7; i >= 0; i--)
        v = v << 8 | s[6 + i];
    if (v >= (uint64_t)CODEC_SIZE_UNKNOWN)
        return CODEC_SIZE_UNKNOWN;
    return (size_t)v;
}

size_t codec_lz4_stream_begin(void *ctx, size_t total, void *dst, size_t cap)
{
    lz4_ctx *c = ctx;
    LZ4F_preferences_t p = lz4_prefs(total, c->level);
    size_t r;
    /* Buffer partial blocks, so that the blocks fall at the same 64 KiB
     * boundaries as in one call, whatever the pieces. */
    p.autoFlush = 0;
    if (cap < codec_lz4_bound(total, c->level))
        return CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL);
    r = LZ4F_compressBegin(c->c, dst, cap, &p);
    if (LZ4F_isError(r))
        return lz4_error(r);
    codec_stream_begin(&c->out, total, dst, cap);
    c->out.left -= r;   /* the frame header */
    return 0;
}

size_t codec_lz4_stream_update(void *ctx, const void *src, size_t n)
{
    lz4_ctx *c = ctx;
    size_t r = codec_stream_count_add(&c->out.count, n);
    if (r != 0)
        return r;
    /* stableSrc 0: the caller may reuse src, so LZ4F keeps its own copy of
     * the window it still needs. */
    r = LZ4F_compressUpdate(c->c, codec_stream_next(&c->out), c->out.left, src, n, NULL);
    if (LZ4F_isError(r))
        return lz4_error(r);
    c->out.left -= r;
    return 0;
}

size_t codec_lz4_stream_end(void *ctx)
{
    lz4_ctx *c = ctx;
    size_t r = codec_stream_count_end(&c->out.count);
    if (r != 0)
        return r;
    r = LZ4F_compressEnd(c->c, codec_stream_next(&c->out), c->out.left, NULL);
    if (LZ4F_isError(r))
        return lz4_error(r);
    return codec_stream_written(&c->out) + r;
}
