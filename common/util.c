/* util.c - see util.h. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CASBENCH_VERSION
#define CASBENCH_VERSION "0.1.0"
#endif
#ifndef CASBENCH_GIT_COMMIT
#define CASBENCH_GIT_COMMIT "unknown"
#endif
const char cb_version[] = CASBENCH_VERSION;
const char cb_git_commit[] = CASBENCH_GIT_COMMIT;

/* Set once an error has been reported, so that the exit check below does
 * not add a second line about stdout. */
static int cb_failed;

/* Every subcommand's output goes through stdio's buffer and is written when
 * the process exits: a failed final write (stdout is /dev/full, a closed
 * pipe) must not end in status 0, whichever path returned from main. */
static void cb_check_stdout(void)
{
    if (cb_failed) return;
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "casbench: standard output: %s\n", errno ? strerror(errno) : "write error");
        _exit(CB_EXIT_ENV);
    }
}

__attribute__((constructor)) static void cb_register_exit_check(void)
{
    atexit(cb_check_stdout);
}

/* "casbench: <message>\n" on stderr, as one line whatever the message holds:
 * a control byte that reached it unquoted (a library's text, a string no
 * caller passed through cb_quote) is written as an escape. */
static void put_message(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static void put_message(const char *fmt, va_list ap)
{
    char small[1024], *msg = small;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= (int)sizeof small && (msg = malloc((size_t)n + 1)) != NULL)
        vsnprintf(msg, (size_t)n + 1, fmt, ap2);
    else if (n >= (int)sizeof small)
        msg = small;   /* out of memory: the truncated text */
    va_end(ap2);
    fputs("casbench: ", stderr);
    for (const unsigned char *p = (const unsigned char *)(n < 0 ? "" : msg); *p; p++) {
        if (*p < 0x20 || *p == 0x7f) fprintf(stderr, "\\%03o", *p);
        else fputc(*p, stderr);
    }
    fputc('\n', stderr);
    if (msg != small) free(msg);
}

void cb_fail(int status, const char *fmt, ...)
{
    va_list ap;
    cb_failed = 1;
    fflush(stdout);
    va_start(ap, fmt);
    put_message(fmt, ap);
    va_end(ap);
    exit(status);
}

void cb_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    put_message(fmt, ap);
    va_end(ap);
}

/* ---- quoting ----------------------------------------------------------- */

static int needs_escape(unsigned char c) { return c < 0x20 || c >= 0x7f; }

/* Whether the shell-escape style leaves c bare at position i (quotearg.c's
 * shell_escape_quoting_style, checked against GNU ls). */
static int shell_plain(unsigned char c, size_t i)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    if (c == '#' || c == '~') return i > 0;
    return c && strchr("%+,-./:@]_{}", c) != NULL;
}

/* An escape as $'...' writes it: \n, \t, ... or three octal digits. */
static size_t escape_of(unsigned char c, char *e)
{
    static const char named_from[] = "\a\b\f\n\r\t\v", named_to[] = "abfnrtv";
    const char *k = c ? strchr(named_from, c) : NULL;
    if (k) return (size_t)snprintf(e, 8, "\\%c", named_to[k - named_from]);
    return (size_t)snprintf(e, 8, "\\%03o", c);
}

typedef struct { char *out; size_t cap, n; } qbuf;

/* Append all of t or nothing, keeping room for a closing quote and "...". */
static int q_put(qbuf *q, const char *t, size_t len)
{
    if (q->n + len + 5 > q->cap) return -1;
    memcpy(q->out + q->n, t, len);
    q->n += len;
    q->out[q->n] = 0;
    return 0;
}

const char *cb_quote(const char *s, int always, char *out, size_t cap)
{
    enum { PLAIN, DOUBLE, SINGLE, DOLLAR } state;
    qbuf q = {out, cap, 0};
    const unsigned char *p;
    size_t i;
    int has_quote = 0, dq_safe = 1, plain = *s != 0;
    if (cap < 8) { if (cap) out[0] = 0; return out; }
    out[0] = 0;
    for (p = (const unsigned char *)s, i = 0; *p; p++, i++) {
        int alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        if (*p == '\'') has_quote = 1;
        if (!alnum && !strchr(" %+,-./:@]_'", *p)) dq_safe = 0;
        if (!shell_plain(*p, i)) plain = 0;
    }
    if ((s[0] == '{' || s[0] == '}') && !s[1]) plain = 0;   /* a lone brace is special */
    if (!always && plain) state = PLAIN;
    else if (has_quote && dq_safe) state = DOUBLE;   /* "it's": nothing double quotes expand */
    else state = SINGLE;
    if (state != PLAIN) q_put(&q, state == DOUBLE ? "\"" : "'", 1);
    for (p = (const unsigned char *)s; *p; p++) {
        char e[8];
        if (state == SINGLE || state == DOLLAR) {
            if (needs_escape(*p)) {
                /* Leave '...' for $'...' at the first of a run of escapes. */
                char t[12];
                escape_of(*p, e);
                snprintf(t, sizeof t, "%s%s", state == SINGLE ? "'$'" : "", e);
                if (q_put(&q, t, strlen(t)) != 0) goto cut;
                state = DOLLAR;
                continue;
            }
            if (state == DOLLAR) {
                if (q_put(&q, *p == '\'' ? "'\\''" : "''", *p == '\'' ? 4 : 2) != 0) goto cut;
                state = SINGLE;
                if (*p == '\'') continue;
            } else if (*p == '\'') {
                if (q_put(&q, "'\\''", 4) != 0) goto cut;
                continue;
            }
        }
        e[0] = (char)*p;
        if (q_put(&q, e, 1) != 0) goto cut;
    }
    if (state != PLAIN) q_put(&q, state == DOUBLE ? "\"" : "'", 1);
    return out;
cut:
    /* Close what is open, then say that more followed. */
    snprintf(out + q.n, cap - q.n, "%s...", state == DOUBLE ? "\"" : state == PLAIN ? "" : "'");
    return out;
}

int cb_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int cb_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                 char *err, size_t errlen)
{
    uint64_t v = 0;
    const char *p = s;
    if (!s || !*s) return cb_err(err, errlen, "empty value");
    if (*p == '-') return cb_err(err, errlen, "must not be negative");
    if (*p == '+') p++;
    if (!*p) return cb_err(err, errlen, "not a number");
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return cb_err(err, errlen, "not a whole number");
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return cb_err(err, errlen, "too large (maximum %llu)", (unsigned long long)max);
        v = v * 10 + d;
    }
    if (v < min) return cb_err(err, errlen, "must be at least %llu", (unsigned long long)min);
    if (v > max) return cb_err(err, errlen, "must be at most %llu", (unsigned long long)max);
    *out = v;
    return 0;
}

int cb_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out,
                 char *err, size_t errlen)
{
    uint64_t mag;
    int neg = 0;
    char sub[64];
    if (!s || !*s) return cb_err(err, errlen, "empty value");
    if (*s == '-') { neg = 1; s++; }
    if (cb_parse_u64(s, 0, UINT64_MAX, &mag, sub, sizeof sub) != 0)
        return cb_err(err, errlen, "%s", strcmp(sub, "must not be negative") == 0 ? "not a number" : sub);
    if (!neg && mag > (uint64_t)INT64_MAX) return cb_err(err, errlen, "too large (maximum %lld)", (long long)max);
    if (neg && mag > (uint64_t)INT64_MAX + 1) return cb_err(err, errlen, "too small (minimum %lld)", (long long)min);
    int64_t v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    if (v < min) return cb_err(err, errlen, "must be at least %lld", (long long)min);
    if (v > max) return cb_err(err, errlen, "must be at most %lld", (long long)max);
    *out = v;
    return 0;
}

int cb_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                  char *err, size_t errlen)
{
    static const struct { const char *suffix; uint64_t mult; } units[] = {
        {"B", 1}, {"K", 1000}, {"k", 1000}, {"KB", 1000}, {"kB", 1000}, {"KiB", 1024},
        {"M", 1000000}, {"MB", 1000000}, {"MiB", 1024 * 1024},
        {"G", 1000000000}, {"GB", 1000000000}, {"GiB", 1024ull * 1024 * 1024},
    };
    char digits[32];
    size_t n = 0;
    uint64_t v, mult = 1;
    if (!s || !*s) return cb_err(err, errlen, "empty size");
    if (*s == '-') return cb_err(err, errlen, "must not be negative");
    while (s[n] >= '0' && s[n] <= '9') n++;
    if (n == 0) return cb_err(err, errlen, "not a size (expected digits and an optional unit such as KiB or MB)");
    if (n >= sizeof digits) return cb_err(err, errlen, "too large (maximum %llu bytes)", (unsigned long long)max);
    memcpy(digits, s, n);
    digits[n] = 0;
    if (s[n]) {
        size_t i, found = 0;
        for (i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcmp(s + n, units[i].suffix) == 0) { mult = units[i].mult; found = 1; break; }
        if (!found) return cb_err(err, errlen, "unknown unit %s (use B, K, KB, KiB, M, MB, MiB, G, GB or GiB)", CB_Q(s + n));
    }
    if (cb_parse_u64(digits, 0, UINT64_MAX, &v, err, errlen) != 0) return -1;
    if (v != 0 && mult > UINT64_MAX / v) return cb_err(err, errlen, "too large (maximum %llu bytes)", (unsigned long long)max);
    v *= mult;
    if (v < min) return cb_err(err, errlen, "must be at least %llu bytes", (unsigned long long)min);
    if (v > max) return cb_err(err, errlen, "must be at most %llu bytes", (unsigned long long)max);
    *out = v;
    return 0;
}

/* Decimal notation only: [+-]digits[.digits][(e|E)[+-]digits], with digits
 * on at least one side of the point. strtod alone would also take "0x10",
 * "inf", "nan" and leading blanks, which no option or results file means. */
static int is_decimal(const char *s)
{
    size_t i = 0, int_digits = 0, frac_digits = 0;
    if (s[i] == '+' || s[i] == '-') i++;
    while (s[i] >= '0' && s[i] <= '9') { i++; int_digits++; }
    if (s[i] == '.') {
        i++;
        while (s[i] >= '0' && s[i] <= '9') { i++; frac_digits++; }
    }
    if (int_digits + frac_digits == 0) return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t exp_digits = 0;
        i++;
        if (s[i] == '+' || s[i] == '-') i++;
        while (s[i] >= '0' && s[i] <= '9') { i++; exp_digits++; }
        if (exp_digits == 0) return 0;
    }
    return s[i] == 0;
}

int cb_parse_double(const char *s, double min, double max, double *out,
                    char *err, size_t errlen)
{
    char *end;
    if (!s || !*s) return cb_err(err, errlen, "empty value");
    if (!is_decimal(s)) return cb_err(err, errlen, "not a decimal number");
    errno = 0;
    double v = strtod(s, &end);
    if (*end) return cb_err(err, errlen, "not a number");
    if (errno == ERANGE || !isfinite(v)) return cb_err(err, errlen, "out of range");
    if (v < min) return cb_err(err, errlen, "must be at least %g", min);
    if (v > max) return cb_err(err, errlen, "must be at most %g", max);
    *out = v;
    return 0;
}

int cb_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len,
                 char *err, size_t errlen)
{
    int fd = 0;
    struct stat st;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf;
    if (strcmp(path, "-") != 0) {
        /* O_NONBLOCK so that opening a FIFO with no writer cannot hang: a
         * special file is rejected below before anything is read. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) return cb_err(err, errlen, "%s", strerror(errno));
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        if (fd) close(fd);
        return cb_err(err, errlen, "%s", strerror(e));
    }
    if (S_ISDIR(st.st_mode)) { if (fd) close(fd); return cb_err(err, errlen, "is a directory"); }
    if (fd && !S_ISREG(st.st_mode)) { close(fd); return cb_err(err, errlen, "not a regular file"); }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_bytes) {
        if (fd) close(fd);
        return cb_err(err, errlen, "larger than the %zu-byte limit", max_bytes);
    }
    if (S_ISREG(st.st_mode)) cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (!buf) { if (fd) close(fd); return cb_err(err, errlen, "out of memory"); }
    for (;;) {
        if (n + 1 >= cap) {
            size_t ncap = cap * 2;
            uint8_t *nb;
            if (cap > max_bytes) { free(buf); if (fd) close(fd); return cb_err(err, errlen, "larger than the %zu-byte limit", max_bytes); }
            nb = realloc(buf, ncap);
            if (!nb) { free(buf); if (fd) close(fd); return cb_err(err, errlen, "out of memory"); }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            int e = errno;
            if (e == EINTR) continue;
            free(buf);
            if (fd) close(fd);
            return cb_err(err, errlen, "%s", strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n > max_bytes) { free(buf); if (fd) close(fd); return cb_err(err, errlen, "larger than the %zu-byte limit", max_bytes); }
    }
    if (fd) close(fd);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

int cb_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

const char *cb_fmt3(double v, char *buf, size_t n)
{
    double a = fabs(v);
    int dec;
    if (!isfinite(v)) { snprintf(buf, n, "-"); return buf; }
    if (a == 0) { snprintf(buf, n, "0"); return buf; }
    dec = 2 - (int)floor(log10(a));
    if (dec < 0) dec = 0;
    if (dec > 9) dec = 9;
    snprintf(buf, n, "%.*f", dec, v);
    return buf;
}

uint64_t cb_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void cb_fill_random(uint8_t *b, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t z = cb_splitmix64(&s);
        memcpy(b + i, &z, n - i < 8 ? n - i : 8);
    }
}

int cb_is_help(const char *arg) { return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0; }
int cb_is_version(const char *arg) { return strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0; }

void cb_oom(void) { cb_fail(CB_EXIT_ENV, "out of memory"); }

static void *oom_check(void *p)
{
    if (!p) cb_oom();
    return p;
}

void *cb_xmalloc(size_t n) { return oom_check(malloc(n ? n : 1)); }
void *cb_xcalloc(size_t count, size_t size) { return oom_check(calloc(count ? count : 1, size ? size : 1)); }
void *cb_xrealloc(void *p, size_t n) { return oom_check(realloc(p, n ? n : 1)); }
char *cb_xstrdup(const char *s) { return oom_check(strdup(s ? s : "")); }

void *cb_xgrow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return p;
    size_t grown = *cap ? *cap * 2 : 256;
    p = cb_xrealloc(p, grown * size);
    *cap = grown;
    return p;
}
