/* pyobj.c - see pyobj.h. */
#include "pyobj.h"

#include <stdlib.h>
#include <string.h>

/* A numeric dtype follows from its kind and size: numpy's name is the kind's
 * word and the size in bits ("uint16"), its descr the kind's letter and the
 * size in bytes ("u2"), its byte order '|' for one byte, else '<'. */
#define PYOBJ_DT(e, word, letter, bytes, bits) \
    [PYOBJ_DT_##e] = {#word #bits, #letter #bytes, (bytes) == 1 ? '|' : '<', (bytes)}

const pyobj_dtype_info pyobj_dtypes[PYOBJ_DT_COUNT] = {
    [PYOBJ_DT_BOOL] = {"bool", "b1", '|', 1},   /* numpy's name has no size */
    PYOBJ_DT(INT8, int, i, 1, 8),
    PYOBJ_DT(UINT8, uint, u, 1, 8),
    PYOBJ_DT(INT16, int, i, 2, 16),
    PYOBJ_DT(UINT16, uint, u, 2, 16),
    PYOBJ_DT(INT32, int, i, 4, 32),
    PYOBJ_DT(UINT32, uint, u, 4, 32),
    PYOBJ_DT(INT64, int, i, 8, 64),
    PYOBJ_DT(UINT64, uint, u, 8, 64),
    PYOBJ_DT(FLOAT16, float, f, 2, 16),
    PYOBJ_DT(FLOAT32, float, f, 4, 32),
    PYOBJ_DT(FLOAT64, float, f, 8, 64),
};

int pyobj_dtype_by_name(const char *name)
{
    for (int i = 0; i < PYOBJ_DT_COUNT; i++)
        if (strcmp(name, pyobj_dtypes[i].name) == 0) return i;
    return -1;
}

int pyobj_dtype_by_descr(const char *descr, size_t len)
{
    /* np.save writes '|' for one-byte types and '<' otherwise on
     * little-endian machines; '=' (native) is little-endian here too. */
    if (len != 3) return -1;
    for (int i = 0; i < PYOBJ_DT_COUNT; i++) {
        const pyobj_dtype_info *d = &pyobj_dtypes[i];
        if (memcmp(descr + 1, d->descr, 2) != 0) continue;
        if (descr[0] == d->byteorder || descr[0] == '=' ||
            (d->itemsize == 1 && (descr[0] == '<' || descr[0] == '|')))
            return i;
    }
    return -1;
}

#define ARENA_BLOCK (64 * 1024)

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
} arena_block;

struct pyobj_arena {
    arena_block *head;
    pyobj *str1[257];      /* "" and chr(0)..chr(255) */
    pyobj *bytes1[257];    /* b'' and bytes([0])..bytes([255]) */
};

pyobj_arena *pyobj_arena_new(void)
{
    return calloc(1, sizeof(pyobj_arena));
}

void pyobj_arena_free(pyobj_arena *a)
{
    if (!a) return;
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

void *pyobj_arena_alloc(pyobj_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
        if (cap > SIZE_MAX - sizeof(arena_block)) return NULL;
        arena_block *nb = malloc(sizeof(arena_block) + cap);
        if (!nb) return NULL;
        nb->used = 0;
        nb->cap = cap;
        if (b && cap != ARENA_BLOCK) {
            /* a big one-off block goes behind the current one, which keeps
             * serving small allocations */
            nb->next = b->next;
            b->next = nb;
            nb->used = n;
            return (char *)nb->data;
        }
        nb->next = b;
        a->head = b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

static pyobj *node(pyobj_arena *a, pyobj_kind k)
{
    pyobj *o = pyobj_arena_alloc(a, sizeof *o);
    if (o) {
        memset(o, 0, sizeof *o);
        o->kind = k;
    }
    return o;
}

pyobj *pyobj_none(pyobj_arena *a) { return node(a, PYOBJ_NONE); }

pyobj *pyobj_bool(pyobj_arena *a, int v)
{
    pyobj *o = node(a, PYOBJ_BOOL);
    if (o) o->u.boolean = !!v;
    return o;
}

pyobj *pyobj_int(pyobj_arena *a, int64_t v)
{
    pyobj *o = node(a, PYOBJ_INT);
    if (o) o->u.i = v;
    return o;
}

pyobj *pyobj_bigint(pyobj_arena *a, int neg, const uint8_t *mag, size_t nbytes)
{
    while (nbytes && mag[nbytes - 1] == 0) nbytes--;
    if (nbytes <= 8) {
        uint64_t m = 0;
        for (size_t i = nbytes; i-- > 0;) m = m << 8 | mag[i];
        if (!neg && m <= (uint64_t)INT64_MAX) return pyobj_int(a, (int64_t)m);
        if (neg && m <= (uint64_t)INT64_MAX + 1) return pyobj_int(a, (int64_t)(0 - m));
    }
    pyobj *o = node(a, PYOBJ_BIGINT);
    uint8_t *copy = pyobj_arena_alloc(a, nbytes);
    if (!o || !copy) return NULL;
    memcpy(copy, mag, nbytes);
    o->u.big.neg = neg;
    o->u.big.nbytes = nbytes;
    o->u.big.mag = copy;
    return o;
}

pyobj *pyobj_float(pyobj_arena *a, double v)
{
    pyobj *o = node(a, PYOBJ_FLOAT);
    if (o) o->u.f = v;
    return o;
}

static pyobj *str_or_bytes(pyobj_arena *a, pyobj_kind k, const void *data, size_t len)
{
    pyobj *o = node(a, k);
    uint8_t *copy = pyobj_arena_alloc(a, len + 1);
    if (!o || !copy) return NULL;
    memcpy(copy, data, len);
    copy[len] = 0;
    o->u.s.data = copy;
    o->u.s.len = len;
    return o;
}

pyobj *pyobj_str(pyobj_arena *a, const char *utf8, size_t len)
{
    const uint8_t *u = (const uint8_t *)utf8;
    int slot = -1;
    if (len == 0) slot = 0;
    else if (len == 1 && u[0] < 0x80) slot = 1 + u[0];
    else if (len == 2 && (u[0] == 0xc2 || u[0] == 0xc3) && (u[1] & 0xc0) == 0x80)
        slot = 1 + (((u[0] & 0x1f) << 6) | (u[1] & 0x3f));
    if (slot < 0) return str_or_bytes(a, PYOBJ_STR, utf8, len);
    if (!a->str1[slot]) a->str1[slot] = str_or_bytes(a, PYOBJ_STR, utf8, len);
    return a->str1[slot];
}

pyobj *pyobj_bytes(pyobj_arena *a, const void *data, size_t len)
{
    if (len > 1) return str_or_bytes(a, PYOBJ_BYTES, data, len);
    int slot = len ? 1 + *(const uint8_t *)data : 0;
    if (!a->bytes1[slot]) a->bytes1[slot] = str_or_bytes(a, PYOBJ_BYTES, data, len);
    return a->bytes1[slot];
}

pyobj *pyobj_bytes_ref(pyobj_arena *a, const void *data, size_t len)
{
    pyobj *o = node(a, PYOBJ_BYTES);
    if (o) {
        o->u.s.data = data;
        o->u.s.len = len;
    }
    return o;
}

static pyobj *seq(pyobj_arena *a, pyobj_kind k, size_t n)
{
    pyobj *o = node(a, k);
    if (!o || n > SIZE_MAX / sizeof(pyobj *)) return NULL;
    o->u.seq.items = pyobj_arena_alloc(a, n * sizeof(pyobj *));
    if (!o->u.seq.items) return NULL;
    memset(o->u.seq.items, 0, n * sizeof(pyobj *));
    o->u.seq.n = n;
    return o;
}

pyobj *pyobj_list(pyobj_arena *a, size_t n) { return seq(a, PYOBJ_LIST, n); }
pyobj *pyobj_tuple(pyobj_arena *a, size_t n) { return seq(a, PYOBJ_TUPLE, n); }

pyobj *pyobj_dict(pyobj_arena *a, size_t n)
{
    pyobj *o = node(a, PYOBJ_DICT);
    if (!o || n > SIZE_MAX / (2 * sizeof(pyobj *))) return NULL;
    o->u.dict.keys = pyobj_arena_alloc(a, 2 * n * sizeof(pyobj *));
    if (!o->u.dict.keys) return NULL;
    memset(o->u.dict.keys, 0, 2 * n * sizeof(pyobj *));
    o->u.dict.values = o->u.dict.keys + n;
    o->u.dict.n = n;
    return o;
}

pyobj *pyobj_ndarray(pyobj_arena *a, pyobj_dtype dt, int ndim, const size_t *shape,
                     int fortran, const void *data)
{
    pyobj *o = node(a, PYOBJ_NDARRAY);
    size_t *sh = pyobj_arena_alloc(a, (ndim ? ndim : 1) * sizeof(size_t));
    if (!o || !sh) return NULL;
    size_t n = pyobj_dtypes[dt].itemsize;
    for (int i = 0; i < ndim; i++) {
        sh[i] = shape[i];
        n *= shape[i];
    }
    o->u.arr.dtype = dt;
    o->u.arr.ndim = ndim;
    o->u.arr.fortran = fortran;
    o->u.arr.shape = sh;
    o->u.arr.data = data;
    o->u.arr.nbytes = n;
    return o;
}
