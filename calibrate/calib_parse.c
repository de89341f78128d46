/* calib_parse.c - reading the output of lz4 -b, zstd -b, xxhsum -b and
 * openssl speed (see calibrate.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_impl.h"
#include "util.h"


/* The segments of a tool's output: what lies between carriage returns and
 * newlines (progress lines are rewritten in place with '\r'). */
typedef struct {
    const char *p, *end;
} seg_iter;

static int seg_next(seg_iter *it, const char **s, size_t *n)
{
    while (it->p < it->end && (*it->p == '\r' || *it->p == '\n')) it->p++;
    if (it->p >= it->end) return 0;
    const char *b = it->p;
    while (it->p < it->end && *it->p != '\r' && *it->p != '\n') it->p++;
    *s = b;
    *n = (size_t)(it->p - b);
    return 1;
}

/* The number that ends just before position `at` of s (spaces skipped). */
static int number_before(const char *s, size_t at, double *v)
{
    size_t e = at, b;
    char tmp[64], *endp;
    while (e > 0 && s[e - 1] == ' ') e--;
    b = e;
    while (b > 0 && ((s[b - 1] >= '0' && s[b - 1] <= '9') || s[b - 1] == '.')) b--;
    if (b == e || e - b >= sizeof tmp) return -1;
    memcpy(tmp, s + b, e - b);
    tmp[e - b] = 0;
    errno = 0;
    *v = strtod(tmp, &endp);
    if (*endp || errno || !isfinite(*v)) return -1;
    return 0;
}

static const char *find_in(const char *s, size_t n, const char *needle, size_t from)
{
    size_t k = strlen(needle);
    for (size_t i = from; i + k <= n; i++)
        if (memcmp(s + i, needle, k) == 0) return s + i;
    return NULL;
}

/* A segment that is only "<level>#" (optionally with spaces and a sign):
 * the tools' end of one benchmark. */
static int is_end_marker(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] == ' ') i++;
    if (i < n && s[i] == '-') i++;
    size_t d = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d || i >= n || s[i] != '#') return 0;
    for (i++; i < n; i++)
        if (s[i] != ' ') return 0;
    return 1;
}

int calib_parse_codec_bench(const char *text, size_t len, uint64_t *size, uint64_t *csize,
                            double *compress_bps, double *decompress_bps,
                            char *err, size_t errlen)
{
    seg_iter it = {text, text + len};
    const char *s;
    size_t n;
    int have = 0, ended = 0;
    double c = 0, d = 0, sz = 0, csz = 0;
    while (seg_next(&it, &s, &n)) {
        const char *arrow = find_in(s, n, "->", 0);
        const char *m1 = find_in(s, n, "MB/s", 0);
        const char *m2 = m1 ? find_in(s, n, "MB/s", (size_t)(m1 - s) + 4) : NULL;
        if (is_end_marker(s, n) && have) { ended = 1; continue; }
        if (!arrow || !m1 || !m2 || m1 < arrow) continue;
        double tc, td, tsz, tcsz;
        const char *paren = find_in(s, n, "(", (size_t)(arrow - s));
        /* Between the two speeds only a comma and spaces. */
        size_t after1 = (size_t)(m1 - s) + 4, i;
        for (i = after1; i < n && (s[i] == ' ' || s[i] == ','); i++) {}
        if (!paren || paren > m1) continue;
        if (number_before(s, (size_t)(arrow - s), &tsz) != 0 || number_before(s, (size_t)(paren - s), &tcsz) != 0 ||
            number_before(s, (size_t)(m1 - s), &tc) != 0 ||
            number_before(s, (size_t)(m2 - s), &td) != 0)
            continue;
        {
            /* The second speed must start right after the first one's separator. */
            size_t b2 = (size_t)(m2 - s);
            while (b2 > 0 && s[b2 - 1] == ' ') b2--;
            while (b2 > 0 && ((s[b2 - 1] >= '0' && s[b2 - 1] <= '9') || s[b2 - 1] == '.')) b2--;
            if (b2 != i) continue;
        }
        if (!(tc > 0) || !(td > 0) || !(tsz > 0) || tsz != floor(tsz) || !(tcsz > 0) || tcsz != floor(tcsz)) continue;
        c = tc, d = td, sz = tsz, csz = tcsz;
        have = 1;
        ended = 0;
    }
    if (!have) return calib_err(CB_EXIT_ENV, err, errlen, "no result line '<size> -> <compressed> (<ratio>), <C> MB/s, <D> MB/s' in its output");
    if (!ended) return calib_err(CB_EXIT_ENV, err, errlen, "its output has no '<level>#' line after the last result (benchmark cut short?)");
    *size = (uint64_t)sz;
    *csize = (uint64_t)csz;
    *compress_bps = c * 1e6;
    *decompress_bps = d * 1e6;
    return 0;
}

int calib_parse_xxhsum_bench(const char *text, size_t len, int id, const char *name,
                             uint64_t *size, double *bps, char *err, size_t errlen)
{
    seg_iter it = {text, text + len};
    const char *s;
    size_t n;
    while (seg_next(&it, &s, &n)) {
        char line[512], got[128];
        int gid, pos = 0;
        unsigned long long sz;
        double its;
        if (n >= sizeof line) continue;
        memcpy(line, s, n);
        line[n] = 0;
        /* "%2i#%-*.*s : %10u -> %8.0f it/s (%7.1f MB/s)" */
        if (sscanf(line, " %d#%127[^:]: %llu -> %lf it/s%n", &gid, got, &sz, &its, &pos) != 4 || pos == 0)
            continue;
        if (gid != id) continue;
        size_t k = strlen(got);
        while (k > 0 && got[k - 1] == ' ') got[--k] = 0;
        if (strcmp(got, name) != 0)
            return calib_err(CB_EXIT_ENV, err, errlen, "algorithm %d is %s, expected %s (another xxhsum numbering?)", id, CB_Q(got), CB_Q(name));
        if (!(its > 0) || !isfinite(its) || sz == 0)
            return calib_err(CB_EXIT_ENV, err, errlen, "algorithm %d: no positive speed in %s", id, CB_Q(line));
        *size = sz;
        *bps = its * (double)sz;
        return 0;
    }
    return calib_err(CALIB_PARSE_ABSENT, err, errlen, "no result line '%d#%s : <size> -> <N> it/s' in its output", id, name);
}

int calib_parse_openssl_speed(const char *text, size_t len, const char *alg, uint64_t size,
                              double *bps, char *err, size_t errlen)
{
    seg_iter it = {text, text + len};
    const char *s;
    size_t n;
    int header = 0;
    while (seg_next(&it, &s, &n)) {
        char line[512], tok[128], unit[32];
        unsigned long long hsz;
        double v;
        int pos = 0;
        if (n >= sizeof line) continue;
        memcpy(line, s, n);
        line[n] = 0;
        if (sscanf(line, "type %llu %31s%n", &hsz, unit, &pos) == 2) {
            if (hsz != size || strcmp(unit, "bytes") != 0)
                return calib_err(CB_EXIT_ENV, err, errlen, "measured %llu-byte blocks, expected %llu", hsz, (unsigned long long)size);
            header = 1;
            continue;
        }
        if (!header) continue;
        if (sscanf(line, "%127s %lfk%n", tok, &v, &pos) == 2 && pos > 0 && strcmp(tok, alg) == 0) {
            const char *rest = line + pos;
            while (*rest == ' ') rest++;
            if (line[pos - 1] != 'k' || *rest) continue;
            if (!(v > 0) || !isfinite(v)) return calib_err(CB_EXIT_ENV, err, errlen, "%s: no positive speed in %s", alg, CB_Q(line));
            *bps = v * 1000.0;
            return 0;
        }
    }
    if (!header) return calib_err(CB_EXIT_ENV, err, errlen, "no 'type <size> bytes' header in its output");
    return calib_err(CB_EXIT_ENV, err, errlen, "no '%s <N>k' row in its output", alg);
}
