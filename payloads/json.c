/* json.c - see json.h. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* CPython 3.11's int/str conversion limit (sys.get_int_max_str_digits()). */
#define JSON_MAX_INT_DIGITS 4300
#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct {
    pyobj_arena *a;
    const uint8_t *buf;
    size_t len, pos;
    char *err;
    size_t errlen;
    int status;
    /* value stack: the children of every open container, keys and values
     * alternating for objects */
    pyobj **vals;
    size_t nvals, capvals;
    /* open containers: start index in vals, and 1 for an object */
    size_t *frames;
    size_t nframes, capframes;
    /* key interning: an open-addressing table of str nodes */
    pyobj **keys;
    size_t keymask, nkeys;
    uint32_t dict_serial;
    /* scratch for decoded strings */
    uint8_t *sbuf;
    size_t scap;
} jp;

static int fail_at(jp *p, size_t at, const char *msg)
{
    size_t line = 1, col = 1;
    if (at > p->len) at = p->len;
    for (size_t i = 0; i < at; i++) {
        if (p->buf[i] == '\n') { line++; col = 1; }
        else if ((p->buf[i] & 0xc0) != 0x80) col++;
    }
    p->status = CB_EXIT_INPUT;
    return cb_err(p->err, p->errlen, "line %zu column %zu: %s", line, col, msg);
}

static int oom(jp *p)
{
    p->status = CB_EXIT_ENV;
    return cb_err(p->err, p->errlen, "out of memory");
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need) ncap *= 2;
    void *n = realloc(*arr, ncap * elem);
    if (!n) return -1;
    *arr = n;
    *cap = ncap;
    return 0;
}

static void skip_ws(jp *p)
{
    while (p->pos < p->len) {
        uint8_t c = p->buf[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static uint64_t hash_bytes(const uint8_t *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

/* The one str object for this key value (CPython's decoder memo). */
static pyobj *intern_key(jp *p, const uint8_t *s, size_t n)
{
    if (p->nkeys * 2 >= p->keymask) {
        size_t ncap = p->keymask ? (p->keymask + 1) * 2 : 256;
        pyobj **nk = calloc(ncap, sizeof *nk);
        if (!nk) return NULL;
        for (size_t i = 0; p->keymask && i <= p->keymask; i++) {
            pyobj *k = p->keys[i];
            if (!k) continue;
            size_t h = hash_bytes(k->u.s.data, k->u.s.len) & (ncap - 1);
            while (nk[h]) h = (h + 1) & (ncap - 1);
            nk[h] = k;
        }
        free(p->keys);
        p->keys = nk;
        p->keymask = ncap - 1;
    }
    size_t h = hash_bytes(s, n) & p->keymask;
    while (p->keys[h]) {
        pyobj *k = p->keys[h];
        if (k->u.s.len == n && memcmp(k->u.s.data, s, n) == 0) return k;
        h = (h + 1) & p->keymask;
    }
    pyobj *k = pyobj_str(p->a, (const char *)s, n);
    if (!k) return NULL;
    p->keys[h] = k;
    p->nkeys++;
    return k;
}

static int hex4(const uint8_t *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    *out = v;
    return 0;
}

/* Length of a valid UTF-8 sequence at s (n bytes available), or 0. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) return 0;
        if (c == 0xe0 && s[1] < 0xa0) return 0;   /* overlong */
        if (c == 0xed && s[1] >= 0xa0) return 0;  /* surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80) return 0;
        if (c == 0xf0 && s[1] < 0x90) return 0;
        if (c == 0xf4 && s[1] >= 0x90) return 0;
        return 4;
    }
    return 0;
}

static size_t put_utf8(uint8_t *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { o[0] = (uint8_t)(0xc0 | cp >> 6); o[1] = (uint8_t)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at p->pos (the opening quote), decoded into p->sbuf. */
static int scan_string(jp *p, size_t *outlen)
{
    size_t start = p->pos, n = 0;
    p->pos++;
    for (;;) {
        if (p->pos >= p->len) return fail_at(p, start, "unterminated string");
        /* a decoded string is never longer than its source */
        if (grow((void **)&p->sbuf, &p->scap, n + 8, 1)) return oom(p);
        uint8_t c = p->buf[p->pos];
        if (c == '"') { p->pos++; break; }
        if (c < 0x20) return fail_at(p, p->pos, "invalid control character in string");
        if (c == '\\') {
            if (p->pos + 1 >= p->len) return fail_at(p, start, "unterminated string");
            uint8_t e = p->buf[p->pos + 1];
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *f = e ? strchr(from, e) : NULL;
            if (f) {
                p->sbuf[n++] = (uint8_t)to[f - from];
                p->pos += 2;
                continue;
            }
            if (e != 'u') return fail_at(p, p->pos, "invalid \\escape");
            unsigned cp, c2;
            if (p->pos + 6 > p->len || hex4(p->buf + p->pos + 2, &cp))
                return fail_at(p, p->pos, "invalid \\uXXXX escape");
            p->pos += 6;
            /* CPython joins a high surrogate with a following \u low one;
             * any other surrogate stays a lone one. */
            if (cp >= 0xd800 && cp <= 0xdbff && p->pos + 6 < p->len && p->buf[p->pos] == '\\' && p->buf[p->pos + 1] == 'u') {
                if (p->pos + 6 > p->len || hex4(p->buf + p->pos + 2, &c2))
                    return fail_at(p, p->pos, "invalid \\uXXXX escape");
                if (c2 >= 0xdc00 && c2 <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (c2 - 0xdc00);
                    p->pos += 6;
                }
            }
            n += put_utf8(p->sbuf + n, cp);
            continue;
        }
        size_t k = utf8_seq(p->buf + p->pos, p->len - p->pos);
        if (!k) return fail_at(p, p->pos, "invalid UTF-8");
        memcpy(p->sbuf + n, p->buf + p->pos, k);
        n += k;
        p->pos += k;
    }
    *outlen = n;
    return 0;
}

/* A decimal digit string to an int of any size. */
static pyobj *make_int(jp *p, int neg, const uint8_t *d, size_t nd)
{
    if (nd <= 18) {
        int64_t v = 0;
        for (size_t i = 0; i < nd; i++) v = v * 10 + (d[i] - '0');
        return pyobj_int(p->a, neg ? -v : v);
    }
    /* base-2^32 limbs, little-endian; multiply-add nine digits at a time */
    size_t cap = nd / 9 + 2, n = 0;
    uint32_t *limb = calloc(cap, sizeof *limb);
    if (!limb) return NULL;
    for (size_t i = 0; i < nd;) {
        uint32_t chunk = 0, mul = 1;
        for (int k = 0; k < 9 && i < nd; k++, i++) {
            chunk = chunk * 10 + (uint32_t)(d[i] - '0');
            mul *= 10;
        }
        uint64_t carry = chunk;
        for (size_t j = 0; j < n; j++) {
            uint64_t t = (uint64_t)limb[j] * mul + carry;
            limb[j] = (uint32_t)t;
            carry = t >> 32;
        }
        if (carry) limb[n++] = (uint32_t)carry;
    }
    uint8_t *mag = malloc(n * 4 + 1);
    if (!mag) { free(limb); return NULL; }
    for (size_t j = 0; j < n; j++)
        for (int b = 0; b < 4; b++) mag[4 * j + (size_t)b] = (uint8_t)(limb[j] >> (8 * b));
    pyobj *o = pyobj_bigint(p->a, neg, mag, n * 4);
    free(limb);
    free(mag);
    return o;
}

static int match(jp *p, const char *lit)
{
    size_t n = strlen(lit);
    return p->len - p->pos >= n && memcmp(p->buf + p->pos, lit, n) == 0;
}

/* A scalar at p->pos: number, literal or string value. */
static pyobj *scan_scalar(jp *p)
{
    size_t start = p->pos;
    uint8_t c = p->buf[p->pos];
    if (c == '"') {
        size_t n;
        if (scan_string(p, &n)) return NULL;
        pyobj *o = pyobj_str(p->a, (const char *)p->sbuf, n);
        if (!o) oom(p);
        return o;
    }
    static const struct { const char *lit; int kind; double f; } lits[] = {
        {"null", 0, 0}, {"true", 1, 0}, {"false", 2, 0},
        {"NaN", 3, 0}, {"Infinity", 3, 1}, {"-Infinity", 3, -1},
    };
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        if (!match(p, lits[i].lit)) continue;
        p->pos += strlen(lits[i].lit);
        pyobj *o;
        if (lits[i].kind == 0) o = pyobj_none(p->a);
        else if (lits[i].kind == 1 || lits[i].kind == 2) o = pyobj_bool(p->a, lits[i].kind == 1);
        else if (lits[i].f == 0) {
            uint64_t bits = 0x7ff8000000000000ULL;   /* float('nan') */
            double nan;
            memcpy(&nan, &bits, 8);
            o = pyobj_float(p->a, nan);
        } else {
            o = pyobj_float(p->a, lits[i].f > 0 ? HUGE_VAL : -HUGE_VAL);
        }
        if (!o) oom(p);
        return o;
    }
    /* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? as Python's NUMBER_RE */
    size_t i = p->pos;
    int neg = 0, is_float = 0;
    if (i < p->len && p->buf[i] == '-') { neg = 1; i++; }
    size_t ds = i;
    if (i < p->len && p->buf[i] == '0') i++;
    else if (i < p->len && p->buf[i] >= '1' && p->buf[i] <= '9')
        while (i < p->len && p->buf[i] >= '0' && p->buf[i] <= '9') i++;
    else {
        fail_at(p, start, "expecting value");
        return NULL;
    }
    size_t de = i;
    if (i + 1 < p->len && p->buf[i] == '.' && p->buf[i + 1] >= '0' && p->buf[i + 1] <= '9') {
        is_float = 1;
        i++;
        while (i < p->len && p->buf[i] >= '0' && p->buf[i] <= '9') i++;
    }
    if (i < p->len && (p->buf[i] == 'e' || p->buf[i] == 'E')) {
        size_t j = i + 1;
        if (j < p->len && (p->buf[j] == '+' || p->buf[j] == '-')) j++;
        if (j < p->len && p->buf[j] >= '0' && p->buf[j] <= '9') {
            while (j < p->len && p->buf[j] >= '0' && p->buf[j] <= '9') j++;
            is_float = 1;
            i = j;
        }
    }
    p->pos = i;
    pyobj *o;
    if (!is_float) {
        if (de - ds > JSON_MAX_INT_DIGITS) {
            fail_at(p, start, "integer with more than 4300 digits (Python's int conversion limit)");
            return NULL;
        }
        o = make_int(p, neg, p->buf + ds, de - ds);
    } else {
        size_t n = i - start;
        char small[64], *s = n < sizeof small ? small : malloc(n + 1);
        if (!s) { oom(p); return NULL; }
        memcpy(s, p->buf + start, n);
        s[n] = 0;
        double v = strtod(s, NULL);   /* correctly rounded; +-inf beyond range, as float() */
        if (s != small) free(s);
        o = pyobj_float(p->a, v);
    }
    if (!o) oom(p);
    return o;
}

static int push_val(jp *p, pyobj *o)
{
    if (grow((void **)&p->vals, &p->capvals, p->nvals + 1, sizeof *p->vals)) return oom(p);
    p->vals[p->nvals++] = o;
    return 0;
}

/* Close the innermost container: build it from its children on the stack. */
static pyobj *close_frame(jp *p)
{
    size_t f = p->frames[--p->nframes];
    size_t base = f >> 1, n = p->nvals - base;
    /* vals is NULL until the first push: `{}` or `[]` as the whole document. */
    pyobj **kids = p->vals ? p->vals + base : NULL;
    pyobj *o;
    if (f & 1) {
        /* A repeated key (the same interned node) keeps its first slot and
         * takes the last value, as dict assignment does. */
        uint32_t serial = ++p->dict_serial;
        size_t m = 0;
        for (size_t i = 0; i < n; i += 2) {
            pyobj *k = kids[i];
            if (k->u.s.mark == serial) {
                kids[2 * k->u.s.slot + 1] = kids[i + 1];
                continue;
            }
            k->u.s.mark = serial;
            k->u.s.slot = (uint32_t)m;
            kids[2 * m] = k;
            kids[2 * m + 1] = kids[i + 1];
            m++;
        }
        o = pyobj_dict(p->a, m);
        if (o)
            for (size_t i = 0; i < m; i++) {
                o->u.dict.keys[i] = kids[2 * i];
                o->u.dict.values[i] = kids[2 * i + 1];
            }
    } else {
        o = pyobj_list(p->a, n);
        if (o && n) memcpy(o->u.seq.items, kids, n * sizeof *kids);
    }
    p->nvals = base;
    if (!o) oom(p);
    return o;
}

static int open_frame(jp *p, int is_dict)
{
    if (p->nframes >= PYOBJ_MAX_DEPTH)
        return fail_at(p, p->pos, "nesting deeper than the " STR(PYOBJ_MAX_DEPTH) "-level limit");
    if (grow((void **)&p->frames, &p->capframes, p->nframes + 1, sizeof *p->frames)) return oom(p);
    p->frames[p->nframes++] = p->nvals << 1 | (size_t)is_dict;
    p->pos++;
    return 0;
}

/* After '{' or ',' in an object: a key and its ':'. */
static int scan_key(jp *p)
{
    size_t n;
    skip_ws(p);
    if (p->pos >= p->len || p->buf[p->pos] != '"')
        return fail_at(p, p->pos, "expecting property name enclosed in double quotes");
    if (scan_string(p, &n)) return -1;
    pyobj *k = intern_key(p, p->sbuf, n);
    if (!k) return oom(p);
    if (push_val(p, k)) return -1;
    skip_ws(p);
    if (p->pos >= p->len || p->buf[p->pos] != ':') return fail_at(p, p->pos, "expecting ':' delimiter");
    p->pos++;
    return 0;
}

static int parse(jp *p, pyobj **out)
{
    if (p->len >= 3 && memcmp(p->buf, "\xef\xbb\xbf", 3) == 0)
        return fail_at(p, 0, "unexpected UTF-8 byte order mark");
    for (;;) {
        /* a value */
        skip_ws(p);
        if (p->pos >= p->len) return fail_at(p, p->pos, "expecting value");
        uint8_t c = p->buf[p->pos];
        pyobj *v = NULL;
        if (c == '[' || c == '{') {
            if (open_frame(p, c == '{')) return -1;
            skip_ws(p);
            if (c == '{' && p->pos < p->len && p->buf[p->pos] == '}') {
                p->pos++;
                if (!(v = close_frame(p))) return -1;
            } else if (c == '[' && p->pos < p->len && p->buf[p->pos] == ']') {
                p->pos++;
                if (!(v = close_frame(p))) return -1;
            } else {
                if (c == '{' && scan_key(p)) return -1;
                continue;
            }
        } else if (!(v = scan_scalar(p))) {
            return -1;
        }
        /* after a value: close containers until one takes another item */
        for (;;) {
            if (p->nframes == 0) {
                skip_ws(p);
                if (p->pos != p->len) return fail_at(p, p->pos, "extra data after the document");
                *out = v;
                return 0;
            }
            if (push_val(p, v)) return -1;
            int is_dict = (int)(p->frames[p->nframes - 1] & 1);
            skip_ws(p);
            if (p->pos >= p->len)
                return fail_at(p, p->pos, is_dict ? "expecting ',' delimiter or '}'" : "expecting ',' delimiter or ']'");
            c = p->buf[p->pos];
            if (c == ',') {
                p->pos++;
                if (is_dict && scan_key(p)) return -1;
                break;
            }
            if (c != (is_dict ? '}' : ']'))
                return fail_at(p, p->pos, is_dict ? "expecting ',' delimiter or '}'" : "expecting ',' delimiter or ']'");
            p->pos++;
            if (!(v = close_frame(p))) return -1;
        }
    }
}

int json_parse(pyobj_arena *a, const uint8_t *buf, size_t len, pyobj **out,
               char *err, size_t errlen)
{
    jp p = {0};
    p.a = a;
    p.buf = buf;
    p.len = len;
    p.err = err;
    p.errlen = errlen;
    int rc = parse(&p, out);
    free(p.vals);
    free(p.frames);
    free(p.keys);
    free(p.sbuf);
    if (rc) return p.status ? p.status : CB_EXIT_INPUT;
    return 0;
}

int json_sniff(pyobj_arena *a, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    static const char value_start[] = "{[\"-0123456789tfnNI";   /* NaN, Infinity: as Python */
    size_t i = 0;
    pyobj *unused;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')) i++;
    if (i == len || (buf[i] && strchr(value_start, buf[i]))) return 0;
    /* No document starts so: the parser stops at this byte whatever follows
     * (a byte order mark is 3 bytes), and says it as it would for the file. */
    return json_parse(a, buf, len < i + 4 ? len : i + 4, &unused, err, errlen);
}
