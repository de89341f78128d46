/*
 * pickle.h - CPython-exact pickling of pyobj graphs.
 *
 * pickle_dump() writes the bytes CPython 3.11's pickle.dumps(obj, protocol=P)
 * writes for the same object (numpy ndarrays as numpy's __reduce_ex__ gives
 * them), for P = 2..5. An ndarray's data costs one memcpy into the output.
 */
#ifndef CASBENCH_PICKLE_H
#define CASBENCH_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "pyobj.h"

typedef struct {
    int protocol;      /* 2, 3, 4 or 5 */
    int numpy_major;   /* 1: numpy.core.multiarray; 2: numpy._core.multiarray */
} pickle_options;

#define PICKLE_OPTIONS_DEFAULT ((pickle_options){4, 1})

/* An upper bound on the pickle's size, cheap to compute (no pickling). */
size_t pickle_bound(const pyobj *obj, const pickle_options *opt);

/* Pickle obj into dst (capacity cap >= pickle_bound()). Returns the number of
 * bytes written, or 0 on error with a message in err (unsupported protocol,
 * cap too small, nesting deeper than PYOBJ_MAX_DEPTH). No allocation happens
 * for ndarray payloads other than the memo; the memo is sized from the graph. */
size_t pickle_dump(const pyobj *obj, const pickle_options *opt,
                   uint8_t *dst, size_t cap, char *err, size_t errlen);
#endif
