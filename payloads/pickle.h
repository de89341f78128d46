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

/* Pickle obj into dst. A capacity of pickle_bound() always suffices; a
 * smaller one does when the pickle's length plus 9 bytes (a frame header it
 * reserves, dropped again from a frame under 4 bytes) fits. Returns the number of
 * bytes written, or 0 on error with a message in err (unsupported protocol,
 * cap too small, nesting deeper than PYOBJ_MAX_DEPTH). No allocation happens
 * other than the memo's, which is CPython's table (8 entries, then grown as
 * CPython grows it; the first two sizes in the pickler itself, as pymalloc
 * serves them, larger ones malloc'd), and a scratch encoding of each integer
 * wider than 16 bytes. The work is _pickle's too: each list item and dict
 * key and value has its `refs` raised while it is saved and lowered after,
 * and each memoized node while the memo holds it (so obj is written to,
 * and given back as it was: one thread at a time). */
size_t pickle_dump(const pyobj *obj, const pickle_options *opt,
                   uint8_t *dst, size_t cap, char *err, size_t errlen);

/* Streaming: the same bytes handed to a sink piece by piece, in order,
 * never the whole pickle at once. sink(arg, p, n) returns 0, or non-zero
 * to stop the pickler (pickle_dump_stream then fails). */
typedef int (*pickle_sink_fn)(void *arg, const uint8_t *p, size_t n);

/* The smallest window: an open protocol-4 frame (under 64 KiB plus the op
 * that fills it) must fit, with room for the next. */
#define PICKLE_WINDOW_MIN (256 * 1024)

/* Pickle obj through `window` (cap >= PICKLE_WINDOW_MIN bytes, the caller's,
 * reused): the pickler writes into it, and whenever it is full hands the
 * final bytes to sink (a protocol-4 frame is final once its header is
 * written). A str/bytes/ndarray payload larger than the room left goes to
 * the sink directly from the object, in pieces of at most cap bytes, never
 * copied. Every piece is at most cap bytes; the pieces concatenate to
 * exactly pickle_dump()'s bytes. Returns the total size, or 0 on error with
 * a message in err (as pickle_dump, plus a sink that failed, or one opcode
 * larger than the window: an int of more than about 190 KiB inside a
 * frame). */
uint64_t pickle_dump_stream(const pyobj *obj, const pickle_options *opt, uint8_t *window, size_t cap,
                            pickle_sink_fn sink, void *arg, char *err, size_t errlen);

/* The exact size pickle_dump() would write: pickle_dump_stream with no
 * sink, so that no payload byte is copied (a pass over the graph, for a
 * stream whose header carries its size: LZ4 and zstd frames). 0 on error. */
uint64_t pickle_size(const pyobj *obj, const pickle_options *opt, uint8_t *window, size_t cap,
                     char *err, size_t errlen);
#endif
