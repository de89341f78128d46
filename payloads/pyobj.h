/*
 * pyobj.h - the slice of Python's object model that casbench pickles.
 *
 * A pyobj graph is what a Python program would hold before pickle.dumps():
 * None, bool, int (any size), float, str (UTF-8), bytes, list, tuple, dict
 * (insertion-ordered) and numpy ndarray. Every node lives in an arena owned
 * by whoever built the graph, and is freed with it in one call.
 *
 * Identity matters: CPython's pickler memoizes str/bytes/list/tuple/dict by
 * object identity, so two references to the same node pickle as one object
 * and a GET, while two equal but distinct nodes pickle twice. A node's
 * address is its identity. The constructors reproduce CPython's singletons:
 * pyobj_str() returns one shared node per arena for the empty string and for
 * each one-character string below U+0100, and pyobj_bytes() one shared node
 * for b'' and each one-byte bytes, because CPython (and so pickle.loads) does
 * the same; a graph that differed would not survive a loads/dumps round trip.
 * The pickler goes further: every node holding "", a one-character str
 * below U+0100, b'' or a one-byte bytes is pickled as CPython's singleton
 * (the object literals, bytes([n]) and numpy's reduce all give), whichever
 * constructor made it.
 *
 * An ndarray's data is referenced, never copied: the caller keeps it alive
 * as long as the graph.
 */
#ifndef CASBENCH_PYOBJ_H
#define CASBENCH_PYOBJ_H

#include <stddef.h>
#include <stdint.h>

/* The deepest nesting of containers accepted anywhere (JSON reader,
 * pickler). A top-level list is depth 1. The pickler recurses once per level;
 * 10000 levels need under 4 MB of stack even in the ASan build (tested by
 * tests/test_payloads.sh). Deeper input is rejected with a one-line error. */
#define PYOBJ_MAX_DEPTH 10000

typedef enum {
    PYOBJ_NONE,
    PYOBJ_BOOL,
    PYOBJ_INT,      /* fits in int64_t: u.i */
    PYOBJ_BIGINT,   /* beyond int64_t: u.big */
    PYOBJ_FLOAT,
    PYOBJ_STR,
    PYOBJ_BYTES,
    PYOBJ_LIST,
    PYOBJ_TUPLE,
    PYOBJ_DICT,
    PYOBJ_NDARRAY,
} pyobj_kind;

/* numpy dtypes, little-endian (the only byte order casbench handles). */
typedef enum {
    PYOBJ_DT_BOOL, PYOBJ_DT_INT8, PYOBJ_DT_UINT8, PYOBJ_DT_INT16,
    PYOBJ_DT_UINT16, PYOBJ_DT_INT32, PYOBJ_DT_UINT32, PYOBJ_DT_INT64,
    PYOBJ_DT_UINT64, PYOBJ_DT_FLOAT16, PYOBJ_DT_FLOAT32, PYOBJ_DT_FLOAT64,
    PYOBJ_DT_COUNT
} pyobj_dtype;

typedef struct {
    const char *name;     /* numpy's name: "float64" */
    const char *descr;    /* the dtype's reduce string: "f8" ("b1" for bool) */
    char byteorder;       /* '<', or '|' for one-byte types */
    unsigned itemsize;
} pyobj_dtype_info;

extern const pyobj_dtype_info pyobj_dtypes[PYOBJ_DT_COUNT];

/* Look a dtype up by numpy name ("float32") or, with byte order, by .npy
 * descr ("<f4", "|u1"). Returns -1 when unknown. */
int pyobj_dtype_by_name(const char *name);
int pyobj_dtype_by_descr(const char *descr, size_t len);

#define PYOBJ_MAX_NDIM 32   /* numpy's own limit (NPY_MAXDIMS) */

typedef struct pyobj pyobj;
struct pyobj {
    pyobj_kind kind;
    /* CPython's reference count, as far as pickling it goes: the pickler
     * adds a reference to each list item and dict key and value while it
     * saves it, as _pickle's batch loops do, and to each node it memoizes
     * until its memo is cleared, as PyMemoTable does (pickle.h). 0 outside
     * a pickle_dump. */
    uint32_t refs;
    union {
        int boolean;
        int64_t i;
        double f;
        struct {           /* |value| as little-endian bytes, no high zero byte */
            int neg;
            size_t nbytes;
            const uint8_t *mag;
        } big;
        struct {           /* str (UTF-8, lone surrogates as 3-byte sequences) and bytes */
            const uint8_t *data;
            size_t len;
            uint32_t mark, slot;   /* scratch for builders (duplicate dict keys) */
        } s;
        struct {           /* list and tuple */
            pyobj **items;
            size_t n;
        } seq;
        struct {
            pyobj **keys, **values;
            size_t n;
        } dict;
        struct {
            pyobj_dtype dtype;
            int ndim;
            int fortran;           /* data is in Fortran (column-major) order */
            const size_t *shape;
            const void *data;      /* borrowed, nbytes long */
            size_t nbytes;
        } arr;
    } u;
};

typedef struct pyobj_arena pyobj_arena;

/* A new, empty arena; NULL when out of memory. */
pyobj_arena *pyobj_arena_new(void);
/* Free the arena and every node in it; accepts NULL. */
void pyobj_arena_free(pyobj_arena *a);
/* n bytes (8-aligned) that live as long as the arena; NULL when out of memory. */
void *pyobj_arena_alloc(pyobj_arena *a, size_t n);

/* Node constructors. Each returns NULL when out of memory. */
pyobj *pyobj_none(pyobj_arena *a);
pyobj *pyobj_bool(pyobj_arena *a, int v);
pyobj *pyobj_int(pyobj_arena *a, int64_t v);
/* An int from sign and little-endian magnitude (copied; any length, high
 * zero bytes ignored); becomes a PYOBJ_INT when it fits in int64_t. */
pyobj *pyobj_bigint(pyobj_arena *a, int neg, const uint8_t *mag, size_t nbytes);
pyobj *pyobj_float(pyobj_arena *a, double v);
/* A str from UTF-8 (copied; not validated: callers pass valid UTF-8, with
 * lone surrogates allowed as CPython's "surrogatepass" writes them). Returns
 * the arena's singleton for "" and one-character strings below U+0100. */
pyobj *pyobj_str(pyobj_arena *a, const char *utf8, size_t len);
/* bytes, copied; singletons for b'' and one-byte values. */
pyobj *pyobj_bytes(pyobj_arena *a, const void *data, size_t len);
/* bytes that borrow data (no copy; a new node, but see above for len <= 1). */
pyobj *pyobj_bytes_ref(pyobj_arena *a, const void *data, size_t len);
/* list / tuple of n items; the items array is allocated and zeroed, the
 * caller fills u.seq.items[0..n-1] before the graph is used. */
pyobj *pyobj_list(pyobj_arena *a, size_t n);
pyobj *pyobj_tuple(pyobj_arena *a, size_t n);
/* A dict with room for n entries, all set by the caller (keys unique). */
pyobj *pyobj_dict(pyobj_arena *a, size_t n);
/* An ndarray that borrows data (nbytes = product(shape) * itemsize). */
pyobj *pyobj_ndarray(pyobj_arena *a, pyobj_dtype dt, int ndim, const size_t *shape,
                     int fortran, const void *data);

#endif
