/*
 * pr3090.h - the objects metaflow PR #3090's benchmarks pickle, exactly.
 *
 * bench_cas_realistic.py's make_payloads() builds five objects from one
 * numpy.random.default_rng(42) stream, in this order: a literal config
 * dict (no draws), a metrics dict of 100 features (normal, exponential,
 * normal, normal, integers(0, 100), normal(size=50) per feature, as Python
 * floats and ints), standard_normal((100, 1000)), standard_normal((1000,
 * 1000)) and bytes(5_000_000). Building one of them here makes every draw
 * of the payloads before it first, so that each gets the same part of the
 * stream as in the PR. bench_cas.py and bench_cas_e2e.py pickle
 * bytes(range(256)) repeated and cut to a size (pr3090_pattern).
 */
#ifndef CASBENCH_PR3090_H
#define CASBENCH_PR3090_H

#include <stddef.h>
#include <stdint.h>

#include "pyobj.h"

typedef enum {
    PR3090_CONFIG,
    PR3090_METRICS,
    PR3090_EMBEDDINGS,
    PR3090_WEIGHTS,
    PR3090_RANDOM,
} pr3090_payload;

/* Build payload `which` of make_payloads() with default_rng(seed) (the PR:
 * seed 42) into arena a. *data receives the malloc'd buffer the graph
 * borrows (the ndarray's elements or the bytes), or NULL; the caller frees
 * it after the graph. Returns 0, or CB_EXIT_ENV with a one-line message in
 * err when memory runs out. */
int pr3090_build(pyobj_arena *a, pr3090_payload which, uint64_t seed, pyobj **obj,
                 void **data, char *err, size_t errlen);

/* bytes(range(256)) repeated and cut to n bytes, as a bytes object (n may
 * be 0). Same ownership and errors as pr3090_build. */
int pr3090_pattern(pyobj_arena *a, size_t n, pyobj **obj, void **data, char *err, size_t errlen);

#endif
