/* calibrate.c - see calibrate.h. */
#include "calibrate.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

/* ---- running a tool ---------------------------------------------------- */

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double g_cpu_share = NAN;

static double g_cpu_s = NAN;

double calib_last_tool_cpu_share(void) { return g_cpu_share; }
double calib_last_tool_cpu_s(void) { return g_cpu_s; }

int calib_run_tool(char *const argv[], double timeout_s, char **out, size_t *outlen,
                   char *err, size_t errlen)
{
    int fds[2], rc = -1, status = 0, timed_out = 0;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    char *buf = NULL;
    size_t len = 0, cap = 0;

    *out = NULL;
    *outlen = 0;
    if (pipe2(fds, O_CLOEXEC) != 0) return cb_err(err, errlen, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    /* glibc's posix_spawnp reports a failed exec as its return value. */
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (e != 0) {
        close(fds[0]);
        if (e == ENOENT) return cb_err(err, errlen, "not found on PATH");
        return cb_err(err, errlen, "cannot run: %s", strerror(e));
    }
    double start = mono_s(), deadline = start + timeout_s;
    struct rusage ru;
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        double left = deadline - mono_s();
        if (left <= 0) { timed_out = 1; break; }
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        if (r == 0) continue;
        if (len + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 16384;
            char *nb = realloc(buf, ncap);
            if (!nb) break;
            buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fds[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fds[0]);
    if (timed_out) kill(pid, SIGKILL);
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {}
    {
        double wall = mono_s() - start;
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
        g_cpu_share = wall > 0 ? cpu / wall : NAN;
        g_cpu_s = cpu;
    }
    if (!buf) buf = malloc(1);
    if (!buf) return cb_err(err, errlen, "out of memory");
    buf[len] = 0;
    if (timed_out) {
        cb_err(err, errlen, "did not finish in %.0f s (killed)", timeout_s);
    } else if (WIFSIGNALED(status)) {
        cb_err(err, errlen, "killed by signal %d", WTERMSIG(status));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        cb_err(err, errlen, "exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        *out = buf;
        *outlen = len;
        return -1;
    } else {
        rc = 0;
    }
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

/* ---- parsers ------------------------------------------------------------ */

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
    if (!have) return cb_err(err, errlen, "no result line '<size> -> <compressed> (<ratio>), <C> MB/s, <D> MB/s' in its output");
    if (!ended) return cb_err(err, errlen, "its output has no '<level>#' line after the last result (benchmark cut short?)");
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
            return cb_err(err, errlen, "algorithm %d is %s, expected %s (another xxhsum numbering?)", id, CB_Q(got), CB_Q(name));
        if (!(its > 0) || !isfinite(its) || sz == 0)
            return cb_err(err, errlen, "algorithm %d: no positive speed in %s", id, CB_Q(line));
        *size = sz;
        *bps = its * (double)sz;
        return 0;
    }
    return cb_err(err, errlen, "no result line '%d#%s : <size> -> <N> it/s' in its output", id, name);
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
                return cb_err(err, errlen, "measured %llu-byte blocks, expected %llu", hsz, (unsigned long long)size);
            header = 1;
            continue;
        }
        if (!header) continue;
        if (sscanf(line, "%127s %lfk%n", tok, &v, &pos) == 2 && pos > 0 && strcmp(tok, alg) == 0) {
            const char *rest = line + pos;
            while (*rest == ' ') rest++;
            if (line[pos - 1] != 'k' || *rest) continue;
            if (!(v > 0) || !isfinite(v)) return cb_err(err, errlen, "%s: no positive speed in %s", alg, CB_Q(line));
            *bps = v * 1000.0;
            return 0;
        }
    }
    if (!header) return cb_err(err, errlen, "no 'type <size> bytes' header in its output");
    return cb_err(err, errlen, "no '%s <N>k' row in its output", alg);
}

/* ---- ELF ------------------------------------------------------------------ */

static uint64_t rd(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* The file offset of virtual address va, through the PT_LOAD headers. */
static int va_to_off(const uint8_t *f, size_t len, uint64_t phoff, unsigned phnum, unsigned phentsize,
                     uint64_t va, uint64_t *off)
{
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = f + phoff + (uint64_t)i * phentsize;
        if (rd(ph, 4) != 1) continue;   /* PT_LOAD */
        uint64_t o = rd(ph + 8, 8), v = rd(ph + 16, 8), fs = rd(ph + 32, 8);
        if (va >= v && va - v < fs && o + (va - v) < len) {
            *off = o + (va - v);
            return 0;
        }
    }
    return -1;
}

int calib_elf_needs(const char *path, const char *soname_prefix)
{
    uint8_t *f;
    size_t len;
    char err[128];
    int found = -1;
    if (cb_read_file(path, (size_t)256 << 20, &f, &len, err, sizeof err) != 0) return -1;
    if (len < 64 || memcmp(f, "\177ELF", 4) != 0 || f[4] != 2 || f[5] != 1) goto out;
    uint64_t phoff = rd(f + 32, 8);
    unsigned phentsize = (unsigned)rd(f + 54, 2), phnum = (unsigned)rd(f + 56, 2);
    if (phentsize < 56 || phoff > len || (uint64_t)phnum * phentsize > len - phoff) goto out;
    uint64_t dyn = 0, dynsz = 0;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = f + phoff + (uint64_t)i * phentsize;
        if (rd(ph, 4) == 2) { dyn = rd(ph + 8, 8); dynsz = rd(ph + 32, 8); }   /* PT_DYNAMIC */
    }
    found = 0;
    if (!dyn || dyn > len || dynsz > len - dyn) goto out;   /* no dynamic section: fully static */
    uint64_t strtab = 0, strsz = 0, stroff;
    for (uint64_t e = dyn; e + 16 <= dyn + dynsz; e += 16) {
        uint64_t tag = rd(f + e, 8), val = rd(f + e + 8, 8);
        if (tag == 5) strtab = val;        /* DT_STRTAB */
        if (tag == 10) strsz = val;        /* DT_STRSZ */
    }
    if (!strtab || va_to_off(f, len, phoff, phnum, phentsize, strtab, &stroff) != 0 || strsz > len - stroff) {
        found = -1;
        goto out;
    }
    size_t plen = strlen(soname_prefix);
    for (uint64_t e = dyn; e + 16 <= dyn + dynsz; e += 16) {
        uint64_t tag = rd(f + e, 8), val = rd(f + e + 8, 8);
        if (tag == 0) break;
        if (tag != 1 || val >= strsz) continue;   /* DT_NEEDED */
        const char *name = (const char *)f + stroff + val;
        size_t max = (size_t)(strsz - val);
        if (strnlen(name, max) >= plen && strncmp(name, soname_prefix, plen) == 0) { found = 1; break; }
    }
out:
    free(f);
    return found;
}

/* ---- memcpy ----------------------------------------------------------------- */

static int k_memcpy(void *p)
{
    calib_memcpy *m = p;
    if (m->fresh) {
        uint8_t *d = malloc(m->n ? m->n : 1);
        if (!d) return 1;
        memcpy(d, m->src, m->n);
        /* Keep the copy from being optimised away with the free that follows. */
        __asm__ volatile("" : : "r"(d) : "memory");
        free(d);
        return 0;
    }
    memcpy(m->dst, m->src, m->n);
    __asm__ volatile("" : : "r"(m->dst) : "memory");
    return 0;
}

gb_measurement calib_memcpy_measurement(calib_memcpy *m, const char *name)
{
    gb_measurement g;
    memset(&g, 0, sizeof g);
    g.name = name;
    g.run = k_memcpy;
    g.ctx = m;
    g.bytes_per_iter = m->n;
    return g;
}

/* ---- EVP_Digest, as openssl speed ---------------------------------------------- */

struct calib_evp {
    EVP_MD *md;
    const uint8_t *buf;
    size_t n;
};

calib_evp *calib_evp_create(const char *alg, const uint8_t *buf, size_t n, char *err, size_t errlen)
{
    calib_evp *e = calloc(1, sizeof *e);
    if (!e) {
        cb_err(err, errlen, "out of memory");
        return NULL;
    }
    e->md = EVP_MD_fetch(NULL, alg, NULL);
    if (!e->md) {
        free(e);
        cb_err(err, errlen, "OpenSSL has no digest %s", CB_Q(alg));
        return NULL;
    }
    e->buf = buf;
    e->n = n;
    return e;
}

static int k_evp(void *p)
{
    calib_evp *e = p;
    unsigned char md[EVP_MAX_MD_SIZE];
    return !EVP_Digest(e->buf, e->n, md, NULL, e->md, NULL);
}

gb_measurement calib_evp_measurement(calib_evp *e, const char *name)
{
    gb_measurement g;
    memset(&g, 0, sizeof g);
    g.name = name;
    g.run = k_evp;
    g.ctx = e;
    g.bytes_per_iter = e->n;
    return g;
}

void calib_evp_free(calib_evp *e)
{
    if (!e) return;
    EVP_MD_free(e->md);
    free(e);
}
