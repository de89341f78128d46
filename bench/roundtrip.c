/* roundtrip.c - see roundtrip.h. */
#include "roundtrip.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "hash.h"
#include "memory.h"
#include "payload.h"
#include "pickle.h"
#include "sampstat.h"
#include "schema.h"
#include "store.h"
#include "util.h"

const char *const rt_suite_names[RT_SUITE_COUNT] = {"realistic", "e2e", "micro"};
const char *const rt_suite_variants[RT_SUITE_COUNT] = {
    SCHEMA_VARIANT_PR3090_REALISTIC, SCHEMA_VARIANT_PR3090_E2E, SCHEMA_VARIANT_PR3090_MICRO};

/* The scripts' payloads and iteration counts, in their order. */
const rt_payload rt_payloads[] = {
    {RT_REALISTIC, "config",        "pr3090-config",     200, 0},
    {RT_REALISTIC, "metrics",       "pr3090-metrics",    100, 0},
    {RT_REALISTIC, "embeddings",    "pr3090-embeddings", 50, 0},
    {RT_REALISTIC, "weights",       "pr3090-weights",    10, 0},
    {RT_REALISTIC, "random",        "pr3090-random",     10, 0},
    {RT_E2E,       "pattern-1KB",   "pattern:1000",      200,  1},
    {RT_E2E,       "pattern-100KB", "pattern:100000",    100,  1},
    {RT_E2E,       "pattern-1MB",   "pattern:1000000",   20,   1},
    {RT_E2E,       "pattern-10MB",  "pattern:10000000",  5,    1},
    {RT_MICRO,     "pattern-1KB",   "pattern:1000",      5000, 1},
    {RT_MICRO,     "pattern-10KB",  "pattern:10000",     2000, 1},
    {RT_MICRO,     "pattern-100KB", "pattern:100000",    500,  1},
    {RT_MICRO,     "pattern-1MB",   "pattern:1000000",   50,   1},
    {RT_MICRO,     "pattern-10MB",  "pattern:10000000",  10,   1},
};
const size_t rt_payload_count = sizeof rt_payloads / sizeof rt_payloads[0];

/* The round trip's codec/hash pairings: the two the PR published first,
 * then every other default codec with SHA-1, then lz4 and isal with the
 * other hashes (what a key change would do to each). */
static const struct { const char *codec, *hash; int published; } pairings[] = {
    {"gzip:3", "sha1", 1}, {"lz4:0", "sha1", 1},
    {"gzip:9", "sha1", 0}, {"libdeflate:6", "sha1", 0}, {"isal:1", "sha1", 0},
    {"zstd:1", "sha1", 0}, {"zstd:3", "sha1", 0}, {"none", "sha1", 0},
    {"lz4:0", "sha256", 0}, {"lz4:0", "blake2b", 0}, {"lz4:0", "blake3", 0},
    {"lz4:0", "blake3-160", 0}, {"lz4:0", "xxh64", 0}, {"lz4:0", "xxh3-64", 0},
    {"lz4:0", "xxh3-128", 0},
    {"isal:1", "blake3-160", 0}, {"isal:1", "xxh3-64", 0},
};
#define N_PAIRINGS (sizeof pairings / sizeof pairings[0])

/* bench_cas.py's calls. gzipfile: GzipFile-equivalent (compress: the stream
 * and then the copy BytesIO.read() returns). */
typedef enum { OP_HASH, OP_COMPRESS, OP_DECOMPRESS } op_kind;
static const struct { op_kind kind; const char *codec, *hash; int gzipfile; } micro_ops[] = {
    {OP_HASH, NULL, "sha1", 0},         {OP_HASH, NULL, "xxh64", 0},
    {OP_COMPRESS, "gzip:3", NULL, 1},   {OP_COMPRESS, "gzip:1", NULL, 1},
    {OP_DECOMPRESS, "gzip:3", NULL, 1},
    {OP_COMPRESS, "zlib:3", NULL, 0},   {OP_DECOMPRESS, "zlib:3", NULL, 0},
    {OP_COMPRESS, "lz4:0", NULL, 0},    {OP_DECOMPRESS, "lz4:0", NULL, 0},
};
#define N_MICRO_OPS (sizeof micro_ops / sizeof micro_ops[0])
static const schema_stage op_stage[] = {SCHEMA_STAGE_HASH, SCHEMA_STAGE_COMPRESS, SCHEMA_STAGE_DECOMPRESS};

/* stage: a round-trip stage name, or NULL for a micro metric, whose stage
 * is schema_stage_names[micro]. */
static const struct { rt_suite suite; const char *metric, *stage; schema_stage micro; } metric_stages[] = {
    {RT_REALISTIC, "save", SCHEMA_STAGE_RT_SAVE, 0}, {RT_REALISTIC, "load", SCHEMA_STAGE_RT_LOAD, 0},
    {RT_REALISTIC, "total", SCHEMA_STAGE_RT_TOTAL, 0},
    {RT_E2E, "save", SCHEMA_STAGE_RT_SAVE, 0}, {RT_E2E, "load", SCHEMA_STAGE_RT_LOAD, 0},
    {RT_E2E, "total", SCHEMA_STAGE_RT_TOTAL, 0},
    {RT_MICRO, "hash", NULL, SCHEMA_STAGE_HASH}, {RT_MICRO, "compress", NULL, SCHEMA_STAGE_COMPRESS},
    {RT_MICRO, "decompress", NULL, SCHEMA_STAGE_DECOMPRESS}, {RT_MICRO, "compressed_bytes", NULL, SCHEMA_STAGE_COMPRESS},
    {RT_MICRO, "compressed/original", NULL, SCHEMA_STAGE_COMPRESS},
};

const char *rt_stage_of_metric(rt_suite suite, const char *metric)
{
    size_t i;
    for (i = 0; i < sizeof metric_stages / sizeof metric_stages[0]; i++)
        if (metric_stages[i].suite == suite && strcmp(metric_stages[i].metric, metric) == 0)
            return metric_stages[i].stage ? metric_stages[i].stage : schema_stage_names[metric_stages[i].micro];
    return NULL;
}

int rt_suite_find(const char *s)
{
    int i;
    for (i = 0; i < RT_SUITE_COUNT; i++)
        if (strcmp(rt_suite_names[i], s) == 0) return i;
    return -1;
}

int rt_payload_blob(const char *spec, int numpy_major, int unpickled, uint8_t **blob,
                    size_t *len, int *status, char *err, size_t errlen)
{
    payload *pl = payload_create(spec, 0, status, err, errlen);
    const uint8_t *raw;
    size_t n;
    if (!pl) return -1;
    raw = payload_raw_blob(pl, &n);
    if (!raw && unpickled) {
        const pyobj *o = payload_object(pl);
        if (o->kind != PYOBJ_BYTES) {
            payload_free(pl);
            *status = CB_EXIT_INTERNAL;
            return cb_err(err, errlen, "%s: not a bytes object", spec);
        }
        raw = o->u.s.data;
        n = o->u.s.len;
    }
    if (raw) {
        *blob = malloc(n ? n : 1);
        if (*blob) memcpy(*blob, raw, n);
    } else {
        pickle_options opt = PICKLE_OPTIONS_DEFAULT;
        const uint8_t *b;
        opt.numpy_major = numpy_major;
        if (payload_blob(pl, &opt, &b, &n, blob, status, err, errlen) != 0) {
            payload_free(pl);
            return -1;
        }
    }
    payload_free(pl);
    if (!*blob) {
        *status = CB_EXIT_ENV;
        return cb_err(err, errlen, "%s: out of memory", spec);
    }
    *len = n;
    return 0;
}

/* ---- shared ------------------------------------------------------------ */

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int iterations_of(const rt_options *o, int published)
{
    if (!o->quick) return published;
    return published / 10 > 2 ? published / 10 : 2;
}

/* A row's common fields. */
static results_row base_row(const rt_payload *p, size_t blob_len, const char *stage,
                            const char *codec, int level, const char *hash)
{
    results_row r;
    memset(&r, 0, sizeof r);
    r.payload = p->spec;
    r.protocol = 4;
    r.pickled_bytes = blob_len;
    r.stage = stage;
    r.variant = rt_suite_variants[p->suite];
    r.codec = codec;
    r.level = level;
    r.hash = hash;
    r.alloc = schema_alloc_names[SCHEMA_ALLOC_FRESH];
    return r;
}

/* Fill timing from per-sample times (ns per call) and their call count. */
static int fill_timing(gb_result *t, const double *samples, size_t n, int64_t calls)
{
    sampstat st;
    size_t i;
    if (sampstat_compute(samples, n, &st) != 0) return -1;
    memset(t, 0, sizeof *t);
    t->repetitions = (int)n;
    t->iterations = calls;
    for (i = 0; i < n && i < GB_MAX_REPETITIONS; i++) t->samples_ns[i] = samples[i];
    t->mean_ns = st.mean;
    t->median_ns = st.median;
    t->stddev_ns = st.stddev;
    t->cv = st.mean > 0 ? st.stddev / st.mean : 0;
    t->min_ns = st.min;
    t->max_ns = st.max;
    t->cpu_min_ns = t->cpu_median_ns = NAN;
    return 0;
}

static int append(results_file *rf, results_row *r, const gb_result *t, uint64_t bytes_in,
                  char *err, size_t errlen)
{
    r->bytes_in = bytes_in;
    r->status = "ok";
    if (t) {
        r->timing = t;
        ((gb_result *)t)->bytes_per_second = (double)bytes_in / t->median_ns * 1e9;
    }
    return results_append(rf, r, err, errlen);
}

/* Error rows written by this process (rt_run_all reports the count). */
static size_t g_error_rows;

static int append_error(results_file *rf, results_row r, const char *message, char *err,
                        size_t errlen)
{
    g_error_rows++;
    r.status = "error";
    r.message = message;
    return results_append(rf, &r, err, errlen);
}

/* ---- the round trip (realistic, e2e) ------------------------------------ */

typedef struct {
    const rt_options *o;
    const rt_payload *p;
    const uint8_t *blob;
    size_t blob_len;
    uint8_t *unique;             /* blob + 4-byte iteration number */
    store *st;
    char root[PATH_MAX];
    char keep[PATH_MAX];         /* non-empty: the next iteration's store is kept there */
    char key[STORE_KEY_MAX];
    size_t packed;
} rt_cell;

static void set_suffix(rt_cell *c, uint32_t i)
{
    uint8_t *s = c->unique + c->blob_len;
    s[0] = (uint8_t)(i >> 24);
    s[1] = (uint8_t)(i >> 16);
    s[2] = (uint8_t)(i >> 8);
    s[3] = (uint8_t)i;
}

/* One iteration: save and load timed apart, the comparison untimed. */
static int rt_iteration(rt_cell *c, double *save_ns, double *load_ns, char *err, size_t errlen)
{
    uint8_t *back = NULL;
    size_t back_len = 0;
    int written;
    size_t n = c->blob_len + 4;
    if (mkdir(c->root, 0700) != 0)
        return cb_err(err, errlen, "%s: cannot create: %s", c->root, strerror(errno));
    double t0 = now_ns();
    int r = store_save(c->st, c->unique, n, c->key, &written, err, errlen);
    double t1 = now_ns();
    if (r == 0) r = store_load(c->st, c->key, &back, &back_len, err, errlen) ? -1 : 0;
    double t2 = now_ns();
    if (r == 0 && !written) r = cb_err(err, errlen, "the key existed in a fresh store");
    if (r == 0 && (back_len != n || memcmp(back, c->unique, n) != 0))
        r = cb_err(err, errlen, "the loaded blob differs from the saved one");
    if (r == 0) c->packed = store_last_packed_bytes(c->st);
    store_blob_free(back, back_len);
    if (r == 0 && *c->keep) {
        if (rename(c->root, c->keep) != 0)
            r = cb_err(err, errlen, "%s: cannot keep the store: %s", c->keep, strerror(errno));
        *c->keep = 0;
    }
    rm_tree(c->root);
    *save_ns = t1 - t0;
    *load_ns = t2 - t1;
    return r;
}

/* Before timing: the stored file decodes, with a codec context of its own,
 * to the blob; the key is a second computation's; _meta is metaflow's. */
static int rt_verify(rt_cell *c, const codec_desc *codec, int level, const hash_desc *h,
                     char *err, size_t errlen)
{
    double s, l;
    uint8_t digest[HASH_MAX_DIGEST], *stored = NULL, *plain = NULL;
    char key2[STORE_KEY_MAX], path[PATH_MAX * 2];
    size_t n = c->blob_len + 4, stored_len = 0;
    int r = -1;
    set_suffix(c, 0);
    void *hs = h->create();
    if (!hs) return cb_err(err, errlen, "%s: cannot create a hash state", h->name);
    h->reset(hs);
    h->update(hs, c->unique, n / 3);
    h->update(hs, c->unique + n / 3, n - n / 3);
    h->final(hs, digest);
    h->destroy(hs);
    hash_hex(digest, h->digest_bytes, key2);
    if (mkdir(c->root, 0700) != 0)
        return cb_err(err, errlen, "%s: cannot create: %s", c->root, strerror(errno));
    if (store_save(c->st, c->unique, n, c->key, NULL, err, errlen) != 0) goto out;
    if (strcmp(c->key, key2) != 0) { cb_err(err, errlen, "key %s differs from a second computation %s", c->key, key2); goto out; }
    snprintf(path, sizeof path, "%s/cas/%.2s/%s", c->root, c->key, c->key);
    if (cb_read_file(path, SIZE_MAX / 2, &stored, &stored_len, err, errlen) != 0) goto out;
    const store_packing *pk = store_packing_of(c->st);
    if (pk->raw) {
        if (stored_len != n || memcmp(stored, c->unique, n) != 0) { cb_err(err, errlen, "the raw file differs from the blob"); goto out; }
    } else {
        void *dctx = codec->create(level);
        plain = malloc(n);
        size_t got = dctx && plain ? codec->decompress(dctx, stored, stored_len, plain, n) : CODEC_ERROR(CODEC_ERR_ALLOC);
        codec->destroy(dctx);
        if (codec_is_error(got) || got != n || memcmp(plain, c->unique, n) != 0) {
            cb_err(err, errlen, "the stored stream does not decode to the blob (%s)",
                   codec_is_error(got) ? codec_error_name(got) : "different bytes");
            goto out;
        }
    }
    r = 0;
out:
    free(stored);
    free(plain);
    rm_tree(c->root);
    if (r == 0) r = rt_iteration(c, &s, &l, err, errlen);
    return r;
}

/* The peak extra memory of the save, of the load and of both (peak_bytes,
 * bench/memory.h), each in a forked child: the VmHWM of one call. */
static int peak_prep_root(void *arg)
{
    rt_cell *c = arg;
    return mkdir(c->root, 0700) == 0 ? 0 : -1;
}

static int peak_save(void *arg)
{
    rt_cell *c = arg;
    char why[256];
    int r = store_save(c->st, c->unique, c->blob_len + 4, c->key, NULL, why, sizeof why);
    rm_tree(c->root);
    return r;
}

static int peak_prep_stored(void *arg)
{
    rt_cell *c = arg;
    char why[256];
    return peak_prep_root(c) == 0 && store_save(c->st, c->unique, c->blob_len + 4, c->key, NULL, why, sizeof why) == 0
               ? 0 : -1;
}

static int peak_load(void *arg)
{
    rt_cell *c = arg;
    uint8_t *back = NULL;
    size_t n = 0;
    char why[256];
    int r = store_load(c->st, c->key, &back, &n, why, sizeof why);
    store_blob_free(back, n);
    rm_tree(c->root);
    return r;
}

static int peak_total(void *arg)
{
    rt_cell *c = arg;
    double s, l;
    char why[256];
    return rt_iteration(c, &s, &l, why, sizeof why);
}

static void rt_peaks(rt_cell *c, results_row *row)
{
    uint64_t v;
    if (memory_hwm_peak_after(peak_prep_root, peak_save, c, &v) == 0) row[0].have_peak = 1, row[0].peak_bytes = v;
    if (memory_hwm_peak_after(peak_prep_stored, peak_load, c, &v) == 0) row[1].have_peak = 1, row[1].peak_bytes = v;
    if (memory_hwm_peak(peak_total, c, &v) == 0) row[2].have_peak = 1, row[2].peak_bytes = v;
    rm_tree(c->root);   /* whatever a failed child left */
}

static int rt_measure(const rt_options *o, results_file *rf, const rt_payload *p,
                      const uint8_t *blob, size_t blob_len, size_t pairing, char *err, size_t errlen)
{
    static const char *const stages[3] = {SCHEMA_STAGE_RT_SAVE, SCHEMA_STAGE_RT_LOAD, SCHEMA_STAGE_RT_TOTAL};
    char why[512] = "", codec_name[32];
    int level, k, iters = iterations_of(o, p->iterations), rc = 0, i;
    const codec_desc *codec = codec_find(pairings[pairing].codec, &level, why, sizeof why);
    const hash_desc *h = codec ? hash_find(pairings[pairing].hash, why, sizeof why) : NULL;
    rt_cell c;
    double *samples = calloc(3 * (size_t)iters, sizeof *samples);
    memset(&c, 0, sizeof c);
    snprintf(codec_name, sizeof codec_name, "%s", codec ? codec->name : pairings[pairing].codec);
    results_row row[3];
    for (k = 0; k < 3; k++)
        row[k] = base_row(p, blob_len, stages[k], codec_name, codec ? level : 0, pairings[pairing].hash);
    c.o = o;
    c.p = p;
    c.blob = blob;
    c.blob_len = blob_len;
    c.unique = malloc(blob_len + 4);
    if (!samples || !c.unique) { rc = cb_err(err, errlen, "out of memory"); goto out; }
    memcpy(c.unique, blob, blob_len);
    snprintf(c.root, sizeof c.root, "%s/cas_bench_%ld", o->tmp_base, (long)getpid());
    if (codec && h) c.st = store_open(c.root, "cas", codec, level, h, why, sizeof why);
    if (c.st && rt_verify(&c, codec, level, h, why, sizeof why) == 0) *why = 0;
    else if (!*why) snprintf(why, sizeof why, "cannot open the store");
    if (!*why) rt_peaks(&c, row);
    for (i = 0; i < iters && !*why; i++) {
        if (o->stop && *o->stop) { rc = 1; goto out; }
        set_suffix(&c, (uint32_t)i);
        if (o->keep_dir && i == iters - 1)
            snprintf(c.keep, sizeof c.keep, "%s/%zu-%s-%s-%s", o->keep_dir, pairing, p->spec,
                     pairings[pairing].codec, pairings[pairing].hash);
        if (rt_iteration(&c, &samples[i], &samples[iters + i], why, sizeof why) != 0) break;
        samples[2 * iters + i] = samples[i] + samples[iters + i];
    }
    for (k = 0; k < 3 && rc == 0; k++) {
        if (*why) { rc = append_error(rf, row[k], why, err, errlen); continue; }
        gb_result t;
        if (fill_timing(&t, samples + (size_t)k * iters, (size_t)iters, 1) != 0) { rc = cb_err(err, errlen, "out of memory"); break; }
        row[k].have_out = 1;
        row[k].key = c.key;
        row[k].stored_bytes = c.packed;
        row[k].bytes_out = k == 1 ? blob_len + 4 : c.packed;
        rc = append(rf, &row[k], &t, k == 1 ? c.packed : blob_len + 4, err, errlen);
    }
out:
    store_close(c.st);
    free(c.unique);
    free(samples);
    return rc;
}

/* ---- micro ------------------------------------------------------------- */

typedef struct {
    op_kind kind;
    int gzipfile;
    const codec_desc *codec;
    void *ctx;
    const hash_desc *hash;
    void *hstate;
    const uint8_t *in;
    size_t in_len, out_cap, out_len;
    char hex[STORE_KEY_MAX];
} micro_cell;

/* malloc, as CPython allocates its bytes objects (store.h). */
static uint8_t *fresh(size_t n) { return malloc(n ? n : 1); }
static void fresh_release(uint8_t *p, size_t n) { (void)n; free(p); }

/* One call. keep: hand the output back (verification) instead of freeing. */
static int micro_call(micro_cell *m, uint8_t **keep)
{
    if (m->kind == OP_HASH) {
        uint8_t d[HASH_MAX_DIGEST];
        hash_oneshot(m->hash, m->hstate, m->in, m->in_len, d);
        hash_hex(d, m->hash->digest_bytes, m->hex);
        return 0;
    }
    uint8_t *out = fresh(m->out_cap);
    if (!out) return -1;
    size_t r = m->kind == OP_COMPRESS ? m->codec->compress(m->ctx, m->in, m->in_len, out, m->out_cap)
                                      : m->codec->decompress(m->ctx, m->in, m->in_len, out, m->out_cap);
    if (codec_is_error(r)) { fresh_release(out, m->out_cap); return -1; }
    m->out_len = r;
    if (m->gzipfile && m->kind == OP_COMPRESS) {
        /* buf.seek(0); buf.read(): the stream copied into a new bytes object. */
        uint8_t *copy = fresh(r);
        if (!copy) { fresh_release(out, m->out_cap); return -1; }
        memcpy(copy, out, r);
        fresh_release(copy, r);
    }
    if (keep) *keep = out;
    else fresh_release(out, m->out_cap);
    return 0;
}

/* Largest divisor of n up to 20: the number of timed batches. */
static int batches_of(int n)
{
    int b;
    for (b = n < 20 ? n : 20; b > 1; b--)
        if (n % b == 0) return b;
    return 1;
}

static int micro_setup(micro_cell *m, size_t op, const uint8_t *blob, size_t blob_len,
                       uint8_t **stream, char *why, size_t whylen)
{
    int level;
    memset(m, 0, sizeof *m);
    m->kind = micro_ops[op].kind;
    m->gzipfile = micro_ops[op].gzipfile;
    m->in = blob;
    m->in_len = blob_len;
    if (m->kind == OP_HASH) {
        m->hash = hash_find(micro_ops[op].hash, why, whylen);
        if (!m->hash) return -1;
        m->hstate = m->hash->create();
        return m->hstate ? 0 : cb_err(why, whylen, "cannot create a hash state");
    }
    m->codec = codec_find(micro_ops[op].codec, &level, why, whylen);
    if (!m->codec) return -1;
    m->ctx = m->codec->create(level);
    if (!m->ctx) return cb_err(why, whylen, "%s: cannot create a context", m->codec->name);
    m->out_cap = m->codec->bound(blob_len, level);
    if (m->kind == OP_DECOMPRESS) {
        /* The stream made once, outside timing, as the script does. */
        *stream = malloc(m->out_cap);
        size_t r = *stream ? m->codec->compress(m->ctx, blob, blob_len, *stream, m->out_cap)
                           : CODEC_ERROR(CODEC_ERR_ALLOC);
        if (codec_is_error(r)) return cb_err(why, whylen, "compress: %s", codec_error_name(r));
        m->in = *stream;
        m->in_len = r;
        m->out_cap = blob_len;
    }
    return 0;
}

/* Before timing: a compress output decodes (separate context) to the blob,
 * a decompress output is the blob, a digest equals a second computation. */
static int micro_verify(micro_cell *m, const uint8_t *blob, size_t blob_len, char *why, size_t whylen)
{
    uint8_t *out = NULL;
    if (micro_call(m, m->kind == OP_HASH ? NULL : &out) != 0)
        return cb_err(why, whylen, "the call failed");
    if (m->kind == OP_HASH) {
        uint8_t d[HASH_MAX_DIGEST];
        char hex[STORE_KEY_MAX];
        void *s = m->hash->create();
        m->hash->reset(s);
        m->hash->update(s, blob, blob_len / 2);
        m->hash->update(s, blob + blob_len / 2, blob_len - blob_len / 2);
        m->hash->final(s, d);
        m->hash->destroy(s);
        hash_hex(d, m->hash->digest_bytes, hex);
        return strcmp(hex, m->hex) == 0 ? 0 : cb_err(why, whylen, "digest differs from a second computation");
    }
    int bad = 0;
    if (m->kind == OP_DECOMPRESS) {
        bad = m->out_len != blob_len || memcmp(out, blob, blob_len) != 0;
    } else {
        void *d = m->codec->create(m->codec->level_default);
        uint8_t *plain = malloc(blob_len ? blob_len : 1);
        size_t r = d && plain ? m->codec->decompress(d, out, m->out_len, plain, blob_len) : CODEC_ERROR(CODEC_ERR_ALLOC);
        bad = codec_is_error(r) || r != blob_len || memcmp(plain, blob, blob_len) != 0;
        m->codec->destroy(d);
        free(plain);
    }
    fresh_release(out, m->out_cap);
    return bad ? cb_err(why, whylen, "the output does not round-trip to the blob") : 0;
}

static int micro_measure(const rt_options *o, results_file *rf, const rt_payload *p,
                         const uint8_t *blob, size_t blob_len, size_t op, char *err, size_t errlen)
{
    micro_cell m;
    uint8_t *stream = NULL;
    char why[512] = "", codec_name[32] = "";
    int calls = iterations_of(o, p->iterations), nb = batches_of(calls), b, i, rc = 0, level = 0;
    int per = calls / nb;
    double samples[20];
    if (micro_ops[op].codec) {
        const char *colon = strchr(micro_ops[op].codec, ':');
        snprintf(codec_name, sizeof codec_name, "%.*s", (int)(colon - micro_ops[op].codec), micro_ops[op].codec);
        level = atoi(colon + 1);
    }
    results_row row = base_row(p, blob_len, schema_stage_names[op_stage[micro_ops[op].kind]], micro_ops[op].codec ? codec_name : NULL,
                               level, micro_ops[op].hash);
    if (micro_setup(&m, op, blob, blob_len, &stream, why, sizeof why) == 0 &&
        micro_verify(&m, blob, blob_len, why, sizeof why) == 0)
        *why = 0;
    for (b = 0; b < nb && !*why; b++) {
        if (o->stop && *o->stop) { rc = 1; goto out; }
        double t0 = now_ns();
        for (i = 0; i < per; i++)
            if (micro_call(&m, NULL) != 0) break;
        samples[b] = (now_ns() - t0) / per;
        if (i < per) snprintf(why, sizeof why, "a timed call failed");
    }
    if (*why) {
        rc = append_error(rf, row, why, err, errlen);
    } else {
        gb_result t;
        if (fill_timing(&t, samples, (size_t)nb, per) != 0) { rc = cb_err(err, errlen, "out of memory"); goto out; }
        row.have_out = 1;
        row.key = m.kind == OP_HASH ? m.hex : NULL;
        row.bytes_out = m.kind == OP_HASH ? (uint64_t)m.hash->digest_bytes : m.out_len;
        row.stored_bytes = m.kind == OP_COMPRESS ? m.out_len : m.kind == OP_DECOMPRESS ? m.in_len : 0;
        rc = append(rf, &row, &t, m.in_len, err, errlen);
    }
out:
    if (m.ctx) m.codec->destroy(m.ctx);
    if (m.hstate) m.hash->destroy(m.hstate);
    free(stream);
    return rc;
}

/* ---- the suites -------------------------------------------------------- */

int rt_run_all(const rt_options *o, results_file *rf, size_t *error_rows, char *err, size_t errlen)
{
    size_t i, k;
    g_error_rows = 0;
    for (i = 0; i < rt_payload_count; i++) {
        const rt_payload *p = &rt_payloads[i];
        uint8_t *blob = NULL;
        size_t len = 0;
        int status, rc = 0;
        char why[512], what[160];
        if (rt_payload_blob(p->spec, o->numpy_major, p->unpickled, &blob, &len, &status, why, sizeof why) != 0) {
            if (status != CB_EXIT_INPUT) return cb_err(err, errlen, "%s", why);
            /* An unknown payload: every measurement of it is an error row. */
            results_row r = base_row(p, 0, p->suite == RT_MICRO ? schema_stage_names[SCHEMA_STAGE_HASH] : SCHEMA_STAGE_RT_SAVE, NULL, 0, NULL);
            if (append_error(rf, r, why, err, errlen) != 0) return -1;
            continue;
        }
        snprintf(what, sizeof what, "%s %s (%zu bytes)", rt_suite_names[p->suite], p->spec, len);
        if (o->progress) o->progress(what);
        if (p->suite == RT_MICRO) {
            for (k = 0; k < N_MICRO_OPS && rc == 0; k++)
                rc = micro_measure(o, rf, p, blob, len, k, err, errlen);
        } else {
            for (k = 0; k < N_PAIRINGS && rc == 0; k++)
                if (!o->quick || pairings[k].published)
                    rc = rt_measure(o, rf, p, blob, len, k, err, errlen);
        }
        free(blob);
        *error_rows = g_error_rows;
        if (rc != 0) return rc;   /* interrupted, or results not written */
    }
    *error_rows = g_error_rows;
    return 0;
}
