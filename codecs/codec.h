/*
 * codec.h - the compressors of the save path, one descriptor row each.
 *
 * Every function that can fail returns size_t: a byte count, or an error code
 * that codec_is_error() recognises and codec_error_name() explains. Each
 * library's own error codes are translated inside its wrapper.
 *
 * Rules a caller MUST follow:
 *  - create() is called outside any timed region; the context is reused for
 *    every call at that level and destroyed with destroy() (which accepts NULL).
 *  - compress(): cap MUST be >= bound(n, level).
 *  - decompress(): cap is the exact expected size or larger; output beyond
 *    cap is an error (CODEC_ERR_DST_TOO_SMALL), never a write.
 *  - Decompressors check every length and checksum the format carries and
 *    reject truncated or corrupted input with an error code.
 *
 * What each decompressor accepts, as the reference tools read it:
 *  - gzip, libdeflate, isal: one or more gzip members (RFC 1952; FEXTRA,
 *    FNAME, FCOMMENT and FHCRC allowed), decoded to the concatenation of
 *    their contents, as gzip(1) and CPython's GzipFile do; each member's
 *    CRC32 and ISIZE are checked. Zero bytes after the last member are
 *    ignored (both tools accept such padding); any other trailing byte is
 *    CODEC_ERR_CORRUPT.
 *  - zlib: exactly one zlib stream (RFC 1950; no preset dictionary), its
 *    Adler-32 checked; trailing bytes are corrupt (CPython's zlib.decompress
 *    would ignore them). The format carries no size: content_size() is
 *    always CODEC_SIZE_UNKNOWN.
 *  - lz4: exactly one LZ4 frame (any block size, linked or independent
 *    blocks, checksums verified when present); trailing bytes are corrupt.
 *  - zstd: one or more frames, as `zstd -d`; empty input is truncated.
 * LZ4 and zstd frames as written here carry no checksum (python-lz4's
 * defaults; zstd's library default): a changed literal byte can decode to
 * wrong output of the right length. The gzip family always detects it.
 */
#ifndef CASBENCH_CODEC_H
#define CASBENCH_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sets.h"

typedef enum {
    CODEC_ERR_CORRUPT = 1,     /* not a valid stream of this format */
    CODEC_ERR_TRUNCATED,       /* the stream ends early */
    CODEC_ERR_CHECKSUM,        /* CRC / length / checksum mismatch */
    CODEC_ERR_DST_TOO_SMALL,   /* the output does not fit in cap */
    CODEC_ERR_LEVEL,           /* level outside [level_min, level_max] */
    CODEC_ERR_ALLOC,           /* out of memory */
    CODEC_ERR_LIBRARY,         /* any other failure reported by the library */
    CODEC_ERR_TRAILING,        /* whole stream, then bytes that are not one */
    CODEC_ERR_MAX
} codec_error;

#define CODEC_ERROR(e) ((size_t) - (ptrdiff_t)(e))
int codec_is_error(size_t r);
const char *codec_error_name(size_t r);

/* One level of a codec in named sets (sets.h): {3, CB_SET_DEFAULT | CB_SET_QUICK}. */
typedef struct { int level; unsigned sets; } codec_level_sets;
#define CODEC_MAX_SET_LEVELS 4
#define CODEC_STREAM_DIFFERS 0x7fffffff

typedef struct {
    const char *name;              /* stable: a column value in results */
    const char *library;           /* "zlib", "liblz4", ... */
    const char *(*version)(void);  /* the library's own version, at run time */
    int level_min, level_max, level_default;
    /* Facts about the format. They live here and nowhere else: the planner,
     * the verifier, `list` and (through env.tsv) the report read them from
     * the row, so a new codec states them once. */
    const char *family;            /* the algorithm: "deflate", "lz4", "zstd", "none" */
    const char *stream_format;     /* what compress() writes: "gzip (RFC 1952)", "LZ4 frame", ... */
    int gzip_compatible;           /* readable by today's metaflow (cas_version 1) */
    int ceiling;                   /* stores the blob as is: a bound, never a candidate */
    /* stream_* output is byte-identical to compress()'s at levels >= this
     * (see the streaming contract below); CODEC_STREAM_DIFFERS: at no level. */
    int stream_same_min_level;
    /* The Python call that runs this same library code, as
     * infra/python_path.py times it ("gzip.GzipFile (zlib)"); NULL when
     * Python has none, python_note then says why (NULL: "not in both"). */
    const char *python_call, *python_note;
    codec_level_sets in_sets[CODEC_MAX_SET_LEVELS];  /* ends at the first .sets == 0 */
    size_t (*bound)(size_t src_size, int level);
    void *(*create)(int level);    /* NULL on failure */
    void (*destroy)(void *ctx);    /* accepts NULL */
    size_t (*compress)(void *ctx, const void *src, size_t n, void *dst, size_t cap);
    size_t (*decompress)(void *ctx, const void *src, size_t n, void *dst, size_t cap);
    /* The decompressed size the stream declares (gzip ISIZE, LZ4F content
     * size, zstd frame content size), or CODEC_SIZE_UNKNOWN. A hint only:
     * decompress() verifies it. */
    size_t (*content_size)(const void *src, size_t n);
    /* Optional streaming compression, for a save path that compresses the
     * blob piece by piece as it is made; NULL where the library has none
     * (libdeflate). A stream is begin, any number of update, then end:
     *  - stream_begin(ctx, total, dst, cap): starts a stream of exactly
     *    `total` input bytes (LZ4 and zstd write it in the frame header)
     *    into dst; cap MUST be >= bound(total, level), and dst stays the
     *    caller's until stream_end returns. Returns 0 or an error.
     *  - stream_update(ctx, src, n): compresses the next n bytes; src may be
     *    reused by the caller as soon as it returns. 0 or an error.
     *  - stream_end(ctx): finishes the stream; returns its size in dst or an
     *    error (CODEC_ERR_CORRUPT when the updates did not add up to total).
     * The stream decodes with decompress() to the concatenated pieces; for
     * gzip, lz4, zstd, none and zlib at levels 1..9 it is also
     * byte-identical to compress() of them, whatever the pieces
     * (tests/c/test_codecs.c checks it at every level); isal's is not (ISA-L
     * ends a block where a call ends), nor zlib:0's (its stored blocks end
     * where a call ends).
     * One stream at a time per context; compress() in between is not
     * allowed. */
    size_t (*stream_begin)(void *ctx, size_t total_size, void *dst, size_t cap);
    size_t (*stream_update)(void *ctx, const void *src, size_t n);
    size_t (*stream_end)(void *ctx);
} codec_desc;

#define CODEC_SIZE_UNKNOWN ((size_t)-1)

extern const codec_desc codec_table[];
extern const size_t codec_count;

/* Look up "lz4" or "lz4:0" / "gzip:9"; *level receives the level named or
 * the codec's default. NULL with a one-line message in err (unknown codec,
 * level not a number, level out of range naming the range). */
const codec_desc *codec_find(const char *spec, int *level, char *err, size_t errlen);

/* Print every codec: name, levels, default, library and version. */
void codec_print_list(FILE *out);

/* The members of a named set (sets.h) one by one, in table order: start with
 * *pos = 0; each call returns the next member's row with its level in
 * *level, NULL after the last. */
const codec_desc *codec_set_next(unsigned set, size_t *pos, int *level);

/* The members of a named set (sets.h), "name:level" in table order, joined
 * by commas into out (truncated at cap); returns how many. */
size_t codec_set_specs(unsigned set, char *out, size_t cap);

/* Whether the streaming output of codec c at level is byte-identical to its
 * one-shot output (codec.h's streaming contract). */
int codec_stream_same(const codec_desc *c, int level);
#endif
