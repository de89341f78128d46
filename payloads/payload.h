/*
 * payload.h - deterministic generators of the objects metaflow pickles.
 *
 * A payload spec is NAME or NAME:key=value,key=value, e.g.
 *   config   metrics:columns=5000   weights:rows=4096,cols=1024,dtype=float32
 *   random:size=64MiB   tokens   sparse   json:PATH   npy:PATH   file:PATH
 * The grammar and every parameter are printed by payload_print_help().
 * The same spec and seed give the same object, and so the same pickle bytes,
 * on every machine (the PRNG is documented in payload.c).
 */
#ifndef CASBENCH_PAYLOAD_H
#define CASBENCH_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* The five PR #3090 payloads, in their published order, NULL-terminated. */
extern const char *const payload_default_names[];

/* Print the payload names, their parameters, defaults and grammar. */
void payload_print_help(FILE *out);
#endif
