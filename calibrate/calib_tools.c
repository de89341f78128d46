/* calib_tools.c - finding and running the libraries' benchmark tools, and
 * which library each one runs (see calibrate.h, calib_impl.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "calib_impl.h"
#include "codec_lz4block.h"
#include "hash.h"
#include "util.h"

extern char **environ;

const calib_tool calib_tools[] = {
    {"lz4", CALIB_LZ4, "lz4", "-V"},
    {"zstd", CALIB_ZSTD, "zstd", "-V"},
    {"xxhsum", CALIB_XXHSUM, "xxhsum", "-V"},
    {"openssl", CALIB_OPENSSL, "openssl", "version"},
    {"pickle", CALIB_PICKLE, NULL, NULL},
};
const size_t calib_tool_count = sizeof calib_tools / sizeof calib_tools[0];

int calib_err(int status, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return status;
}

const calib_tool *calib_tool_named(const char *name)
{
    for (size_t i = 0; i < calib_tool_count; i++)
        if (strcmp(calib_tools[i].name, name) == 0) return &calib_tools[i];
    return NULL;
}

/* ---- finding a tool ------------------------------------------------------- */

/* Is `exe` an executable file in a directory of PATH? Its path goes to
 * found (PATH_MAX bytes). */
static int on_path(const char *exe, char *found)
{
    const char *path = getenv("PATH");
    char dir[PATH_MAX];
    if (!path || !*path) return 0;
    while (*path) {
        const char *c = strchr(path, ':');
        size_t n = c ? (size_t)(c - path) : strlen(path);
        if (n == 0) snprintf(dir, sizeof dir, "./%s", exe);
        else snprintf(dir, sizeof dir, "%.*s/%s", (int)n, path, exe);
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISREG(st.st_mode) && access(dir, X_OK) == 0) {
            memcpy(found, dir, sizeof dir);
            return 1;
        }
        path += n + (c != NULL);
        if (!c) break;
    }
    return 0;
}

int calib_tools_find(unsigned bits, calib_toolset *ts, char *err, size_t errlen)
{
    memset(ts, 0, sizeof *ts);
    for (size_t i = 0; i < calib_tool_count; i++)
        if ((bits & calib_tools[i].bit) && calib_tools[i].exe && !on_path(calib_tools[i].exe, ts->path[i]))
            return calib_err(CB_EXIT_ENV, err, errlen,
                             "%s: not found on PATH (calibrate runs its benchmark; --tool leaves it out)",
                             calib_tools[i].exe);
    return 0;
}

/* ---- running a tool ------------------------------------------------------- */

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Read fd into a malloc'd buffer until EOF or the deadline; *timed_out
 * when the deadline came first. NULL when out of memory. */
static char *read_until(int fd, double deadline, size_t *outlen, int *timed_out)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    *timed_out = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        double left = deadline - mono_s();
        if (left <= 0) { *timed_out = 1; break; }
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
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    if (!buf) buf = malloc(1);
    if (buf) buf[len] = 0;
    *outlen = len;
    return buf;
}

/* The tool's own last words, one line with control bytes blanked. */
static void last_line(char *out, char *last, size_t cap)
{
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) out[--n] = 0;
    const char *b = out + n;
    while (b > out && b[-1] != '\n' && b[-1] != '\r') b--;
    snprintf(last, cap, "%s", b);
    for (char *p = last; *p; p++)
        if ((unsigned char)*p < 0x20) *p = ' ';
}

int calib_tool_exec(const char *name, char *const argv[], double timeout_s, calib_tool_run *r,
                    char *err, size_t errlen)
{
    int fds[2], status = 0, timed_out;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    struct rusage ru;

    memset(r, 0, sizeof *r);
    r->cpu_s = r->cpu_share = NAN;
    if (pipe2(fds, O_CLOEXEC) != 0) return calib_err(CB_EXIT_ENV, err, errlen, "%s: pipe: %s", name, strerror(errno));
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
        if (e == ENOENT) return calib_err(CB_EXIT_ENV, err, errlen, "%s: not found on PATH", name);
        return calib_err(CB_EXIT_ENV, err, errlen, "%s: cannot run: %s", name, strerror(e));
    }
    double start = mono_s();
    size_t len;
    char *buf = read_until(fds[0], start + timeout_s, &len, &timed_out);
    close(fds[0]);
    if (timed_out) kill(pid, SIGKILL);
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {}
    double wall = mono_s() - start;
    r->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    r->cpu_share = wall > 0 ? r->cpu_s / wall : NAN;
    if (!buf) return calib_err(CB_EXIT_ENV, err, errlen, "%s: out of memory", name);
    if (timed_out) {
        free(buf);
        return calib_err(CB_EXIT_ENV, err, errlen, "%s: did not finish in %.0f s (killed)", name, timeout_s);
    }
    if (WIFSIGNALED(status)) {
        free(buf);
        return calib_err(CB_EXIT_ENV, err, errlen, "%s: killed by signal %d", name, WTERMSIG(status));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char last[160];
        last_line(buf, last, sizeof last);
        free(buf);
        return calib_err(CB_EXIT_ENV, err, errlen, "%s: exited with status %d%s%s", name,
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1, last[0] ? ": " : "", last);
    }
    r->out = buf;
    r->len = len;
    return 0;
}

/* The first line of `exe VERSIONFLAG`, cleaned of decoration; "unknown" when
 * the tool cannot say. */
static void tool_version(const char *exe, const char *flag, char *out, size_t cap)
{
    char *argv[] = {(char *)exe, (char *)flag, NULL}, err[128];
    calib_tool_run r;
    snprintf(out, cap, "unknown");
    if (calib_tool_exec(exe, argv, 10, &r, err, sizeof err) != 0) return;
    char *b = r.out;
    while (*b == '*' || *b == ' ' || *b == '\n') b++;
    char *e = b;
    while (*e && *e != '\n' && *e != '\r') e++;
    while (e > b && (e[-1] == '*' || e[-1] == ' ' || e[-1] == ',')) e--;
    if (e > b) snprintf(out, cap, "%.*s", (int)(e - b), b);
    free(r.out);
}

void calib_versions(unsigned bits, char *out, size_t cap)
{
    char err[256], v[256];
    const codec_desc *z = codec_find("zstd", &(int){0}, err, sizeof err);
    const hash_desc *x = hash_find("xxh64", err, sizeof err), *s = hash_find("sha1", err, sizeof err);
    snprintf(out, cap, "casbench %s (commit %s). Libraries in the harness: liblz4 %s, libzstd %s, libxxhash %s, OpenSSL %s.\n",
             cb_version, cb_git_commit, codec_lz4_block.version(), z ? z->version() : "?", x ? x->version() : "?",
             s ? s->version() : "?");
    int any = 0;
    for (size_t i = 0; i < calib_tool_count; i++) {
        if (!(bits & calib_tools[i].bit) || !calib_tools[i].exe) continue;
        tool_version(calib_tools[i].exe, calib_tools[i].version_flag, v, sizeof v);
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", any ? "; " : "Tools: ", v);
        any = 1;
    }
    if (any) snprintf(out + strlen(out), cap - strlen(out), ".\n");
}

/* ---- which library a tool runs: its ELF dynamic section -------------------- */

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

/* Does the ELF executable at `path` load a shared library whose name starts
 * with `soname_prefix` (a DT_NEEDED entry, e.g. "libzstd.so")? 1 yes, 0 no
 * (the tool carries its own, statically linked copy), -1 when the file is
 * not a 64-bit little-endian ELF file calibrate can read. */
static int elf_needs(const char *path, const char *soname_prefix)
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

void calib_tool_library(const char *path, const char *soname, const char *lib, char *out, size_t cap)
{
    int r = elf_needs(path, soname);
    if (r == 1) snprintf(out, cap, "links %s*, the library the harness runs", soname);
    else if (r == 0) snprintf(out, cap, "runs its own statically linked copy of %s, not %s*", lib, soname);
    else snprintf(out, cap, "library unknown (not an ELF file calibrate reads)");
}
