/*
 * npy.h - a .npy file (numpy's format 1.0, 2.0 or 3.0) as an ndarray.
 *
 * Supported: little-endian (or one-byte) dtypes of pyobj.h, C and Fortran
 * order, any shape including 0-d and empty. The header dict is parsed as
 * the Python literal it is ('descr', 'fortran_order' and 'shape', nothing
 * else); the data must follow it exactly (a short or long file is an error).
 */
#ifndef CASBENCH_NPY_H
#define CASBENCH_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "pyobj.h"

/* Parse buf[0..len). Returns 0 with the ndarray in *out, whose data points
 * into buf (no copy: buf must outlive the graph), or a util.h status
 * (CB_EXIT_INPUT for a malformed file, CB_EXIT_ENV when out of memory) with
 * a one-line message in err. */
int npy_parse(pyobj_arena *a, const uint8_t *buf, size_t len, pyobj **out,
              char *err, size_t errlen);

/* The first len bytes of a file (any len; 8 are enough): 0 when they can
 * begin a .npy file npy_parse reads, or CB_EXIT_INPUT with npy_parse's own
 * message, so that a large file that is not a .npy is refused before it is
 * read whole. */
int npy_sniff(const uint8_t *buf, size_t len, char *err, size_t errlen);

#endif
