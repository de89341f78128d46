/* calib_compare.c - the five comparisons of `casbench calibrate`: each runs
 * the harness side and the tool on the same bytes, back to back, and adds
 * rows that say what each side measures and, out of bounds, why. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_impl.h"
#include "codec_lz4block.h"
#include "util.h"

#define XXHSUM_SAMPLE 102400   /* xxhsum 0.8's -b sample: 100 KB */

static int oom(char *err, size_t errlen) { return calib_err(CB_EXIT_ENV, err, errlen, "out of memory"); }

static void progress(const calib_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const calib_opts *o, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    if (!o->progress) return;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    o->progress(o->progress_arg, what);
}

/* What `lz4 -bL` / `zstd -bL` report on the blob's file. */
typedef struct {
    uint64_t csize;
    double c_bps, d_bps, cpu_share;
} codec_tool_figure;

static int codec_tool(const calib_opts *o, const char *tool, int level, const calib_blob *b,
                      codec_tool_figure *f, char *err, size_t errlen)
{
    char *argv[5], iters[8], lv[8], msg[256];
    uint64_t size;
    calib_tool_run r;
    int rc;
    snprintf(iters, sizeof iters, "-i%d", o->quick ? 1 : 2);
    snprintf(lv, sizeof lv, "-b%d", level);
    argv[0] = (char *)tool, argv[1] = lv, argv[2] = iters, argv[3] = (char *)b->file, argv[4] = NULL;
    if ((rc = calib_tool_exec(tool, argv, CALIB_TOOL_TIMEOUT_S, &r, err, errlen)) != 0) return rc;
    rc = calib_parse_codec_bench(r.out, r.len, &size, &f->csize, &f->c_bps, &f->d_bps, msg, sizeof msg);
    free(r.out);
    if (rc != 0) return calib_err(rc, err, errlen, "%s: %s", tool, msg);
    f->cpu_share = r.cpu_share;
    if (size != b->len)
        return calib_err(CB_EXIT_ENV, err, errlen, "%s: benchmarked %llu bytes, the blob has %zu", tool,
                         (unsigned long long)size, b->len);
    return 0;
}

/* The compressed sizes agree, or the two sides do not run the same
 * compression: a finding for the `why` column. */
static void size_note(char *dst, size_t cap, const char *tool, uint64_t harness, uint64_t tool_size)
{
    if (harness == tool_size)
        snprintf(dst, cap, "both sides write %llu compressed bytes (same parameters)", (unsigned long long)harness);
    else
        snprintf(dst, cap, "the sizes differ: harness %llu compressed bytes, %s %llu (not the same parameters)",
                 (unsigned long long)harness, tool, (unsigned long long)tool_size);
}

/* The lz4:0 frame of the matrix beside lz4 -b1: shown for context. */
static int lz4_frame_rows(const calib_blob *b, const codec_tool_figure *tf, calib_table *t, char *err, size_t errlen)
{
    calib_figure fc, fd;
    char msg[256];
    int rc;
    const codec_desc *frame = codec_find("lz4:0", &(int){0}, msg, sizeof msg);
    if (!frame) return calib_err(CB_EXIT_INTERNAL, err, errlen, "lz4:0: %s", msg);
    if ((rc = calib_codec_cells(frame, 0, b, &fc, &fd, err, errlen)) != 0) return rc;
    calib_row *r = calib_add_row(t, CALIB_KIND_CONTEXT, &fc, tf->c_bps, "lz4:0 frame (matrix) vs lz4 -b1 compress %s", b->name);
    if (!r) return oom(err, errlen);
    calib_row_harness(r, "matrix compress cell lz4:0: the LZ4 frame of PR #3090 (LZ4F, 64 KiB linked blocks, content size)");
    calib_row_tool(r, "lz4 -b1: one LZ4 block over the whole file");
    calib_explain(r, "not the same work: the frame compresses 64 KiB blocks each linked to the previous one (LZ4_compress_fast_continue with a 64 KiB dictionary) and writes block headers; lz4 -b compresses one block with no dictionary and no frame. The lz4-block rows above are the like-with-like check");
    r = calib_add_row(t, CALIB_KIND_CONTEXT, &fd, tf->d_bps, "lz4:0 frame (matrix) vs lz4 -b1 decompress %s", b->name);
    if (!r) return oom(err, errlen);
    calib_row_harness(r, "matrix decompress cell lz4:0: LZ4F_decompress of the PR #3090 frame");
    calib_row_tool(r, "lz4 -b1: LZ4_decompress_safe of one block");
    calib_explain(r, "not the same work: LZ4F decodes 64 KiB linked blocks (each match may reach into the previous block) through the frame parser; lz4 -b decodes one block");
    return 0;
}

int calib_compare_lz4(const calib_opts *o, const char *path, const calib_blob *b, calib_table *t,
                      char *err, size_t errlen)
{
    calib_figure hc, hd;
    codec_tool_figure tf;
    char known[640], sizes[200], lib[160];
    int rc;
    progress(o, "lz4 %s", b->name);
    /* One measurement on each side, back to back: the best of two on one
     * side only would favour that side on a busy machine. */
    if ((rc = calib_codec_cells(&codec_lz4_block, 1, b, &hc, &hd, err, errlen)) != 0) return rc;
    if ((rc = codec_tool(o, "lz4", 1, b, &tf, err, errlen)) != 0) return rc;
    /* The lz4-block stream is the block after a 4-byte size. */
    size_note(sizes, sizeof sizes, "lz4 -b1", hc.stored - 4, tf.csize);
    calib_tool_library(path, "liblz4.so", "liblz4", lib, sizeof lib);

    calib_row *r = calib_add_row(t, CALIB_KIND_LIKE, &hc, tf.c_bps, "lz4 -b1 compress %s (%zu B)", b->name, b->len);
    if (!r) return oom(err, errlen);
    r->tool = "lz4", r->tool_cpu_share = tf.cpu_share;
    calib_row_harness(r, "lz4-block cell: LZ4_compress_fast_extState (acceleration 1) over the whole blob as one block, into a reused buffer");
    calib_row_tool(r, "lz4 -b1: LZ4_compress_fast (acceleration 1) over the whole file as one block (no -B), into a reused buffer; wall time; %s", lib);
    snprintf(known, sizeof known, "%s; lz4 %s%s", sizes, lib,
             hc.stored - 4 == tf.csize && strstr(lib, "own statically linked")
                 ? ": the same compression of the same bytes by another build of the library, so a gap here is that build's speed or a busy machine, not work the harness adds or leaves out"
                 : "");
    calib_explain(r, known);
    r = calib_add_row(t, CALIB_KIND_LIKE, &hd, tf.d_bps, "lz4 -b1 decompress %s (%zu B)", b->name, b->len);
    if (!r) return oom(err, errlen);
    r->tool = "lz4", r->tool_cpu_share = tf.cpu_share;
    calib_row_harness(r, "lz4-block cell: LZ4_decompress_safe of the one block into a reused buffer; MB/s of decompressed bytes");
    calib_row_tool(r, "lz4 -b1: LZ4_decompress_safe_usingDict (no dictionary) of the one block; MB/s of decompressed bytes; wall time");
    calib_explain(r, known);
    return lz4_frame_rows(b, &tf, t, err, errlen);
}

int calib_compare_zstd(const calib_opts *o, const char *path, const calib_blob *b, int level, calib_table *t,
                       char *err, size_t errlen)
{
    calib_figure hc, hd;
    codec_tool_figure tf;
    char msg[256], spec[16], tool[16], sizes[200], lib[160], known[1000];
    int lvl, rc;
    snprintf(spec, sizeof spec, "zstd:%d", level);
    progress(o, "zstd -b%d %s", level, b->name);
    const codec_desc *z = codec_find(spec, &lvl, msg, sizeof msg);
    if (!z) return calib_err(CB_EXIT_INTERNAL, err, errlen, "%s: %s", spec, msg);
    if ((rc = calib_codec_cells(z, lvl, b, &hc, &hd, err, errlen)) != 0) return rc;
    if ((rc = codec_tool(o, "zstd", level, b, &tf, err, errlen)) != 0) return rc;
    snprintf(tool, sizeof tool, "zstd -b%d", level);
    size_note(sizes, sizeof sizes, tool, hc.stored, tf.csize);
    calib_tool_library(path, "libzstd.so", "libzstd", lib, sizeof lib);

    /* Same parameters, same bytes out, another build: say so when it shows. */
    snprintf(known, sizeof known, "%s; zstd %s%s", sizes, lib,
             hc.stored == tf.csize && strstr(lib, "own statically linked")
                 ? ": the same compression of the same bytes by another build of the library, so a gap here is that build's speed, not work the harness adds or leaves out (the harness times the libzstd.so.1 that casbench links)"
                 : "");
    calib_row *r = calib_add_row(t, CALIB_KIND_LIKE, &hc, tf.c_bps, "zstd -b%d compress %s (%zu B)", level, b->name, b->len);
    if (!r) return oom(err, errlen);
    r->tool = "zstd", r->tool_cpu_share = tf.cpu_share;
    calib_row_harness(r, "matrix compress cell zstd:%d: ZSTD_compress2 of the whole blob (one frame, context reused) into a reused buffer", level);
    calib_row_tool(r, "zstd -b%d: ZSTD_compress2 of the whole file (no -B: one frame), single-threaded (-T1, its default, compresses in the calling thread); wall time; %s", level, lib);
    calib_explain(r, known);
    r = calib_add_row(t, CALIB_KIND_LIKE, &hd, tf.d_bps, "zstd -b%d decompress %s (%zu B)", level, b->name, b->len);
    if (!r) return oom(err, errlen);
    r->tool = "zstd", r->tool_cpu_share = tf.cpu_share;
    calib_row_harness(r, "matrix decompress cell zstd:%d: ZSTD_decompressDCtx into a reused buffer; MB/s of decompressed bytes", level);
    calib_row_tool(r, "zstd -b%d: ZSTD_decompressStream into a buffer of the exact size; MB/s of decompressed bytes; wall time", level);
    calib_explain(r, known);
    return 0;
}

const calib_xxh_alg calib_xxh_algs[] = {
    {3, "XXH64", "xxh64"}, {5, "XXH3_64b", "xxh3-64"}, {11, "XXH128", "xxh3-128"},
};
#define N_XXH (sizeof calib_xxh_algs / sizeof calib_xxh_algs[0])
const size_t calib_xxh_alg_count = N_XXH;

/* One `xxhsum -b3,5,11`: the best speed so far of each algorithm in bps. */
static int xxhsum_once(const calib_opts *o, double bps[N_XXH], char *err, size_t errlen)
{
    char iters[8], msg[256], *argv[4];
    calib_tool_run r;
    int rc;
    snprintf(iters, sizeof iters, "-i%d", o->quick ? 1 : 3);
    argv[0] = "xxhsum", argv[1] = "-b3,5,11", argv[2] = iters, argv[3] = NULL;
    if ((rc = calib_tool_exec("xxhsum", argv, CALIB_TOOL_TIMEOUT_S, &r, err, errlen)) != 0) return rc;
    for (size_t i = 0; i < N_XXH && rc == 0; i++) {
        uint64_t size;
        double v;
        if (calib_parse_xxhsum_bench(r.out, r.len, calib_xxh_algs[i].id, calib_xxh_algs[i].tool_name, &size, &v, msg, sizeof msg) != 0)
            rc = calib_err(CB_EXIT_ENV, err, errlen, "xxhsum: %s", msg);
        else if (size != XXHSUM_SAMPLE)
            rc = calib_err(CB_EXIT_ENV, err, errlen, "xxhsum: a %llu-byte sample, not xxhsum 0.8's 100 KB", (unsigned long long)size);
        else if (v > bps[i])
            bps[i] = v;
    }
    free(r.out);
    return rc;
}

int calib_compare_xxhsum(const calib_opts *o, const char *path, calib_table *t, char *err, size_t errlen)
{
    calib_figure h[N_XXH];
    double tool_bps[N_XXH] = {0};
    char lib[160];
    int rc;
    progress(o, "xxhsum -b");
    /* Two rounds of (hash cells, xxhsum), the best of each side: both get
     * the same two chances at a quiet moment. The sample size xxhsum
     * reports is checked against its 100 KB. */
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < N_XXH; i++) {
            calib_figure f;
            if ((rc = calib_hash_cell(calib_xxh_algs[i].hash, XXHSUM_SAMPLE, round ? "xxhsum-2" : "xxhsum-1", &f, err, errlen)) != 0)
                return rc;
            h[i] = round ? calib_best_of(h[i], f) : f;
        }
        if ((rc = xxhsum_once(o, tool_bps, err, errlen)) != 0) return rc;
    }
    calib_tool_library(path, "libxxhash.so", "xxHash", lib, sizeof lib);
    for (size_t i = 0; i < N_XXH; i++) {
        calib_figure hc = calib_in_cpu_time(h[i]);
        calib_row *r = calib_add_row(t, CALIB_KIND_LIKE, &hc, tool_bps[i], "xxhsum -b%d %s vs %s (%d B)", calib_xxh_algs[i].id,
                                     calib_xxh_algs[i].tool_name, calib_xxh_algs[i].hash, XXHSUM_SAMPLE);
        if (!r) return oom(err, errlen);
        calib_row_harness(r, "matrix hash cell %s: reset, update, digest (libxxhash, the x86 dispatch entry points for XXH3) and the hex key, on a buffer of that size held in cache; CPU time", calib_xxh_algs[i].hash);
        calib_row_tool(r, "xxhsum -b%d: one-shot %s of its %d-byte sample in cache (CPU time, fastest of its runs; xxhsum's MB is 2^20, so its it/s x size is used); %s",
                          calib_xxh_algs[i].id, calib_xxh_algs[i].tool_name, XXHSUM_SAMPLE, lib);
        calib_explain(r, NULL);
    }
    return 0;
}

static const struct { const char *tool_name, *hash, *evp; } ossl_algs[] = {
    {"sha1", "sha1", "SHA1"}, {"sha256", "sha256", "SHA2-256"}, {"blake2b512", "blake2b", "BLAKE2B-512"},
};
static const size_t ossl_sizes[] = {8192, 16384};
#define OSSL_SECONDS "1"

/* One `openssl speed -evp ALG -bytes N`: its speed in *bps. */
static int openssl_once(const char *alg, size_t n, double *bps, char *err, size_t errlen)
{
    char bytes[24], msg[256], *argv[9];
    calib_tool_run r;
    int rc;
    snprintf(bytes, sizeof bytes, "%zu", n);
    argv[0] = "openssl", argv[1] = "speed", argv[2] = "-evp", argv[3] = (char *)alg;
    argv[4] = "-bytes", argv[5] = bytes, argv[6] = "-seconds", argv[7] = OSSL_SECONDS, argv[8] = NULL;
    if ((rc = calib_tool_exec("openssl", argv, CALIB_TOOL_TIMEOUT_S, &r, err, errlen)) != 0) return rc;
    rc = calib_parse_openssl_speed(r.out, r.len, alg, n, bps, msg, sizeof msg);
    free(r.out);
    return rc ? calib_err(rc, err, errlen, "openssl: %s", msg) : 0;
}

/* The two rows of one algorithm and block size: the hash cell against
 * openssl speed, and openssl speed's own loop (EVP_Digest per block) run
 * by the harness against it. h and he in CPU time. */
static int openssl_rows(size_t a, size_t n, const calib_figure *h, const calib_figure *he, double bps, calib_table *t,
                        char *err, size_t errlen)
{
    char known[700] = "";
    const char *alg = ossl_algs[a].tool_name;
    calib_row *r = calib_add_row(t, CALIB_KIND_LIKE, h, bps, "openssl speed -evp %s vs %s (%zu B)", alg, ossl_algs[a].hash, n);
    if (!r) return oom(err, errlen);
    calib_row_harness(r, "matrix hash cell %s: EVP_DigestInit_ex2 on a reused context, EVP_DigestUpdate, EVP_DigestFinal_ex and the hex key, on a buffer in cache; CPU time", ossl_algs[a].hash);
    calib_row_tool(r, "openssl speed -evp %s -bytes %zu: EVP_Digest (a new EVP_MD_CTX per block) on a hot buffer, for %s s of CPU time; links libcrypto, the library the harness runs",
                      alg, n, OSSL_SECONDS);
    double extra_ns = (double)n / he->bps * 1e9 - (double)n / h->bps * 1e9;
    if (extra_ns > 0 && h->bps > bps * CALIB_LIKE_HI)
        snprintf(known, sizeof known,
                 "openssl speed makes and frees an EVP_MD_CTX for every block, the hash cell reuses one: EVP_Digest per block costs %.0f ns more per %zu-byte block here (next row), %.1f%% of the block's time",
                 extra_ns, n, 100 * extra_ns / ((double)n / h->bps * 1e9));
    double qe = he->bps / bps, qh = h->bps / bps;
    if ((qe < CALIB_LIKE_LO && qh < CALIB_LIKE_LO) || (qe > CALIB_LIKE_HI && qh > CALIB_LIKE_HI))
        snprintf(known + strlen(known), sizeof known - strlen(known),
                 "%sthe next row, openssl speed's own loop run by the harness, is off by as much (%.3f): the machine at that moment, not the hash cell's work",
                 known[0] ? "; " : "", qe);
    calib_explain(r, known[0] ? known : NULL);
    r = calib_add_row(t, CALIB_KIND_LIKE, he, bps, "EVP_Digest per block (as openssl speed) vs openssl speed -evp %s (%zu B)", alg, n);
    if (!r) return oom(err, errlen);
    calib_row_harness(r, "EVP_Digest per iteration (Google Benchmark, same run), the algorithm fetched once, as openssl speed's loop; CPU time");
    calib_row_tool(r, "openssl speed -evp %s -bytes %zu (as above)", alg, n);
    calib_explain(r, NULL);
    return 0;
}

/* Two rounds of (hash cell, openssl speed, EVP_Digest loop), the best of
 * each: every side gets the same two chances. */
static int openssl_one(const calib_opts *o, size_t a, size_t n, calib_table *t, char *err, size_t errlen)
{
    char name[128];
    calib_figure h = {0, 0, 0, 0, 0}, he = {0, 0, 0, 0, 0}, f;
    double bps = 0, tb;
    int rc = 0;
    progress(o, "openssl speed %s %zu", ossl_algs[a].tool_name, n);
    uint8_t *buf = malloc(n);
    if (!buf) return oom(err, errlen);
    cb_fill_random(buf, n, 0);
    calib_evp *e = calib_evp_create(ossl_algs[a].evp, buf, n, err, errlen);
    if (!e) {
        free(buf);
        return CB_EXIT_ENV;
    }
    for (int round = 0; round < 2 && rc == 0; round++) {
        if ((rc = calib_hash_cell(ossl_algs[a].hash, n, round ? "openssl-2" : "openssl-1", &f, err, errlen)) != 0) break;
        h = calib_best_of(h, f);
        if ((rc = openssl_once(ossl_algs[a].tool_name, n, &tb, err, errlen)) != 0) break;
        if (tb > bps) bps = tb;
        snprintf(name, sizeof name, "calibrate/openssl/%zu/EVP_Digest/%s/%d", n, ossl_algs[a].tool_name, round);
        gb_measurement m = calib_evp_measurement(e, name);
        if ((rc = calib_time_measurement(&m, &f, err, errlen)) != 0) break;
        he = calib_best_of(he, f);
    }
    calib_evp_free(e);
    free(buf);
    if (rc != 0) return rc;
    h = calib_in_cpu_time(h);
    he = calib_in_cpu_time(he);
    return openssl_rows(a, n, &h, &he, bps, t, err, errlen);
}

int calib_compare_openssl(const calib_opts *o, calib_table *t, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t a = 0; a < sizeof ossl_algs / sizeof ossl_algs[0] && rc == 0; a++)
        for (size_t k = 0; k < sizeof ossl_sizes / sizeof ossl_sizes[0] && rc == 0; k++)
            rc = openssl_one(o, a, ossl_sizes[k], t, err, errlen);
    return rc;
}

int calib_compare_pickle(const calib_opts *o, const calib_blob *b, calib_table *t, char *err, size_t errlen)
{
    cell_input in = calib_cell_input(b);
    cell_spec spec;
    char name[256];
    int rc = 0;
    progress(o, "pickle %s vs memcpy", b->name);
    uint8_t *dst = malloc(b->len ? b->len : 1);
    if (!dst) return oom(err, errlen);
    memset(dst, 0, b->len);   /* touched: reuse means no page faults */
    for (int fresh = 0; fresh <= 1 && rc == 0; fresh++) {
        calib_memcpy mc = {b->blob, dst, b->len, fresh};
        calib_figure hp = {0, 0, 0, 0, 0}, hm = {0, 0, 0, 0, 0}, f;
        memset(&spec, 0, sizeof spec);
        spec.stage = CELL_PICKLE;
        spec.alloc = fresh ? CELL_ALLOC_FRESH : CELL_ALLOC_REUSE;
        /* Two rounds, alternating, the best of each: both sides see the
         * same moments of a shared machine. */
        for (int round = 0; round < 2 && rc == 0; round++) {
            snprintf(name, sizeof name, "calibrate/%s/pickle/%s/%d", b->name, cell_alloc_names[spec.alloc], round);
            if ((rc = calib_time_cell(&spec, &in, name, b->len, &f, err, errlen)) != 0) break;
            hp = calib_best_of(hp, f);
            snprintf(name, sizeof name, "calibrate/%s/memcpy/%s/%d", b->name, cell_alloc_names[spec.alloc], round);
            gb_measurement m = calib_memcpy_measurement(&mc, name);
            if ((rc = calib_time_measurement(&m, &f, err, errlen)) != 0) break;
            hm = calib_best_of(hm, f);
        }
        if (rc != 0) break;
        /* CPU time on both sides: the thread's own time, page faults
         * included, and none of another process's. */
        hp = calib_in_cpu_time(hp);
        calib_row *r = calib_add_row(t, CALIB_KIND_FLOOR, &hp, hm.cpu_bps, "pickle %s vs memcpy of the blob, %s (%zu B)",
                                     b->name, cell_alloc_names[spec.alloc], b->len);
        if (!r) {
            rc = oom(err, errlen);
            break;
        }
        calib_row_harness(r, "%s", fresh ? "matrix pickle cell, fresh: malloc of the pickle (fresh mmap'd pages), pickle_dump, free; CPU time"
                                         : "matrix pickle cell, reuse: pickle_dump into a touched buffer; CPU time");
        calib_row_tool(r, "memcpy of the blob into %s (Google Benchmark, same run); CPU time; target >= %.2f",
                          fresh ? "a fresh malloc'd buffer, then free" : "a touched buffer", CALIB_PICKLE_LO);
        calib_explain(r, "pickling costs more than one copy of the array's data");
    }
    free(dst);
    return rc;
}

static const char *tool_path(const calib_toolset *ts, unsigned bit)
{
    for (size_t i = 0; i < calib_tool_count; i++)
        if (calib_tools[i].bit == bit) return ts->path[i];
    return "";
}

int calib_run(const calib_opts *o, const calib_toolset *ts, const calib_inputs *in, calib_table *t,
              char *err, size_t errlen)
{
    int rc = 0;
    const calib_blob *pick = NULL;
    if ((o->tools & CALIB_PICKLE) && !(pick = calib_pickle_input(in)))
        return calib_err(CB_EXIT_INPUT, err, errlen, "pickle: no selected payload is an object to pickle");
    if (o->tools & CALIB_LZ4)
        for (size_t i = 0; i < in->n && rc == 0; i++)
            rc = calib_compare_lz4(o, tool_path(ts, CALIB_LZ4), &in->blob[i], t, err, errlen);
    if (o->tools & CALIB_ZSTD)
        for (size_t i = 0; i < in->n && rc == 0; i++) {
            rc = calib_compare_zstd(o, tool_path(ts, CALIB_ZSTD), &in->blob[i], 1, t, err, errlen);
            if (rc == 0) rc = calib_compare_zstd(o, tool_path(ts, CALIB_ZSTD), &in->blob[i], 3, t, err, errlen);
        }
    if (rc == 0 && (o->tools & CALIB_XXHSUM)) rc = calib_compare_xxhsum(o, tool_path(ts, CALIB_XXHSUM), t, err, errlen);
    if (rc == 0 && (o->tools & CALIB_OPENSSL)) rc = calib_compare_openssl(o, t, err, errlen);
    if (rc == 0 && pick) rc = calib_compare_pickle(o, pick, t, err, errlen);
    return rc;
}
