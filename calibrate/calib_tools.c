/* calib_tools.c - finding and running the libraries' benchmark tools, and
 * which library each one runs (see calibrate.h, calib_impl.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_impl.h"
#include "codec_lz4block.h"
#include "hash.h"
#include "proc.h"
#include "util.h"

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

int calib_tools_find(unsigned bits, calib_toolset *ts, char *err, size_t errlen)
{
    memset(ts, 0, sizeof *ts);
    for (size_t i = 0; i < calib_tool_count; i++)
        if ((bits & calib_tools[i].bit) && calib_tools[i].exe &&
            cb_find_exe(calib_tools[i].exe, ts->path[i], sizeof ts->path[i]) != 0)
            return calib_err(CB_EXIT_ENV, err, errlen,
                             "%s: not found on PATH (calibrate runs its benchmark; --tool leaves it out)",
                             calib_tools[i].exe);
    return 0;
}

/* ---- running a tool ------------------------------------------------------- */

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
    cb_run_opts opts = {.timeout_s = timeout_s};
    cb_run_result res;
    char *out = NULL, why[256];
    size_t len = 0;

    memset(r, 0, sizeof *r);
    r->cpu_s = r->cpu_share = NAN;
    int rc = cb_run(argv, &opts, &out, &len, &res, why, sizeof why);
    if (res.wall_s > 0 || res.cpu_s > 0) {
        r->cpu_s = res.cpu_s;
        r->cpu_share = res.wall_s > 0 ? res.cpu_s / res.wall_s : NAN;
    }
    if (rc == 0 && !out) return calib_err(CB_EXIT_ENV, err, errlen, "%s: out of memory", name);
    if (rc != 0) {
        char last[160] = "";
        /* A tool that exited non-zero says why in its last line. */
        if (out && res.status > 0 && !res.timed_out) last_line(out, last, sizeof last);
        free(out);
        return calib_err(CB_EXIT_ENV, err, errlen, "%s: %s%s%s", name, why, last[0] ? ": " : "", last);
    }
    r->out = out;
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
