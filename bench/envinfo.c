/* envinfo.c - see envinfo.h. */
#include "envinfo.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "codec.h"
#include "gbench.h"
#include "hash.h"
#include "strbuf.h"
#include "util.h"

#ifndef CASBENCH_CFLAGS
#define CASBENCH_CFLAGS "unknown"
#endif

/* key<TAB>value, with tabs and line breaks in the value made spaces. */
static void kv(cb_buf *b, const char *key, const char *value)
{
    char v[1024];   /* a value longer than this is cut */
    snprintf(v, sizeof v, "%s", value && *value ? value : "unknown");
    cb_buf_puts(b, key);
    cb_buf_puts(b, "\t");
    cb_buf_field(b, v);
    cb_buf_puts(b, "\n");
}

/* The first line of a small file, trimmed; "" when unreadable. */
static void read_line(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    out[0] = 0;
    if (!f) return;
    if (fgets(out, (int)cap, f)) {
        size_t n = strlen(out);
        while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = 0;
    }
    fclose(f);
}

void env_utc_now(char *out, size_t cap, int compact)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void cpu_model_and_cores(cb_buf *b)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096], model[256] = "", flags[4096] = "";
    int phys = -1, ncores = 0;
    int seen[256][2];
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *colon = strchr(line, ':');
            if (!colon) continue;
            char *v = colon + 1;
            while (*v == ' ') v++;
            v[strcspn(v, "\n")] = 0;
            if (!model[0] && strncmp(line, "model name", 10) == 0) snprintf(model, sizeof model, "%s", v);
            else if (!flags[0] && strncmp(line, "flags", 5) == 0) snprintf(flags, sizeof flags, " %s ", v);
            else if (strncmp(line, "physical id", 11) == 0) phys = atoi(v);
            else if (strncmp(line, "core id", 7) == 0) {
                int core = atoi(v), i, dup = 0;
                for (i = 0; i < ncores; i++)
                    if (seen[i][0] == phys && seen[i][1] == core) dup = 1;
                if (!dup && ncores < 256) { seen[ncores][0] = phys; seen[ncores][1] = core; ncores++; }
            }
        }
        fclose(f);
    }
    char num[32];
    kv(b, "cpu_model", model);
    snprintf(num, sizeof num, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    kv(b, "cpus_logical", num);
    snprintf(num, sizeof num, "%d", ncores);
    kv(b, "cores_physical", ncores ? num : "unknown");
    static const char *const wanted[] = {"sha_ni", "avx2", "avx512f", "vaes"};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
        char pat[32], key[48];
        snprintf(pat, sizeof pat, " %s ", wanted[i]);
        snprintf(key, sizeof key, "cpu_flag_%s", wanted[i]);
        kv(b, key, flags[0] ? (strstr(flags, pat) ? "yes" : "no") : "unknown");
    }
}

static void caches(cb_buf *b)
{
    static const char *const keys[] = {"cache_l1d", "cache_l1i", "cache_l2", "cache_l3"};
    char val[4][64] = {"", "", "", ""};
    for (int i = 0; i < 16; i++) {
        char p[256], level[16], type[32], size[32];
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        read_line(p, level, sizeof level);
        if (!level[0]) break;
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        read_line(p, type, sizeof type);
        snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        read_line(p, size, sizeof size);
        int slot = -1;
        if (strcmp(level, "1") == 0) slot = strcmp(type, "Instruction") == 0 ? 1 : 0;
        else if (strcmp(level, "2") == 0) slot = 2;
        else if (strcmp(level, "3") == 0) slot = 3;
        if (slot >= 0) snprintf(val[slot], sizeof val[slot], "%s", size);
    }
    for (int i = 0; i < 4; i++) kv(b, keys[i], val[i]);
}

static void hypervisor(cb_buf *b)
{
    char v[256];
    unsigned a, bx, c, d;
    read_line("/sys/class/dmi/id/sys_vendor", v, sizeof v);
    kv(b, "dmi_sys_vendor", v);
    read_line("/sys/class/dmi/id/product_name", v, sizeof v);
    kv(b, "dmi_product_name", v);
    /* CPUID leaf 0x40000000 names the hypervisor when the hypervisor bit is set. */
    v[0] = 0;
    if (__get_cpuid(1, &a, &bx, &c, &d) && (c & (1u << 31))) {
        __cpuid(0x40000000, a, bx, c, d);
        memcpy(v, &bx, 4);
        memcpy(v + 4, &c, 4);
        memcpy(v + 8, &d, 4);
        v[12] = 0;
    } else if (__get_cpuid(1, &a, &bx, &c, &d)) {
        snprintf(v, sizeof v, "none");
    }
    kv(b, "hypervisor_cpuid", v);
}

/* The VM size, from a local copy of the cloud's metadata (cloud-init keeps
 * one); never from the network. */
static void vm_size(cb_buf *b)
{
    static const char *const files[] = {
        "/run/cloud-init/instance-data.json", "/var/run/cloud-init/instance-data.json",
    };
    static const char *const keys[] = {"\"vmSize\"", "\"instance_type\"", "\"instance-type\"",
                                       "\"machine_type\""};
    char val[128] = "";
    for (size_t i = 0; i < sizeof files / sizeof files[0] && !val[0]; i++) {
        uint8_t *data;
        size_t len;
        char e[64];
        if (cb_read_file(files[i], 1 << 24, &data, &len, e, sizeof e) != 0) continue;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0] && !val[0]; k++) {
            char *p = strstr((char *)data, keys[k]);
            if (!p) continue;
            p = strchr(p + strlen(keys[k]), ':');
            if (!p) continue;
            p = strchr(p, '"');
            if (!p) continue;
            size_t n = strcspn(p + 1, "\"");
            if (n && n < sizeof val) { memcpy(val, p + 1, n); val[n] = 0; }
        }
        free(data);
    }
    kv(b, "vm_size", val);
}

static void frequency(cb_buf *b)
{
    char v[128];
    read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", v, sizeof v);
    kv(b, "cpu_governor", v);
    read_line("/sys/devices/system/cpu/cpufreq/boost", v, sizeof v);
    if (v[0]) {
        kv(b, "cpu_boost", strcmp(v, "1") == 0 ? "enabled" : "disabled");
        return;
    }
    read_line("/sys/devices/system/cpu/intel_pstate/no_turbo", v, sizeof v);
    kv(b, "cpu_boost", v[0] ? (strcmp(v, "0") == 0 ? "enabled" : "disabled") : "unknown");
}

/* Transparent huge pages: the bracketed word of "always [madvise] never":
 * whether reuse buffers got the 2 MiB pages they ask for (bench/cells.c),
 * and numpy's large arrays the ones it asks for. */
static void huge_pages(cb_buf *b)
{
    char v[128];
    const char *open, *close;
    read_line("/sys/kernel/mm/transparent_hugepage/enabled", v, sizeof v);
    if ((open = strchr(v, '[')) && (close = strchr(open, ']'))) {
        memmove(v, open + 1, (size_t)(close - open - 1));
        v[close - open - 1] = 0;
    } else {
        v[0] = 0;
    }
    kv(b, "thp_enabled", v);
}

/* A shared library's version from the file name the process mapped
 * (libbenchmark.so.1.7.1): for libraries with no version function. */
static void mapped_version(const char *soname, char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    out[0] = 0;
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char *p = strchr(line, '/');
        if (!p || !strstr(p, soname)) continue;
        p[strcspn(p, "\n")] = 0;
        char real[PATH_MAX];
        if (!realpath(p, real)) continue;
        char *v = strstr(real, ".so.");
        if (v) snprintf(out, cap, "%s", v + 4);
        break;
    }
    fclose(f);
}

/* The facts of every codec and hash row (codec.h, hash.h) and the members of
 * every named set, so that the report reads the facts of the run it reports
 * (results/README.md, "env.tsv"). */
static void facts(cb_buf *b)
{
    char key[160], v[1024];
    size_t i;
    for (i = 0; i < codec_count; i++) {
        const codec_desc *c = &codec_table[i];
#define CODEC_FACT(what, value) (snprintf(key, sizeof key, "codec_" what "_%s", c->name), kv(b, key, value))
        CODEC_FACT("family", c->family ? c->family : "unknown");
        CODEC_FACT("format", c->stream_format ? c->stream_format : "unknown");
        CODEC_FACT("metaflow_readable", c->gzip_compatible ? "yes" : "no");
        CODEC_FACT("ceiling", c->ceiling ? "yes" : "no");
        CODEC_FACT("library", c->library);
        if (c->stream_begin && c->stream_same_min_level != CODEC_STREAM_DIFFERS)
            snprintf(v, sizeof v, "levels %d..%d", c->stream_same_min_level > c->level_min ? c->stream_same_min_level : c->level_min, c->level_max);
        else
            snprintf(v, sizeof v, "%s", c->stream_begin ? "no" : "no streaming API");
        CODEC_FACT("stream_same", v);
        CODEC_FACT("python", c->python_call ? c->python_call : "-");
        CODEC_FACT("python_note", c->python_note ? c->python_note : "-");
#undef CODEC_FACT
    }
    for (i = 0; i < hash_count; i++) {
        const hash_desc *h = &hash_table[i];
#define HASH_FACT(what, value) (snprintf(key, sizeof key, "hash_" what "_%s", h->name), kv(b, key, value))
        snprintf(v, sizeof v, "%d", 8 * h->digest_bytes);
        HASH_FACT("bits", v);
        HASH_FACT("cryptographic", hash_security_text(h->security));
        HASH_FACT("library", h->library);
        HASH_FACT("python", h->python_call ? h->python_call : "-");
        HASH_FACT("python_note", h->python_note ? h->python_note : "-");
#undef HASH_FACT
    }
    for (i = 0; cb_set_names[i].name; i++) {
        snprintf(key, sizeof key, "set_%s_codecs", cb_set_names[i].name);
        codec_set_specs(cb_set_names[i].bit, v, sizeof v);
        kv(b, key, v);
        snprintf(key, sizeof key, "set_%s_hashes", cb_set_names[i].name);
        hash_set_names(cb_set_names[i].bit, v, sizeof v);
        kv(b, key, v);
    }
}

/* lib_LIBRARY once per library, whichever codec or hash module reports it first. */
static void library_row(cb_buf *b, const char **seen, size_t *nseen, const char *library, const char *(*version)(void))
{
    char key[128];
    size_t j;
    for (j = 0; j < *nseen && strcmp(seen[j], library) != 0; j++) {}
    if (j < *nseen || *nseen == 64) return;
    seen[(*nseen)++] = library;
    snprintf(key, sizeof key, "lib_%s", library);
    kv(b, key, version ? version() : "unknown");
}

static void libraries(cb_buf *b)
{
    char key[128], v[256];
    const char *seen[64];
    size_t nseen = 0, i;
    for (i = 0; i < codec_count; i++) library_row(b, seen, &nseen, codec_table[i].library, codec_table[i].version);
    for (i = 0; i < hash_count; i++) library_row(b, seen, &nseen, hash_table[i].library, hash_table[i].version);
    for (i = 0; i < hash_count; i++) {
        snprintf(key, sizeof key, "hash_impl_%s", hash_table[i].name);
        kv(b, key, hash_table[i].implementation ? hash_table[i].implementation() : "unknown");
    }
    mapped_version("libbenchmark.so", v, sizeof v);
    kv(b, "lib_benchmark", v);
    facts(b);
}

int env_write(const char *path, const char *const *extra, char *err, size_t errlen)
{
    cb_buf b = {0};
    char v[512];
    struct utsname u;
    env_utc_now(v, sizeof v, 0);
    kv(&b, "utc_time", v);
    if (gethostname(v, sizeof v) != 0) v[0] = 0;
    kv(&b, "host", v);
    kv(&b, "casbench_version", cb_version);
    kv(&b, "casbench_commit", cb_git_commit);
    kv(&b, "runtime", "c");
#if defined(__clang__)
    kv(&b, "compiler_c", "clang " __clang_version__);
#elif defined(__GNUC__)
    kv(&b, "compiler_c", "gcc " __VERSION__);
#else
    kv(&b, "compiler_c", "unknown");
#endif
    kv(&b, "compiler_cxx", gb_cxx_compiler());
    kv(&b, "cflags", CASBENCH_CFLAGS);
    libraries(&b);
    cpu_model_and_cores(&b);
    caches(&b);
    if (uname(&u) == 0) {
        snprintf(v, sizeof v, "%s %s %s", u.sysname, u.release, u.machine);
        kv(&b, "kernel", v);
    } else {
        kv(&b, "kernel", "unknown");
    }
    frequency(&b);
    huge_pages(&b);
    hypervisor(&b);
    vm_size(&b);
    kv(&b, "gbench_cpu_scaling", gb_cpu_scaling());
    kv(&b, "gbench_warning", strcmp(gb_cpu_scaling(), "enabled") == 0
                                 ? "CPU frequency scaling is enabled: real-time results may be noisy"
                                 : "none");
    for (; extra && extra[0] && extra[1]; extra += 2) kv(&b, extra[0], extra[1]);
    if (b.oom) { cb_buf_free(&b); return cb_err(err, errlen, "out of memory"); }
    int rc = cb_write_atomic(path, b.p, b.n, CB_DURABLE, NULL, err, errlen);
    cb_buf_free(&b);
    return rc;
}

int env_append(const char *path, const char *key, const char *value, char *err, size_t errlen)
{
    cb_buf b = {0};
    kv(&b, key, value);
    if (b.oom) { cb_buf_free(&b); return cb_err(err, errlen, "out of memory"); }
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    int rc = 0;
    if (fd < 0 || cb_write_all(fd, b.p, b.n) != 0 || fsync(fd) != 0)
        rc = cb_err(err, errlen, "%s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    cb_buf_free(&b);
    return rc;
}

char *env_lookup(const char *path, const char *key)
{
    uint8_t *data;
    size_t len, klen = strlen(key);
    char e[64], *val = NULL;
    if (cb_read_file(path, 1 << 24, &data, &len, e, sizeof e) != 0) return NULL;
    char *line = (char *)data;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        if (strncmp(line, key, klen) == 0 && line[klen] == '\t') {
            free(val);
            val = strdup(line + klen + 1);   /* the last row wins */
        }
        line = nl ? nl + 1 : NULL;
    }
    free(data);
    return val;
}
