/* npy.c - see npy.h. */
#include "npy.h"

#include <string.h>

#include "util.h"

typedef struct {
    const char *s;
    size_t len, pos;
} lit;

static void lit_ws(lit *l)
{
    while (l->pos < l->len && (l->s[l->pos] == ' ' || l->s[l->pos] == '\t' || l->s[l->pos] == '\n'))
        l->pos++;
}

static int lit_char(lit *l, char c)
{
    lit_ws(l);
    if (l->pos < l->len && l->s[l->pos] == c) {
        l->pos++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes: start and length. */
static int lit_str(lit *l, const char **out, size_t *n)
{
    lit_ws(l);
    if (l->pos >= l->len || (l->s[l->pos] != '\'' && l->s[l->pos] != '"')) return -1;
    char q = l->s[l->pos++];
    size_t start = l->pos;
    while (l->pos < l->len && l->s[l->pos] != q) {
        if (l->s[l->pos] == '\\') return -1;
        l->pos++;
    }
    if (l->pos >= l->len) return -1;
    *out = l->s + start;
    *n = l->pos - start;
    l->pos++;
    return 0;
}

static int lit_word(lit *l, const char *w)
{
    size_t n = strlen(w);
    lit_ws(l);
    if (l->len - l->pos >= n && memcmp(l->s + l->pos, w, n) == 0) {
        l->pos += n;
        return 1;
    }
    return 0;
}

/* The magic and the version: the first 8 bytes. len < 8 checks what is there. */
static int check_magic(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    if (memcmp(buf, "\x93NUMPY", len < 6 ? len : 6) != 0)
        return cb_err(err, errlen, "not a .npy file (no \\x93NUMPY magic)"), CB_EXIT_INPUT;
    if (len < 8) return 0;
    int major = buf[6], minor = buf[7];
    if (minor != 0 || major < 1 || major > 3)
        return cb_err(err, errlen, ".npy format %d.%d not supported (1.0, 2.0 or 3.0)", major, minor),
               CB_EXIT_INPUT;
    return 0;
}

int npy_sniff(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    return check_magic(buf, len, err, errlen);
}

int npy_parse(pyobj_arena *a, const uint8_t *buf, size_t len, pyobj **out,
              char *err, size_t errlen)
{
    size_t hlen, hstart;
    if (len < 10) return cb_err(err, errlen, "not a .npy file (no \\x93NUMPY magic)"), CB_EXIT_INPUT;
    int rc = check_magic(buf, len, err, errlen);
    if (rc) return rc;
    int major = buf[6];
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else {
        if (len < 12) return cb_err(err, errlen, "truncated .npy header"), CB_EXIT_INPUT;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hstart = 12;
    }
    if (hlen > len - hstart)
        return cb_err(err, errlen, ".npy header length %zu runs past the end of the file", hlen), CB_EXIT_INPUT;
    for (size_t i = 0; i < hlen; i++) {
        uint8_t c = buf[hstart + i];
        /* format 3.0 allows UTF-8 field names; casbench's dtypes need none */
        if (c >= 0x80 || (c < 0x20 && c != '\n' && c != '\t'))
            return cb_err(err, errlen, ".npy header has a non-ASCII or control byte at offset %zu",
                          hstart + i), CB_EXIT_INPUT;
    }
    lit l = {(const char *)buf + hstart, hlen, 0};
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0, dt = -1, ndim = 0;
    size_t shape[PYOBJ_MAX_NDIM];
    if (!lit_char(&l, '{')) return cb_err(err, errlen, ".npy header is not a dict"), CB_EXIT_INPUT;
    while (!lit_char(&l, '}')) {
        const char *k, *v;
        size_t kn, vn;
        if (lit_str(&l, &k, &kn) || !lit_char(&l, ':'))
            return cb_err(err, errlen, ".npy header: expected 'key': at offset %zu", hstart + l.pos),
                   CB_EXIT_INPUT;
        if (kn == 5 && memcmp(k, "descr", 5) == 0 && !have_descr) {
            have_descr = 1;
            if (lit_str(&l, &v, &vn))
                return cb_err(err, errlen, ".npy header: descr is not a simple dtype string"), CB_EXIT_INPUT;
            dt = pyobj_dtype_by_descr(v, vn);
            if (dt < 0)
                return cb_err(err, errlen, ".npy dtype '%.*s' not supported (little-endian bool, int, uint, float)",
                              (int)(vn > 20 ? 20 : vn), v), CB_EXIT_INPUT;
        } else if (kn == 13 && memcmp(k, "fortran_order", 13) == 0 && !have_order) {
            have_order = 1;
            if (lit_word(&l, "True")) fortran = 1;
            else if (!lit_word(&l, "False"))
                return cb_err(err, errlen, ".npy header: fortran_order is not True or False"), CB_EXIT_INPUT;
        } else if (kn == 5 && memcmp(k, "shape", 5) == 0 && !have_shape) {
            have_shape = 1;
            if (!lit_char(&l, '('))
                return cb_err(err, errlen, ".npy header: shape is not a tuple"), CB_EXIT_INPUT;
            while (!lit_char(&l, ')')) {
                uint64_t d = 0;
                int digits = 0;
                lit_ws(&l);
                while (l.pos < l.len && l.s[l.pos] >= '0' && l.s[l.pos] <= '9') {
                    if (d > (UINT64_MAX - 9) / 10)
                        return cb_err(err, errlen, ".npy header: shape dimension too large"), CB_EXIT_INPUT;
                    d = d * 10 + (uint64_t)(l.s[l.pos++] - '0');
                    digits++;
                }
                if (!digits)
                    return cb_err(err, errlen, ".npy header: shape holds a non-integer"), CB_EXIT_INPUT;
                if (ndim == PYOBJ_MAX_NDIM)
                    return cb_err(err, errlen, ".npy header: more than %d dimensions", PYOBJ_MAX_NDIM),
                           CB_EXIT_INPUT;
                shape[ndim++] = (size_t)d;
                if (!lit_char(&l, ',')) {
                    if (!lit_char(&l, ')'))
                        return cb_err(err, errlen, ".npy header: malformed shape tuple"), CB_EXIT_INPUT;
                    if (ndim == 1)   /* (5) is an int, not a tuple */
                        return cb_err(err, errlen, ".npy header: shape (N) lacks its comma"), CB_EXIT_INPUT;
                    break;
                }
            }
        } else {
            return cb_err(err, errlen, ".npy header: unexpected or repeated key '%.*s'",
                          (int)(kn > 20 ? 20 : kn), k), CB_EXIT_INPUT;
        }
        if (!lit_char(&l, ',')) {
            if (!lit_char(&l, '}'))
                return cb_err(err, errlen, ".npy header: expected ',' or '}' at offset %zu", hstart + l.pos),
                       CB_EXIT_INPUT;
            break;
        }
    }
    lit_ws(&l);
    if (l.pos != l.len) return cb_err(err, errlen, ".npy header: data after the dict"), CB_EXIT_INPUT;
    if (!have_descr || !have_order || !have_shape)
        return cb_err(err, errlen, ".npy header lacks %s", !have_descr ? "descr" : !have_order ? "fortran_order" : "shape"),
               CB_EXIT_INPUT;
    size_t n = pyobj_dtypes[dt].itemsize, zero = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0) zero = 1;
        else if (!zero && n > SIZE_MAX / shape[i])
            return cb_err(err, errlen, ".npy shape overflows"), CB_EXIT_INPUT;
        else if (!zero) n *= shape[i];
    }
    if (zero) n = 0;
    size_t have = len - hstart - hlen;
    if (have != n)
        return cb_err(err, errlen, ".npy data is %zu bytes, the header promises %zu", have, n), CB_EXIT_INPUT;
    pyobj *o = pyobj_ndarray(a, (pyobj_dtype)dt, ndim, shape, fortran, buf + hstart + hlen);
    if (!o) return cb_err(err, errlen, "out of memory"), CB_EXIT_ENV;
    o->u.arr.nbytes = n;
    *out = o;
    return 0;
}
