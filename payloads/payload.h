/*
 * payload.h - deterministic generators of the objects metaflow pickles.
 *
 * A payload spec is NAME or NAME:key=value,key=value, e.g.
 *   config   metrics:columns=5000   weights:rows=4096,cols=1024,dtype=float32
 *   random:size=64MiB   tokens   sparse   json:PATH   npy:PATH   file:PATH
 *   pr3090-metrics   pr3090-weights:seed=7   pattern:1MB
 * The grammar and every parameter are printed by payload_print_help().
 * The same spec and seed give the same object, and so the same pickle bytes,
 * on every machine (the PRNG is documented in payload.c). The pr3090-*
 * payloads are PR #3090's own objects (pr3090.h), drawn from numpy's
 * default_rng(seed=N) (numpy_random.h); --seed does not apply to them.
 */
#ifndef CASBENCH_PAYLOAD_H
#define CASBENCH_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pickle.h"
#include "pyobj.h"

typedef struct payload payload;

/* Build the object a spec describes. Returns NULL with a one-line message in
 * err (naming the spec and the problem: unknown name, unknown parameter, bad
 * value, unreadable file, malformed JSON at line:column, ...) on failure.
 * *status_out (may be NULL) receives the util.h exit status that fits:
 * CB_EXIT_INPUT for bad input, CB_EXIT_ENV for I/O or memory. */
payload *payload_create(const char *spec, uint64_t seed, int *status_out,
                        char *err, size_t errlen);
void payload_free(payload *p);                       /* accepts NULL */

/* The spec's canonical name as used in results ("weights", or
 * "weights:rows=4096,cols=1024,dtype=float32"). */
const char *payload_name(const payload *p);

/* The object graph to pickle; NULL for file:PATH payloads, which are
 * already-pickled blobs (see payload_raw_blob). */
const pyobj *payload_object(const payload *p);
/* For file:PATH: the file's bytes, taken as the blob. NULL otherwise. */
const uint8_t *payload_raw_blob(const payload *p, size_t *len);

/* The blob of p, the one way every command turns a payload into bytes: the
 * file's bytes for file:PATH, else the pickle of its object by opt. *blob
 * points into p, or into *owned (malloc'd, the caller frees it; NULL when
 * nothing was allocated). 0, or -1 with the problem in err (not naming the
 * payload: the caller does) and *status CB_EXIT_INPUT (the object cannot be
 * pickled so) or CB_EXIT_ENV (out of memory). */
int payload_blob(const payload *p, const pickle_options *opt, const uint8_t **blob, size_t *len,
                 uint8_t **owned, int *status, char *err, size_t errlen);

/* The five PR #3090 payloads, in their published order, NULL-terminated. */
extern const char *const payload_default_names[];

/* Print the payload names, their parameters, defaults and grammar. */
void payload_print_help(FILE *out);

/* Print one line per generated payload: name, parameters with their
 * defaults, and the protocol-4 pickled size of the default payload at `seed`
 * (for `casbench list`). Builds and pickles each payload: about 40 MB of
 * memory and a fraction of a second. */
void payload_print_list(FILE *out, uint64_t seed);

/* The largest buffer a payload may generate or read (64 GiB). Larger
 * parameters are bad input; a smaller one that malloc refuses is an
 * environment error (CB_EXIT_ENV), never a crash. */
#define PAYLOAD_MAX_BYTES (64ull << 30)

/* A parsed spec: which generator, its parameter values in table order, and
 * for json/npy/file the path (pointing into the spec string). */
#define PAYLOAD_MAX_PARAMS 4
typedef struct {
    int gen;
    uint64_t value[PAYLOAD_MAX_PARAMS];
    const char *path;
} payload_spec;

/* Parse a spec string without building anything (also the fuzzing entry
 * point). Returns 0, or -1 with "payload 'SPEC': problem" in err. */
int payload_parse_spec(const char *spec, payload_spec *out, char *err, size_t errlen);
#endif
