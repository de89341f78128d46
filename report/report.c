/* report.c - see report.h. */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report_pr3090.h"
#include "report_rounds.h"
#include "rundir.h"
#include "tsv.h"
#include "util.h"

/* ------------------------------------------------------------------ facts */

/* Facts about formats and algorithms, not measurements. */
typedef enum { FAM_CEILING, FAM_GZIP, FAM_NEWVERSION, FAM_UNKNOWN } codec_family;
static const struct { const char *name; codec_family fam; } codec_facts[] = {
    {"none", FAM_CEILING},
    {"gzip", FAM_GZIP}, {"libdeflate", FAM_GZIP}, {"isal", FAM_GZIP},
    /* zlib: the RFC 1950 format (zlib.compress), not a gzip stream */
    {"lz4", FAM_NEWVERSION}, {"zstd", FAM_NEWVERSION}, {"zlib", FAM_NEWVERSION},
};

static codec_family codec_fam(const char *name)
{
    size_t i;
    for (i = 0; i < sizeof codec_facts / sizeof codec_facts[0]; i++)
        if (strcmp(codec_facts[i].name, name) == 0) return codec_facts[i].fam;
    return FAM_UNKNOWN;
}

/* The family of "codec:level". */
static codec_family spec_fam(const char *spec)
{
    char name[64];
    const char *colon = strrchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len >= sizeof name) return FAM_UNKNOWN;
    memcpy(name, spec, len);
    name[len] = 0;
    return codec_fam(name);
}

static const char *fam_text(codec_family f)
{
    switch (f) {
    case FAM_CEILING: return "ceiling (stores the blob as is)";
    case FAM_GZIP: return "yes (gzip stream, cas_version 1)";
    case FAM_NEWVERSION: return "no (needs a new cas_version)";
    default: return "unknown";
    }
}

/* 1: a cryptographic hash with no known practical collision; 2: designed as
 * one but broken for collisions (SHA-1, SHAttered 2017); 0: not cryptographic. */
static const struct { const char *prefix; int crypto; } hash_facts[] = {
    {"sha1", 2}, {"sha224", 1}, {"sha256", 1}, {"sha384", 1}, {"sha512", 1}, {"sha3", 1},
    {"blake2", 1}, {"blake3", 1}, {"md5", 2},
    {"xxh", 0}, {"crc", 0}, {"murmur", 0}, {"city", 0}, {"wyhash", 0}, {"t1ha", 0},
};

static int hash_crypto(const char *name)
{
    size_t i;
    for (i = 0; i < sizeof hash_facts / sizeof hash_facts[0]; i++)
        if (strncmp(name, hash_facts[i].prefix, strlen(hash_facts[i].prefix)) == 0)
            return hash_facts[i].crypto;
    return -1;
}

static const char *crypto_text(int c)
{
    return c == 1 ? "yes" : c == 2 ? "broken (collisions known)" : c == 0 ? "no" : "unknown";
}

/* ------------------------------------------------------------ small helpers */

typedef struct { char **v; size_t n; } strlist;

static int sl_has(const strlist *l, const char *s)
{
    size_t i;
    for (i = 0; i < l->n; i++) if (strcmp(l->v[i], s) == 0) return 1;
    return 0;
}

static void sl_add(strlist *l, const char *s)
{
    char **nv;
    if (sl_has(l, s)) return;
    nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv || !(nv[l->n] = strdup(s))) cb_fail(CB_EXIT_ENV, "out of memory");
    l->v = nv;
    l->n++;
}

static void sl_free(strlist *l)
{
    size_t i;
    for (i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

#define NUM(v) CB_FMT3(v)

/* A payload or codec name made safe for a file name. */
static const char *slug(const char *s, char *buf, size_t n)
{
    size_t i;
    for (i = 0; s[i] && i + 1 < n; i++)
        buf[i] = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                 (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ? s[i] : '_';
    buf[i] = 0;
    return buf;
}
#define SLUG(s) slug((s), (char[128]){0}, 128)

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int r;
    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) cb_fail(CB_EXIT_ENV, "out of memory");
    return s;
}

/* Write data to path through path.tmp + rename. */
static int write_atomic(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
    char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        cb_err(err, errlen, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    if (cb_write_all(fd, data, len) != 0 || close(fd) != 0) {
        cb_err(err, errlen, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        cb_err(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

/* ------------------------------------------------------------ the context */

typedef struct {
    char *script;   /* file name under scripts_dir */
    char *expr;     /* gnuplot -e assignments */
    char *out;      /* RUN_DIR/plots/<base>, without extension */
} plot_job;

typedef struct report_ctx {
    const rundir *run;
    const rundir *python;   /* --python: a run of infra/python_path.py, or NULL */
    const report_opts *opts;
    tsv_table *published;
    const char *published_path;
    char *plots_dir;
    const char *alloc;      /* the allocation mode the sections use */
    int protocol;           /* the pickle protocol the sections use */
    strlist payloads;       /* non-sweep payloads, in file order */
    strlist codecs;         /* "codec:level" of compress rows, in file order */
    strlist hashes;         /* hash names of hash rows, in file order */
    strlist written;        /* file names this report wrote into plots/ */
    plot_job *jobs;
    size_t njobs;
    int failed;             /* a data file could not be written */
    char *err;
    size_t errlen;
} report_ctx;

typedef struct {
    const char *title;
    void (*write)(report_ctx *c, FILE *md);
    int in_readme;          /* part of the README excerpt */
} report_section;

/* Find the ok row with these fields under the context's protocol (sweep rows
 * carry none); NULL strings match empty fields; level is compared only when
 * codec is not empty. */
static const rundir_row *find(const report_ctx *c, const char *payload, const char *stage,
                              const char *variant, const char *codec, int level,
                              const char *hash, const char *alloc)
{
    size_t i;
    int pass;
    /* alloc NULL: the context's mode, else any mode (a harness may measure
     * a stage that allocates nothing, such as hash, in one mode only). */
    for (pass = 0; pass < (alloc ? 1 : 2); pass++)
        for (i = 0; i < c->run->nrows; i++) {
            const rundir_row *w = &c->run->rows[i];
            if (!w->ok || strcmp(w->payload, payload) != 0 || strcmp(w->stage, stage) != 0)
                continue;
            if (strcmp(payload, "sweep") != 0 && w->protocol != c->protocol) continue;
            if (strcmp(w->variant, variant ? variant : "") != 0) continue;
            if (strcmp(w->codec, codec ? codec : "") != 0) continue;
            if (codec && *codec && w->level != level) continue;
            if (strcmp(w->hash, hash ? hash : "") != 0) continue;
            if (pass == 0 && strcmp(w->alloc, alloc ? alloc : c->alloc) != 0) continue;
            return w;
        }
    return NULL;
}

/* "gzip:3" -> codec "gzip", level 3. */
static void split_spec(const char *spec, char *codec, size_t n, int *level)
{
    const char *colon = strrchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len >= n) len = n - 1;
    memcpy(codec, spec, len);
    codec[len] = 0;
    *level = colon ? atoi(colon + 1) : RUNDIR_NO_LEVEL;
}

static const rundir_row *find_spec(const report_ctx *c, const char *payload, const char *stage,
                                   const char *variant, const char *spec, const char *hash,
                                   const char *alloc)
{
    char codec[64];
    int level;
    split_spec(spec, codec, sizeof codec, &level);
    return find(c, payload, stage, variant, codec, level, hash, alloc);
}

static void add_job(report_ctx *c, const char *script, const char *base, char *expr)
{
    plot_job *nj = realloc(c->jobs, (c->njobs + 1) * sizeof *nj);
    if (!nj) cb_fail(CB_EXIT_ENV, "out of memory");
    c->jobs = nj;
    nj[c->njobs].script = strdup(script);
    nj[c->njobs].out = xasprintf("%s/%s", c->plots_dir, base);
    nj[c->njobs].expr = expr;
    c->njobs++;
}

/* A gnuplot string literal: single quotes, '' for a quote. */
static char *gq(const char *s)
{
    size_t n = 3, i, k = 0;
    char *o;
    for (i = 0; s[i]; i++) n += s[i] == '\'' ? 2 : 1;
    o = malloc(n);
    if (!o) cb_fail(CB_EXIT_ENV, "out of memory");
    o[k++] = '\'';
    for (i = 0; s[i]; i++) {
        if (s[i] == '\'') o[k++] = '\'';
        o[k++] = s[i];
    }
    o[k++] = '\'';
    o[k] = 0;
    return o;
}

/* Write a derived data file into plots/; its path (for gnuplot) is returned. */
static char *write_data(report_ctx *c, const char *name, char *text, size_t len)
{
    char *path = xasprintf("%s/%s", c->plots_dir, name);
    if (!c->failed && write_atomic(path, text, len, c->err, c->errlen) != 0) c->failed = 1;
    sl_add(&c->written, name);
    free(text);
    return path;
}

static void mem_open(FILE **f, char **buf, size_t *len)
{
    *f = open_memstream(buf, len);
    if (!*f) cb_fail(CB_EXIT_ENV, "out of memory");
}

static double ms(double ns) { return ns / 1e6; }
static double mbps(uint64_t bytes, double ns) { return (double)bytes / ns * 1e3; }

/* ----------------------------------------------------- 1. environment */

/* The first of several spellings of an env.tsv key that has a value (the
 * brief's names and the harness's may differ; both are read). */
static const char *env_any(const rundir *r, const char *const *keys)
{
    for (; *keys; keys++)
        if (strcmp(rundir_env(r, *keys), "unknown") != 0) return rundir_env(r, *keys);
    return "unknown";
}
#define ENV(...) env_any(r, (const char *const[]){__VA_ARGS__, NULL})

/* Every env.tsv row whose key starts with prefix (or contains it, when
 * contains is set), as "key value" pairs joined by ", "; the prefix is cut. */
static void env_list(FILE *md, const rundir *r, const char *prefix, int contains, int cut)
{
    size_t i, n = 0;
    for (i = 0; i < tsv_nrows(r->env); i++) {
        const char *k = tsv_str(r->env, i, 0), *v = tsv_str(r->env, i, 1);
        if (contains ? !strstr(k, prefix) : strncmp(k, prefix, strlen(prefix)) != 0) continue;
        fprintf(md, "%s%s %s", n++ ? ", " : "", cut ? k + strlen(prefix) : k, *v ? v : "unknown");
    }
    if (!n) fprintf(md, "unknown");
}

static void sec_env(report_ctx *c, FILE *md)
{
    const rundir *r = c->run;
    size_t i, nerr = 0;
    static const char *const libs[] = {"zlib", "libdeflate", "isal", "lz4", "zstd", "openssl",
                                       "xxhash", "blake3", "blake3_simd", "benchmark"};
    int have_lib_keys = 0;
    fprintf(md, "Source: `%s` and `%s`.\n\n", r->env_path, r->matrix_path);
    fprintf(md, "| item | value |\n|---|---|\n");
    fprintf(md, "| run at (UTC) | %s |\n", ENV("utc_time"));
    fprintf(md, "| casbench | %s (commit %s) |\n", ENV("casbench_version"),
            ENV("git_commit", "casbench_commit"));
    fprintf(md, "| runtime | %s |\n", ENV("runtime"));
    fprintf(md, "| compiler, flags | %s, `%s` |\n", ENV("compiler", "compiler_c"), ENV("cflags"));
    fprintf(md, "| CPU | %s |\n", ENV("cpu_model"));
    fprintf(md, "| cores (logical / physical) | %s / %s |\n",
            ENV("logical_cores", "cpus_logical"), ENV("physical_cores", "cores_physical"));
    fprintf(md, "| caches | ");
    env_list(md, r, "cache", 1, 0);
    fprintf(md, " |\n| CPU flags | ");
    if (strcmp(ENV("flags"), "unknown") != 0) fprintf(md, "%s", ENV("flags"));
    else env_list(md, r, "cpu_flag_", 0, 1);
    fprintf(md, " |\n");
    fprintf(md, "| kernel | %s |\n", ENV("kernel"));
    fprintf(md, "| governor / boost | %s / %s |\n", ENV("governor", "cpu_governor"),
            ENV("boost", "cpu_boost"));
    fprintf(md, "| VM | %s %s |\n", ENV("hypervisor_vendor", "hypervisor_cpuid", "dmi_sys_vendor"),
            ENV("vm_size", "dmi_product_name"));
    fprintf(md, "| libraries | ");
    for (i = 0; i < tsv_nrows(r->env); i++)
        if (strncmp(tsv_str(r->env, i, 0), "lib_", 4) == 0) have_lib_keys = 1;
    if (have_lib_keys) {
        env_list(md, r, "lib_", 0, 1);
    } else {
        for (i = 0; i < sizeof libs / sizeof libs[0]; i++)
            fprintf(md, "%s%s %s", i ? ", " : "", libs[i], rundir_env(r, libs[i]));
    }
    fprintf(md, " |\n");
    for (i = 0; i < tsv_nrows(r->env); i++)
        if (strncmp(tsv_str(r->env, i, 0), "hash_impl_", 10) == 0) {
            fprintf(md, "| hash implementations | ");
            env_list(md, r, "hash_impl_", 0, 1);
            fprintf(md, " |\n");
            break;
        }
    for (i = 0; i < r->nrows; i++) nerr += !r->rows[i].ok;
    fprintf(md, "| rows | %zu (%zu ok, %zu error) |\n", r->nrows, r->nrows - nerr, nerr);
    fprintf(md, "| sections use | pickle protocol %d; `%s` allocation where a table does not "
            "say otherwise (a stage measured in the other mode only is taken from it) |\n\n",
            c->protocol, c->alloc);
    if (nerr) {
        fprintf(md, "Cells that failed (not used anywhere below):\n\n");
        for (i = 0; i < r->nrows; i++) {
            char id[512];
            if (r->rows[i].ok) continue;
            rundir_row_id(&r->rows[i], id, sizeof id);
            fprintf(md, "- line %zu `%s`: %s\n", r->rows[i].line, id,
                    *r->rows[i].message ? r->rows[i].message : "(no message)");
        }
        fprintf(md, "\n");
    }
}

/* ----------------------------------------------- 2. PR #3090 reproduction */

/* The section and pr3090.tsv live in report_pr3090.c. */
static void sec_pr3090(report_ctx *c, FILE *md)
{
    if (pr3090_section(c->published, c->published_path, c->run, c->python, md, c->err, c->errlen) != 0)
        c->failed = 1;
}

/* ---------------------------------------------- 3. where the time goes */

static void sec_stages(report_ctx *c, FILE *md)
{
    size_t p, k;
    fprintf(md, "Each bar adds the medians of the separate stages `pickle`, `hash` and "
            "`compress` (`%s` allocation) for one codec with `sha1`, and for `lz4:0` with "
            "each hash.\n\n", c->alloc);
    for (p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        const rundir_row *pk = find(c, pl, "pickle", "", "", -1, "", NULL);
        const rundir_row *h1 = find(c, pl, "hash", "", "", -1, "sha1", NULL);
        char *buf, *base, *path;
        size_t len, nbars = 0;
        FILE *f;
        if (!pk) continue;
        mem_open(&f, &buf, &len);
        fprintf(f, "config\tpickle_ms\thash_ms\tcompress_ms\n");
        for (k = 0; k < c->codecs.n; k++) {
            const rundir_row *cp = find_spec(c, pl, "compress", "", c->codecs.v[k], "", NULL);
            if (!cp || !h1) continue;
            fprintf(f, "%s+sha1\t%.6g\t%.6g\t%.6g\n", c->codecs.v[k], ms(pk->median_ns),
                    ms(h1->median_ns), ms(cp->median_ns));
            nbars++;
        }
        for (k = 0; k < c->hashes.n; k++) {
            const rundir_row *cp = find(c, pl, "compress", "", "lz4", 0, "", NULL);
            const rundir_row *h = find(c, pl, "hash", "", "", -1, c->hashes.v[k], NULL);
            if (!cp || !h || strcmp(c->hashes.v[k], "sha1") == 0) continue;
            fprintf(f, "lz4:0+%s\t%.6g\t%.6g\t%.6g\n", c->hashes.v[k], ms(pk->median_ns),
                    ms(h->median_ns), ms(cp->median_ns));
            nbars++;
        }
        fclose(f);
        if (!nbars) { free(buf); continue; }
        base = xasprintf("stages-%s", SLUG(pl));
        {
            char *name = xasprintf("%s.tsv", base);
            path = write_data(c, name, buf, len);
            free(name);
        }
        {
            char *qd = gq(path), *qt = gq(pl);
            add_job(c, "stages.gp", base, xasprintf("data=%s; title=%s", qd, qt));
            free(qd);
            free(qt);
        }
        fprintf(md, "![save-path stages, %s](plots/%s.png) ", pl, base);
        free(base);
        free(path);
    }
    fprintf(md, "\n\nAfter lz4 (`lz4:0` with `sha1`), the stage that dominates each payload "
            "(largest median of the three):\n\n");
    fprintf(md, "| payload | pickle ms | sha1 ms | lz4:0 compress ms | dominant | its share | "
            "measured save (lz4:0, sha1) ms |\n|---|---|---|---|---|---|---|\n");
    for (p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        const rundir_row *s[3] = {find(c, pl, "pickle", "", "", -1, "", NULL),
                                  find(c, pl, "hash", "", "", -1, "sha1", NULL),
                                  find(c, pl, "compress", "", "lz4", 0, "", NULL)};
        const rundir_row *sv = find(c, pl, "save", "sequential", "lz4", 0, "sha1", NULL);
        static const char *const names[3] = {"pickle", "hash (sha1)", "compress (lz4:0)"};
        int best = 0, j;
        double sum;
        if (!s[0] || !s[1] || !s[2]) continue;
        sum = s[0]->median_ns + s[1]->median_ns + s[2]->median_ns;
        for (j = 1; j < 3; j++) if (s[j]->median_ns > s[best]->median_ns) best = j;
        fprintf(md, "| %s | %s | %s | %s | **%s** | %s %% | %s |\n", pl, NUM(ms(s[0]->median_ns)),
                NUM(ms(s[1]->median_ns)), NUM(ms(s[2]->median_ns)), names[best],
                NUM(100.0 * s[best]->median_ns / sum), sv ? NUM(ms(sv->median_ns)) : "-");
    }
    fprintf(md, "\n");
}

/* --------------------------------------------------------- 4. codecs */

typedef struct { const char *spec; double ratio, cs, ds; int pc, pd; codec_family fam; } cpoint;

/* Pareto front on (speed, ratio), both larger-is-better; `none` is a ceiling,
 * not a candidate, so it never sits on the front. */
static void pareto(cpoint *pt, size_t n, int decompress)
{
    size_t i, j;
    for (i = 0; i < n; i++) {
        double si = decompress ? pt[i].ds : pt[i].cs;
        int dominated = pt[i].fam == FAM_CEILING;
        for (j = 0; j < n && !dominated; j++) {
            double sj = decompress ? pt[j].ds : pt[j].cs;
            if (j == i || pt[j].fam == FAM_CEILING) continue;
            if (sj >= si && pt[j].ratio >= pt[i].ratio && (sj > si || pt[j].ratio > pt[i].ratio))
                dominated = 1;
        }
        if (decompress) pt[i].pd = !dominated; else pt[i].pc = !dominated;
    }
}

static int cmp_cs(const void *a, const void *b)
{
    const cpoint *x = a, *y = b;
    return (x->cs > y->cs) - (x->cs < y->cs);
}
static int cmp_ds(const void *a, const void *b)
{
    const cpoint *x = a, *y = b;
    return (x->ds > y->ds) - (x->ds < y->ds);
}

static void sec_codecs(report_ctx *c, FILE *md)
{
    size_t p, k;
    fprintf(md, "Per payload: compression ratio (pickled bytes / compressed bytes) against "
            "throughput (pickled bytes per second, 10^6 B/s) of the `compress` and `decompress` "
            "stages (`%s` allocation). Pareto front: no other codec is both at least as fast "
            "and at least as small, and better in one; `none` is the ceiling, not a candidate. "
            "Filled circles are gzip streams today's metaflow reads (cas_version 1); triangles "
            "need a new cas_version (PR #3090's lz4, zstd).\n\n", c->alloc);
    for (p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        cpoint *pt = calloc(c->codecs.n + 1, sizeof *pt), *sorted;
        size_t n = 0;
        char *buf, *base, *name, *path, *qd, *qt;
        size_t len;
        FILE *f;
        if (!pt) cb_fail(CB_EXIT_ENV, "out of memory");
        for (k = 0; k < c->codecs.n; k++) {
            const rundir_row *cr = find_spec(c, pl, "compress", "", c->codecs.v[k], "", NULL);
            const rundir_row *dr = find_spec(c, pl, "decompress", "", c->codecs.v[k], "", NULL);
            char codec[64];
            int level;
            if (!cr || !dr || !cr->bytes_out) continue;
            split_spec(c->codecs.v[k], codec, sizeof codec, &level);
            pt[n].spec = c->codecs.v[k];
            pt[n].ratio = (double)cr->pickled_bytes / (double)cr->bytes_out;
            pt[n].cs = mbps(cr->pickled_bytes, cr->median_ns);
            pt[n].ds = mbps(cr->pickled_bytes, dr->median_ns);
            pt[n].fam = codec_fam(codec);
            n++;
        }
        if (!n) { free(pt); continue; }
        pareto(pt, n, 0);
        pareto(pt, n, 1);
        fprintf(md, "**%s** (%llu bytes pickled)\n\n", pl,
                (unsigned long long)find_spec(c, pl, "compress", "", pt[0].spec, "", NULL)->pickled_bytes);
        fprintf(md, "| codec | readable by today's metaflow | ratio | compress MB/s | "
                "decompress MB/s | Pareto (compress) | Pareto (decompress) |\n"
                "|---|---|---|---|---|---|---|\n");
        for (k = 0; k < n; k++)
            fprintf(md, "| %s | %s | %s | %s | %s | %s | %s |\n", pt[k].spec, fam_text(pt[k].fam),
                    NUM(pt[k].ratio), NUM(pt[k].cs), NUM(pt[k].ds), pt[k].pc ? "yes" : "",
                    pt[k].pd ? "yes" : "");
        mem_open(&f, &buf, &len);
        /* Block 0: every point; block 1: the compress front by speed; block 2:
         * the decompress front. family: 0 ceiling, 1 gzip, 2 new version, 3 unknown. */
        fprintf(f, "codec\tfamily\tratio\tcompress_mbps\tdecompress_mbps\n");
        for (k = 0; k < n; k++)
            fprintf(f, "%s\t%d\t%.6g\t%.6g\t%.6g\n", pt[k].spec,
                    pt[k].fam == FAM_CEILING ? 0 : pt[k].fam == FAM_GZIP ? 1 :
                    pt[k].fam == FAM_NEWVERSION ? 2 : 3, pt[k].ratio, pt[k].cs, pt[k].ds);
        sorted = malloc(n * sizeof *sorted);
        if (!sorted) cb_fail(CB_EXIT_ENV, "out of memory");
        memcpy(sorted, pt, n * sizeof *pt);
        qsort(sorted, n, sizeof *sorted, cmp_cs);
        fprintf(f, "\n\ncodec\tfamily\tratio\tcompress_mbps\tdecompress_mbps\n");
        for (k = 0; k < n; k++)
            if (sorted[k].pc)
                fprintf(f, "%s\t0\t%.6g\t%.6g\t%.6g\n", sorted[k].spec, sorted[k].ratio,
                        sorted[k].cs, sorted[k].ds);
        qsort(sorted, n, sizeof *sorted, cmp_ds);
        fprintf(f, "\n\ncodec\tfamily\tratio\tcompress_mbps\tdecompress_mbps\n");
        for (k = 0; k < n; k++)
            if (sorted[k].pd)
                fprintf(f, "%s\t0\t%.6g\t%.6g\t%.6g\n", sorted[k].spec, sorted[k].ratio,
                        sorted[k].cs, sorted[k].ds);
        fclose(f);
        base = xasprintf("codecs-%s", SLUG(pl));
        name = xasprintf("%s.tsv", base);
        path = write_data(c, name, buf, len);
        qd = gq(path);
        qt = gq(pl);
        {
            char *b1 = xasprintf("%s-compress", base), *b2 = xasprintf("%s-decompress", base);
            size_t unknown = 0;
            for (k = 0; k < n; k++) unknown += pt[k].fam == FAM_UNKNOWN;
            add_job(c, "codecs.gp", b1, xasprintf("data=%s; title=%s; which='compress'; "
                                                  "unknown=%zu", qd, qt, unknown));
            add_job(c, "codecs.gp", b2, xasprintf("data=%s; title=%s; which='decompress'; "
                                                  "unknown=%zu", qd, qt, unknown));
            fprintf(md, "\n![%s compress](plots/%s.png) ![%s decompress](plots/%s.png)\n\n",
                    pl, b1, pl, b2);
            free(b1);
            free(b2);
        }
        free(qd);
        free(qt);
        free(name);
        free(path);
        free(base);
        free(sorted);
        free(pt);
    }
}

/* ------------------------------------------------- 5. the SHA-1 proposal */

/* Birthday bound for n keys of b bits: 1 - exp(-n(n-1)/2^(b+1)). expm1
 * keeps the tiny values that 1 - exp() would round to zero. */
static double birthday(double n, int bits)
{
    return -expm1(-ldexp(n * (n - 1.0), -(bits + 1)));
}

/* Throughput of `hash` near `target` bytes: the payload row if there is one,
 * else the sweep row of the nearest size (log distance). */
static double hash_tput(const report_ctx *c, const char *hash, const char *payload,
                        double target, char *src, size_t srcn)
{
    const rundir_row *w = find(c, payload, "hash", "", "", -1, hash, NULL), *best = NULL;
    size_t i;
    if (w) {
        snprintf(src, srcn, "%s", payload);
        return mbps(w->bytes_in, w->median_ns);
    }
    for (i = 0; i < c->run->nrows; i++) {
        const rundir_row *s = &c->run->rows[i];
        if (!s->ok || strcmp(s->payload, "sweep") || strcmp(s->stage, "hash") ||
            strcmp(s->hash, hash) || !s->bytes_in)
            continue;
        if (!best || fabs(log((double)s->bytes_in / target)) < fabs(log((double)best->bytes_in / target)))
            best = s;
    }
    if (!best) { snprintf(src, srcn, "-"); return NAN; }
    snprintf(src, srcn, "sweep %llu B", (unsigned long long)best->bytes_in);
    return mbps(best->bytes_in, best->median_ns);
}

/* Digest size in bytes from any hash row (bytes_out is the digest size). */
static int digest_bytes(const report_ctx *c, const char *hash)
{
    size_t i;
    for (i = 0; i < c->run->nrows; i++) {
        const rundir_row *w = &c->run->rows[i];
        if (w->ok && strcmp(w->stage, "hash") == 0 && strcmp(w->hash, hash) == 0 && w->bytes_out)
            return (int)w->bytes_out;
    }
    return 0;
}

static void sec_hashes(report_ctx *c, FILE *md)
{
    static const struct { const char *payload; double bytes; const char *label; } at[] = {
        {"config", 233, "233 B"}, {"metrics", 52e3, "52 KB"}, {"weights", 8e6, "8 MB"},
    };
    static const double ns[] = {1e6, 1e9, 1e12};
    size_t h, i, k, nsweep = 0;
    char *buf, *names = NULL;
    size_t len;
    FILE *f;

    mem_open(&f, &buf, &len);
    for (h = 0; h < c->hashes.n; h++) {
        size_t before = nsweep;
        /* Rows in file order; gnuplot wants each line sorted by size. */
        uint64_t last = 0;
        for (;;) {
            const rundir_row *next = NULL;
            for (i = 0; i < c->run->nrows; i++) {
                const rundir_row *s = &c->run->rows[i];
                if (s->ok && !strcmp(s->payload, "sweep") && !strcmp(s->stage, "hash") &&
                    !strcmp(s->hash, c->hashes.v[h]) && s->bytes_in > last &&
                    (!next || s->bytes_in < next->bytes_in))
                    next = s;
            }
            if (!next) break;
            if (nsweep == before) fprintf(f, "%s# %s\nbytes\tmb_per_s\n", before ? "\n\n" : "", c->hashes.v[h]);
            fprintf(f, "%llu\t%.6g\n", (unsigned long long)next->bytes_in,
                    mbps(next->bytes_in, next->median_ns));
            last = next->bytes_in;
            nsweep++;
        }
        if (nsweep > before) {
            char *nn = xasprintf("%s%s%s", names ? names : "", names ? " " : "", c->hashes.v[h]);
            free(names);
            names = nn;
        }
    }
    fclose(f);
    if (nsweep) {
        char *path = write_data(c, "hash-sweep.tsv", buf, len), *qd = gq(path), *qn = gq(names);
        add_job(c, "hashsweep.gp", "hash-sweep", xasprintf("data=%s; names=%s", qd, qn));
        fprintf(md, "Hash throughput against input size (`sweep` rows, stage `hash`):\n\n"
                "![hash throughput](plots/hash-sweep.png)\n\n");
        free(path);
        free(qd);
        free(qn);
    } else {
        free(buf);
        fprintf(md, "No `sweep` rows in this run: no throughput-by-size plot.\n\n");
    }
    free(names);

    fprintf(md, "Throughput in MB/s (10^6 B/s) at the sizes of the published payloads, from "
            "the payload's own `hash` row, or the nearest `sweep` size where the payload was "
            "not measured (named in the cell). Digest bits from the rows' digest size; "
            "\"cryptographic\" is a fact about the algorithm, not a measurement.\n\n");
    fprintf(md, "| hash | digest bits | cryptographic | hex key chars (SHA-1: 40) |");
    for (k = 0; k < 3; k++) fprintf(md, " MB/s at %s |", at[k].label);
    fprintf(md, "\n|---|---|---|---|---|---|---|\n");
    for (h = 0; h < c->hashes.n; h++) {
        int db = digest_bytes(c, c->hashes.v[h]);
        fprintf(md, "| %s | %d | %s | %d (%+d) |", c->hashes.v[h], 8 * db,
                crypto_text(hash_crypto(c->hashes.v[h])), 2 * db, 2 * db - 40);
        for (k = 0; k < 3; k++) {
            char src[64];
            double t = hash_tput(c, c->hashes.v[h], at[k].payload, at[k].bytes, src, sizeof src);
            if (strcmp(src, at[k].payload) == 0) fprintf(md, " %s |", NUM(t));
            else fprintf(md, " %s (%s) |", NUM(t), src);
        }
        fprintf(md, "\n");
    }
    fprintf(md, "\nKey length and metaflow's layout `<root>/<Flow>/data/<key[:2]>/<key>`: the "
            "two-character fan-out (256 directories) stays for any key of at least 2 hex "
            "characters; what changes is the file name's length (the column above) and, for "
            "keys shorter than 40, the odds of two different artifacts sharing a key. Keys of "
            "a new length never equal an old SHA-1 key, so old and new artifacts coexist but "
            "stop deduplicating against each other.\n\n");
    fprintf(md, "Birthday bound: probability that at least two of n stored artifacts share a "
            "key, p = 1 - exp(-n(n-1) / 2^(b+1)) (computed with expm1).\n\n"
            "| hash | bits | n = 10^6 | n = 10^9 | n = 10^12 |\n|---|---|---|---|---|\n");
    for (h = 0; h < c->hashes.n; h++) {
        int bits = 8 * digest_bytes(c, c->hashes.v[h]);
        fprintf(md, "| %s | %d |", c->hashes.v[h], bits);
        for (k = 0; k < 3; k++) fprintf(md, " %.2e |", birthday(ns[k], bits));
        fprintf(md, "\n");
    }
    fprintf(md, "\nShare of the `lz4:0` save path (stage `save`, `sequential`) that the hash "
            "costs: the hash stage median / the save median with that hash.\n\n| hash |");
    for (i = 0; i < c->payloads.n; i++) fprintf(md, " %s |", c->payloads.v[i]);
    fprintf(md, "\n|---|");
    for (i = 0; i < c->payloads.n; i++) fprintf(md, "---|");
    fprintf(md, "\n");
    for (h = 0; h < c->hashes.n; h++) {
        fprintf(md, "| %s |", c->hashes.v[h]);
        for (i = 0; i < c->payloads.n; i++) {
            const rundir_row *hr = find(c, c->payloads.v[i], "hash", "", "", -1, c->hashes.v[h], NULL);
            const rundir_row *sv = find(c, c->payloads.v[i], "save", "sequential", "lz4", 0,
                                        c->hashes.v[h], NULL);
            if (hr && sv) fprintf(md, " %s %% |", NUM(100.0 * hr->median_ns / sv->median_ns));
            else fprintf(md, " - |");
        }
        fprintf(md, "\n");
    }
    fprintf(md, "\n");
}

/* -------------------------------------------------- 6. save + upload */

#define BW_MIN 10.0       /* MB/s */
#define BW_MAX 10000.0
#define BW_POINTS 61

static void break_even(double cpu, double bytes, double cpu0, double bytes0, char *out, size_t n)
{
    /* cpu + bytes/bw < cpu0 + bytes0/bw  <=>  dc + db/bw < 0 (bw in B/ns). */
    double dc = cpu - cpu0, db = bytes - bytes0;
    if (dc == 0 && db == 0) snprintf(out, n, "(same)");
    else if (dc <= 0 && db <= 0) snprintf(out, n, "always");
    else if (dc >= 0 && db >= 0) snprintf(out, n, "never");
    else {
        double bw = db / -dc * 1e3;     /* B/ns -> MB/s */
        snprintf(out, n, "%s %s MB/s", dc < 0 ? "above" : "below", NUM(bw));
    }
}

static void sec_upload(report_ctx *c, FILE *md)
{
    static const char *const targets[] = {"embeddings", "weights"};
    size_t t, k, j;
    fprintf(md, "Total = CPU time of the save path (stage `save`, `sequential`, `sha1`, `%s` "
            "allocation) + compressed bytes / bandwidth, for bandwidths from %s MB/s to %s MB/s. "
            "Break-even: the bandwidth above which a codec's total is lower than `gzip:3`'s "
            "(\"always\": lower at every bandwidth; \"never\": at none; \"below\": it wins only "
            "on slower links). In the plots, the thick line is `gzip:3`.\n\n", c->alloc,
            NUM(BW_MIN), NUM(BW_MAX));
    for (t = 0; t < 2; t++) {
        const char *pl = targets[t];
        const rundir_row *g3 = find(c, pl, "save", "sequential", "gzip", 3, "sha1", NULL);
        char *buf, *names = NULL, *path, *qd, *qn, *base, *name;
        size_t len, ncurves = 0;
        FILE *f;
        if (!sl_has(&c->payloads, pl)) {
            fprintf(md, "Payload `%s` not in this run.\n\n", pl);
            continue;
        }
        mem_open(&f, &buf, &len);
        fprintf(md, "**%s**\n\n| codec | save CPU ms | compressed bytes | total ms at 100 MB/s | "
                "total ms at 1 GB/s | beats gzip:3 |\n|---|---|---|---|---|---|\n", pl);
        for (k = 0; k < c->codecs.n; k++) {
            const rundir_row *s = find_spec(c, pl, "save", "sequential", c->codecs.v[k], "sha1", NULL);
            char be[64] = "-";
            if (!s) continue;
            if (g3) break_even(s->median_ns, (double)s->bytes_out, g3->median_ns,
                               (double)g3->bytes_out, be, sizeof be);
            fprintf(md, "| %s | %s | %llu | %s | %s | %s |\n", c->codecs.v[k], NUM(ms(s->median_ns)),
                    (unsigned long long)s->bytes_out,
                    NUM(ms(s->median_ns + (double)s->bytes_out / 100e6 * 1e9)),
                    NUM(ms(s->median_ns + (double)s->bytes_out / 1000e6 * 1e9)), be);
            fprintf(f, "%s# %s\nbandwidth_mbps\ttotal_ms\n", ncurves ? "\n\n" : "", c->codecs.v[k]);
            for (j = 0; j < BW_POINTS; j++) {
                double bw = BW_MIN * pow(BW_MAX / BW_MIN, (double)j / (BW_POINTS - 1));
                fprintf(f, "%.6g\t%.6g\n", bw, ms(s->median_ns) + (double)s->bytes_out / (bw * 1e3));
            }
            {
                char *nn = xasprintf("%s%s%s", names ? names : "", names ? " " : "", c->codecs.v[k]);
                free(names);
                names = nn;
            }
            ncurves++;
        }
        fclose(f);
        if (!g3) fprintf(md, "\nNo `gzip:3` save row for %s: no break-even.\n", pl);
        if (!ncurves) { free(buf); free(names); fprintf(md, "\n"); continue; }
        base = xasprintf("upload-%s", SLUG(pl));
        name = xasprintf("%s.tsv", base);
        path = write_data(c, name, buf, len);
        qd = gq(path);
        qn = gq(names);
        {
            char *qt = gq(pl);
            add_job(c, "upload.gp", base, xasprintf("data=%s; names=%s; title=%s", qd, qn, qt));
            free(qt);
        }
        fprintf(md, "\n![save + upload, %s](plots/%s.png)\n\n", pl, base);
        free(qd);
        free(qn);
        free(path);
        free(name);
        free(base);
        free(names);
    }
}

/* ----------------------------------------------------- 7. recommendation */

typedef struct { const char *name; double score; size_t n; } ranked;
#define DIGEST_BYTES_MAX 65   /* hash.h's HASH_MAX_DIGEST + 1 */

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score) return (x->score > y->score) - (x->score < y->score);
    return strcmp(x->name, y->name);
}

/* Geometric mean over the payloads that have a baseline row of
 * candidate median / baseline median; NAN when the candidate misses one. */
static double geo_score(const report_ctx *c, const char *stage, const char *variant,
                        const char *base_spec, const char *base_hash,
                        const char *spec, const char *hash, size_t *npay)
{
    size_t p;
    double sum = 0;
    *npay = 0;
    for (p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        const rundir_row *b = base_spec ? find_spec(c, pl, stage, variant, base_spec, base_hash, NULL)
                                        : find(c, pl, stage, variant, "", -1, base_hash, NULL);
        const rundir_row *x;
        if (!b) continue;
        x = spec ? find_spec(c, pl, stage, variant, spec, hash, NULL)
                 : find(c, pl, stage, variant, "", -1, hash, NULL);
        if (!x) return NAN;
        sum += log(x->median_ns / b->median_ns);
        (*npay)++;
    }
    return *npay ? exp(sum / (double)*npay) : NAN;
}

static void sec_recommend(report_ctx *c, FILE *md)
{
    ranked *rc = calloc(c->codecs.n + 1, sizeof *rc), *rh = calloc(c->hashes.n + 1, sizeof *rh);
    size_t nc = 0, nh = 0, k, p;
    const ranked *best_gz = NULL, *best_any = NULL, *h_crypto = NULL, *h_40 = NULL, *h_any = NULL;
    if (!rc || !rh) cb_fail(CB_EXIT_ENV, "out of memory");

    fprintf(md, "Rules (applied to this run's rows; protocol %d, `%s` allocation):\n\n"
            "1. A codec's score is the geometric mean, over every payload with a `gzip:3` "
            "save row, of its save-path median (stage `save`, `sequential`, `sha1`) divided by "
            "`gzip:3`'s. Lower is faster; a codec missing any of those payloads is not "
            "ranked; `none` is a ceiling, not a candidate.\n"
            "2. **Codec for today's metaflow**: the lowest score among gzip-compatible codecs "
            "(their streams are cas_version 1, read by every metaflow release).\n"
            "3. **Codec overall**: the lowest score among all codecs (lz4/zstd need a new "
            "cas_version, which old metaflow installations cannot read).\n"
            "4. A hash's score is the geometric mean, over every payload with a `sha1` `hash` "
            "row, of its `hash`-stage median divided by `sha1`'s.\n"
            "5. **Hashes**: the lowest score among (a) cryptographic hashes without known "
            "collisions with at least 160-bit digests, (b) hashes with a 160-bit digest "
            "(a 40-hex key, metaflow's key length today), (c) all hashes; and the fastest at each "
            "digest length.\n\n", c->protocol, c->alloc);

    for (k = 0; k < c->codecs.n; k++) {
        char codec[64];
        int level;
        size_t n;
        double s = geo_score(c, "save", "sequential", "gzip:3", "sha1", c->codecs.v[k], "sha1", &n);
        split_spec(c->codecs.v[k], codec, sizeof codec, &level);
        if (!isfinite(s) || codec_fam(codec) == FAM_CEILING) continue;
        rc[nc].name = c->codecs.v[k];
        rc[nc].score = s;
        rc[nc].n = n;
        nc++;
    }
    qsort(rc, nc, sizeof *rc, cmp_ranked);
    for (k = 0; k < nc; k++) {
        char codec[64];
        int level;
        split_spec(rc[k].name, codec, sizeof codec, &level);
        if (!best_gz && codec_fam(codec) == FAM_GZIP) best_gz = &rc[k];
        if (!best_any) best_any = &rc[k];
    }
    if (!nc) {
        fprintf(md, "No codec could be ranked (the rules need `save` rows with `sha1` and a "
                "`gzip:3` baseline).\n\n");
    } else {
        fprintf(md, "| rank | codec | readable by today's metaflow | score (save time / gzip:3) |");
        for (p = 0; p < c->payloads.n; p++) fprintf(md, " %s save ms |", c->payloads.v[p]);
        fprintf(md, "\n|---|---|---|---|");
        for (p = 0; p < c->payloads.n; p++) fprintf(md, "---|");
        fprintf(md, "\n");
        for (k = 0; k < nc; k++) {
            char codec[64];
            int level;
            split_spec(rc[k].name, codec, sizeof codec, &level);
            fprintf(md, "| %zu | %s | %s | %s |", k + 1, rc[k].name, fam_text(codec_fam(codec)),
                    NUM(rc[k].score));
            for (p = 0; p < c->payloads.n; p++) {
                const rundir_row *s = find_spec(c, c->payloads.v[p], "save", "sequential",
                                                rc[k].name, "sha1", NULL);
                fprintf(md, " %s |", s ? NUM(ms(s->median_ns)) : "-");
            }
            fprintf(md, "\n");
        }
        fprintf(md, "\n");
        if (best_gz)
            fprintf(md, "- **Recommended codec for today's metaflow: `%s`** - save path %s x "
                    "gzip:3's time (geometric mean over %zu payloads), no cas_version change.\n",
                    best_gz->name, NUM(best_gz->score), best_gz->n);
        else
            fprintf(md, "- **Recommended codec for today's metaflow: none ranked** (no "
                    "gzip-compatible codec has save rows on every payload).\n");
        fprintf(md, "- **Fastest codec overall: `%s`** - %s x gzip:3's time%s.\n", best_any->name,
                NUM(best_any->score),
                spec_fam(best_any->name) == FAM_GZIP ? ", readable by today's metaflow"
                : "; needs a new cas_version, which old metaflow installations cannot read");
    }

    for (k = 0; k < c->hashes.n; k++) {
        size_t n;
        double s = geo_score(c, "hash", "", NULL, "sha1", NULL, c->hashes.v[k], &n);
        if (!isfinite(s)) continue;
        rh[nh].name = c->hashes.v[k];
        rh[nh].score = s;
        rh[nh].n = n;
        nh++;
    }
    qsort(rh, nh, sizeof *rh, cmp_ranked);
    for (k = 0; k < nh; k++) {
        int bits = 8 * digest_bytes(c, rh[k].name);
        if (!h_crypto && hash_crypto(rh[k].name) == 1 && bits >= 160) h_crypto = &rh[k];
        if (!h_40 && bits == 160) h_40 = &rh[k];
        if (!h_any) h_any = &rh[k];
    }
    if (!nh) {
        fprintf(md, "\nNo hash could be ranked (the rules need `hash` rows with a `sha1` "
                "baseline).\n\n");
    } else {
        int bits_seen[DIGEST_BYTES_MAX] = {0};
        fprintf(md, "\n| rank | hash | digest bits | cryptographic | score (hash time / sha1) |\n"
                "|---|---|---|---|---|\n");
        for (k = 0; k < nh; k++)
            fprintf(md, "| %zu | %s | %d | %s | %s |\n", k + 1, rh[k].name,
                    8 * digest_bytes(c, rh[k].name), crypto_text(hash_crypto(rh[k].name)),
                    NUM(rh[k].score));
        fprintf(md, "\n");
#define HASH_LINE(label, r) \
        if (r) fprintf(md, "- **%s: `%s`** - %s x sha1's hashing time (geometric mean over %zu " \
                       "payloads), %d-bit digest, %d-hex key.\n", label, (r)->name, \
                       NUM((r)->score), (r)->n, 8 * digest_bytes(c, (r)->name), \
                       2 * digest_bytes(c, (r)->name)); \
        else fprintf(md, "- **%s: none measured.**\n", label);
        HASH_LINE("Hash, cryptographic, >= 160 bits", h_crypto)
        HASH_LINE("Hash with a 40-hex key (160 bits)", h_40)
        HASH_LINE("Fastest hash overall", h_any)
#undef HASH_LINE
        fprintf(md, "- Fastest at each digest length:");
        for (k = 0; k < nh; k++) {
            int bytes = digest_bytes(c, rh[k].name);
            if (bytes <= 0 || bytes >= DIGEST_BYTES_MAX || bits_seen[bytes]) continue;
            bits_seen[bytes] = 1;
        }
        {
            int b, first = 1;
            for (b = 1; b < DIGEST_BYTES_MAX; b++) {
                if (!bits_seen[b]) continue;
                for (k = 0; k < nh; k++)
                    if (digest_bytes(c, rh[k].name) == b) break;
                fprintf(md, "%s %d bits: `%s` (%s)", first ? "" : ";", 8 * b, rh[k].name,
                        NUM(rh[k].score));
                first = 0;
            }
        }
        fprintf(md, ".\n");
    }
    fprintf(md, "\n");
    free(rc);
    free(rh);
}

/* ------------------------------------------------- 8. the fastest save path */

/* Save variants other than sequential in the order harness/cells.c lists
 * them; a run may hold any subset. */
static const char *const fast_variants[] = {"fused", "overlapped", "overlapped-spin"};
#define N_FAST (sizeof fast_variants / sizeof fast_variants[0])

/* The allocation mode the fast-save comparison uses for a payload and codec:
 * reuse when the run has a reuse sequential row (the CPU work alone, to set
 * against the codec and hash stages, which are reuse rows), else fresh. */
static const char *fast_alloc(const report_ctx *c, const char *pl, const char *spec, const char *hash)
{
    if (find_spec(c, pl, "save", "sequential", spec, hash, "reuse")) return "reuse";
    return "fresh";
}

static void sec_fastsave(report_ctx *c, FILE *md)
{
    strlist pairs = {0}, plots = {0};   /* "codec:level hash" with a non-sequential save row */
    size_t i, p, k, v;
    fprintf(md, "Save variants (stage `save`, harness/cells.c): `sequential` is metaflow's order "
            "(pickle, hash the whole blob, compress the whole blob); `fused` pickles, then makes "
            "one pass over 128 KiB chunks, hashing each chunk and compressing it while it is in "
            "cache (the codecs' streaming APIs, which write the same bytes as one-shot compression "
            "for gzip, lz4 and zstd; libdeflate has no streaming API and no fused row); "
            "`overlapped` pickles, then a persistent worker thread (created outside timing) "
            "hashes the blob while the calling thread compresses it, the iteration ending when "
            "both are done (hand-off by a condition variable); `overlapped-spin` is the same with "
            "a spinning hand-off. Every row was verified before timing: key equal to an "
            "independent computation, stored bytes decoding to the blob and, for gzip, lz4 and "
            "zstd, equal to sequential's.\n\n");
    fprintf(md, "Limits, per payload: *compress alone* is the codec's `compress` row, *slowest "
            "stage* the largest of the `pickle`, `hash` and `compress` medians (no schedule of "
            "the three can beat it on one core per stage), *memcpy* the `none` codec's "
            "`compress` row (a copy of the blob). Allocation: `reuse` rows where the run has "
            "them (the stages are timed with reuse), else `fresh`. x/y columns are median "
            "ratios; below 1 is faster than the reference.\n\n");
    for (i = 0; i < c->run->nrows; i++) {
        const rundir_row *w = &c->run->rows[i];
        char *key;
        if (!w->ok || strcmp(w->stage, "save") != 0 || w->protocol != c->protocol) continue;
        for (v = 0; v < N_FAST && strcmp(w->variant, fast_variants[v]) != 0; v++) {}
        if (v == N_FAST) continue;
        key = xasprintf("%s:%d %s", w->codec, w->level, w->hash);
        sl_add(&pairs, key);
        free(key);
    }
    if (!pairs.n) {
        fprintf(md, "No `fused` or `overlapped` save rows in this run (`casbench run` plans "
                "them for lz4:0 and gzip:3 with sha1; `--variant` selects others).\n\n");
        sl_free(&pairs);
        return;
    }
    fprintf(md, "| payload | codec | hash | alloc | variant | median ms | x sequential | "
            "x compress alone | x slowest stage (which) | x memcpy |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n");
    for (k = 0; k < pairs.n; k++) {
        char spec[64], hash[64];
        char *buf, *base, *path;
        size_t len, npts = 0;
        FILE *f;
        int have[N_FAST] = {0}, have_slow = 0, have_mc = 0;
        size_t nvar = 0;
        if (sscanf(pairs.v[k], "%63s %63s", spec, hash) != 2) continue;
        /* Only the variants this pair has rows of become plot columns. */
        for (v = 0; v < N_FAST; v++)
            for (p = 0; p < c->payloads.n && !have[v]; p++)
                have[v] = find_spec(c, c->payloads.v[p], "save", fast_variants[v], spec, hash,
                                    fast_alloc(c, c->payloads.v[p], spec, hash)) != NULL;
        /* Likewise the limits (a run without the `none` codec has no memcpy). */
        for (p = 0; p < c->payloads.n; p++) {
            const char *pl = c->payloads.v[p];
            if (!find_spec(c, pl, "save", "sequential", spec, hash, fast_alloc(c, pl, spec, hash))) continue;
            have_slow |= find_spec(c, pl, "compress", "", spec, "", NULL) != NULL ||
                         find(c, pl, "hash", "", "", -1, hash, NULL) != NULL;
            have_mc |= find(c, pl, "compress", "", "none", 0, "", NULL) != NULL;
        }
        mem_open(&f, &buf, &len);
        fprintf(f, "payload");
        for (v = 0; v < N_FAST; v++)
            if (have[v]) { fprintf(f, "\t%s", fast_variants[v]); nvar++; }
        fprintf(f, "%s%s\n", have_slow ? "\tslowest stage alone" : "", have_mc ? "\tmemcpy of the blob" : "");
        for (p = 0; p < c->payloads.n; p++) {
            const char *pl = c->payloads.v[p];
            const char *al = fast_alloc(c, pl, spec, hash);
            const rundir_row *seq = find_spec(c, pl, "save", "sequential", spec, hash, al);
            const rundir_row *cp = find_spec(c, pl, "compress", "", spec, "", NULL);
            const rundir_row *st[3] = {find(c, pl, "pickle", "", "", -1, "", al),
                                       find(c, pl, "hash", "", "", -1, hash, NULL), cp};
            static const char *const stn[3] = {"pickle", "hash", "compress"};
            const rundir_row *mc = find(c, pl, "compress", "", "none", 0, "", NULL);
            const rundir_row *slow = NULL;
            const char *slow_name = "-";
            int j, any = 0;
            if (!seq) continue;
            for (j = 0; j < 3; j++)
                if (st[j] && (!slow || st[j]->median_ns > slow->median_ns)) {
                    slow = st[j];
                    slow_name = stn[j];
                }
            fprintf(f, "%s", pl);
            for (v = 0; v < N_FAST; v++) {
                const rundir_row *r = find_spec(c, pl, "save", fast_variants[v], spec, hash, al);
                if (!have[v]) continue;
                if (r) fprintf(f, "\t%.6g", r->median_ns / seq->median_ns);
                else fprintf(f, "\tNaN");
            }
            if (have_slow) fprintf(f, "\t%.6g", slow ? slow->median_ns / seq->median_ns : NAN);
            if (have_mc) fprintf(f, "\t%.6g", mc ? mc->median_ns / seq->median_ns : NAN);
            fprintf(f, "\n");
            for (v = 0; v <= N_FAST; v++) {
                const char *vn = v == 0 ? "sequential" : fast_variants[v - 1];
                const rundir_row *r = v == 0 ? seq : find_spec(c, pl, "save", vn, spec, hash, al);
                char sl[64];
                if (!r) continue;
                any = 1;
                snprintf(sl, sizeof sl, "%s (%s)", slow ? NUM(r->median_ns / slow->median_ns) : "-",
                         slow_name);
                fprintf(md, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", pl, spec, hash,
                        al, vn, NUM(ms(r->median_ns)), NUM(r->median_ns / seq->median_ns),
                        cp ? NUM(r->median_ns / cp->median_ns) : "-", sl,
                        mc ? NUM(r->median_ns / mc->median_ns) : "-");
            }
            npts += any;
        }
        fclose(f);
        if (!npts) { free(buf); continue; }
        {
            char *sp = xasprintf("%s-%s", spec, hash);
            base = xasprintf("fastsave-%s", SLUG(sp));
            free(sp);
        }
        {
            char *name = xasprintf("%s.tsv", base), *qd, *qt, *t;
            path = write_data(c, name, buf, len);
            t = xasprintf("%s + %s", spec, hash);
            qd = gq(path);
            qt = gq(t);
            add_job(c, "fastsave.gp", base, xasprintf("data=%s; title=%s; nvar=%zu; nlim=%d", qd, qt, nvar,
                                                       have_slow + have_mc));
            free(name);
            free(qd);
            free(qt);
            free(t);
            free(path);
        }
        sl_add(&plots, base);
        free(base);
    }
    fprintf(md, "\n");
    for (k = 0; k < plots.n; k++)
        fprintf(md, "![fast save variants, %s](plots/%s.png) ", plots.v[k], plots.v[k]);
    fprintf(md, "\n\nThe plots show each variant's median and the two limits as multiples of "
            "`sequential` (log scale; below 1 is faster).\n\n");
    /* The goal of the task, evaluated on the rows. */
    {
        const char *pl = "weights";
        const char *al = fast_alloc(c, pl, "lz4:0", "sha1");
        const rundir_row *cp = find(c, pl, "compress", "", "lz4", 0, "", NULL);
        const rundir_row *ov = find(c, pl, "save", "overlapped", "lz4", 0, "sha1", al);
        const rundir_row *fu = find(c, pl, "save", "fused", "lz4", 0, "sha1", al);
        const rundir_row *h = find(c, pl, "hash", "", "", -1, "sha1", NULL);
        if (cp && (ov || fu)) {
            fprintf(md, "Goal on `weights` (`%s`): overlapped lz4:0 + sha1 within 1.1 x of "
                    "`lz4:0` compress alone, fused within 1.2 x.\n\n", al);
            if (ov) fprintf(md, "- overlapped: %s x compress alone - %s.\n", NUM(ov->median_ns / cp->median_ns),
                            ov->median_ns <= 1.1 * cp->median_ns ? "**met**" : "**not met**");
            if (fu) fprintf(md, "- fused: %s x compress alone - %s.\n", NUM(fu->median_ns / cp->median_ns),
                            fu->median_ns <= 1.2 * cp->median_ns ? "**met**" : "**not met**");
            if (h && h->median_ns > cp->median_ns)
                fprintf(md, "- On this payload `sha1` alone (%s ms) is slower than `lz4:0` alone "
                        "(%s ms): no overlap of the two can end before the hash does, so the "
                        "reachable bound is the slowest stage, not compress alone.\n",
                        NUM(ms(h->median_ns)), NUM(ms(cp->median_ns)));
            fprintf(md, "\n");
        }
    }
    fprintf(md, "Machine load when the run started (env.tsv `loadavg_1m`): %s on %s logical CPUs. "
            "The overlapped variants gain only when the second CPU is free; with other work "
            "running they time-slice with it, and the spinning hand-off loses most.\n\n",
            rundir_env(c->run, "loadavg_1m"), rundir_env(c->run, "cpus_logical"));
    fprintf(md, "Hand-off cost: on the small payloads the `overlapped` rows minus `sequential` "
            "show what one hand-off costs (a futex wake-up and wait for the condition variable, "
            "none for the spinning one, which instead keeps the worker's CPU busy and loses badly "
            "when that CPU is shared with other work). A production save path would hash inline "
            "below some blob size and overlap only above it.\n\n");
    fprintf(md, "The Python equivalent of `overlapped`: hashlib and python-lz4 (and zlib) release "
            "the GIL on large buffers, so\n\n```python\nexecutor = ThreadPoolExecutor(1)  # "
            "once, outside the save\nblob = pickle.dumps(obj, protocol=4)\nkey = executor.submit("
            "lambda: hashlib.sha1(blob).hexdigest())\nstored = lz4.frame.compress(blob)\nkey = "
            "key.result()\n```\n\noverlaps the two in CPython too (`infra/python_path.py` times it "
            "as its `save` variant `overlapped`; see the C-and-Python section when a Python run is "
            "given). `fused` has no cheap Python equivalent: chunking through `hashlib.update` and "
            "`lz4.frame.LZ4FrameCompressor` costs an interpreter round trip per chunk.\n\n");
    sl_free(&pairs);
    sl_free(&plots);
}

/* ------------------------------------------------ 9. C and Python side by side */

/* Whether a Python row runs the same library code as the C row (a fact about
 * the two programs, not a measurement): 1 same, 0 not; *why names the
 * difference. */
static int py_same_code(const rundir_row *w, const char **why)
{
    int codec_same = 1, hash_same = 1;
    *why = "same library";
    if (strcmp(w->stage, "pickle") == 0 || strcmp(w->stage, "save") == 0) {
        *why = "pickler differs (CPython's _pickle vs casbench's)";
        return 0;
    }
    if (*w->hash) {
        if (strncmp(w->hash, "xxh3", 4) == 0) {
            *why = "python3-xxhash: non-dispatched XXH3 path, not the library's speed";
            hash_same = 0;
        } else if (strcmp(w->hash, "blake2b") == 0) {
            *why = "hashlib's blake2b is CPython's own code, casbench's is OpenSSL";
            hash_same = 0;
        } else if (strcmp(w->hash, "sha1") != 0 && strcmp(w->hash, "sha256") != 0 &&
                   strcmp(w->hash, "xxh64") != 0) {
            *why = "unknown hash";
            hash_same = 0;
        }
    }
    if (*w->codec && strcmp(w->codec, "gzip") && strcmp(w->codec, "lz4") && strcmp(w->codec, "zstd") &&
        strcmp(w->codec, "none")) {
        *why = "codec not in both programs";
        codec_same = 0;
    }
    return codec_same && hash_same;
}

#define PY_RULE_BYTES 800000   /* "payloads >= 800 KB" */
#define PY_RULE_TOL 0.10

static void sec_python(report_ctx *c, FILE *md)
{
    const rundir *py = c->python;
    size_t i, napplied = 0, npass = 0, nrows = 0;
    if (!py) {
        fprintf(md, "No Python run given. `casbench report RUN_DIR --python PY_RUN_DIR`, with a run "
                "directory written by `infra/python_path.py` (env.tsv `runtime` = `python`), puts "
                "the C and Python medians side by side here.\n\n");
        return;
    }
    fprintf(md, "Python run: `%s` (%s %s, %s). Rows are matched on payload, protocol, stage, "
            "variant, codec, level and hash; the C row with the Python row's allocation mode "
            "(Python allocates every result: `fresh`) is used when the C run has it, else the "
            "other mode (the C alloc column says which). Python - C is the interpreter's cost "
            "per call where the library code is the same.\n\n", py->dir,
            rundir_env(py, "python_implementation"), rundir_env(py, "python_version"),
            rundir_env(py, "utc_time"));
    fprintf(md, "Rule: for payloads of at least %d bytes whose row runs the same library code in "
            "both programs with the same allocation mode, expect the C median within +-%d %% of "
            "Python's. Rows below that size show the interpreter's per-call overhead instead "
            "(Python - C); rows whose code or allocation mode differs say why and are not "
            "judged. On a machine shared with other work the medians of both runs move by more "
            "than the rule's band: a failed row there is a fact about the machine as much as "
            "about the two programs (see the cv of the rows in matrix.tsv).\n\n", PY_RULE_BYTES,
            (int)(PY_RULE_TOL * 100));
    fprintf(md, "| payload | bytes | stage | variant | codec | hash | C alloc | C ms | Python ms | "
            "Python / C | Python - C us | code | C within +-10 %% |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (i = 0; i < py->nrows; i++) {
        const rundir_row *w = &py->rows[i];
        const rundir_row *cr;
        const char *why, *other;
        char verdict[96], codec[80] = "";
        int same;
        if (!w->ok || w->protocol != c->protocol) continue;
        other = strcmp(w->alloc, "fresh") == 0 ? "reuse" : "fresh";
        cr = find(c, w->payload, w->stage, w->variant, w->codec, w->level, w->hash, w->alloc);
        if (!cr) cr = find(c, w->payload, w->stage, w->variant, w->codec, w->level, w->hash, other);
        if (!cr) continue;
        nrows++;
        same = py_same_code(w, &why);
        if (*w->codec) snprintf(codec, sizeof codec, "%s:%d", w->codec, w->level);
        if (!same) {
            snprintf(verdict, sizeof verdict, "not judged");
        } else if (strcmp(cr->alloc, w->alloc) != 0) {
            /* Page faults of fresh buffers would be counted on one side only. */
            snprintf(verdict, sizeof verdict, "not judged (alloc differs)");
        } else if (w->pickled_bytes < PY_RULE_BYTES) {
            snprintf(verdict, sizeof verdict, "not judged (< %d B)", PY_RULE_BYTES);
        } else {
            int ok = fabs(cr->median_ns / w->median_ns - 1.0) <= PY_RULE_TOL;
            napplied++;
            npass += ok;
            snprintf(verdict, sizeof verdict, "%s", ok ? "yes" : "**no**");
        }
        fprintf(md, "| %s | %llu | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                w->payload, (unsigned long long)w->pickled_bytes, w->stage, *w->variant ? w->variant : "-",
                *codec ? codec : "-", *w->hash ? w->hash : "-", cr->alloc, NUM(ms(cr->median_ns)),
                NUM(ms(w->median_ns)), NUM(w->median_ns / cr->median_ns),
                NUM((w->median_ns - cr->median_ns) / 1e3), why, verdict);
    }
    if (!nrows) {
        fprintf(md, "\nNo row of the Python run has a C counterpart in this run (same payload "
                "names, protocol %d?).\n\n", c->protocol);
        return;
    }
    fprintf(md, "\n%zu rows side by side; the rule applies to %zu of them and holds for %zu.\n\n",
            nrows, napplied, npass);
    fprintf(md, "Caveat: Debian's python3-xxhash runs XXH3 slower than `xxhsum` (its "
            "build does not use the library's dispatched SIMD path), so a Python xxh3 row "
            "is not the library's speed; hashlib's blake2b is CPython's own code, not OpenSSL's. "
            "The `save` rows include the pickler, which differs between the two programs.\n\n");
}

/* ------------------------------------------------------ the section table */

/* Adding a section (e.g. "fused/overlapped save path", "C vs Python"):
 * write `static void sec_x(report_ctx *c, FILE *md)` that reads rows with
 * find() / find_spec() (ok rows only, the context's protocol and allocation
 * mode), prints markdown to md (no heading: the table numbers and titles
 * sections), writes any plot data with write_data() into plots/ and queues
 * its plot with add_job() (a script in plots/ that writes out.png.tmp and
 * out.svg.tmp); then add a row here, with in_readme set if the README
 * excerpt should carry it. Then regenerate the golden REPORT.md
 * (tests/fixtures/report/README.md). */

/* The rounds sections live in report_findings.c, report_consistency.c and
 * report_drift.c (report_rounds.h); these only hand them the context. */
static void sec_findings(report_ctx *c, FILE *md) { report_findings(c->run, c->protocol, c->alloc, md); }
static void sec_consistency(report_ctx *c, FILE *md) { report_consistency(c->run, c->protocol, md); }
static void sec_drift(report_ctx *c, FILE *md)
{
    char *data;
    size_t len;
    report_drift(c->run, md, &data, &len);
    if (!data) return;
    char *path = write_data(c, "canary.tsv", data, len), *qd = gq(path);
    add_job(c, "canary.gp", "canary", xasprintf("data=%s", qd));
    free(qd);
    free(path);
}

static const report_section sections[] = {
    {"Environment", sec_env, 0},
    {"PR #3090 reproduction", sec_pr3090, 1},
    {"Where the time goes", sec_stages, 0},
    {"Codecs", sec_codecs, 0},
    {"The SHA-1 proposal", sec_hashes, 1},
    {"Save + upload", sec_upload, 0},
    {"Recommendation", sec_recommend, 1},
    {"The fastest save path", sec_fastsave, 0},
    {"C and Python side by side", sec_python, 0},
    {"Findings with intervals", sec_findings, 1},
    {"Consistency checks", sec_consistency, 0},
    {"Drift over the run", sec_drift, 0},
};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

/* ------------------------------------------------------------ the inputs */

static int load_published(report_ctx *c, char *err, size_t errlen)
{
    c->published = pr3090_published_load(c->published_path, err, errlen);
    return c->published ? 0 : -1;
}

/* The path of an executable named `name` (a path when it holds a '/'),
 * searched in PATH. Malloc'd, or NULL. */
static char *find_exe(const char *name)
{
    const char *path = getenv("PATH"), *p;
    if (strchr(name, '/')) return access(name, X_OK) == 0 ? strdup(name) : NULL;
    if (!path) return NULL;
    for (p = path;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        char *cand = xasprintf("%.*s/%s", (int)len, len ? p : ".", name);
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) return cand;
        free(cand);
        if (!colon) return NULL;
        p = colon + 1;
    }
}

const char *report_find_scripts(void)
{
    static char found[2 * PATH_MAX + 64];
    char exe[PATH_MAX], *slash;
    const char *env = getenv("CASBENCH_PLOTS_DIR");
    static const char *const rel[] = {"/../plots", "/../../plots", "/../share/casbench/plots"};
    ssize_t n;
    size_t i;
    struct stat st;
#define HAS_SCRIPTS(d) (snprintf(found, sizeof found, "%s/stages.gp", (d)) < (int)sizeof found && \
                        stat(found, &st) == 0)
    if (env && *env) {
        if (!HAS_SCRIPTS(env)) return NULL;
        snprintf(found, sizeof found, "%s", env);
        return found;
    }
    if (HAS_SCRIPTS("plots")) { snprintf(found, sizeof found, "plots"); return found; }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    if (!(slash = strrchr(exe, '/'))) return NULL;
    *slash = 0;
    for (i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char dir[PATH_MAX + 32];
        snprintf(dir, sizeof dir, "%s%s", exe, rel[i]);
        if (HAS_SCRIPTS(dir)) { snprintf(found, sizeof found, "%s", dir); return found; }
    }
#undef HAS_SCRIPTS
    return NULL;
}

/* Run `gnuplot -e EXPR SCRIPT`; its output is kept for the error message. */
static int run_gnuplot(const char *gnuplot, const char *script, const char *expr,
                       char *err, size_t errlen)
{
    int fds[2], status;
    pid_t pid;
    char out[4096];
    size_t n = 0;
    if (pipe(fds) != 0) return cb_err(err, errlen, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return cb_err(err, errlen, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execl(gnuplot, "gnuplot", "-e", expr, script, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        char tmp[1024];
        ssize_t r = read(fds[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (n < sizeof out - 1) {
            size_t take = (size_t)r < sizeof out - 1 - n ? (size_t)r : sizeof out - 1 - n;
            memcpy(out + n, tmp, take);
            n += take;
        }
    }
    close(fds[0]);
    out[n] = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return cb_err(err, errlen, "waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char line[512] = "";
        const char *p = out;
        /* gnuplot's message: its last line with text on it. */
        while (*p) {
            const char *nl = strchr(p, '\n'), *q = p;
            size_t l = nl ? (size_t)(nl - p) : strlen(p);
            while (q < p + l && (*q == ' ' || *q == '\t')) q++;
            if (q < p + l) {
                size_t m = (size_t)(p + l - q) < sizeof line - 1 ? (size_t)(p + l - q) : sizeof line - 1;
                memcpy(line, q, m);
                line[m] = 0;
            }
            p += l + (nl != NULL);
        }
        return cb_err(err, errlen, "%s: gnuplot failed (%s %d): %s", script,
                      WIFEXITED(status) ? "exit" : "signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), line);
    }
    return 0;
}

/* The relative path from directory `from` to `to` (both absolute, as
 * realpath() gives them). */
static char *relpath(const char *from, const char *to)
{
    size_t i = 0, common = 0, ups = 0, len;
    char *out;
    FILE *f;
    /* The longest common prefix that ends at a component boundary. */
    while (from[i] && from[i] == to[i]) i++;
    if ((!from[i] || from[i] == '/') && (!to[i] || to[i] == '/')) common = i;
    else {
        while (i > 0 && from[i - 1] != '/') i--;
        common = i ? i - 1 : 0;
    }
    if (common == 0 && from[0] == '/' && from[1] == 0) common = 0;
    for (i = common; from[i]; i++)
        if (from[i] == '/' && from[i + 1]) ups++;
    f = open_memstream(&out, &len);
    if (!f) cb_fail(CB_EXIT_ENV, "out of memory");
    for (i = 0; i < ups; i++) fprintf(f, "%s..", i ? "/" : "");
    if (to[common] == '/' && to[common + 1]) fprintf(f, "%s%s", ups ? "/" : "", to + common + 1);
    else if (to[common] && to[common] != '/') fprintf(f, "%s%s", ups ? "/" : "", to + common);
    if (len == 0 && ftell(f) == 0) fprintf(f, ".");
    fclose(f);
    return out;
}

static int update_readme(report_ctx *c, const char *md_excerpt, char *err, size_t errlen)
{
    const char *readme = c->opts->readme;
    uint8_t *data;
    size_t len, i;
    char sub[256], *dir_abs, *run_abs, *rd, *slash, *rel, *body, *out;
    size_t blen, olen;
    const char *b, *e;
    FILE *f;

    if (cb_read_file(readme, 64u << 20, &data, &len, sub, sizeof sub) != 0)
        return cb_err(err, errlen, "%s: %s", readme, sub);
    rd = realpath(readme, NULL);
    run_abs = realpath(c->run->dir, NULL);
    if (!rd || !run_abs) {
        free(data);
        free(rd);
        free(run_abs);
        return cb_err(err, errlen, "%s: %s", readme, strerror(errno));
    }
    dir_abs = rd;
    slash = strrchr(dir_abs, '/');
    if (slash == dir_abs) slash[1] = 0; else *slash = 0;
    rel = relpath(dir_abs, run_abs);

    /* The excerpt's links are relative to the run directory; move them. */
    f = open_memstream(&body, &blen);
    if (!f) cb_fail(CB_EXIT_ENV, "out of memory");
    fprintf(f, "%s\n<!-- written by `casbench report %s --readme`; edits here are replaced -->\n\n",
            REPORT_README_BEGIN, rel);
    fprintf(f, "Results of [`%s`](%s/REPORT.md) (full report there).\n\n", rel, rel);
    for (i = 0; md_excerpt[i]; i++) {
        if (strncmp(md_excerpt + i, "](plots/", 8) == 0) {
            fprintf(f, "](%s/plots/", rel);
            i += 7;
        } else {
            fputc(md_excerpt[i], f);
        }
    }
    fprintf(f, "Plots:");
    for (i = 0; i < c->njobs; i++) {
        const char *base = strrchr(c->jobs[i].out, '/') + 1;
        fprintf(f, " [%s](%s/plots/%s.png)", base, rel, base);
    }
    fprintf(f, "\n%s\n", REPORT_README_END);
    fclose(f);

    b = strstr((char *)data, REPORT_README_BEGIN);
    e = strstr((char *)data, REPORT_README_END);
    /* report_write() checked the markers before writing anything. */
    f = open_memstream(&out, &olen);
    if (!f) cb_fail(CB_EXIT_ENV, "out of memory");
    if (!b && !e) {
        /* No block yet: append it at the end, after the lead's prose. */
        fwrite(data, 1, len, f);
        if (len && data[len - 1] != '\n') fputc('\n', f);
        fprintf(f, "\n%s", body);
    } else if (!b || !e || e < b) {
        fclose(f);
        free(out);
        free(body);
        free(rel);
        free(rd);
        free(run_abs);
        free(data);
        return cb_err(err, errlen, "%s: the markers %s and %s must both be present, in "
                      "that order", readme, CB_Q(REPORT_README_BEGIN), CB_Q(REPORT_README_END));
    } else {
        const char *after = e + strlen(REPORT_README_END);
        if (*after == '\n') after++;
        fwrite(data, 1, (size_t)(b - (char *)data), f);
        fputs(body, f);
        fputs(after, f);
    }
    fclose(f);
    {
        int rc = write_atomic(readme, out, olen, err, errlen);
        free(out);
        free(body);
        free(rel);
        free(rd);
        free(run_abs);
        free(data);
        return rc;
    }
}

/* Before anything is written: the README must be readable and its markers
 * both absent or both present in order. */
static int check_readme(const char *readme, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len;
    char sub[256];
    const char *b, *e;
    int bad;
    if (cb_read_file(readme, 64u << 20, &data, &len, sub, sizeof sub) != 0)
        return cb_err(err, errlen, "%s: %s", readme, sub);
    b = strstr((char *)data, REPORT_README_BEGIN);
    e = strstr((char *)data, REPORT_README_END);
    bad = (b || e) && (!b || !e || e < b);
    free(data);
    if (bad)
        return cb_err(err, errlen, "%s: the markers %s and %s must both be present, in "
                      "that order", readme, CB_Q(REPORT_README_BEGIN), CB_Q(REPORT_README_END));
    return 0;
}

/* plots/ belongs to the report: a re-run removes the .tsv/.png/.svg files an
 * earlier report wrote that this one did not (a payload or codec no longer in
 * the run), so that no stale plot survives beside the new ones. */
static void remove_stale(report_ctx *c)
{
    DIR *d = opendir(c->plots_dir);
    struct dirent *e;
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        if (!dot || (strcmp(dot, ".tsv") && strcmp(dot, ".png") && strcmp(dot, ".svg"))) continue;
        if (sl_has(&c->written, e->d_name)) continue;
        {
            char *path = xasprintf("%s/%s", c->plots_dir, e->d_name);
            unlink(path);
            free(path);
        }
    }
    closedir(d);
}

static void ctx_free(report_ctx *c)
{
    size_t i;
    for (i = 0; i < c->njobs; i++) {
        free(c->jobs[i].script);
        free(c->jobs[i].expr);
        free(c->jobs[i].out);
    }
    free(c->jobs);
    sl_free(&c->payloads);
    sl_free(&c->codecs);
    sl_free(&c->hashes);
    sl_free(&c->written);
    tsv_free(c->published);
    free(c->plots_dir);
}

int report_write(const report_opts *o, char *err, size_t errlen)
{
    rundir run, pyrun;
    report_ctx c;
    char *gnuplot = NULL, *published_default = NULL, *md = NULL, *excerpt = NULL;
    size_t mdlen, exlen, i;
    const char *scripts = o->scripts_dir ? o->scripts_dir : report_find_scripts();
    FILE *mf, *xf;
    int rc = CB_EXIT_INPUT, any_fresh = 0;
    struct stat st;

    memset(&c, 0, sizeof c);
    c.opts = o;
    c.err = err;
    c.errlen = errlen;
    if (rundir_load(o->run_dir, &run, err, errlen) != 0) return CB_EXIT_INPUT;
    c.run = &run;
    memset(&pyrun, 0, sizeof pyrun);
    if (o->python_dir) {
        if (rundir_load(o->python_dir, &pyrun, err, errlen) != 0) goto out;
        if (strcmp(rundir_env(&pyrun, "runtime"), "python") != 0) {
            cb_err(err, errlen, "%s: env.tsv runtime is %s, not 'python' (--python wants a run of "
                   "infra/python_path.py)", pyrun.env_path, CB_Q(rundir_env(&pyrun, "runtime")));
            goto out;
        }
        c.python = &pyrun;
    }

    if (o->published) {
        c.published_path = o->published;
        if (load_published(&c, err, errlen) != 0) goto out;
    } else {
        /* RUN_DIR's parent, spelled without "..": results/<run> -> results/. */
        size_t n = strlen(o->run_dir);
        while (n > 1 && o->run_dir[n - 1] == '/') n--;
        while (n > 0 && o->run_dir[n - 1] != '/') n--;
        published_default = xasprintf("%.*sreference/pr3090-published.tsv", (int)n, o->run_dir);
        c.published_path = published_default;
        if (stat(published_default, &st) != 0) c.published_path = "results/reference/pr3090-published.tsv";
        if (stat(c.published_path, &st) == 0 && load_published(&c, err, errlen) != 0) goto out;
    }

    if (o->readme && check_readme(o->readme, err, errlen) != 0) goto out;

    rc = CB_EXIT_ENV;
    gnuplot = find_exe(o->gnuplot ? o->gnuplot : "gnuplot");
    if (!gnuplot) {
        cb_err(err, errlen, "%s: not found (install gnuplot-nox; the plots need it)",
               o->gnuplot ? o->gnuplot : "gnuplot");
        goto out;
    }
    if (!scripts || stat(scripts, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cb_err(err, errlen, "%s: gnuplot scripts not found (set CASBENCH_PLOTS_DIR or "
               "--plots-dir to casbench's plots/ directory)", scripts ? scripts : "plots");
        goto out;
    }
    c.plots_dir = xasprintf("%s/plots", o->run_dir);
    if (mkdir(c.plots_dir, 0755) != 0 && errno != EEXIST) {
        cb_err(err, errlen, "%s: %s", c.plots_dir, strerror(errno));
        goto out;
    }

    /* The sections describe metaflow's path: protocol 4 and fresh buffers
     * when the run has them. */
    c.protocol = -1;
    for (i = 0; i < run.nrows; i++) {
        const rundir_row *w = &run.rows[i];
        if (!w->ok || strcmp(w->payload, "sweep") == 0) continue;
        if (w->protocol == 4 || c.protocol < 0) c.protocol = w->protocol;
        if (strcmp(w->alloc, "fresh") == 0) any_fresh = 1;
    }
    c.alloc = any_fresh ? "fresh" : "reuse";
    for (i = 0; i < run.nrows; i++) {
        const rundir_row *w = &run.rows[i];
        if (!w->ok) continue;
        if (strcmp(w->payload, "sweep") != 0) sl_add(&c.payloads, w->payload);
        if (strcmp(w->stage, "compress") == 0 && *w->codec && w->protocol == c.protocol) {
            char *spec = w->level != RUNDIR_NO_LEVEL ? xasprintf("%s:%d", w->codec, w->level)
                                       : xasprintf("%s", w->codec);
            sl_add(&c.codecs, spec);
            free(spec);
        }
        if (strcmp(w->stage, "hash") == 0 && *w->hash) sl_add(&c.hashes, w->hash);
    }
    if (!c.payloads.n && !c.hashes.n) {
        rc = CB_EXIT_INPUT;
        cb_err(err, errlen, "%s: no row with status ok: nothing to report", run.matrix_path);
        goto out;
    }

    mf = open_memstream(&md, &mdlen);
    xf = open_memstream(&excerpt, &exlen);
    if (!mf || !xf) cb_fail(CB_EXIT_ENV, "out of memory");
    fprintf(mf, "# casbench report: %s\n\n", run.dir);
    fprintf(mf, "Every number below is computed from `%s`, `%s` and the published table by "
            "`casbench report`; regenerate with `casbench report %s`.\n\n", run.matrix_path,
            run.env_path, run.dir);
    for (i = 0; i < N_SECTIONS; i++) {
        char *sbuf;
        size_t slen;
        FILE *sf;
        mem_open(&sf, &sbuf, &slen);
        sections[i].write(&c, sf);
        fclose(sf);
        fprintf(mf, "## %zu. %s\n\n%s", i + 1, sections[i].title, sbuf);
        if (sections[i].in_readme) fprintf(xf, "### %s\n\n%s", sections[i].title, sbuf);
        free(sbuf);
    }
    fclose(mf);
    fclose(xf);
    if (c.failed) goto out;

    for (i = 0; i < c.njobs; i++) {
        char *script = xasprintf("%s/%s", scripts, c.jobs[i].script);
        char *qo = gq(c.jobs[i].out), *qs = gq(scripts);
        /* loadpath: the scripts `load "common.gp"` from their own directory. */
        char *expr = xasprintf("set loadpath %s; %s; out=%s", qs, c.jobs[i].expr, qo);
        free(qs);
        int r = run_gnuplot(gnuplot, script, expr, err, errlen);
        free(qo);
        free(expr);
        free(script);
        if (r == 0) {
            static const char *const ext[] = {"png", "svg"};
            size_t k;
            for (k = 0; k < 2 && r == 0; k++) {
                char *tmp = xasprintf("%s.%s.tmp", c.jobs[i].out, ext[k]);
                char *fin = xasprintf("%s.%s", c.jobs[i].out, ext[k]);
                if (rename(tmp, fin) != 0) {
                    cb_err(err, errlen, "%s: %s", tmp, strerror(errno));
                    r = -1;
                }
                sl_add(&c.written, strrchr(fin, '/') + 1);
                free(tmp);
                free(fin);
            }
        }
        if (r != 0) goto out;
    }
    remove_stale(&c);
    {
        char *path = xasprintf("%s/REPORT.md", run.dir);
        int r = write_atomic(path, md, mdlen, err, errlen);
        free(path);
        if (r != 0) goto out;
    }
    if (o->readme && update_readme(&c, excerpt, err, errlen) != 0) goto out;
    rc = 0;
out:
    free(md);
    free(excerpt);
    free(gnuplot);
    free(published_default);
    ctx_free(&c);
    rundir_free(&run);
    rundir_free(&pyrun);
    return rc;
}
