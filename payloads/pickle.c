/*
 * pickle.c - see pickle.h.
 *
 * This follows CPython 3.11's C pickler (Modules/_pickle.c) step by step,
 * because byte identity depends on its exact choices: which objects are
 * memoized and when, the opcode chosen for each size, the dict batching
 * (which writes an empty MARK/SETITEMS batch after a batch of exactly 1000),
 * and the protocol-4 framer (a frame is closed at the start of a save() once
 * it holds 64 KiB, and a str/bytes/bytearray payload of 64 KiB or more is
 * written, header included, between frames).
 *
 * It follows _pickle's work too, because casbench predicts pickle.dumps's
 * time from this pickler's: the memo's table, save_long's direct path for
 * ints of 4 bytes, PyFloat_Pack8's format check and byte loop, _Pickler_Write's
 * hand copy of short writes, the references its batch loops hold and
 * batch_list_exact's way through a list, save()'s persistent-id check. The
 * per-float instructions of the two, counted by valgrind's cachegrind (not
 * timed), are the check that these steps are there. What it cannot do
 * is the interpreter's share: numpy's __reduce_ex__ and the pickler's
 * Python-level checks of a reduce, which no C cell has; the prediction
 * prices it per array from python_path.py's `pickle-ndarray` row
 * (report_predict.c).
 *
 * ndarrays are pickled as numpy 1.24's ndarray.__reduce_ex__ returns them;
 * the intermediate objects of that reduce (globals, the argument tuples, the
 * dtype) are never built: their saves are written out directly, each with
 * an identity key so that the memo behaves as CPython's does.
 */
#include "pickle.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define FRAME_SIZE_TARGET (64 * 1024)
#define FRAME_SIZE_MIN 4
#define FRAME_HEADER_SIZE 9
#define BATCHSIZE 1000
#define NO_FRAME SIZE_MAX

/* Identities of the objects numpy's reduce shares between arrays and calls:
 * module-level globals and interned strings. One byte each: only the
 * address is used. */
enum {
    ID_G_RECONSTRUCT, ID_G_FROMBUFFER, ID_G_NDARRAY, ID_G_DTYPE, ID_G_ENCODE,
    ID_G_BYTES, ID_S_NUMPY, ID_S_RECONSTRUCT_MOD, ID_S_RECONSTRUCT, ID_S_NUMERIC_MOD,
    ID_S_FROMBUFFER, ID_S_NDARRAY, ID_S_DTYPE, ID_S_LATIN1, ID_S_EMPTY, ID_B_EMPTY, ID_NP_C, ID_NP_F,
    ID_COUNT
};
static const char static_ids[ID_COUNT];
static const char latin1_char_ids[256];       /* one-character str singletons */
static const char byte_ids[256];              /* one-byte bytes singletons */
static const char dtype_ids[PYOBJ_DT_COUNT];  /* np.dtype('f8') etc. are singletons */

/* Per-array objects made fresh by each __reduce_ex__ call: keyed by an
 * address inside the ndarray's own node, which no other object can have. */
enum { AR_ARGS = 1, AR_ZERO_TUPLE, AR_STATE, AR_SHAPE, AR_DATA, AR_DATA_STR,
       AR_DT_ARGS, AR_DT_DESCR, AR_DT_STATE, AR_P5_ARGS, AR_BB_ARGS, AR_DATA_ARGS };

/* A memo entry: an identity and its index (PyMemoEntry). */
typedef struct {
    const void *key;
    size_t value;
} memo_entry;

#define MEMO_MIN 8      /* MT_MINSIZE */
#define MEMO_HELD (~(size_t)0 ^ (~(size_t)0 >> 1))   /* value's flag: the key is a node, referenced */
#define MEMO_SMALL 32   /* the largest table pymalloc serves (512 bytes) */

typedef struct {
    uint8_t *buf;
    size_t cap, len;
    int proto, framing, numpy_major;
    int bin;                       /* _pickle's self->bin: a binary protocol */
    const void *pers_func;         /* _pickle's persistent_id hook: casbench has none (NULL) */
    size_t frame_start;
    memo_entry *memo;
    size_t memo_mask, memo_count;
    int depth;
    char *err;
    size_t errlen;
    /* Streaming (pickle_dump_stream): buf is a window that is handed to the
     * sink whenever it fills; `sent` bytes have gone before buf[0]. */
    int streaming;
    pickle_sink_fn sink;           /* NULL: count only (pickle_size) */
    void *sink_arg;
    uint64_t sent;
    /* pymalloc's stand-in: the tables of 8 and 32 entries, the only two
     * under its 512-byte ceiling (growth from 8 always gives 32). Last, and
     * left out of pk_start's zeroing: memo_resize zeroes the table it takes,
     * as CPython zeroes only its first table (128 bytes, not 640). */
    memo_entry memo_min[MEMO_MIN], memo_small[MEMO_SMALL];
} pk;

/* A pickler writing into buf (cap bytes): every member zero but the memo
 * tables (see above). */
static void pk_start(pk *p, uint8_t *buf, size_t cap, char *err, size_t errlen)
{
    memset(p, 0, offsetof(pk, memo_min));
    p->buf = buf;
    p->cap = cap;
    p->err = err;
    p->errlen = errlen;
}

static int pk_fail_cap(pk *p)
{
    return cb_err(p->err, p->errlen, "output buffer too small (%zu bytes)", p->cap);
}

/* Streaming: hands the final bytes of the window to the sink and moves
 * the rest to its start. Bytes from an open frame's start on are not final:
 * its header is written when it closes. */
static int pk_flush(pk *p)
{
    size_t done = p->framing && p->frame_start != NO_FRAME ? p->frame_start : p->len;
    if (!done) return 0;
    if (p->sink && p->sink(p->sink_arg, p->buf, done) != 0)
        return cb_err(p->err, p->errlen, "the pickle's sink failed");
    memmove(p->buf, p->buf + done, p->len - done);
    p->len -= done;
    if (p->frame_start != NO_FRAME) p->frame_start -= done;
    p->sent += done;
    return 0;
}

/* Streaming, no frame open: n bytes that do not fit in the window go to
 * the sink as they are, in window-sized pieces, never through the window. */
static int pk_pass(pk *p, const uint8_t *s, size_t n)
{
    if (pk_flush(p)) return -1;
    while (n) {
        size_t k = n < p->cap ? n : p->cap;
        if (p->sink && p->sink(p->sink_arg, s, k) != 0)
            return cb_err(p->err, p->errlen, "the pickle's sink failed");
        p->sent += k;
        s += k;
        n -= k;
    }
    return 0;
}

static int pk_write(pk *p, const void *s, size_t n)
{
    size_t need = n;
    int new_frame = p->framing && p->frame_start == NO_FRAME;
    if (new_frame) need += FRAME_HEADER_SIZE;
    if (p->cap - p->len < need && p->streaming) {
        if (!p->framing) return pk_pass(p, s, n);   /* a large payload, between frames */
        if (pk_flush(p)) return -1;
    }
    if (p->cap - p->len < need) return pk_fail_cap(p);
    if (new_frame) {
        p->frame_start = p->len;
        p->len += FRAME_HEADER_SIZE;
    }
    /* _Pickler_Write copies fewer than 8 bytes (an opcode and its argument)
     * by hand, "faster than memcpy when the string is short" */
    uint8_t *d = p->buf + p->len;
    if (n < 8) {
        for (size_t i = 0; i < n; i++) d[i] = ((const uint8_t *)s)[i];
    } else {
        memcpy(d, s, n);
    }
    p->len += n;
    return 0;
}

static int pk_op(pk *p, uint8_t op) { return pk_write(p, &op, 1); }

static void put_le(uint8_t *d, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) d[i] = (uint8_t)(v >> (8 * i));
}

static void pk_commit_frame(pk *p)
{
    if (!p->framing || p->frame_start == NO_FRAME) return;
    size_t frame_len = p->len - p->frame_start - FRAME_HEADER_SIZE;
    uint8_t *q = p->buf + p->frame_start;
    if (frame_len >= FRAME_SIZE_MIN) {
        q[0] = 0x95;  /* FRAME */
        put_le(q + 1, frame_len, 8);
    } else {
        memmove(q, q + FRAME_HEADER_SIZE, frame_len);
        p->len -= FRAME_HEADER_SIZE;
    }
    p->frame_start = NO_FRAME;
}

/* What _Pickler_OpcodeBoundary does at the start of every save(). */
static void pk_boundary(pk *p)
{
    if (p->framing && p->frame_start != NO_FRAME &&
        p->len - p->frame_start - FRAME_HEADER_SIZE >= FRAME_SIZE_TARGET)
        pk_commit_frame(p);
}

/* A header plus a payload that may be large: as _Pickler_write_bytes. */
static int pk_write_bytes(pk *p, const uint8_t *hdr, size_t hlen, const void *data, size_t n)
{
    int framing = p->framing;
    if (n >= FRAME_SIZE_TARGET) {
        pk_commit_frame(p);
        p->framing = 0;
    }
    if (pk_write(p, hdr, hlen) || pk_write(p, data, n)) return -1;
    p->framing = framing;
    return 0;
}

/* --- memo: CPython's PyMemoTable --- */

/* The memo is CPython's table (_pickle.c, PyMemoTable), because its cost is
 * part of what a pickle costs: one array of {identity, index} entries,
 * probed from the identity's address shifted right by 3 and then as a
 * Python dict probes (i * 5 + perturb + 1, perturb shifted by 5). Every
 * pickler starts with a table of 8 entries (_Pickler_New does so before
 * anything is pickled), and once an insert leaves it 2/3 full it is
 * replaced by the smallest power of two from 8 up holding 4 times (2 times
 * above 50,000) its entries, zeroed, the old entries inserted again. Tables
 * of up to 512 bytes come from pymalloc in CPython: here from the pickler's
 * own two (memo_min, memo_small), larger ones from malloc as PyMem_Malloc
 * does. Starting at 1,024 entries zeroed 8 KiB a call, more than CPython's
 * whole memo work on a 233-byte dict; starting with no table at all made
 * pickling one object pay the first table, which CPython's pickle.dumps(0)
 * already pays. */
#define PERTURB_SHIFT 5

static memo_entry *memo_lookup(const pk *p, const void *key)
{
    size_t mask = p->memo_mask, hash = (size_t)((intptr_t)key >> 3), i = hash & mask;
    memo_entry *e = &p->memo[i];
    if (!e->key || e->key == key) return e;
    for (size_t perturb = hash;; perturb >>= PERTURB_SHIFT) {
        i = (i << 2) + i + perturb + 1;
        e = &p->memo[i & mask];
        if (!e->key || e->key == key) return e;
    }
}

static memo_entry *memo_table(pk *p, size_t n)
{
    if (n == MEMO_MIN) return p->memo_min;
    if (n == MEMO_SMALL && p->memo != p->memo_small) return p->memo_small;
    return malloc(n * sizeof(memo_entry));
}

static void memo_free(pk *p, memo_entry *t)
{
    if (t != p->memo_min && t != p->memo_small) free(t);
}

static int memo_resize(pk *p, size_t min)
{
    size_t n = MEMO_MIN;
    while (n < min) n <<= 1;
    memo_entry *old = p->memo, *t = memo_table(p, n);
    if (!t) return cb_err(p->err, p->errlen, "out of memory for the pickle memo");
    memset(t, 0, n * sizeof *t);
    p->memo = t;
    p->memo_mask = n - 1;
    size_t left = old ? p->memo_count : 0;
    for (memo_entry *e = old; left > 0; e++) {
        if (!e->key) continue;
        left--;
        *memo_lookup(p, e->key) = *e;
    }
    if (old) memo_free(p, old);
    return 0;
}

/* The end of a pickler (PyMemoTable_Clear): every entry is visited and
 * the reference to its key dropped; returns the keys the table held. */
static size_t memo_end(pk *p)
{
    size_t kept = 0;
    if (!p->memo) return 0;
    for (size_t i = 0; i <= p->memo_mask; i++) {
        const memo_entry *e = &p->memo[i];
        if (!e->key) continue;
        kept++;
        if (e->value & MEMO_HELD) ((pyobj *)e->key)->refs--;
    }
    memo_free(p, p->memo);
    p->memo = NULL;
    return kept;
}

/* A memo opcode with its index: the 1-byte form `op1` below 256, else the
 * 4-byte form `op4` (PUT and GET come in both). */
static int memo_op(pk *p, uint8_t op1, uint8_t op4, uint32_t idx)
{
    uint8_t b[5];
    if (idx < 256) {
        b[0] = op1;
        b[1] = (uint8_t)idx;
        return pk_write(p, b, 2);
    }
    b[0] = op4;
    put_le(b + 1, idx, 4);
    return pk_write(p, b, 5);
}

/* memo_put: PyMemoTable_Set (a lookup, then the insert, which takes a
 * reference to the object: `held`, the node memoized, when the key is one;
 * numpy's reduce objects and the singletons are not nodes) and the opcode. */
static int memo_put_held(pk *p, const void *key, pyobj *held)
{
    if (p->memo_count >= UINT32_MAX) return cb_err(p->err, p->errlen, "more than 2**32 memoized objects");
    memo_entry *e = memo_lookup(p, key);
    size_t idx = p->memo_count;
    if (!e->key) p->memo_count++;
    e->key = key;
    e->value = idx;
    if (held) {
        held->refs++;
        e->value |= MEMO_HELD;
    }
    if (p->memo_count * 3 >= (p->memo_mask + 1) * 2 &&
        memo_resize(p, p->memo_count * (p->memo_count > 50000 ? 2 : 4)))
        return -1;
    if (p->proto >= 4) return pk_op(p, 0x94);                        /* MEMOIZE */
    return memo_op(p, 'q', 'r', (uint32_t)idx);                        /* BINPUT, LONG_BINPUT */
}

static int memo_put(pk *p, const void *key) { return memo_put_held(p, key, NULL); }

/* A node memoized under its own address. */
static int memo_put_obj(pk *p, const pyobj *o) { return memo_put_held(p, o, (pyobj *)o); }

/* The memo check at the top of save() (PyMemoTable_Get): writes a GET
 * (BINGET, LONG_BINGET) and returns 1 on a hit. */
static int memo_hit(pk *p, const void *key)
{
    const memo_entry *e = memo_lookup(p, key);
    if (!e->key) return 0;
    return memo_op(p, 'h', 'j', (uint32_t)(e->value & ~MEMO_HELD)) ? -1 : 1;
}

/* --- atoms --- */

/* An int given as sign and little-endian magnitude (save_long). */
static int save_long_mag(pk *p, int neg, const uint8_t *mag, size_t nbytes)
{
    while (nbytes && mag[nbytes - 1] == 0) nbytes--;
    if (nbytes <= 4) {
        uint64_t m = 0;
        for (size_t i = nbytes; i-- > 0;) m = m << 8 | mag[i];
        if ((!neg && m <= 0x7fffffffu) || (neg && m <= 0x80000000u)) {
            uint32_t v = neg ? (uint32_t)(0 - m) : (uint32_t)m;
            uint8_t b[5];
            put_le(b + 1, v, 4);
            if (b[4] || b[3]) { b[0] = 'J'; return pk_write(p, b, 5); }
            if (b[2]) { b[0] = 'M'; return pk_write(p, b, 3); }
            b[0] = 'K';
            return pk_write(p, b, 2);
        }
    }
    /* LONG1 / LONG4: two's complement, little-endian, nbits / 8 + 1 bytes,
     * one fewer when a negative value's top byte is only sign bits. */
    size_t nbits = 8 * (nbytes - 1);
    for (uint8_t top = mag[nbytes - 1]; top; top >>= 1) nbits++;
    size_t n = (nbits >> 3) + 1;
    uint8_t hdr[5];
    size_t hlen;
    uint8_t small[16];
    uint8_t *out = n <= sizeof small ? small : malloc(n);
    if (!out) return cb_err(p->err, p->errlen, "out of memory");
    memset(out, 0, n);
    memcpy(out, mag, nbytes);
    if (neg) {
        unsigned carry = 1;
        for (size_t i = 0; i < n; i++) {
            unsigned v = (uint8_t)~out[i] + carry;
            out[i] = (uint8_t)v;
            carry = v >> 8;
        }
        if (n > 1 && out[n - 1] == 0xff && (out[n - 2] & 0x80)) n--;
    }
    if (n < 256) {
        hdr[0] = 0x8a;  /* LONG1 */
        hdr[1] = (uint8_t)n;
        hlen = 2;
    } else {
        hdr[0] = 0x8b;  /* LONG4 */
        put_le(hdr + 1, n, 4);
        hlen = 5;
    }
    int rc = pk_write(p, hdr, hlen) || pk_write(p, out, n) ? -1 : 0;
    if (out != small) free(out);
    return rc;
}

/* save_long: a value that fits in 4 signed bytes is written straight from
 * the C long (BININT1, BININT2 or BININT by its bytes); only a wider one
 * goes through its magnitude. */
static int save_int(pk *p, int64_t v)
{
    if (v >= INT32_MIN && v <= INT32_MAX) {
        uint8_t b[5];
        b[1] = (uint8_t)(v & 0xff);
        b[2] = (uint8_t)((v >> 8) & 0xff);
        b[3] = (uint8_t)((v >> 16) & 0xff);
        b[4] = (uint8_t)((v >> 24) & 0xff);
        if (b[4] || b[3]) {
            b[0] = 'J';
            return pk_write(p, b, 5);
        }
        if (b[2]) {
            b[0] = 'M';
            return pk_write(p, b, 3);
        }
        b[0] = 'K';
        return pk_write(p, b, 2);
    }
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    uint8_t mag[8];
    put_le(mag, m, 8);
    return save_long_mag(p, v < 0, mag, 8);
}

/* PyFloat_Pack8(x, p, le): the double's bytes copied one at a time,
 * backwards unless le, once the process's double format is known to be
 * IEEE (CPython detects it at start-up and checks it on every call, with a
 * bit-by-bit path for an unknown format that no x86-64 takes). CPython's is
 * a call into floatobject.c, which knows `le` only when called: neither it
 * nor its loop is specialized for the pickler's le = 0 (Debian's python3.11
 * runs it as a byte loop; perf puts a third of pickling a list of floats in
 * it). `noipa` keeps this one as opaque, so that a float costs here what it
 * costs there: pickling PR #3090's metrics, mostly floats, took 0.75 of
 * CPython's time when this was one byte swap. */
enum { FLOAT_FORMAT_UNKNOWN, FLOAT_FORMAT_IEEE_LE, FLOAT_FORMAT_IEEE_BE };
static int float_format;   /* set at start-up, as CPython's _PyFloat_InitState sets its own */

__attribute__((constructor)) static void detect_float_format(void)
{
    /* CPython's probe value, whose IEEE bytes are 0x43 0x3f ... 0x05 */
    double x = 9006104071832581.0;
    static const uint8_t le[8] = {0x05, 0x04, 0x03, 0x02, 0x01, 0xff, 0x3f, 0x43};
    uint8_t b[8];
    memcpy(b, &x, 8);
    if (memcmp(b, le, 8) == 0) float_format = FLOAT_FORMAT_IEEE_LE;
    else {
        uint8_t r[8];
        for (int i = 0; i < 8; i++) r[i] = le[7 - i];
        float_format = memcmp(b, r, 8) == 0 ? FLOAT_FORMAT_IEEE_BE : FLOAT_FORMAT_UNKNOWN;
    }
}

__attribute__((noipa)) static int float_pack8(double x, uint8_t *p, int le)
{
    if (float_format == FLOAT_FORMAT_UNKNOWN) return -1;   /* no bit-by-bit path: save_float fails */
    const uint8_t *s = (const uint8_t *)&x;
    int incr = 1;
    if ((float_format == FLOAT_FORMAT_IEEE_LE && !le) || (float_format == FLOAT_FORMAT_IEEE_BE && le)) {
        p += 7;
        incr = -1;
    }
    for (int i = 0; i < 8; i++) {
        *p = *s++;
        p += incr;
    }
    return 0;
}

/* save_float: BINFLOAT when the protocol is binary (every protocol casbench
 * writes is), each step's result checked as _pickle checks it. */
static int save_float(pk *p, double v)
{
    if (p->bin) {
        uint8_t b[9];
        b[0] = 'G';  /* BINFLOAT, big-endian */
        if (float_pack8(v, b + 1, 0) < 0) return cb_err(p->err, p->errlen, "unknown double format");
        if (pk_write(p, b, 9) < 0) return -1;
        return 0;
    }
    return cb_err(p->err, p->errlen, "internal: text protocol");
}

/* A str's bytes (write_unicode_binary), without the memo. */
static int write_str(pk *p, const void *utf8, size_t len)
{
    uint8_t hdr[9];
    size_t hlen;
    if (len <= 0xff && p->proto >= 4) {
        hdr[0] = 0x8c;  /* SHORT_BINUNICODE */
        hdr[1] = (uint8_t)len;
        hlen = 2;
    } else if (len > 0xffffffffu && p->proto >= 4) {
        hdr[0] = 0x8d;  /* BINUNICODE8 */
        put_le(hdr + 1, len, 8);
        hlen = 9;
    } else if (len > 0xffffffffu) {
        return cb_err(p->err, p->errlen, "str larger than 4 GiB needs protocol 4");
    } else {
        hdr[0] = 'X';   /* BINUNICODE */
        put_le(hdr + 1, len, 4);
        hlen = 5;
    }
    return pk_write_bytes(p, hdr, hlen, utf8, len);
}

/* save() of a str with identity key. */
static int save_str_id(pk *p, const void *key, const char *s, size_t len)
{
    pk_boundary(p);
    int hit = memo_hit(p, key);
    if (hit) return hit < 0 ? -1 : 0;
    return write_str(p, s, len) || memo_put(p, key);
}

static int save_str_static(pk *p, int id, const char *s)
{
    return save_str_id(p, &static_ids[id], s, strlen(s));
}

/* save_global for the handful of globals numpy's reduce needs. */
static int save_global(pk *p, int gid, int mod_id, const char *mod, int name_id, const char *name)
{
    pk_boundary(p);
    int hit = memo_hit(p, &static_ids[gid]);
    if (hit) return hit < 0 ? -1 : 0;
    if (p->proto >= 4) {
        if (save_str_static(p, mod_id, mod) || save_str_static(p, name_id, name) ||
            pk_op(p, 0x93))  /* STACK_GLOBAL */
            return -1;
    } else {
        /* protocol 2 maps Python 3 module names to Python 2 ones (fix_imports) */
        if (p->proto < 3 && strcmp(mod, "builtins") == 0) mod = "__builtin__";
        if (pk_op(p, 'c') || pk_write(p, mod, strlen(mod)) || pk_op(p, '\n') ||
            pk_write(p, name, strlen(name)) || pk_op(p, '\n'))
            return -1;
    }
    return memo_put(p, &static_ids[gid]);
}

/* The bytes of a bytes object, memo included (save_bytes). `key` is its
 * identity; `str_key` and `args_key` those of its latin-1 str and of the
 * (str, 'latin1') tuple under protocol 2. */
static int save_bytes_id(pk *p, const void *key, pyobj *held, const void *str_key, const void *args_key,
                         const uint8_t *d, size_t n)
{
    pk_boundary(p);
    int hit = memo_hit(p, key);
    if (hit) return hit < 0 ? -1 : 0;
    if (p->proto < 3) {
        /* No bytes opcode: bytes(()) when empty, else
         * _codecs.encode(str(b, 'latin1'), 'latin1'). */
        if (n == 0) {
            if (save_global(p, ID_G_BYTES, -1, "builtins", -1, "bytes")) return -1;
            pk_boundary(p);
            if (pk_op(p, ')') || pk_op(p, 'R')) return -1;  /* EMPTY_TUPLE REDUCE */
            return memo_put_held(p, key, held);
        }
        if (save_global(p, ID_G_ENCODE, -1, "_codecs", -1, "encode")) return -1;
        /* the (str, 'latin1') argument tuple: a fresh object, never a hit */
        pk_boundary(p);
        if (n == 1) str_key = &latin1_char_ids[d[0]];
        pk_boundary(p);
        int h = memo_hit(p, str_key);
        if (h < 0) return -1;
        if (!h) {
            size_t ulen = n;
            for (size_t i = 0; i < n; i++) ulen += d[i] >> 7;
            uint8_t hdr[5] = {'X'};
            if (ulen > 0xffffffffu) return cb_err(p->err, p->errlen, "bytes too large for protocol 2");
            put_le(hdr + 1, ulen, 4);
            if (pk_write(p, hdr, 5)) return -1;
            /* In pieces through pk_write, so that a streaming window of
             * any size takes it. */
            uint8_t piece[4096];
            size_t k = 0;
            for (size_t i = 0; i < n; i++) {
                uint8_t c = d[i];
                if (k + 2 > sizeof piece) {
                    if (pk_write(p, piece, k)) return -1;
                    k = 0;
                }
                if (c < 0x80) piece[k++] = c;
                else { piece[k++] = (uint8_t)(0xc0 | c >> 6); piece[k++] = (uint8_t)(0x80 | (c & 0x3f)); }
            }
            if (k && pk_write(p, piece, k)) return -1;
            if (memo_put(p, str_key)) return -1;
        }
        if (save_str_static(p, ID_S_LATIN1, "latin1")) return -1;
        if (pk_op(p, 0x86)) return -1;   /* TUPLE2; the tuple is memoized */
        if (memo_put(p, args_key)) return -1;
        if (pk_op(p, 'R')) return -1;
        return memo_put_held(p, key, held);
    }
    uint8_t hdr[9];
    size_t hlen;
    if (n <= 0xff) {
        hdr[0] = 'C';   /* SHORT_BINBYTES */
        hdr[1] = (uint8_t)n;
        hlen = 2;
    } else if (n <= 0xffffffffu) {
        hdr[0] = 'B';   /* BINBYTES */
        put_le(hdr + 1, n, 4);
        hlen = 5;
    } else if (p->proto >= 4) {
        hdr[0] = 0x8e;  /* BINBYTES8 */
        put_le(hdr + 1, n, 8);
        hlen = 9;
    } else {
        return cb_err(p->err, p->errlen, "bytes larger than 4 GiB need protocol 4");
    }
    if (pk_write_bytes(p, hdr, hlen, d, n)) return -1;
    return memo_put_held(p, key, held);
}

/* --- ndarray, as numpy 1.24's __reduce_ex__ --- */

static int array_is_fortran(const pyobj *a)
{
    /* numpy's ISFORTRAN: F-contiguous and not also C-contiguous, which an
     * array is when at most one axis is longer than 1 or it is empty. */
    int big = 0;
    if (!a->u.arr.fortran) return 0;
    for (int i = 0; i < a->u.arr.ndim; i++) {
        if (a->u.arr.shape[i] == 0) return 0;
        if (a->u.arr.shape[i] > 1) big++;
    }
    return big > 1;
}

static int save_shape(pk *p, const pyobj *a)
{
    const void *key = (const char *)a + AR_SHAPE;
    int nd = a->u.arr.ndim;
    pk_boundary(p);
    if (nd == 0) return pk_op(p, ')');   /* EMPTY_TUPLE */
    if (nd > 3 && pk_op(p, '(')) return -1;
    for (int i = 0; i < nd; i++) {
        pk_boundary(p);
        if (a->u.arr.shape[i] > INT64_MAX) return cb_err(p->err, p->errlen, "shape too large");
        if (save_int(p, (int64_t)a->u.arr.shape[i])) return -1;
    }
    static const uint8_t tup[4] = {0, 0x85, 0x86, 0x87};
    if (pk_op(p, nd > 3 ? 't' : tup[nd])) return -1;
    return memo_put(p, key);
}

static int save_dtype(pk *p, const pyobj *a)
{
    const pyobj_dtype_info *d = &pyobj_dtypes[a->u.arr.dtype];
    pk_boundary(p);
    int hit = memo_hit(p, &dtype_ids[a->u.arr.dtype]);
    if (hit) return hit < 0 ? -1 : 0;
    /* reduce: (numpy.dtype, ('f8', False, True), (3, '<', None, None, None, -1, -1, 0)) */
    if (save_global(p, ID_G_DTYPE, ID_S_NUMPY, "numpy", ID_S_DTYPE, "dtype")) return -1;
    pk_boundary(p);
    if (save_str_id(p, (const char *)a + AR_DT_DESCR, d->descr, 2)) return -1;
    pk_boundary(p);
    if (pk_op(p, 0x89)) return -1;   /* NEWFALSE */
    pk_boundary(p);
    if (pk_op(p, 0x88) || pk_op(p, 0x87) || memo_put(p, (const char *)a + AR_DT_ARGS))
        return -1;                   /* NEWTRUE TUPLE3 */
    if (pk_op(p, 'R') || memo_put(p, &dtype_ids[a->u.arr.dtype])) return -1;
    pk_boundary(p);
    if (pk_op(p, '(')) return -1;
    pk_boundary(p);
    if (save_int(p, 3)) return -1;
    if (save_str_id(p, &latin1_char_ids[(uint8_t)d->byteorder], &d->byteorder, 1)) return -1;
    for (int i = 0; i < 3; i++) {
        pk_boundary(p);
        if (pk_op(p, 'N')) return -1;
    }
    for (int i = 0; i < 3; i++) {
        pk_boundary(p);
        if (save_int(p, i < 2 ? -1 : 0)) return -1;
    }
    if (pk_op(p, 't') || memo_put(p, (const char *)a + AR_DT_STATE)) return -1;
    return pk_op(p, 'b');            /* BUILD */
}

static int save_ndarray(pk *p, const pyobj *a)
{
    const char *core = p->numpy_major >= 2 ? "numpy._core" : "numpy.core";
    char mod[32];
    int fortran = array_is_fortran(a);
    const uint8_t *data = a->u.arr.data;
    size_t n = a->u.arr.nbytes;

    if (p->proto >= 5) {
        /* _frombuffer(PickleBuffer(a), dtype, shape, order); in band, a
         * writable buffer is a BYTEARRAY8. */
        snprintf(mod, sizeof mod, "%s.numeric", core);
        if (save_global(p, ID_G_FROMBUFFER, ID_S_NUMERIC_MOD, mod, ID_S_FROMBUFFER, "_frombuffer"))
            return -1;
        pk_boundary(p);
        if (pk_op(p, '(')) return -1;
        pk_boundary(p);
        uint8_t hdr[9] = {0x96};
        put_le(hdr + 1, n, 8);
        if (pk_write_bytes(p, hdr, 9, data, n) || memo_put(p, (const char *)a + AR_DATA)) return -1;
        if (save_dtype(p, a) || save_shape(p, a)) return -1;
        char order = fortran ? 'F' : 'C';
        /* numpy 1.24's order str is one object shared by all its arrays,
         * but not CPython's one-character singleton (pickle.dumps of a graph
         * holding both shows it; the dtype's '<' is the singleton) */
        if (save_str_id(p, &static_ids[fortran ? ID_NP_F : ID_NP_C], &order, 1)) return -1;
        if (pk_op(p, 't') || memo_put(p, (const char *)a + AR_P5_ARGS)) return -1;
        return pk_op(p, 'R') || memo_put_obj(p, a) ? -1 : 0;
    }
    /* (_reconstruct, (ndarray, (0,), b'b'), (1, shape, dtype, is_fortran, data)) */
    snprintf(mod, sizeof mod, "%s.multiarray", core);
    if (save_global(p, ID_G_RECONSTRUCT, ID_S_RECONSTRUCT_MOD, mod, ID_S_RECONSTRUCT, "_reconstruct"))
        return -1;
    pk_boundary(p);
    if (save_global(p, ID_G_NDARRAY, ID_S_NUMPY, "numpy", ID_S_NDARRAY, "ndarray")) return -1;
    pk_boundary(p);
    pk_boundary(p);
    if (save_int(p, 0) || pk_op(p, 0x85) || memo_put(p, (const char *)a + AR_ZERO_TUPLE)) return -1;
    if (save_bytes_id(p, &byte_ids['b'], NULL, &latin1_char_ids['b'], (const char *)a + AR_BB_ARGS,
                      (const uint8_t *)"b", 1))
        return -1;
    if (pk_op(p, 0x87) || memo_put(p, (const char *)a + AR_ARGS)) return -1;
    if (pk_op(p, 'R') || memo_put_obj(p, a)) return -1;
    pk_boundary(p);
    if (pk_op(p, '(')) return -1;
    pk_boundary(p);
    if (save_int(p, 1) || save_shape(p, a) || save_dtype(p, a)) return -1;
    pk_boundary(p);
    if (pk_op(p, fortran ? 0x88 : 0x89)) return -1;
    /* tobytes() gives CPython's singletons for b'' and one-byte data */
    if (save_bytes_id(p, n > 1 ? (const void *)((const char *)a + AR_DATA)
                             : n ? (const void *)&byte_ids[data[0]] : &static_ids[ID_B_EMPTY],
                      NULL, (const char *)a + AR_DATA_STR, (const char *)a + AR_DATA_ARGS, data, n))
        return -1;
    if (pk_op(p, 't') || memo_put(p, (const char *)a + AR_STATE)) return -1;
    return pk_op(p, 'b');
}

/* --- the generic save() --- */

static int save(pk *p, const pyobj *o);

/* A tuple's items (store_tuple_elements: no references taken). */
static int save_items(pk *p, pyobj *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (save(p, items[i])) return -1;
    return 0;
}

/* save() of a list item, dict key or value: batch_list_exact and
 * batch_dict_exact hold a reference to it meanwhile (Py_INCREF, then
 * Py_DECREF), which writes the object before and after. */
static int save_held(pk *p, pyobj *o)
{
    o->refs++;
    int rc = save(p, o);
    o->refs--;
    return rc;
}

/* One batch of a list's items as batch_list_exact walks it: the list's
 * length read again from the list at every item (a save may have changed
 * it, in CPython), each item held while saved and released with
 * Py_DECREF's test, and the batch counted against
 * BATCHSIZE. Returns the index after the batch, or -1. */
static long save_list_batch(pk *p, const pyobj *list, size_t total)
{
    size_t this_batch = 0;
    while (total < list->u.seq.n) {
        pyobj *item = list->u.seq.items[total];
        item->refs++;
        int rc = save(p, item);
        /* Py_DECREF's test (refs counts the pickler's holds only, above
         * the list's own reference: a release without a hold is the zero) */
        if (item->refs-- == 0) return cb_err(p->err, p->errlen, "internal: an item released without a hold");
        if (rc) return -1;
        total++;
        if (++this_batch == BATCHSIZE) break;
    }
    return (long)total;
}

/* A dict's item: both held while either is saved. */
static int save_dict_item(pk *p, pyobj *k, pyobj *v)
{
    k->refs++;
    v->refs++;
    int rc = save(p, k) || save(p, v) ? -1 : 0;
    k->refs--;
    v->refs--;
    return rc;
}

static int save_container(pk *p, const pyobj *o)
{
    switch (o->kind) {
    case PYOBJ_TUPLE: {
        size_t n = o->u.seq.n;
        static const uint8_t tup[4] = {0, 0x85, 0x86, 0x87};
        if (n == 0) return pk_op(p, ')');
        if (n > 3 && pk_op(p, '(')) return -1;
        if (save_items(p, o->u.seq.items, n)) return -1;
        /* a tuple that contains itself cannot be built from pyobj nodes */
        if (pk_op(p, n > 3 ? 't' : tup[n])) return -1;
        return memo_put_obj(p, o);
    }
    case PYOBJ_LIST: {
        size_t n = o->u.seq.n, done = 0;
        if (pk_op(p, ']') || memo_put_obj(p, o)) return -1;
        if (n == 0) return 0;
        if (n == 1) return save_held(p, o->u.seq.items[0]) || pk_op(p, 'a') ? -1 : 0;
        do {
            long next;
            if (pk_op(p, '(') || (next = save_list_batch(p, o, done)) < 0 || pk_op(p, 'e')) return -1;
            done = (size_t)next;
        } while (done < o->u.seq.n);
        return 0;
    }
    case PYOBJ_DICT: {
        size_t n = o->u.dict.n, done = 0, batch;
        if (pk_op(p, '}') || memo_put_obj(p, o)) return -1;
        if (n == 0) return 0;
        if (n == 1)
            return save_dict_item(p, o->u.dict.keys[0], o->u.dict.values[0]) || pk_op(p, 's') ? -1 : 0;
        /* CPython's batch_dict_exact loops while the last batch was full, so
         * a multiple of 1000 items ends with an empty MARK SETITEMS. */
        do {
            batch = n - done < BATCHSIZE ? n - done : BATCHSIZE;
            if (pk_op(p, '(')) return -1;
            for (size_t i = done; i < done + batch; i++)
                if (save_dict_item(p, o->u.dict.keys[i], o->u.dict.values[i])) return -1;
            if (pk_op(p, 'u')) return -1;
            done += batch;
        } while (batch == BATCHSIZE);
        return 0;
    }
    default:
        return cb_err(p->err, p->errlen, "internal: bad container kind %d", (int)o->kind);
    }
}

static int save(pk *p, const pyobj *o)
{
    pk_boundary(p);
    /* _pickle's save() asks its persistent_id hook first, when it has one */
    if (p->pers_func) return cb_err(p->err, p->errlen, "internal: persistent ids are not written");
    switch (o->kind) {
    case PYOBJ_NONE: return pk_op(p, 'N');
    case PYOBJ_BOOL: return pk_op(p, o->u.boolean ? 0x88 : 0x89);
    case PYOBJ_INT: return save_int(p, o->u.i);
    case PYOBJ_BIGINT: return save_long_mag(p, o->u.big.neg, o->u.big.mag, o->u.big.nbytes);
    case PYOBJ_FLOAT: return save_float(p, o->u.f);
    default: break;
    }
    /* "", one-character str below U+0100, b'' and one-byte bytes are
     * CPython's singletons: one identity whichever node holds them, shared
     * with the '<', 'C' and b'b' of numpy's reduce. */
    const void *key = o;
    if (o->kind == PYOBJ_STR) {
        const uint8_t *u = o->u.s.data;
        if (o->u.s.len == 0) key = &static_ids[ID_S_EMPTY];
        else if (o->u.s.len == 1 && u[0] < 0x80) key = &latin1_char_ids[u[0]];
        else if (o->u.s.len == 2 && (u[0] == 0xc2 || u[0] == 0xc3) && (u[1] & 0xc0) == 0x80)
            key = &latin1_char_ids[((u[0] & 0x1f) << 6) | (u[1] & 0x3f)];
    } else if (o->kind == PYOBJ_BYTES) {
        if (o->u.s.len == 1) key = &byte_ids[o->u.s.data[0]];
        else if (o->u.s.len == 0) key = &static_ids[ID_B_EMPTY];
    }
    int hit = memo_hit(p, key);
    if (hit) return hit < 0 ? -1 : 0;
    switch (o->kind) {
    case PYOBJ_STR:
        return write_str(p, o->u.s.data, o->u.s.len) || memo_put_held(p, key, key == o ? (pyobj *)o : NULL) ? -1 : 0;
    case PYOBJ_BYTES:
        /* save_bytes_id repeats the boundary and memo check: both are no-ops
         * the second time. */
        return save_bytes_id(p, key, key == o ? (pyobj *)o : NULL, (const char *)o + 1, (const char *)o + 2,
                             o->u.s.data, o->u.s.len);
    case PYOBJ_NDARRAY:
        return save_ndarray(p, o);
    default:
        break;
    }
    if (++p->depth > PYOBJ_MAX_DEPTH)
        return cb_err(p->err, p->errlen, "nesting deeper than %d levels", PYOBJ_MAX_DEPTH);
    int rc = save_container(p, o);
    p->depth--;
    return rc;
}

/* --- bound --- */

static size_t sat_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
static size_t sat_mul(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

/* Per object: its opcodes, a memo PUT (5 bytes at most), and room for one
 * frame header should its payload be written between frames. */
static size_t bound_obj(const pyobj *o, int proto, int depth)
{
    if (depth > PYOBJ_MAX_DEPTH + 1) return 0;   /* pickle_dump rejects it */
    switch (o->kind) {
    case PYOBJ_NONE: case PYOBJ_BOOL: return 5;
    case PYOBJ_INT: return 16;
    case PYOBJ_BIGINT: return sat_add(o->u.big.nbytes, 16);
    case PYOBJ_FLOAT: return 9;
    case PYOBJ_STR: return sat_add(o->u.s.len, 32);
    case PYOBJ_BYTES:
        return sat_add(proto < 3 ? sat_mul(o->u.s.len, 2) : o->u.s.len, 96);
    case PYOBJ_NDARRAY:
        return sat_add(proto < 3 ? sat_mul(o->u.arr.nbytes, 2) : o->u.arr.nbytes,
                       512 + 16 * (size_t)o->u.arr.ndim);
    case PYOBJ_LIST: case PYOBJ_TUPLE: {
        size_t b = sat_add(16, sat_mul(o->u.seq.n / BATCHSIZE + 1, 2));
        for (size_t i = 0; i < o->u.seq.n; i++) b = sat_add(b, bound_obj(o->u.seq.items[i], proto, depth + 1));
        return b;
    }
    case PYOBJ_DICT: {
        size_t b = sat_add(16, sat_mul(o->u.dict.n / BATCHSIZE + 2, 2));
        for (size_t i = 0; i < o->u.dict.n; i++) {
            b = sat_add(b, bound_obj(o->u.dict.keys[i], proto, depth + 1));
            b = sat_add(b, bound_obj(o->u.dict.values[i], proto, depth + 1));
        }
        return b;
    }
    }
    return 0;
}

size_t pickle_bound(const pyobj *obj, const pickle_options *opt)
{
    size_t b = bound_obj(obj, opt->protocol, 1);
    /* PROTO, STOP, and a frame header per 64 KiB plus the first and last */
    b = sat_add(b, 3);
    return sat_add(b, sat_mul(b / FRAME_SIZE_TARGET + 2, FRAME_HEADER_SIZE));
}

/* The pickler over p (buf, cap and the streaming members set): returns 0
 * or -1 with the message in p->err. */
static int dump(pk *p, const pyobj *obj, const pickle_options *opt)
{
    if (!opt || opt->protocol < 2 || opt->protocol > 5)
        return cb_err(p->err, p->errlen, "unsupported pickle protocol %d (casbench writes 2 to 5)",
                      opt ? opt->protocol : -1);
    if (opt->numpy_major != 1 && opt->numpy_major != 2)
        return cb_err(p->err, p->errlen, "unsupported numpy major version %d (1 or 2)", opt->numpy_major);
    p->proto = opt->protocol;
    p->numpy_major = opt->numpy_major;
    p->bin = p->proto >= 1;
    p->frame_start = NO_FRAME;
    if (memo_resize(p, MEMO_MIN)) return -1;
    uint8_t hdr[2] = {0x80, (uint8_t)p->proto};
    int rc = pk_write(p, hdr, 2);
    p->framing = p->proto >= 4;
    if (!rc) rc = save(p, obj);
    if (!rc) rc = pk_op(p, '.');
    if (!rc) pk_commit_frame(p);
    if (!rc && p->streaming) rc = pk_flush(p);
    size_t kept = memo_end(p);
    if (!rc && kept != p->memo_count)
        rc = cb_err(p->err, p->errlen, "internal: the pickle memo holds %zu of its %zu entries", kept,
                    p->memo_count);
    return rc;
}

size_t pickle_dump(const pyobj *obj, const pickle_options *opt,
                   uint8_t *dst, size_t cap, char *err, size_t errlen)
{
    pk p;
    pk_start(&p, dst, cap, err, errlen);
    return dump(&p, obj, opt) ? 0 : p.len;
}

uint64_t pickle_dump_stream(const pyobj *obj, const pickle_options *opt, uint8_t *window, size_t cap,
                            pickle_sink_fn sink, void *arg, char *err, size_t errlen)
{
    pk p;
    if (cap < PICKLE_WINDOW_MIN) {
        cb_err(err, errlen, "pickle window of %zu bytes (at least %d)", cap, PICKLE_WINDOW_MIN);
        return 0;
    }
    pk_start(&p, window, cap, err, errlen);
    p.streaming = 1;
    p.sink = sink;
    p.sink_arg = arg;
    return dump(&p, obj, opt) ? 0 : p.sent;
}

uint64_t pickle_size(const pyobj *obj, const pickle_options *opt, uint8_t *window, size_t cap,
                     char *err, size_t errlen)
{
    return pickle_dump_stream(obj, opt, window, cap, NULL, NULL, err, errlen);
}
