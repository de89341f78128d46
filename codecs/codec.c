/* codec.c - the codec table, error names, look-up and listing (codec.h). */
#include <string.h>

#include "codec_impl.h"
#include "util.h"

/* The functions of one codec module (codec_impl.h), by its prefix. */
#define CODEC_BASE_FUNCS(p)                                                   \
    .version = codec_##p##_version, .bound = codec_##p##_bound,               \
    .create = codec_##p##_create, .destroy = codec_##p##_destroy,             \
    .compress = codec_##p##_compress, .decompress = codec_##p##_decompress
#define CODEC_FUNCS(p) CODEC_BASE_FUNCS(p), .content_size = codec_##p##_content_size
/* A gzip stream's size is its trailer's ISIZE, read by one function. */
#define CODEC_GZIP_FUNCS(p) CODEC_BASE_FUNCS(p), .content_size = codec_gzip_isize
#define CODEC_STREAM_FUNCS(p)                                                 \
    .stream_begin = codec_##p##_stream_begin,                                 \
    .stream_update = codec_##p##_stream_update, .stream_end = codec_##p##_stream_end
#define D CB_SET_DEFAULT
#define Q CB_SET_QUICK

/* Level ranges:
 *  gzip  1..9, default 3: metaflow's compresslevel=3.
 *  zlib  0..9, default 6: zlib.compress's levels and default (-1 is 6);
 *    PR #3090's micro suite uses 3.
 *  libdeflate 1..12, default 6 (libdeflate's own default).
 *  isal 0..3, default 1 (igzip's default).
 *  lz4 -8..12, default 0: python-lz4 passes compression_level straight to
 *    LZ4F. 0..2 are LZ4's fast mode (identical output), 3..12 LZ4HC;
 *    LZ4F clamps anything above 12 (python-lz4's COMPRESSIONLEVEL_MAX 16
 *    writes the same frame as 12); a negative L is fast mode with
 *    acceleration 1 - L.
 *  zstd -7..19, default 3 (zstd's default; 20..22 need --ultra windows). */
const codec_desc codec_table[] = {
    {.name = "none", .library = "libc", CODEC_FUNCS(none), CODEC_STREAM_FUNCS(none),
     .level_min = 0, .level_max = 0, .level_default = 0,
     .family = "none", .stream_format = "the blob as is", .gzip_compatible = 1, .ceiling = 1,
     .stream_same_min_level = 0, .python_call = "bytes as is", .in_sets = {{0, D}}},
    {.name = "gzip", .library = "zlib", CODEC_GZIP_FUNCS(zlib), CODEC_STREAM_FUNCS(zlib),
     .level_min = 1, .level_max = 9, .level_default = 3,
     .family = "deflate", .stream_format = "gzip (RFC 1952)", .gzip_compatible = 1,
     .stream_same_min_level = 1, .python_call = "gzip.GzipFile (zlib)", .in_sets = {{3, D | Q}, {9, D}}},
    {.name = "libdeflate", .library = "libdeflate", CODEC_GZIP_FUNCS(libdeflate),
     .level_min = 1, .level_max = 12, .level_default = 6,
     .family = "deflate", .stream_format = "gzip (RFC 1952)", .gzip_compatible = 1,
     .stream_same_min_level = CODEC_STREAM_DIFFERS, .in_sets = {{6, D}}},
    /* ISA-L ends a deflate block where a call ends: streamed != one-shot. */
    {.name = "isal", .library = "ISA-L", CODEC_GZIP_FUNCS(isal), CODEC_STREAM_FUNCS(isal),
     .level_min = 0, .level_max = 3, .level_default = 1,
     .family = "deflate", .stream_format = "gzip (RFC 1952)", .gzip_compatible = 1,
     .stream_same_min_level = CODEC_STREAM_DIFFERS, .in_sets = {{1, D | Q}}},
    {.name = "lz4", .library = "liblz4", CODEC_FUNCS(lz4), CODEC_STREAM_FUNCS(lz4),
     .level_min = -8, .level_max = 12, .level_default = 0,
     .family = "lz4", .stream_format = "LZ4 frame", .stream_same_min_level = -8,
     .python_call = "lz4.frame (liblz4)", .in_sets = {{0, D | Q}}},
    {.name = "zstd", .library = "libzstd", CODEC_FUNCS(zstd), CODEC_STREAM_FUNCS(zstd),
     .level_min = -7, .level_max = 19, .level_default = 3,
     .family = "zstd", .stream_format = "zstd frame", .stream_same_min_level = -7,
     .python_call = "zstandard (libzstd)", .in_sets = {{1, D}, {3, D}}},
    /* Last, so that tests/fuzz/corpus/decompress (whose first byte picks a
     * row) keeps meaning what it meant. Level 0's stored blocks end where a
     * call ends: streamed != one-shot there. */
    {.name = "zlib", .library = "zlib", CODEC_FUNCS(zlibfmt), CODEC_STREAM_FUNCS(zlibfmt),
     .level_min = 0, .level_max = 9, .level_default = 6,
     .family = "deflate", .stream_format = "zlib (RFC 1950)", .stream_same_min_level = 1,
     .python_note = "infra/python_path.py does not time zlib.compress"},
};
#undef D
#undef Q
const size_t codec_count = sizeof codec_table / sizeof codec_table[0];

int codec_is_error(size_t r)
{
    return r > CODEC_ERROR(CODEC_ERR_MAX);
}

const char *codec_error_name(size_t r)
{
    static const char *const names[CODEC_ERR_MAX] = {
        [CODEC_ERR_CORRUPT] = "corrupt stream",
        [CODEC_ERR_TRUNCATED] = "truncated stream",
        [CODEC_ERR_CHECKSUM] = "checksum or length mismatch",
        [CODEC_ERR_DST_TOO_SMALL] = "output larger than the buffer",
        [CODEC_ERR_LEVEL] = "level out of range",
        [CODEC_ERR_ALLOC] = "out of memory",
        [CODEC_ERR_LIBRARY] = "library error",
        [CODEC_ERR_TRAILING] = "trailing data after the end of the stream",
    };
    size_t e;
    if (!codec_is_error(r))
        return "no error";
    e = (size_t)0 - r;
    return names[e];
}

size_t codec_error_from(const codec_error_map *map, size_t n, int library)
{
    for (size_t i = 0; i < n; i++)
        if (map[i].library == library)
            return CODEC_ERROR(map[i].code);
    return CODEC_ERROR(CODEC_ERR_LIBRARY);
}

const codec_desc *codec_find(const char *spec, int *level, char *err, size_t errlen)
{
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    size_t i;

    for (i = 0; i < codec_count; i++) {
        const codec_desc *c = &codec_table[i];
        char perr[128];
        int64_t v;
        if (strlen(c->name) != len || strncmp(c->name, spec, len) != 0)
            continue;
        if (!colon) {
            *level = c->level_default;
            return c;
        }
        if (cb_parse_i64(colon + 1, INT32_MIN, INT32_MAX, &v, perr, sizeof perr) != 0) {
            cb_err(err, errlen, "codec %s: level %s: %s", CB_Q(spec), CB_Q(colon + 1), perr);
            return NULL;
        }
        if (v < c->level_min || v > c->level_max) {
            cb_err(err, errlen, "codec %s: level %lld out of range %d..%d", CB_Q(spec),
                   (long long)v, c->level_min, c->level_max);
            return NULL;
        }
        *level = (int)v;
        return c;
    }
    {
        char known[256] = "";
        for (i = 0; i < codec_count; i++) {
            if (i)
                strncat(known, ", ", sizeof known - strlen(known) - 1);
            strncat(known, codec_table[i].name, sizeof known - strlen(known) - 1);
        }
        char name[CB_QUOTE_CAP];
        snprintf(name, sizeof name, "%.*s", (int)len, spec);
        cb_err(err, errlen, "unknown codec %s (known: %s)", CB_Q(name), known);
    }
    return NULL;
}

int codec_stream_same(const codec_desc *c, int level)
{
    return c->stream_begin && level >= c->stream_same_min_level;
}

const codec_desc *codec_set_next(unsigned set, size_t *pos, int *level)
{
    /* *pos counts (row, level slot) pairs already looked at. */
    for (; *pos < codec_count * CODEC_MAX_SET_LEVELS; ++*pos) {
        const codec_desc *c = &codec_table[*pos / CODEC_MAX_SET_LEVELS];
        const codec_level_sets *ls = &c->in_sets[*pos % CODEC_MAX_SET_LEVELS];
        if (ls->sets & set) {
            ++*pos;
            *level = ls->level;
            return c;
        }
    }
    return NULL;
}

size_t codec_set_specs(unsigned set, char *out, size_t cap)
{
    size_t pos = 0, n = 0, len = 0;
    const codec_desc *c;
    int level;
    if (cap) out[0] = 0;
    for (; (c = codec_set_next(set, &pos, &level)); n++)
        cb_set_list_add(out, cap, &len, "%s:%d", c->name, level);
    return n;
}

void codec_print_list(FILE *out)
{
    size_t i;
    fprintf(out, "%-11s %-8s %-8s %-11s %-12s %-16s %s\n", "codec", "levels", "default",
            "library", "version", "gzip-compatible", "streaming");
    for (i = 0; i < codec_count; i++) {
        const codec_desc *c = &codec_table[i];
        char levels[32];
        snprintf(levels, sizeof levels, "%d..%d", c->level_min, c->level_max);
        fprintf(out, "%-11s %-8s %-8d %-11s %-12s %-16s %s\n", c->name, levels,
                c->level_default, c->library, c->version(), c->gzip_compatible ? "yes" : "no",
                c->stream_begin ? "yes" : "no");
    }
}
