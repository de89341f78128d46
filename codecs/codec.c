/* codec.c - the codec table, error names, look-up and listing (codec.h). */
#include <string.h>

#include "codec_impl.h"
#include "util.h"

#define ROW_(name, lib, p, lmin, lmax, ldef, gz, begin, update, end)          \
    {name, lib, codec_##p##_version, lmin, lmax, ldef, gz, codec_##p##_bound, \
     codec_##p##_create, codec_##p##_destroy, codec_##p##_compress,           \
     codec_##p##_decompress, codec_##p##_content_size, begin, update, end}
#define ROW(name, lib, p, lmin, lmax, ldef, gz)                               \
    ROW_(name, lib, p, lmin, lmax, ldef, gz, codec_##p##_stream_begin,        \
         codec_##p##_stream_update, codec_##p##_stream_end)
#define ROW_NO_STREAM(name, lib, p, lmin, lmax, ldef, gz)                     \
    ROW_(name, lib, p, lmin, lmax, ldef, gz, NULL, NULL, NULL)

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
    ROW("none", "libc", none, 0, 0, 0, 0),
    ROW("gzip", "zlib", zlib, 1, 9, 3, 1),
    ROW_NO_STREAM("libdeflate", "libdeflate", libdeflate, 1, 12, 6, 1),
    ROW("isal", "ISA-L", isal, 0, 3, 1, 1),
    ROW("lz4", "liblz4", lz4, -8, 12, 0, 0),
    ROW("zstd", "libzstd", zstd, -7, 19, 3, 0),
    /* Last, so that tests/fuzz/corpus/decompress (whose first byte picks a
     * row) keeps meaning what it meant. */
    ROW("zlib", "zlib", zlibfmt, 0, 9, 6, 0),
};
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
    };
    size_t e;
    if (!codec_is_error(r))
        return "no error";
    e = (size_t)0 - r;
    return names[e];
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
            cb_err(err, errlen, "codec '%s': level '%s': %s", spec, colon + 1, perr);
            return NULL;
        }
        if (v < c->level_min || v > c->level_max) {
            cb_err(err, errlen, "codec '%s': level %lld out of range %d..%d", spec,
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
        cb_err(err, errlen, "unknown codec '%.*s' (known: %s)", (int)len, spec, known);
    }
    return NULL;
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
