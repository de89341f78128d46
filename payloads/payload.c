/*
 * payload.c - see payload.h.
 *
 * Determinism. Every generator draws from xoshiro256** (Blackman and Vigna),
 * its 256-bit state filled by splitmix64 from (seed XOR a per-generator
 * constant), so payloads differ from each other at the same seed. Uniform
 * doubles are the top 53 bits times 2^-53. Normal deviates come from
 * Marsaglia's polar method, taking both deviates of each accepted pair; its
 * logarithm is computed here (frexp, then a fixed-length atanh series) with
 * only + - * / and sqrt, which IEEE 754 rounds exactly, so the bytes do not
 * depend on the C library. The build uses -std=c11 (no FMA contraction) and
 * no -ffast-math. tests/golden/ holds SHA-1 digests that catch any drift.
 */
#include "payload.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "npy.h"
#include "pickle.h"
#include "pr3090.h"
#include "util.h"

/* --- PRNG --- */

typedef struct {
    uint64_t s[4];
    int has_spare;
    double spare;
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ stream;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->has_spare = 0;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* [0, 1) */
static double rng_uniform(rng *r) { return (double)(rng_next(r) >> 11) * 0x1p-53; }

/* ln(x) for x > 0 with exactly rounded operations only. */
static double det_log(double x)
{
    int e;
    double m = frexp(x, &e);    /* exact: m in [0.5, 1) */
    if (m < 0.70710678118654752) {
        m *= 2;
        e--;
    }
    double z = (m - 1) / (m + 1), z2 = z * z, sum = 1.0 / 29;
    for (int k = 27; k >= 1; k -= 2) sum = sum * z2 + 1.0 / k;
    return 2 * z * sum + e * 0x1.62e42fefa39efp-1;
}

static double rng_normal(rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2 * rng_uniform(r) - 1;
        v = 2 * rng_uniform(r) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    double f = sqrt(-2 * det_log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

/* --- payloads --- */

struct payload {
    char *name;            /* in the arena */
    pyobj_arena *arena;
    pyobj *obj;
    uint8_t *raw;          /* file:PATH blob, or the file a graph borrows from */
    size_t raw_len;
    int raw_is_blob;
    void *data;            /* a generated ndarray's or bytes' buffer */
};

const char *const payload_default_names[] = {"config", "metrics", "embeddings", "weights", "random", NULL};

enum { P_COUNT, P_SIZE, P_DTYPE };
#define DT_FLOATS ((1u << PYOBJ_DT_FLOAT32) | (1u << PYOBJ_DT_FLOAT64))
#define DT_INTS ((1u << PYOBJ_DT_INT8) | (1u << PYOBJ_DT_UINT8) | (1u << PYOBJ_DT_INT16) | \
                 (1u << PYOBJ_DT_UINT16) | (1u << PYOBJ_DT_INT32) | (1u << PYOBJ_DT_UINT32) | \
                 (1u << PYOBJ_DT_INT64) | (1u << PYOBJ_DT_UINT64))
#define DT_ALL (DT_FLOATS | DT_INTS | (1u << PYOBJ_DT_BOOL))

typedef struct {
    const char *key;
    int kind;
    uint64_t def, min, max;
    unsigned dtypes;       /* P_DTYPE: allowed dtypes */
    const char *help;
} param_desc;

typedef struct gen_desc gen_desc;
typedef int (*gen_fn)(payload *pl, const gen_desc *g, const payload_spec *ps, uint64_t seed,
                      char *err, size_t errlen);
struct gen_desc {
    const char *name;
    int arg;               /* ARG_PARAMS, or what follows NAME: (json:PATH, pattern:SIZE) */
    uint64_t stream;
    param_desc params[PAYLOAD_MAX_PARAMS];
    gen_fn build;
    const char *help;
    int variant;           /* pr3090: which of the PR's payloads */
};
enum { ARG_PARAMS, ARG_PATH, ARG_SIZE };

static int gen_config(payload *, const gen_desc *, const payload_spec *, uint64_t, char *, size_t);
static int gen_metrics(payload *, const gen_desc *, const payload_spec *, uint64_t, char *, size_t);
static int gen_array(payload *, const gen_desc *, const payload_spec *, uint64_t, char *, size_t);
static int gen_random(payload *, const gen_desc *, const payload_spec *, uint64_t, char *, size_t);
static int gen_file(payload *, const gen_desc *, const payload_spec *, uint64_t, char *, size_t);
static int gen_pr3090(payload *, const gen_desc *, const payload_spec *, uint64_t, char *, size_t);
static int gen_pattern(payload *, const gen_desc *, const payload_spec *, uint64_t, char *, size_t);

#define MAXN (1ull << 40)
/* The parameters every ndarray generator shares: the shape of the 2-d ones,
 * rows (1000) x cols, and the element type (its default, the allowed set). */
#define P_MATRIX(cols) {"rows", P_COUNT, 1000, 1, MAXN, 0, "first axis"}, \
                       {"cols", P_COUNT, cols, 1, MAXN, 0, "second axis"}
#define P_ELEMENT(dt, allowed) {"dtype", P_DTYPE, dt, 0, 0, allowed, "element type"}
static const gen_desc gens[] = {
    {"config", 0, 0x636f6e666967ULL, {{0}}, gen_config,
     "hyperparameter dict: str keys to int, float, str, bool, None and a short list\n"
     "      (no parameters; values vary with the seed, the pickled size does not)", 0},
    {"metrics", 0, 0x6d657472696373ULL,
     {{"columns", P_COUNT, 416, 1, 10000000, 0, "number of feature columns"}},
     gen_metrics,
     "feature statistics: column name -> {count, null_count, mean, std, min, max, quantiles}", 0},
    {"embeddings", 0, 0x656d62ULL,
     {P_MATRIX(100), P_ELEMENT(PYOBJ_DT_FLOAT64, DT_ALL)},
     gen_array, "ndarray of normal(0, 1) values", 0},
    {"weights", 0, 0x77656967687473ULL,
     {P_MATRIX(1000), P_ELEMENT(PYOBJ_DT_FLOAT64, DT_ALL)},
     gen_array, "ndarray of normal(0, 0.02) values", 0},
    {"random", 0, 0x72616e646f6dULL,
     {{"size", P_SIZE, 5000000, 1, PAYLOAD_MAX_BYTES, 0, "bytes (units: B K KB KiB M MB MiB G GB GiB)"}},
     gen_random, "a bytes object of uniform random bytes (incompressible)", 0},
    {"tokens", 0, 0x746f6b656e73ULL,
     {{"count", P_COUNT, 1000000, 1, MAXN, 0, "number of token ids"},
      {"vocab", P_COUNT, 50257, 2, 1u << 24, 0, "vocabulary size"},
      P_ELEMENT(PYOBJ_DT_INT64, DT_INTS)},
     gen_array, "1-d ndarray of token ids drawn from a Zipf (1/rank) law (compressible)", 0},
    {"sparse", 0, 0x737061727365ULL,
     {P_MATRIX(1000), P_ELEMENT(PYOBJ_DT_FLOAT32, DT_FLOATS)},
     gen_array, "ReLU activations: max(0, normal(0, 1)), about half exact zeros", 0},
    {"json", ARG_PATH, 0, {{0}}, gen_file,
     "a JSON document as the Python objects json.load() makes (big ints, exact floats)", 0},
    {"npy", ARG_PATH, 0, {{0}}, gen_file,
     "a .npy file (format 1.0-3.0, C or Fortran order) as the ndarray np.load() makes", 0},
    {"file", ARG_PATH, 0, {{0}}, gen_file, "the file's bytes, taken as an already-pickled blob", 0},
#define PR3090_SEED {{"seed", P_COUNT, 42, 0, UINT64_MAX, 0, \
                      "numpy.random.default_rng seed (the PR: 42; --seed does not apply)"}}
    {"pr3090-config", 0, 0, PR3090_SEED, gen_pr3090,
     "PR #3090's small_dict: its literal config dict (no draws)", PR3090_CONFIG},
    {"pr3090-metrics", 0, 0, PR3090_SEED, gen_pr3090,
     "PR #3090's metrics_dict: 100 features of numpy draws as Python floats and ints", PR3090_METRICS},
    {"pr3090-embeddings", 0, 0, PR3090_SEED, gen_pr3090,
     "PR #3090's numpy_f64: standard_normal((100, 1000)), after metrics' draws", PR3090_EMBEDDINGS},
    {"pr3090-weights", 0, 0, PR3090_SEED, gen_pr3090,
     "PR #3090's numpy_large: standard_normal((1000, 1000)), after embeddings' draws", PR3090_WEIGHTS},
    {"pr3090-random", 0, 0, PR3090_SEED, gen_pr3090,
     "PR #3090's random_bytes: rng.bytes(5_000_000), after weights' draws", PR3090_RANDOM},
    {"pattern", ARG_SIZE, 0, {{0}}, gen_pattern,
     "bytes(range(256)) repeated and cut to SIZE bytes (PR #3090's micro and e2e blobs)", 0},
};
#define N_GENS (sizeof gens / sizeof gens[0])

static int nparams(const gen_desc *g)
{
    int n = 0;
    while (n < PAYLOAD_MAX_PARAMS && g->params[n].key) n++;
    return n;
}

static void format_value(const param_desc *pd, uint64_t v, char *buf, size_t len)
{
    static const struct { const char *u; uint64_t m; } units[] = {
        {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10},
        {"GB", 1000000000}, {"MB", 1000000}, {"KB", 1000},
    };
    if (pd->kind == P_DTYPE) {
        snprintf(buf, len, "%s", pyobj_dtypes[v].name);
        return;
    }
    if (pd->kind == P_SIZE)
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (v % units[i].m == 0) {
                snprintf(buf, len, "%" PRIu64 "%s", v / units[i].m, units[i].u);
                return;
            }
    snprintf(buf, len, "%" PRIu64, v);
}

int payload_parse_spec(const char *spec, payload_spec *out, char *err, size_t errlen)
{
    const char *colon = strchr(spec, ':');
    size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
    const gen_desc *g = NULL;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < N_GENS; i++)
        if (strlen(gens[i].name) == nlen && memcmp(gens[i].name, spec, nlen) == 0) {
            g = &gens[i];
            out->gen = (int)i;
        }
    if (!g) return cb_err(err, errlen, "payload %s: unknown payload (see casbench pickle --help)", CB_Q(spec));
    if (g->arg == ARG_PATH) {
        if (!colon || !colon[1])
            return cb_err(err, errlen, "payload %s: needs a path (%s:PATH)", CB_Q(spec), g->name);
        out->path = colon + 1;
        return 0;
    }
    if (g->arg == ARG_SIZE) {
        char sub[128];
        if (!colon || !colon[1])
            return cb_err(err, errlen, "payload %s: needs a size (%s:SIZE)", CB_Q(spec), g->name);
        if (cb_parse_size(colon + 1, 0, PAYLOAD_MAX_BYTES, &out->value[0], sub, sizeof sub))
            return cb_err(err, errlen, "payload %s: size %s: %s", CB_Q(spec), CB_Q(colon + 1), sub);
        return 0;
    }
    int np = nparams(g);
    for (int i = 0; i < np; i++) out->value[i] = g->params[i].def;
    if (!colon) return 0;
    const char *p = colon + 1;
    unsigned seen = 0;
    if (!*p) return cb_err(err, errlen, "payload %s: empty parameter list", CB_Q(spec));
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        char key[32], val[64], sub[128], item[CB_QUOTE_CAP];
        snprintf(item, sizeof item, "%.*s", (int)(eq ? (size_t)(eq - p) : len), p);
        if (!eq) return cb_err(err, errlen, "payload %s: expected key=value, got %s", CB_Q(spec), CB_Q(item));
        size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
        int idx = -1;
        for (int i = 0; i < np; i++)
            if (strlen(g->params[i].key) == klen && memcmp(g->params[i].key, p, klen) == 0) idx = i;
        if (idx < 0) {
            if (np == 0)
                return cb_err(err, errlen, "payload %s: %s takes no parameters", CB_Q(spec), g->name);
            return cb_err(err, errlen, "payload %s: unknown parameter %s for %s", CB_Q(spec),
                          CB_Q(item), g->name);
        }
        if (seen & (1u << idx))
            return cb_err(err, errlen, "payload %s: parameter %s given twice", CB_Q(spec), CB_Q(g->params[idx].key));
        seen |= 1u << idx;
        if (vlen >= sizeof val || klen >= sizeof key)
            return cb_err(err, errlen, "payload %s: value of %s too long", CB_Q(spec), CB_Q(g->params[idx].key));
        memcpy(val, eq + 1, vlen);
        val[vlen] = 0;
        const param_desc *pd = &g->params[idx];
        int rc = 0;
        if (pd->kind == P_COUNT) {
            rc = cb_parse_u64(val, pd->min, pd->max, &out->value[idx], sub, sizeof sub);
        } else if (pd->kind == P_SIZE) {
            rc = cb_parse_size(val, pd->min, pd->max, &out->value[idx], sub, sizeof sub);
        } else {
            int dt = pyobj_dtype_by_name(val);
            if (dt < 0 || !(pd->dtypes & (1u << dt))) {
                char list[256] = "";
                for (int d = 0; d < PYOBJ_DT_COUNT; d++)
                    if (pd->dtypes & (1u << d)) {
                        if (*list) strcat(list, ", ");
                        strcat(list, pyobj_dtypes[d].name);
                    }
                return cb_err(err, errlen, "payload %s: dtype %s not supported by %s (one of: %s)",
                              CB_Q(spec), CB_Q(val), g->name, list);
            }
            out->value[idx] = (uint64_t)dt;
        }
        if (rc) return cb_err(err, errlen, "payload %s: %s %s: %s", CB_Q(spec), pd->key, CB_Q(val), sub);
        p += len;
        if (*p == ',') {
            p++;
            if (!*p) return cb_err(err, errlen, "payload %s: trailing comma", CB_Q(spec));
        }
    }
    return 0;
}

static char *arena_strdup(pyobj_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = pyobj_arena_alloc(a, n);
    return d ? memcpy(d, s, n) : NULL;
}

/* The payload's name, in its arena (it lives as long as the payload's objects). */
static char *canonical_name(pyobj_arena *a, const gen_desc *g, const payload_spec *ps)
{
    char buf[512];
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s", g->name);
    if (g->arg == ARG_SIZE) {
        snprintf(buf + n, sizeof buf - n, ":%" PRIu64, ps->value[0]);
        return arena_strdup(a, buf);
    }
    if (g->arg == ARG_PATH) {
        size_t len = strlen(g->name) + 1 + strlen(ps->path) + 1;
        char *s = pyobj_arena_alloc(a, len);
        if (s) snprintf(s, len, "%s:%s", g->name, ps->path);
        return s;
    }
    char sep = ':';
    for (int i = 0; i < nparams(g); i++) {
        char v[64];
        if (ps->value[i] == g->params[i].def) continue;
        format_value(&g->params[i], ps->value[i], v, sizeof v);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%c%s=%s", sep, g->params[i].key, v);
        sep = ',';
    }
    return arena_strdup(a, buf);
}

void payload_free(payload *p)
{
    if (!p) return;
    pyobj_arena_free(p->arena);   /* and the name */
    free(p->raw);
    free(p->data);
    free(p);
}

payload *payload_create(const char *spec, uint64_t seed, int *status_out,
                        char *err, size_t errlen)
{
    payload_spec ps;
    payload *pl = NULL;
    int st = CB_EXIT_INPUT;
    if (status_out) *status_out = CB_EXIT_OK;
    if (!spec) spec = "";
    if (payload_parse_spec(spec, &ps, err, errlen)) goto fail;
    const gen_desc *g = &gens[ps.gen];
    pl = calloc(1, sizeof *pl);
    if (!pl || !(pl->arena = pyobj_arena_new()) || !(pl->name = canonical_name(pl->arena, g, &ps))) {
        cb_err(err, errlen, "payload %s: out of memory", CB_Q(spec));
        st = CB_EXIT_ENV;
        goto fail;
    }
    char sub[400];
    st = g->build(pl, g, &ps, seed, sub, sizeof sub);
    if (st) {
        cb_err(err, errlen, "payload %s: %s", CB_Q(spec), sub);
        goto fail;
    }
    return pl;
fail:
    payload_free(pl);
    if (status_out) *status_out = st;
    return NULL;
}

const char *payload_name(const payload *p) { return p->name; }
const pyobj *payload_object(const payload *p) { return p->raw_is_blob ? NULL : p->obj; }

int payload_blob(const payload *p, const pickle_options *opt, const uint8_t **blob, size_t *len,
                 uint8_t **owned, int *status, char *err, size_t errlen)
{
    *owned = NULL;
    if ((*blob = payload_raw_blob(p, len))) return 0;
    size_t cap = pickle_bound(payload_object(p), opt);
    if (!(*owned = malloc(cap ? cap : 1))) {
        *status = CB_EXIT_ENV;
        return cb_err(err, errlen, "out of memory for a %zu-byte pickle", cap);
    }
    *len = pickle_dump(payload_object(p), opt, *owned, cap, err, errlen);
    if (!*len) {
        free(*owned);
        *owned = NULL;
        *status = strstr(err, "memory") ? CB_EXIT_ENV : CB_EXIT_INPUT;
        return -1;
    }
    *blob = *owned;
    return 0;
}

const uint8_t *payload_raw_blob(const payload *p, size_t *len)
{
    if (!p->raw_is_blob) return NULL;
    if (len) *len = p->raw_len;
    return p->raw;
}

#define OOM(err, errlen) (cb_err(err, errlen, "out of memory"), CB_EXIT_ENV)

/* --- config --- */

static int gen_config(payload *pl, const gen_desc *g, const payload_spec *ps, uint64_t seed,
                      char *err, size_t errlen)
{
    (void)ps;
    rng r;
    rng_seed(&r, seed, g->stream);
    pyobj_arena *a = pl->arena;
    /* Values vary with the seed; their pickled sizes do not. */
    static const char *const opts[] = {"adamw", "lion_", "sgdm_", "adam8"};
    const char *opt = opts[rng_next(&r) >> 62];
    double lr = 1e-4 * (1 + 9 * rng_uniform(&r));
    double wd = 0.1 * rng_uniform(&r);
    double dropout = 0.05 + 0.25 * rng_uniform(&r);
    pyobj *hidden = pyobj_list(a, 3);
    pyobj *d = pyobj_dict(a, 12);
    if (!hidden || !d) return OOM(err, errlen);
    hidden->u.seq.items[0] = pyobj_int(a, 1024);
    hidden->u.seq.items[1] = pyobj_int(a, 512);
    hidden->u.seq.items[2] = pyobj_int(a, 256);
    struct { const char *k; pyobj *v; } kv[] = {
        {"learning_rate", pyobj_float(a, lr)},
        {"batch_size", pyobj_int(a, 128 + (int64_t)(rng_next(&r) >> 59))},
        {"num_epochs", pyobj_int(a, 20)},
        {"optimizer", pyobj_str(a, opt, 5)},
        {"weight_decay", pyobj_float(a, wd)},
        {"dropout", pyobj_float(a, dropout)},
        {"use_amp", pyobj_bool(a, (int)(rng_next(&r) >> 63))},
        {"seed", pyobj_int(a, (int64_t)(rng_next(&r) >> 57))},
        {"scheduler", pyobj_none(a)},
        {"hidden_sizes", hidden},
        {"activation", pyobj_str(a, "gelu", 4)},
        {"warmup_steps", pyobj_int(a, 500)},
    };
    for (size_t i = 0; i < 12; i++) {
        d->u.dict.keys[i] = pyobj_str(a, kv[i].k, strlen(kv[i].k));
        d->u.dict.values[i] = kv[i].v;
        if (!d->u.dict.keys[i] || !kv[i].v) return OOM(err, errlen);
    }
    for (size_t i = 0; i < 3; i++)
        if (!hidden->u.seq.items[i]) return OOM(err, errlen);
    pl->obj = d;
    return 0;
}

/* --- metrics --- */

static int gen_metrics(payload *pl, const gen_desc *g, const payload_spec *ps, uint64_t seed,
                       char *err, size_t errlen)
{
    const uint64_t *v = ps->value;
    static const char *const names[] = {"count", "null_count", "mean", "std", "min", "max", "quantiles"};
    rng r;
    rng_seed(&r, seed, g->stream);
    pyobj_arena *a = pl->arena;
    size_t ncol = v[0];
    pyobj *keys[7];
    pyobj *top = pyobj_dict(a, ncol);
    if (!top) return OOM(err, errlen);
    /* One key object shared by every column, as a dict literal in a loop
     * shares its interned constants: pickled once, then BINGET. */
    for (int i = 0; i < 7; i++)
        if (!(keys[i] = pyobj_str(a, names[i], strlen(names[i])))) return OOM(err, errlen);
    for (size_t c = 0; c < ncol; c++) {
        char name[32];
        int n = snprintf(name, sizeof name, "feature_%04zu", c);
        pyobj *col = pyobj_dict(a, 7), *q = pyobj_list(a, 5);
        if (!col || !q) return OOM(err, errlen);
        /* nulls in [1000, 50000) and rows 1e6: their opcodes keep one size */
        int64_t nulls = 1000 + (int64_t)(rng_next(&r) % 49000);
        double mean = rng_normal(&r) * 10, sd = 0.5 + 4 * rng_uniform(&r);
        double qs[5] = {-1.6448536269514722, -0.6744897501960817, 0, 0.6744897501960817, 1.6448536269514722};
        pyobj *vals[7] = {
            pyobj_int(a, 1000000 - nulls), pyobj_int(a, nulls), pyobj_float(a, mean),
            pyobj_float(a, sd), pyobj_float(a, mean - sd * (3 + rng_uniform(&r))),
            pyobj_float(a, mean + sd * (3 + rng_uniform(&r))), q,
        };
        for (int i = 0; i < 5; i++)
            if (!(q->u.seq.items[i] = pyobj_float(a, mean + sd * qs[i]))) return OOM(err, errlen);
        for (int i = 0; i < 7; i++) {
            if (!vals[i]) return OOM(err, errlen);
            col->u.dict.keys[i] = keys[i];
            col->u.dict.values[i] = vals[i];
        }
        if (!(top->u.dict.keys[c] = pyobj_str(a, name, (size_t)n))) return OOM(err, errlen);
        top->u.dict.values[c] = col;
    }
    pl->obj = top;
    return 0;
}

/* --- ndarrays --- */

/* Integer dtypes hold a standard normal scaled by 2^(bits-4), rounded to
 * nearest and clamped (offset by 2^(bits-1) when unsigned): quantized
 * weights. bool holds z > 0. */
static void store(uint8_t *dst, pyobj_dtype dt, double z)
{
    const pyobj_dtype_info *d = &pyobj_dtypes[dt];
    if (dt == PYOBJ_DT_FLOAT64) { memcpy(dst, &z, 8); return; }
    if (dt == PYOBJ_DT_FLOAT32) { float f = (float)z; memcpy(dst, &f, 4); return; }
    if (dt == PYOBJ_DT_BOOL) { *dst = z > 0; return; }
    int bits = 8 * (int)d->itemsize;
    double lim = ldexp(1.0, bits - 1);
    double q = nearbyint(z * ldexp(1.0, bits - 4));
    if (q < -lim) q = -lim;
    if (q > lim - 1) q = lim - 1;
    if (bits == 64 && q >= 0x1p63) q = 0x1p63 - 1024;   /* lim - 1 rounds to 2^63 */
    int64_t iv = (int64_t)q;
    uint64_t u = (uint64_t)iv;
    if (d->descr[0] == 'u') u += (uint64_t)1 << (bits - 1);
    for (unsigned i = 0; i < d->itemsize; i++) dst[i] = (uint8_t)(u >> (8 * i));
}

static int gen_array(payload *pl, const gen_desc *g, const payload_spec *ps, uint64_t seed,
                     char *err, size_t errlen)
{
    const uint64_t *v = ps->value;
    rng r;
    rng_seed(&r, seed, g->stream);
    int is_tokens = strcmp(g->name, "tokens") == 0;
    pyobj_dtype dt = (pyobj_dtype)v[2];
    size_t isz = pyobj_dtypes[dt].itemsize;
    size_t shape[2] = {(size_t)v[0], is_tokens ? 1 : (size_t)v[1]};
    int ndim = is_tokens ? 1 : 2;
    if (shape[0] > PAYLOAD_MAX_BYTES / shape[1] / isz)
        return cb_err(err, errlen, "%" PRIu64 " x %" PRIu64 " %s is larger than the 64 GiB payload cap",
                      (uint64_t)shape[0], (uint64_t)shape[1], pyobj_dtypes[dt].name), CB_EXIT_INPUT;
    size_t n = shape[0] * shape[1], nbytes = n * isz;
    if (is_tokens && dt != PYOBJ_DT_INT64 && dt != PYOBJ_DT_UINT64 &&
        v[1] - 1 > (dt == PYOBJ_DT_INT8 ? 127u : dt == PYOBJ_DT_UINT8 ? 255u :
                    dt == PYOBJ_DT_INT16 ? 32767u : dt == PYOBJ_DT_UINT16 ? 65535u : 0x7fffffffu))
        return cb_err(err, errlen, "vocab %" PRIu64 " does not fit in %s", v[1], pyobj_dtypes[dt].name),
               CB_EXIT_INPUT;
    uint8_t *data = malloc(nbytes ? nbytes : 1);
    if (!data) return cb_err(err, errlen, "out of memory allocating %zu bytes", nbytes), CB_EXIT_ENV;
    pl->data = data;
    if (is_tokens) {
        size_t vocab = (size_t)v[1];
        double *cdf = malloc(vocab * sizeof *cdf);
        if (!cdf) return OOM(err, errlen);
        double h = 0;
        for (size_t k = 0; k < vocab; k++) cdf[k] = h += 1.0 / (double)(k + 1);
        for (size_t i = 0; i < n; i++) {
            double u = rng_uniform(&r) * h;
            size_t lo = 0, hi = vocab - 1;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cdf[mid] > u) hi = mid; else lo = mid + 1;
            }
            uint64_t id = lo;
            for (size_t b = 0; b < isz; b++) data[i * isz + b] = (uint8_t)(id >> (8 * b));
        }
        free(cdf);
    } else {
        double scale = strcmp(g->name, "weights") == 0 ? 0.02 : 1.0;
        int relu = strcmp(g->name, "sparse") == 0;
        int is_float = dt == PYOBJ_DT_FLOAT32 || dt == PYOBJ_DT_FLOAT64;
        for (size_t i = 0; i < n; i++) {
            double z = rng_normal(&r);
            if (relu && z < 0) z = 0;
            store(data + i * isz, dt, is_float ? z * scale : z);
        }
    }
    if (!(pl->obj = pyobj_ndarray(pl->arena, dt, ndim, shape, 0, data))) return OOM(err, errlen);
    return 0;
}

static int gen_random(payload *pl, const gen_desc *g, const payload_spec *ps, uint64_t seed,
                      char *err, size_t errlen)
{
    rng r;
    rng_seed(&r, seed, g->stream);
    size_t n = (size_t)ps->value[0];
    uint8_t *data = malloc(n);
    if (!data) return cb_err(err, errlen, "out of memory allocating %zu bytes", n), CB_EXIT_ENV;
    pl->data = data;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = rng_next(&r);
        for (size_t b = 0; b < 8 && i + b < n; b++) data[i + b] = (uint8_t)(x >> (8 * b));
    }
    if (!(pl->obj = pyobj_bytes_ref(pl->arena, data, n))) return OOM(err, errlen);
    return 0;
}

/* --- files --- */

/* json: and npy: look at the file's first bytes before reading all of it:
 * a 2 GiB file that is not one costs a page, not 2 GiB. */
static int sniff_file(payload *pl, const gen_desc *g, const char *path, char *err, size_t errlen)
{
    uint8_t head[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    ssize_t n;
    if (fd < 0) return 0;   /* the full read below says why */
    n = pread(fd, head, sizeof head, 0);
    close(fd);
    if (n <= 0) return 0;
    return strcmp(g->name, "json") == 0 ? json_sniff(pl->arena, head, (size_t)n, err, errlen)
                                        : npy_sniff(head, (size_t)n, err, errlen);
}

static int gen_file(payload *pl, const gen_desc *g, const payload_spec *ps, uint64_t seed,
                    char *err, size_t errlen)
{
    const char *path = ps->path;
    struct stat st;
    (void)seed;
    if (strcmp(path, "-") != 0) {
        if (stat(path, &st) != 0)
            return cb_err(err, errlen, "cannot read %s: %s", CB_Q(path), strerror(errno)),
                   errno == ENOMEM || errno == EIO ? CB_EXIT_ENV : CB_EXIT_INPUT;
        if (S_ISDIR(st.st_mode)) return cb_err(err, errlen, "%s is a directory", CB_Q(path)), CB_EXIT_INPUT;
        if (!S_ISREG(st.st_mode)) return cb_err(err, errlen, "%s is not a regular file", CB_Q(path)), CB_EXIT_INPUT;
        if ((uint64_t)st.st_size > PAYLOAD_MAX_BYTES)
            return cb_err(err, errlen, "%s is larger than the 64 GiB payload cap", CB_Q(path)), CB_EXIT_INPUT;
    }
    char sub[256];
    if (strcmp(path, "-") != 0 && strcmp(g->name, "file") != 0) {
        int rc = sniff_file(pl, g, path, err, errlen);
        if (rc) return rc;
    }
    /* A stream on stdin has no size to check first: an endless one (/dev/zero)
     * stops at 1 GiB instead of filling memory up to the 64 GiB cap. */
    size_t max = strcmp(path, "-") == 0 ? (size_t)1 << 30 : (size_t)PAYLOAD_MAX_BYTES;
    if (cb_read_file(path, max, &pl->raw, &pl->raw_len, sub, sizeof sub))
        return cb_err(err, errlen, "cannot read %s: %s", CB_Q(path), sub),
               strstr(sub, "memory") || strstr(sub, "I/O") ? CB_EXIT_ENV : CB_EXIT_INPUT;
    if (pl->raw_len == 0) return cb_err(err, errlen, "%s is empty", CB_Q(path)), CB_EXIT_INPUT;
    if (strcmp(g->name, "file") == 0) {
        pl->raw_is_blob = 1;
        return 0;
    }
    int rc = strcmp(g->name, "json") == 0
                 ? json_parse(pl->arena, pl->raw, pl->raw_len, &pl->obj, sub, sizeof sub)
                 : npy_parse(pl->arena, pl->raw, pl->raw_len, &pl->obj, sub, sizeof sub);
    if (rc) return cb_err(err, errlen, "%s", sub), rc;
    return 0;
}

/* --- PR #3090's payloads (pr3090.h) --- */

static int gen_pr3090(payload *pl, const gen_desc *g, const payload_spec *ps, uint64_t seed,
                      char *err, size_t errlen)
{
    (void)seed;    /* the PR's stream is default_rng(seed=42), a parameter */
    return pr3090_build(pl->arena, (pr3090_payload)g->variant, ps->value[0], &pl->obj, &pl->data, err, errlen);
}

static int gen_pattern(payload *pl, const gen_desc *g, const payload_spec *ps, uint64_t seed,
                       char *err, size_t errlen)
{
    (void)g;
    (void)seed;
    return pr3090_pattern(pl->arena, (size_t)ps->value[0], &pl->obj, &pl->data, err, errlen);
}

/* --- help and list --- */

void payload_print_help(FILE *out)
{
    fprintf(out,
            "payloads: NAME or NAME:key=value,key=value (json, npy, file: NAME:PATH)\n"
            "The same spec and --seed give the same bytes on every machine.\n");
    for (size_t i = 0; i < N_GENS; i++) {
        const gen_desc *g = &gens[i];
        fprintf(out, "  %s%s\n      %s\n", g->name, g->arg == ARG_PATH ? ":PATH" : g->arg == ARG_SIZE ? ":SIZE" : "", g->help);
        for (int k = 0; k < nparams(g); k++) {
            const param_desc *pd = &g->params[k];
            char def[64];
            format_value(pd, pd->def, def, sizeof def);
            fprintf(out, "      %s=%s (default %s", pd->key,
                    pd->kind == P_DTYPE ? "DTYPE" : pd->kind == P_SIZE ? "SIZE" : "N", def);
            if (pd->kind == P_DTYPE) {
                fputs("; one of", out);
                for (int d = 0; d < PYOBJ_DT_COUNT; d++)
                    if (pd->dtypes & (1u << d)) fprintf(out, " %s", pyobj_dtypes[d].name);
            } else {
                fprintf(out, "; %" PRIu64 "..%" PRIu64, pd->min, pd->max);
            }
            fprintf(out, "): %s\n", pd->help);
        }
    }
    fprintf(out,
            "Sizes and counts are whole numbers; generated and read buffers are capped at 64 GiB.\n"
            "JSON nesting is limited to %d levels (PYOBJ_MAX_DEPTH).\n", PYOBJ_MAX_DEPTH);
}

void payload_print_list(FILE *out, uint64_t seed)
{
    for (size_t i = 0; i < N_GENS; i++) {
        const gen_desc *g = &gens[i];
        char params[256] = "";
        size_t n = 0;
        for (int k = 0; k < nparams(g); k++) {
            char def[64];
            format_value(&g->params[k], g->params[k].def, def, sizeof def);
            n += (size_t)snprintf(params + n, sizeof params - n, "%s%s=%s", n ? "," : "", g->params[k].key, def);
        }
        if (g->arg != ARG_PARAMS) {
            fprintf(out, "%-17s %-40s %s\n", g->name, g->arg == ARG_PATH ? "PATH" : "SIZE", "-");
            continue;
        }
        char err[256];
        int st;
        payload *pl = payload_create(g->name, seed, &st, err, sizeof err);
        size_t size = 0;
        if (pl) {
            pickle_options opt = PICKLE_OPTIONS_DEFAULT;
            size_t cap = pickle_bound(pl->obj, &opt);
            uint8_t *buf = malloc(cap);
            if (buf) size = pickle_dump(pl->obj, &opt, buf, cap, err, sizeof err);
            free(buf);
            payload_free(pl);
        }
        if (size) fprintf(out, "%-17s %-40s %zu\n", g->name, *params ? params : "-", size);
        else fprintf(out, "%-17s %-40s ?\n", g->name, *params ? params : "-");
    }
}
