/* test_codecs.c - the codec table against itself, under the sanitizers:
 *
 *   test_codecs [--levels all|ends|default] [--fuzz] BLOB...
 *
 * For every codec, level (all; ends = lowest, default and highest; or the
 * default only) and blob file: the
 * stream round-trips into an output buffer of exactly the blob's size and
 * into a larger one; content_size() reads the size back (zlib: says it is
 * unknown); one byte less of
 * output is CODEC_ERR_DST_TOO_SMALL; a context reused after another input
 * gives the same bytes as a fresh one (what the benchmark relies on; for
 * blobs over 1 MiB at the default level only, to keep the run short).
 * --fuzz: at the default level, the stream with one byte changed at 64
 * positions and cut at 16 lengths must give an error or, for codecs whose
 * format carries a checksum (the gzip family), exactly the blob; codecs
 * without one (lz4, zstd frames as written here) must give an error or any
 * output within the buffer. Output buffers are malloc'd to their exact size
 * so that AddressSanitizer sees any write past them.
 *
 * Prints "PASS: ..." / "FAIL: ..." lines (tests/lib.sh); exit 1 on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "util.h"

static int failures;

static void report(int ok, const char *what, const char *codec, int level, const char *blob,
                   const char *detail)
{
    if (ok) {
        printf("PASS: %s %s:%d %s\n", what, codec, level, blob);
    } else {
        printf("FAIL: %s %s:%d %s: %s\n", what, codec, level, blob, detail);
        failures++;
    }
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "test_codecs: out of memory\n");
        exit(3);
    }
    return p;
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Decompress into a buffer of exactly cap bytes. */
static size_t decode(const codec_desc *c, void *ctx, const uint8_t *src, size_t n, size_t cap,
                     uint8_t **out)
{
    *out = xmalloc(cap);
    return c->decompress(ctx, src, n, *out, cap);
}

/* Streaming: the blob in one piece, in 64 KiB pieces and in uneven pieces
 * (empty ones included) must decode to the blob and, for the codecs named in
 * codec.h, equal compress()'s bytes z[0..zn). */
static void test_stream(const codec_desc *c, void *ctx, int level, const uint8_t *blob, size_t n,
                        const char *name, const uint8_t *z, size_t zn)
{
    static const char *const how[3] = {"one piece", "64 KiB pieces", "uneven pieces"};
    /* zlib:0 writes stored blocks where each call ends */
    int same_bytes = strcmp(c->name, "isal") != 0 && !(strcmp(c->name, "zlib") == 0 && level == 0);
    size_t cap = c->bound(n, level);
    uint8_t *s = xmalloc(cap), *piece = xmalloc(1 << 17), *out;
    char what[64], detail[160];
    int k;

    for (k = 0; k < 3; k++) {
        uint32_t seed = 99991u;
        size_t pos = 0, r = c->stream_begin(ctx, n, s, cap), d;
        while (!codec_is_error(r) && pos < n) {
            size_t step = k == 0 ? n : k == 1 ? 65536 : 0;
            if (k == 2) {
                seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
                step = seed % (1 << 17);
            }
            if (step > n - pos)
                step = n - pos;
            /* A scratch copy, overwritten after each call: the stream must
             * not keep pointers into the caller's piece. */
            memcpy(piece, blob + pos, step < (1 << 17) ? step : 0);
            r = c->stream_update(ctx, step < (1 << 17) ? piece : blob + pos, step);
            memset(piece, 0xa5, 1 << 17);
            pos += step;
        }
        if (!codec_is_error(r))
            r = c->stream_end(ctx);
        snprintf(what, sizeof what, "stream, %s, decodes", how[k]);
        if (codec_is_error(r)) {
            report(0, what, c->name, level, name, codec_error_name(r));
            continue;
        }
        d = decode(c, ctx, s, r, n, &out);
        report(d == n && memcmp(out, blob, n) == 0, what, c->name, level, name,
               codec_is_error(d) ? codec_error_name(d) : "wrong bytes");
        free(out);
        snprintf(what, sizeof what, "stream, %s, = compress()", how[k]);
        snprintf(detail, sizeof detail, "%zu bytes vs %zu", r, zn);
        if (same_bytes)   /* ISA-L ends a block where a call ends: its bytes differ */
            report(r == zn && memcmp(s, z, zn) == 0, what, c->name, level, name, detail);
    }
    free(s);
    free(piece);
}

static void test_level(const codec_desc *c, int level, const uint8_t *blob, size_t n,
                       const char *name, const uint8_t *other, size_t other_n, int fuzz)
{
    char detail[256];
    void *ctx = c->create(level), *fresh;
    size_t cap = c->bound(n, level), r, r2, d, hint;
    uint8_t *z, *z2, *out;
    int ok;

    if (!ctx) {
        report(0, "create", c->name, level, name, "NULL context");
        return;
    }
    z = xmalloc(cap);
    r = c->compress(ctx, blob, n, z, cap);
    if (codec_is_error(r)) {
        report(0, "compress", c->name, level, name, codec_error_name(r));
        c->destroy(ctx);
        free(z);
        return;
    }

    /* Reuse: another input through the same context, then this one again.
     * Over 1 MiB at the slow non-default levels only the round trip is
     * checked (every level's reuse is checked on the smaller blobs). */
    int recompress = n <= ((size_t)1 << 20) || level == c->level_default;
    if (other && recompress) {
        size_t ocap = c->bound(other_n, level);
        uint8_t *oz = xmalloc(ocap);
        r2 = c->compress(ctx, other, other_n, oz, ocap);
        free(oz);
        ok = !codec_is_error(r2);
        z2 = xmalloc(cap);
        r2 = c->compress(ctx, blob, n, z2, cap);
        ok = ok && r2 == r && memcmp(z, z2, r) == 0;
        snprintf(detail, sizeof detail, "reused context gave %zu bytes, fresh %zu", r2, r);
        report(ok, "reused context, same bytes", c->name, level, name, detail);
        free(z2);
    }
    /* And a fresh context gives the same bytes as the first use. */
    if (recompress) {
        fresh = c->create(level);
        z2 = xmalloc(cap);
        r2 = fresh ? c->compress(fresh, blob, n, z2, cap) : CODEC_ERROR(CODEC_ERR_ALLOC);
        c->destroy(fresh);
        report(r2 == r && memcmp(z, z2, r) == 0, "deterministic", c->name, level, name,
               "two contexts differ");
        free(z2);
    }

    d = decode(c, ctx, z, r, n, &out);
    snprintf(detail, sizeof detail, "%s (%zu bytes of %zu)",
             codec_is_error(d) ? codec_error_name(d) : "wrong bytes", d, n);
    report(d == n && memcmp(out, blob, n) == 0, "round trip, exact buffer", c->name, level, name, detail);
    free(out);

    d = decode(c, ctx, z, r, n + 4099, &out);
    report(d == n && memcmp(out, blob, n) == 0, "round trip, larger buffer", c->name, level, name,
           codec_is_error(d) ? codec_error_name(d) : "wrong bytes");
    free(out);

    hint = c->content_size(z, r);
    if (strcmp(c->name, "zlib") == 0) {
        /* RFC 1950 stores no size (codec.h): never a guess. */
        snprintf(detail, sizeof detail, "content_size %zu, want CODEC_SIZE_UNKNOWN", hint);
        report(hint == CODEC_SIZE_UNKNOWN, "content_size", c->name, level, name, detail);
    } else {
        snprintf(detail, sizeof detail, "content_size %zu, want %zu", hint, n);
        /* An LZ4 frame cannot declare size 0: 0 means "not stored". */
        report(hint == n || (n == 0 && hint == CODEC_SIZE_UNKNOWN), "content_size", c->name, level, name, detail);
    }

    if (n > 0) {
        d = decode(c, ctx, z, r, n - 1, &out);
        snprintf(detail, sizeof detail, "got %s",
                 codec_is_error(d) ? codec_error_name(d) : "success");
        report(d == CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL), "one byte short is DST_TOO_SMALL",
               c->name, level, name, detail);
        free(out);
    }

    if (c->stream_begin && recompress)
        test_stream(c, ctx, level, blob, n, name, z, r);

    if (fuzz && strcmp(c->name, "none") != 0 && r > 0) {
        int i, bad = 0, errors = 0;
        uint8_t *m = xmalloc(r);
        uint32_t seed = 2463534242u;
        detail[0] = '\0';
        for (i = 0; i < 64; i++) {
            size_t pos = r == 1 ? 0 : (size_t)i * (r - 1) / 63;
            uint8_t x;
            seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
            x = (uint8_t)(seed | 1);
            memcpy(m, z, r);
            m[pos] ^= x;
            d = decode(c, ctx, m, r, n, &out);
            if (codec_is_error(d))
                errors++;
            else if (c->gzip_compatible && (d != n || memcmp(out, blob, n) != 0) && !bad++)
                snprintf(detail, sizeof detail, "byte %zu ^ %02x decoded to wrong output", pos, x);
            else if (d > n && !bad++)
                snprintf(detail, sizeof detail, "byte %zu: returned %zu > cap", pos, d);
            free(out);
        }
        snprintf(detail + strlen(detail), sizeof detail - strlen(detail), " (%d of 64 rejected)", errors);
        report(!bad, "64 changed bytes: error or correct", c->name, level, name, detail);
        bad = 0;
        detail[0] = '\0';
        for (i = 0; i < 16; i++) {
            size_t len = (size_t)i * r / 16;
            d = decode(c, ctx, z, len, n, &out);
            if (!codec_is_error(d) && !bad++)
                snprintf(detail, sizeof detail, "cut at %zu of %zu decoded", len, r);
            free(out);
        }
        report(!bad, "16 truncations rejected", c->name, level, name, detail);
        free(m);
    }
    c->destroy(ctx);
    free(z);
}

/* A context reused after a failed stream decodes the next stream as a fresh
 * one would: a truncated stream that declared its size (256 bytes), then an
 * empty stream through the same context. (liblz4 1.9.4 kept the failed
 * frame's declared size: fuzz_decompress found it.) */
static void test_no_state_after_failure(const codec_desc *c)
{
    uint8_t plain[256], back[256];
    for (size_t k = 0; k < sizeof plain; k++) plain[k] = (uint8_t)(k * 7);
    void *ctx = c->create(c->level_default);
    size_t cap = c->bound(sizeof plain, c->level_default), empty_cap = c->bound(0, c->level_default);
    uint8_t *z = xmalloc(cap), *e = xmalloc(empty_cap);
    size_t zn = c->compress(ctx, plain, sizeof plain, z, cap);
    size_t bad = c->decompress(ctx, z, zn / 2, back, sizeof back);
    size_t en = c->compress(ctx, plain, 0, e, empty_cap);
    size_t r = c->decompress(ctx, e, en, back, 0);
    char detail[160];
    snprintf(detail, sizeof detail, "truncated stream: %s; then an empty stream: %s (%zu bytes)",
             codec_error_name(bad), codec_is_error(r) ? codec_error_name(r) : "ok", codec_is_error(r) ? 0 : r);
    /* The ceiling stores the blob as is: half of it is a valid stream. */
    report(!codec_is_error(zn) && (codec_is_error(bad) || c->ceiling) && !codec_is_error(en) && r == 0,
           "no state crosses from a failed stream into the next", c->name, c->level_default, "-", detail);
    free(z);
    free(e);
    c->destroy(ctx);
}

int main(int argc, char **argv)
{
    int levels = 0, fuzz = 0, i, first = 1;   /* levels: 0 default, 1 ends, 2 all */
    uint8_t *other = NULL;
    size_t other_n = 0;

    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--levels") == 0 && first + 1 < argc) {
            first++;
            levels = strcmp(argv[first], "all") == 0 ? 2 : strcmp(argv[first], "ends") == 0;
        } else if (strcmp(argv[first], "--fuzz") == 0) {
            fuzz = 1;
        } else {
            fprintf(stderr, "usage: test_codecs [--levels all|ends|default] [--fuzz] BLOB...\n");
            return 1;
        }
    }
    for (size_t k = 0; k < codec_count; k++) test_no_state_after_failure(&codec_table[k]);
    /* The "other" input for the reuse check: a different, compressible one. */
    other_n = 70000;
    other = xmalloc(other_n);
    for (size_t k = 0; k < other_n; k++)
        other[k] = (uint8_t)((k * k) >> 7);
    for (i = first; i < argc; i++) {
        uint8_t *blob;
        size_t n, k;
        char err[256];
        if (cb_read_file(argv[i], (size_t)1 << 30, &blob, &n, err, sizeof err) != 0) {
            fprintf(stderr, "test_codecs: %s: %s\n", argv[i], err);
            return 3;
        }
        for (k = 0; k < codec_count; k++) {
            const codec_desc *c = &codec_table[k];
            int lo = levels ? c->level_min : c->level_default;
            int hi = levels ? c->level_max : c->level_default;
            for (int level = lo; level <= hi; level++) {
                if (levels == 1 && level != lo && level != hi && level != c->level_default)
                    continue;
                test_level(c, level, blob, n, base(argv[i]), other, other_n,
                           fuzz && level == c->level_default);
            }
        }
        free(blob);
    }
    free(other);
    return failures ? 1 : 0;
}
