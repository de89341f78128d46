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

#include "codec.h"

#define CODEC_DECLARE(p)                                                      \
    const char *codec_##p##_version(void);                                    \
    size_t codec_##p##_bound(size_t src_size, int level);                     \
    void *codec_##p##_create(int level);                                      \
    void codec_##p##_destroy(void *ctx);                                      \
    size_t codec_##p##_compress(void *ctx, const void *src, size_t n,         \
                                void *dst, size_t cap);                       \
    size_t codec_##p##_decompress(void *ctx, const void *src, size_t n,       \
                                  void *dst, size_t cap);                     \
    size_t codec_##p##_content_size(const void *src, size_t n);

/* The optional streaming members (codec.h), for the codecs that have them. */
#define CODEC_DECLARE_STREAM(p)                                               \
    size_t codec_##p##_stream_begin(void *ctx, size_t total, void *dst, size_t cap); \
    size_t codec_##p##_stream_update(void *ctx, const void *src, size_t n);   \
    size_t codec_##p##_stream_end(void *ctx);

CODEC_DECLARE(none)
CODEC_DECLARE(zlib)
CODEC_DECLARE(zlibfmt)
CODEC_DECLARE(libdeflate)
CODEC_DECLARE(isal)
CODEC_DECLARE(lz4)
CODEC_DECLARE(zstd)
CODEC_DECLARE_STREAM(none)
CODEC_DECLARE_STREAM(zlib)
CODEC_DECLARE_STREAM(zlibfmt)
CODEC_DECLARE_STREAM(isal)
CODEC_DECLARE_STREAM(lz4)
CODEC_DECLARE_STREAM(zstd)

/* The gzip container (RFC 1952), shared by the three deflate wrappers. */
#define CODEC_GZIP_HEADER 10   /* header bytes written by codec_gzip_header() */
#define CODEC_GZIP_TRAILER 8   /* CRC32 and ISIZE, little-endian */

/* Write CPython's GzipFile header for `level` with mtime 0, no file name:
 * 1f 8b 08 00 00000000 XFL ff (XFL 2 at level 9, 4 at level 1, else 0). */
void codec_gzip_header(uint8_t *dst, int level);

/* The ISIZE of the last member: the last 4 bytes, little-endian, when the
 * stream starts with the gzip magic and is long enough; else
 * CODEC_SIZE_UNKNOWN. Shared content_size() of the gzip codecs. */
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

/* zlib's deflate and inflate, shared by the gzip and zlib-format rows
 * (codec_zlib.c). */
struct z_stream_s;

/* Sets up a deflate stream at `level` and an inflate stream with the given
 * zlib windowBits (negative: raw; +16: gzip). 0, or -1 with neither left set
 * up. A pair set up here MUST be ended with codec_zlib_pair_end. */
int codec_zlib_pair_init(struct z_stream_s *def, struct z_stream_s *inf, int level, int deflate_bits,
                         int inflate_bits);
void codec_zlib_pair_end(struct z_stream_s *def, struct z_stream_s *inf);

/* Runs deflate over in[0..n) with `flush` into def->next_out, which has
 * *room bytes (decreased by what is written), until the input is used up
 * (and, for Z_FINISH, the stream has ended), at most 4 GiB per call into
 * zlib. 0, or CODEC_ERR_DST_TOO_SMALL / CODEC_ERR_LIBRARY. */
size_t codec_deflate_run(struct z_stream_s *def, const uint8_t *in, size_t n, int flush, size_t *room);

/* Translates an inflate() return code other than Z_OK, Z_BUF_ERROR and
 * Z_STREAM_END into an error code; `inf` holds zlib's message. */
typedef size_t (*codec_inflate_error_fn)(const struct z_stream_s *inf, int zrc);

/* Inflates one stream (gzip member or zlib stream, as `inf` was set up) from
 * in[0..n) into out[0..cap), feeding zlib at most 4 GiB at a time; the
 * caller MUST have reset `inf`. *used and *made receive the bytes read and
 * written. Returns 0, or an error code: CODEC_ERR_DST_TOO_SMALL when more
 * output follows than cap holds, CODEC_ERR_TRUNCATED when the input ends
 * first, or on_error's translation of zlib's code. */
size_t codec_inflate_one(struct z_stream_s *inf, codec_inflate_error_fn on_error, const uint8_t *in,
                         size_t n, uint8_t *out, size_t cap, size_t *used, size_t *made);
#endif
