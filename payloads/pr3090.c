/*
 * pr3090.c - see pr3090.h. The object graphs follow what CPython builds for
 * the PR's source, because the pickle's memo follows object identity: the
 * inner dict's key literals ("mean", ..., "histogram") are one str object
 * each, shared by all 100 features (pickled once, then BINGET), while each
 * f"feature_{i}" and every float is a new object.
 */
#include "pr3090.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numpy_random.h"
#include "util.h"

#define OOM(err, errlen) (cb_err(err, errlen, "out of memory"), CB_EXIT_ENV)

static pyobj *str_of(pyobj_arena *a, const char *s) { return pyobj_str(a, s, strlen(s)); }

static pyobj *make_config(pyobj_arena *a)
{
    pyobj *metrics = pyobj_dict(a, 3), *tags = pyobj_list(a, 3), *d = pyobj_dict(a, 7);
    if (!metrics || !tags || !d) return NULL;
    static const char *const metric_keys[3] = {"accuracy", "loss", "f1"};
    static const double metric_values[3] = {0.934, 0.187, 0.921};
    static const char *const tag_values[3] = {"production", "v2.1", "gpu"};
    for (size_t i = 0; i < 3; i++) {
        metrics->u.dict.keys[i] = str_of(a, metric_keys[i]);
        metrics->u.dict.values[i] = pyobj_float(a, metric_values[i]);
        tags->u.seq.items[i] = str_of(a, tag_values[i]);
        if (!metrics->u.dict.keys[i] || !metrics->u.dict.values[i] || !tags->u.seq.items[i]) return NULL;
    }
    struct { const char *key; pyobj *value; } kv[7] = {
        {"learning_rate", pyobj_float(a, 0.001)},
        {"batch_size", pyobj_int(a, 32)},
        {"epochs", pyobj_int(a, 100)},
        {"model_name", str_of(a, "transformer_v2")},
        {"metrics", metrics},
        {"tags", tags},
        {"timestamp", str_of(a, "2026-04-10T12:00:00Z")},
    };
    for (size_t i = 0; i < 7; i++) {
        d->u.dict.keys[i] = str_of(a, kv[i].key);
        d->u.dict.values[i] = kv[i].value;
        if (!d->u.dict.keys[i] || !kv[i].value) return NULL;
    }
    return d;
}

/* The metrics dict comprehension; Python evaluates each inner dict's values
 * left to right, which fixes the order of the draws. */
static pyobj *make_metrics(pyobj_arena *a, npr_gen *g)
{
    enum { FEATURES = 100, HISTOGRAM = 50, FIELDS = 6 };
    static const char *const names[FIELDS] = {"mean", "std", "min", "max", "nulls", "histogram"};
    pyobj *keys[FIELDS], *top = pyobj_dict(a, FEATURES);
    if (!top) return NULL;
    for (size_t k = 0; k < FIELDS; k++)
        if (!(keys[k] = str_of(a, names[k]))) return NULL;
    for (size_t i = 0; i < FEATURES; i++) {
        char name[32];
        int n = snprintf(name, sizeof name, "feature_%zu", i);
        pyobj *feature = pyobj_dict(a, FIELDS), *histogram = pyobj_list(a, HISTOGRAM);
        if (!feature || !histogram) return NULL;
        pyobj *values[FIELDS];
        values[0] = pyobj_float(a, npr_normal(g, 0.0, 1.0));
        values[1] = pyobj_float(a, npr_exponential(g, 1.0));
        values[2] = pyobj_float(a, npr_normal(g, 0.0, 1.0) - 3);
        values[3] = pyobj_float(a, npr_normal(g, 0.0, 1.0) + 3);
        values[4] = pyobj_int(a, npr_integers(g, 0, 100));
        values[5] = histogram;
        for (size_t h = 0; h < HISTOGRAM; h++)
            if (!(histogram->u.seq.items[h] = pyobj_float(a, npr_normal(g, 0.0, 1.0)))) return NULL;
        for (size_t k = 0; k < FIELDS; k++) {
            if (!values[k]) return NULL;
            feature->u.dict.keys[k] = keys[k];
            feature->u.dict.values[k] = values[k];
        }
        if (!(top->u.dict.keys[i] = pyobj_str(a, name, (size_t)n))) return NULL;
        top->u.dict.values[i] = feature;
    }
    return top;
}

/* standard_normal((rows, cols)) in C order; out NULL draws and drops. */
static void draw_normals(npr_gen *g, double *out, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        double z = npr_standard_normal(g);
        if (out) out[i] = z;
    }
}

int pr3090_build(pyobj_arena *a, pr3090_payload which, uint64_t seed, pyobj **obj,
                 void **data, char *err, size_t errlen)
{
    static const size_t shapes[2][2] = {{100, 1000}, {1000, 1000}};
    enum { RANDOM_BYTES = 5000000 };
    npr_gen g;
    npr_seed(&g, seed);
    *obj = NULL;
    *data = NULL;
    if (which == PR3090_CONFIG) return (*obj = make_config(a)) ? 0 : OOM(err, errlen);
    pyobj *metrics = make_metrics(a, &g);
    if (!metrics) return OOM(err, errlen);
    if (which == PR3090_METRICS) {
        *obj = metrics;
        return 0;
    }
    for (int k = 0; k < 2; k++) {
        pr3090_payload arr = k == 0 ? PR3090_EMBEDDINGS : PR3090_WEIGHTS;
        size_t count = shapes[k][0] * shapes[k][1];
        if (which != arr) {
            draw_normals(&g, NULL, count);
            continue;
        }
        double *elems = malloc(count * sizeof *elems);
        if (!elems) return OOM(err, errlen);
        *data = elems;
        draw_normals(&g, elems, count);
        return (*obj = pyobj_ndarray(a, PYOBJ_DT_FLOAT64, 2, shapes[k], 0, elems)) ? 0 : OOM(err, errlen);
    }
    uint8_t *bytes = malloc(RANDOM_BYTES);
    if (!bytes) return OOM(err, errlen);
    *data = bytes;
    npr_bytes(&g, bytes, RANDOM_BYTES);
    return (*obj = pyobj_bytes_ref(a, bytes, RANDOM_BYTES)) ? 0 : OOM(err, errlen);
}

int pr3090_pattern(pyobj_arena *a, size_t n, pyobj **obj, void **data, char *err, size_t errlen)
{
    uint8_t *bytes = malloc(n ? n : 1);
    *obj = NULL;
    *data = bytes;
    if (!bytes) return cb_err(err, errlen, "out of memory allocating %zu bytes", n), CB_EXIT_ENV;
    for (size_t i = 0; i < n; i++) bytes[i] = (uint8_t)i;
    return (*obj = pyobj_bytes_ref(a, bytes, n)) ? 0 : OOM(err, errlen);
}
