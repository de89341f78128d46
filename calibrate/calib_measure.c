/* calib_measure.c - the harness side of calibration: the cells of
 * `casbench run` and two measurements the matrix has no cell for (memcpy,
 * EVP_Digest as openssl speed), timed through the Google Benchmark shim. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_impl.h"
#include "hash.h"
#include "pickle.h"
#include "util.h"

calib_figure calib_best_of(calib_figure a, calib_figure b)
{
    if (a.bps == 0) return b;   /* nothing measured yet */
    calib_figure r = a.bps >= b.bps ? a : b;
    r.cpu_bps = a.cpu_bps > b.cpu_bps ? a.cpu_bps : b.cpu_bps;
    r.spread = a.spread < b.spread ? a.spread : b.spread;
    return r;
}

calib_figure calib_in_cpu_time(calib_figure f)
{
    f.bps = f.cpu_bps;
    return f;
}

/* gb_run's result as a figure counted in `bytes` per iteration. */
static int run_figure(const gb_measurement *m, uint64_t bytes, calib_figure *f, char *err, size_t errlen)
{
    char msg[512];
    gb_result *res = malloc(sizeof *res);
    memset(f, 0, sizeof *f);
    if (!res) return calib_err(CB_EXIT_ENV, err, errlen, "out of memory");
    int g = gb_run(m, res, msg, sizeof msg);
    if (g != 0) {
        free(res);
        return calib_err(g == 1 ? CB_EXIT_ENV : CB_EXIT_INTERNAL, err, errlen, "%s: %s", m->name,
                         g == 1 ? "interrupted" : msg);
    }
    f->bps = (double)bytes / res->min_ns * 1e9;
    f->cpu_bps = (double)bytes / res->cpu_min_ns * 1e9;
    f->spread = (res->median_ns - res->min_ns) / res->min_ns;
    f->repetitions = res->repetitions;
    free(res);
    return 0;
}

int calib_time_cell(const cell_spec *spec, const cell_input *in, const char *name, uint64_t bytes,
                    calib_figure *f, char *err, size_t errlen)
{
    char msg[512];
    int rc;
    memset(f, 0, sizeof *f);
    cell *c = cell_create(spec, in, msg, sizeof msg);
    if (!c) return calib_err(CB_EXIT_ENV, err, errlen, "%s: %s", name, msg);
    if (cell_verify(c, msg, sizeof msg) != 0) {
        cell_destroy(c);
        return calib_err(CB_EXIT_INTERNAL, err, errlen, "%s: %s", name, msg);
    }
    gb_measurement m = cell_measurement(c, name);
    rc = run_figure(&m, bytes, f, err, errlen);
    f->stored = cell_stored_bytes(c);
    cell_destroy(c);
    return rc;
}

int calib_time_measurement(const gb_measurement *m, calib_figure *f, char *err, size_t errlen)
{
    return run_figure(m, m->bytes_per_iter, f, err, errlen);
}

cell_input calib_cell_input(const calib_blob *b)
{
    cell_input in;
    memset(&in, 0, sizeof in);
    in.obj = b->obj;
    in.popt = PICKLE_OPTIONS_DEFAULT;
    in.blob = b->blob;
    in.blob_len = b->len;
    return in;
}

int calib_codec_cells(const codec_desc *codec, int level, const calib_blob *b, calib_figure *c,
                      calib_figure *d, char *err, size_t errlen)
{
    cell_input in = calib_cell_input(b);
    cell_spec spec = {.codec = codec, .level = level, .alloc = CELL_ALLOC_REUSE, .stage = CELL_COMPRESS};
    char name[256];
    int rc;
    snprintf(name, sizeof name, "calibrate/%s/compress/%s:%d", b->name, codec->name, level);
    if ((rc = calib_time_cell(&spec, &in, name, b->len, c, err, errlen)) != 0) return rc;
    spec.stage = CELL_DECOMPRESS;
    snprintf(name, sizeof name, "calibrate/%s/decompress/%s:%d", b->name, codec->name, level);
    return calib_time_cell(&spec, &in, name, b->len, d, err, errlen);
}

int calib_hash_cell(const char *hash, size_t n, const char *tag, calib_figure *f, char *err, size_t errlen)
{
    char msg[256], name[128];
    const hash_desc *h = hash_find(hash, msg, sizeof msg);
    if (!h) return calib_err(CB_EXIT_INTERNAL, err, errlen, "%s: %s", hash, msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return calib_err(CB_EXIT_ENV, err, errlen, "out of memory");
    cb_fill_random(buf, n, 0);
    cell_input in = {.blob = buf, .blob_len = n};
    cell_spec spec = {.stage = CELL_HASH, .hash = h, .alloc = CELL_ALLOC_REUSE};
    snprintf(name, sizeof name, "calibrate/%s/%zu/hash/%s", tag, n, hash);
    int rc = calib_time_cell(&spec, &in, name, n, f, err, errlen);
    free(buf);
    return rc;
}

/* ---- memcpy ----------------------------------------------------------------- */

static int k_memcpy(void *p)
{
    calib_memcpy *m = p;
    if (m->fresh) {
        uint8_t *d = malloc(m->n ? m->n : 1);
        if (!d) return 1;
        memcpy(d, m->src, m->n);
        /* Keep the copy from being optimised away with the free that follows. */
        __asm__ volatile("" : : "r"(d) : "memory");
        free(d);
        return 0;
    }
    memcpy(m->dst, m->src, m->n);
    __asm__ volatile("" : : "r"(m->dst) : "memory");
    return 0;
}

/* A measurement of `run` over ctx, n bytes per iteration. */
static gb_measurement measurement(const char *name, gb_iter_fn run, void *ctx, size_t n)
{
    gb_measurement g = {.name = name, .run = run, .ctx = ctx, .bytes_per_iter = n};
    return g;
}

gb_measurement calib_memcpy_measurement(calib_memcpy *m, const char *name)
{
    return measurement(name, k_memcpy, m, m->n);
}

/* ---- EVP_Digest, as openssl speed ---------------------------------------------- */

struct calib_evp {
    EVP_MD *md;
    const uint8_t *buf;
    size_t n;
};

calib_evp *calib_evp_create(const char *alg, const uint8_t *buf, size_t n, char *err, size_t errlen)
{
    calib_evp *e = calloc(1, sizeof *e);
    if (!e) {
        cb_err(err, errlen, "out of memory");
        return NULL;
    }
    e->md = EVP_MD_fetch(NULL, alg, NULL);
    if (!e->md) {
        free(e);
        cb_err(err, errlen, "OpenSSL has no digest %s", CB_Q(alg));
        return NULL;
    }
    e->buf = buf;
    e->n = n;
    return e;
}

static int k_evp(void *p)
{
    calib_evp *e = p;
    unsigned char md[EVP_MAX_MD_SIZE];
    return !EVP_Digest(e->buf, e->n, md, NULL, e->md, NULL);
}

gb_measurement calib_evp_measurement(calib_evp *e, const char *name)
{
    return measurement(name, k_evp, e, e->n);
}

void calib_evp_free(calib_evp *e)
{
    if (!e) return;
    EVP_MD_free(e->md);
    free(e);
}
