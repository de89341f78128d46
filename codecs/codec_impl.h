/*
 * codec_impl.h - internal to codecs/: the functions each library wrapper
 * (codec_<library>.c) exports to the descriptor table in codec.c, plus the
 * gzip container helpers the deflate wrappers share. Nothing outside codecs/
 * includes this file; callers use codec.h.
 *
 * Every function follows the rules of the matching codec_desc member in
 * codec.h.
 */
#ifndef CASBENCH_CODEC_IMPL_H
#define CASBENCH_CODEC_IMPL_H

#include <stdlib.h>

#include "codec.h"

/* content_size apart: the gzip wrappers share codec_gzip_isize(). */
#define CODEC_DECLARE_BASE(p)                                                 \
    const char *codec_##p##_version(void);                                    \
    size_t codec_##p##_bound(size_t src_size, int level);                     \
    void *codec_##p##_create(int level);                                      \
    void codec_##p##_destroy(void *ctx);                                      \
    size_t codec_##p##_compress(void *ctx, const void *src, size_t n,         \
                                void *dst, size_t cap);                       \
    size_t codec_##p##_decompress(void *ctx, const void *src, size_t n,       \
                                  void *dst, size_t cap);
#define CODEC_DECLARE(p)                                                      \
    CODEC_DECLARE_BASE(p)                                                     \
    size_t codec_##p##_content_size(const void *src, size_t n);

/* The optional streaming members (codec.h), for the codecs that have them. */
#define CODEC_DECLARE_STREAM(p)                                               \
    size_t codec_##p##_stream_begin(void *ctx, size_t total, void *dst, size_t cap); \
    size_t codec_##p##_stream_update(void *ctx, const void *src, size_t n);   \
    size_t codec_##p##_stream_end(void *ctx);

CODEC_DECLARE(none)
CODEC_DECLARE_BASE(zlib)
CODEC_DECLARE(zlibfmt)
CODEC_DECLARE_BASE(libdeflate)
CODEC_DECLARE_BASE(isal)
CODEC_DECLARE(lz4)
CODEC_DECLARE(zstd)
CODEC_DECLARE_STREAM(none)
CODEC_DECLARE_STREAM(zlib)
CODEC_DECLARE_STREAM(zlibfmt)
CODEC_DECLARE_STREAM(isal)
CODEC_DECLARE_STREAM(lz4)
CODEC_DECLARE_STREAM(zstd)

/* The context shape every library wrapper shares: a zeroed struct that
 * holds the library's compressor and decompressor state, made outside any
 * timed region and freed whole.
 * codec_ctx_new() allocates `size` zeroed bytes and calls init(ctx, level)
 * to set up the library's state; when init fails (non-zero) it releases the
 * context with codec_ctx_free() and returns NULL, so fini MUST accept a
 * context that init left half made (the library free calls used accept
 * NULL). codec_ctx_free() calls fini(ctx), then frees ctx; it accepts NULL.
 * A wrapper's create() and destroy() are these two calls. */
typedef int (*codec_ctx_init_fn)(void *ctx, int level);
typedef void (*codec_ctx_fini_fn)(void *ctx);

static inline void codec_ctx_free(void *ctx, codec_ctx_fini_fn fini)
{
    if (!ctx)
        return;
    fini(ctx);
    free(ctx);
}

static inline void *codec_ctx_new(size_t size, int level, codec_ctx_init_fn init, codec_ctx_fini_fn fini)
{
    void *ctx = calloc(1, size);
    if (ctx && init(ctx, level) != 0) {
        codec_ctx_free(ctx, fini);
        return NULL;
    }
    return ctx;
}

/* The count rule of the streaming contract (codec.h): the updates of a
 * stream add up to exactly the `total` that stream_begin was given. */
typedef struct {
    size_t total, fed;
} codec_stream_count;

static inline void codec_stream_count_begin(codec_stream_count *k, size_t total)
{
    k->total = total;
    k->fed = 0;
}

/* Counts n more input bytes: 0, or CODEC_ERR_CORRUPT when they would pass
 * total. A stream whose update then fails is over: the count does not
 * matter after it. */
static inline size_t codec_stream_count_add(codec_stream_count *k, size_t n)
{
    if (n > k->total - k->fed)
        return CODEC_ERROR(CODEC_ERR_CORRUPT);
    k->fed += n;
    return 0;
}

/* For stream_end: 0 when the updates added up to total, else
 * CODEC_ERR_CORRUPT. */
static inline size_t codec_stream_count_end(const codec_stream_count *k)
{
    return k->fed == k->total ? 0 : CODEC_ERROR(CODEC_ERR_CORRUPT);
}

/* The gzip container (RFC 1952), shared by the three deflate wrappers. */
#define CODEC_GZIP_HEADER 10   /* header bytes written by codec_gzip_header() */
#define CODEC_GZIP_TRAILER 8   /* CRC32 and ISIZE, little-endian */

/* Write CPython's GzipFile header for `level` with mtime 0, no file name:
 * 1f 8b 08 00 00000000 XFL ff (XFL 2 at level 9, 4 at level 1, else 0). */
void codec_gzip_header(uint8_t *dst, int level);

/* The ISIZE of the last member: the last 4 bytes, little-endian, when the
 * stream starts with the gzip magic and is long enough; else
 * CODEC_SIZE_UNKNOWN. The content_size() of every gzip row (codec.c). */
size_t codec_gzip_isize(const void *src, size_t n);

/* After a complete gzip member ends at offset `used` of an n-byte stream:
 * 1 when another member starts there, 0 when the rest is empty or only zero
 * bytes (padding that gzip(1) and CPython's GzipFile both accept), or a
 * CODEC_ERR_CORRUPT code for any other trailing bytes. */
size_t codec_gzip_after_member(const uint8_t *src, size_t n, size_t used);

/* Decodes one gzip member at the start of src into dst (cap bytes): *used and
 * *made receive the bytes read and written. Returns 0 or an error code. */
typedef size_t (*codec_gzip_member_fn)(void *ctx, const uint8_t *src, size_t n,
                                       uint8_t *dst, size_t cap, size_t *used, size_t *made);

/* Decodes every member of a gzip stream with `member`, into the
 * concatenation of their contents, as gzip(1) and CPython's GzipFile do.
 * Returns the total size written, or an error code (an empty stream is
 * CODEC_ERR_TRUNCATED; trailing bytes follow codec_gzip_after_member). */
size_t codec_gzip_decode_members(void *ctx, codec_gzip_member_fn member,
                                 const void *src, size_t n, void *dst, size_t cap);

/* The libraries that count in 32 bits (zlib, ISA-L) are fed at most
 * CODEC_STEP bytes of input and output per call. */
#define CODEC_STEP ((size_t)UINT32_MAX & ~(size_t)0xffff)

#define CODEC_STEP_MORE 0   /* the stream goes on */
#define CODEC_STEP_END 1    /* the stream has ended */

/* One call of a library's streaming coder (zlib's deflate and inflate,
 * ISA-L's isal_deflate and isal_inflate) on in[0..in_n) into
 * out[0..out_n), each at most CODEC_STEP bytes; `last` (encoders only): in
 * holds the last input, and the call is to end the stream. *read and
 * *written receive what it consumed and produced, also on error. Returns
 * CODEC_STEP_MORE, CODEC_STEP_END or an error code. */
typedef size_t (*codec_step_fn)(void *coder, const uint8_t *in, size_t in_n, int last, uint8_t *out,
                                size_t out_n, size_t *read, size_t *written);

/* Encodes in[0..n) by calls of `step` on `enc` into out, which has *room
 * bytes (decreased by what is written): until the input is used up, and
 * with `last` until the stream has ended. 0, or an error code: step's, or
 * CODEC_ERR_DST_TOO_SMALL when the room runs out first. */
size_t codec_encode_run(void *enc, codec_step_fn step, const uint8_t *in, size_t n, int last,
                        uint8_t *out, size_t *room);

/* Decodes one stream (a gzip member, a zlib stream) from in[0..n) into
 * out[0..cap) by calls of `step` on `dec`, which the caller MUST have reset.
 * When out is full before the stream ends, it decodes on into a scratch
 * buffer to learn whether more output follows or only the trailer. *used
 * and *made receive the bytes read and written. Returns 0, or an error
 * code: step's, CODEC_ERR_DST_TOO_SMALL when more output follows than cap
 * holds, CODEC_ERR_TRUNCATED when the input ends first, CODEC_ERR_LIBRARY
 * when a call makes no progress (never spin). */
size_t codec_decode_one(void *dec, codec_step_fn step, const uint8_t *in, size_t n,
                        uint8_t *out, size_t cap, size_t *used, size_t *made);

/* zlib's deflate and inflate, shared by the gzip and zlib-format rows
 * (codec_zlib.c). */
struct z_stream_s;

/* Sets up a deflate stream at `level` and an inflate stream with the given
 * zlib windowBits (negative: raw; +16: gzip). 0, or -1 with neither left set
 * up. A pair set up here MUST be ended with codec_zlib_pair_end, which also
 * accepts a zeroed pair or one this call failed on (zlib's End calls refuse,
 * harmlessly, a stream that is not set up). */
int codec_zlib_pair_init(struct z_stream_s *def, struct z_stream_s *inf, int level, int deflate_bits,
                         int inflate_bits);
void codec_zlib_pair_end(struct z_stream_s *def, struct z_stream_s *inf);

/* Runs deflate over in[0..n) with `flush` into def->next_out, which has
 * *room bytes (decreased by what is written), until the input is used up
 * (and, for Z_FINISH, the stream has ended), at most 4 GiB per call into
 * zlib. 0, or CODEC_ERR_DST_TOO_SMALL / CODEC_ERR_LIBRARY. */
size_t codec_deflate_run(struct z_stream_s *def, const uint8_t *in, size_t n, int flush, size_t *room);

/* The end of a deflate stream that the streaming calls wrote (stream_end of
 * the gzip and zlib rows): CODEC_ERR_CORRUPT when the updates did not add
 * up to k's total, else codec_deflate_run with Z_FINISH. */
size_t codec_deflate_finish(struct z_stream_s *def, const codec_stream_count *k, size_t *room);

/* Translates an inflate() return code other than Z_OK, Z_BUF_ERROR and
 * Z_STREAM_END into an error code; `inf` holds zlib's message. */
typedef size_t (*codec_inflate_error_fn)(const struct z_stream_s *inf, int zrc);

/* codec_decode_one() with zlib's inflate on `inf` (a gzip member or a zlib
 * stream, as `inf` was set up; the caller MUST have reset it), zlib's error
 * codes translated by on_error. */
size_t codec_inflate_one(struct z_stream_s *inf, codec_inflate_error_fn on_error, const uint8_t *in,
                         size_t n, uint8_t *out, size_t cap, size_t *used, size_t *made);
#endif
