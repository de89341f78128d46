/* cli_calibrate.c - `casbench calibrate`: the harness against the libraries'
 * own benchmark tools, on the same bytes, in the same run. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calibrate.h"
#include "cells.h"
#include "cli.h"
#include "codec.h"
#include "codec_lz4block.h"
#include "gbench.h"
#include "hash.h"
#include "payload.h"
#include "pickle.h"
#include "util.h"

/* As `casbench run` (results/README.md): fresh allocations of this size or
 * more are fresh mmap'd pages each iteration. */
#define MMAP_THRESHOLD (128 * 1024)
#define TOOL_TIMEOUT_S 120.0
#define MAX_PAYLOADS 16
#define MAX_ROWS 128
#define LIKE_LO 0.95
#define LIKE_HI 1.05
/* Pickling an ndarray is one memcpy of its data plus a header: it should
 * run at memcpy speed; 0.8 leaves room for the header and the memo. */
#define PICKLE_LO 0.8

enum { T_LZ4 = 1, T_ZSTD = 2, T_XXHSUM = 4, T_OPENSSL = 8, T_PICKLE = 16, T_ALL = 31 };
static const struct { const char *name; int bit; const char *exe; } tools[] = {
    {"lz4", T_LZ4, "lz4"},
    {"zstd", T_ZSTD, "zstd"},
    {"xxhsum", T_XXHSUM, "xxhsum"},
    {"openssl", T_OPENSSL, "openssl"},
    {"pickle", T_PICKLE, NULL},
};

static const char *const default_payloads[] = {"embeddings", "weights", "random", NULL};

typedef enum { KIND_LIKE, KIND_FLOOR, KIND_CONTEXT } row_kind;

typedef struct {
    char what[160];
    double harness_bps, tool_bps;
    row_kind kind;
    double spread;                  /* harness (median - min) / min */
    double tool_cpu_share;          /* wall-clocked tools: CPU time / wall time; NAN otherwise */
    const char *tool;
    char harness_measures[320], tool_measures[320], why[640];
} calib_row;

typedef struct {
    int quick;
    int tools;
    const char *payloads[MAX_PAYLOADS];
    size_t npayloads;
    const char *out;
    int repetitions;
    double min_time;
    int rt;
} calib_opts;

static calib_row g_rows[MAX_ROWS];
static char g_tool_path[5][PATH_MAX];

/* "its own statically linked copy of X" or "the shared library, as the
 * harness": which code the tool's benchmark runs. */
static const char *library_of(int tool_bit, const char *soname, const char *lib)
{
    static char text[5][160];
    size_t i;
    for (i = 0; i < sizeof tools / sizeof tools[0] && tools[i].bit != tool_bit; i++) {}
    int r = calib_elf_needs(g_tool_path[i], soname);
    if (r == 1) snprintf(text[i], sizeof text[i], "links %s*, the library the harness runs", soname);
    else if (r == 0) snprintf(text[i], sizeof text[i], "runs its own statically linked copy of %s, not %s*", lib, soname);
    else snprintf(text[i], sizeof text[i], "library unknown (not an ELF file calibrate reads)");
    return text[i];
}
static size_t g_nrows;

/* Files to remove however the run ends (atexit and signals). */
static char g_tmpdir[PATH_MAX];
static char g_tmpfiles[MAX_PAYLOADS][PATH_MAX];
static char g_tmp_tsv[PATH_MAX];

static void cleanup(void)
{
    for (size_t i = 0; i < MAX_PAYLOADS; i++)
        if (g_tmpfiles[i][0]) unlink(g_tmpfiles[i]);
    if (g_tmpdir[0]) rmdir(g_tmpdir);
    if (g_tmp_tsv[0]) unlink(g_tmp_tsv);
}

static void on_signal(int sig)
{
    cleanup();   /* unlink and rmdir only: safe in a handler */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---- help ----------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
"usage: casbench calibrate [--quick] [--rt] [--payload LIST] [--tool LIST] [--out DIR]\n"
"\n"
"Checks that casbench measures the libraries and nothing else: runs each\n"
"library's own benchmark tool on the same bytes the harness uses, in the same\n"
"run, and prints a markdown table of harness throughput / tool throughput.\n"
"The harness side runs through the cells and the Google Benchmark shim of\n"
"`casbench run`. Comparisons (--tool; default all):\n"
"  lz4      `lz4 -b1` on each pickled payload (the file `casbench pickle NAME`\n"
"           writes) against the harness's lz4-block cell (LZ4_compress_fast\n"
"           over the whole blob, as lz4 -b times it); the matrix's lz4:0\n"
"           frame is shown beside it for context\n"
"  zstd     `zstd -b1` and `zstd -b3` (single-threaded) against zstd:1, zstd:3\n"
"  xxhsum   `xxhsum -b` (XXH64, XXH3_64b, XXH128 on its 100 KB sample) against\n"
"           xxh64, xxh3-64, xxh3-128 on as many bytes\n"
"  openssl  `openssl speed -evp` sha1, sha256, blake2b512 on 8192- and\n"
"           16384-byte blocks against sha1, sha256, blake2b\n"
"  pickle   pickling the weights payload against memcpy of its blob (the\n"
"           harness's own cost; target >= %.2fx memcpy)\n"
"Target for every like-with-like ratio: %.2f..%.2f. A row outside says why.\n"
"\n"
"  --quick           fewer repetitions and shorter tool runs (about 45 s;\n"
"                    the full run takes about 2 minutes)\n"
"  --rt              run the harness and the tools (which inherit it) under\n"
"                    SCHED_FIFO priority 10, so that other processes cannot\n"
"                    take the CPU in the middle of a timing (zstd -b's own\n"
"                    --priority=rt does the same); needs root or CAP_SYS_NICE.\n"
"                    The kernel's real-time throttling still leaves other\n"
"                    processes 5%% of each second\n"
"  --payload LIST    payloads to pickle (default embeddings,weights,random)\n"
"  --tool LIST       comparisons to run (lz4,zstd,xxhsum,openssl,pickle)\n"
"  --out DIR         also write DIR/calibrate.tsv (created if missing; an older\n"
"                    calibrate.tsv there is replaced atomically). `make\n"
"                    calibrate` writes next to the newest run's matrix.tsv\n"
"  --parse KIND FILE read a captured tool output and print what calibrate reads\n"
"                    from it (for tests): KIND is lz4, zstd, xxhsum or\n"
"                    openssl:ALG:SIZE\n"
"  -h, --help        this help;  --version  casbench's version\n"
"\n"
"calibrate.tsv columns: what, harness_mb_per_s, tool_mb_per_s, ratio,\n"
"within_bounds (yes, no, or n/a for a row shown for context), harness_measures,\n"
"tool_measures, why. MB/s is 10^6 bytes per second on both sides; the harness\n"
"figure is its fastest repetition, as each tool reports its fastest run.\n"
"\n"
"exit status: 0 done (a ratio out of bounds is a finding, not an error), 1 usage,\n"
"2 bad input, 3 environment (a tool missing, failing or printing what calibrate\n"
"cannot read; I/O), 4 internal (a harness cell fails verification).\n",
            PICKLE_LO, LIKE_LO, LIKE_HI);
}

/* ---- small helpers --------------------------------------------------------- */

static int is_flag(const char *arg, const char *flag)
{
    size_t n = strlen(flag);
    return strncmp(arg, flag, n) == 0 && (arg[n] == 0 || arg[n] == '=');
}

static const char *flag_value(int argc, char **argv, int *i, const char *flag)
{
    size_t n = strlen(flag);
    if (strncmp(argv[*i], flag, n) == 0 && argv[*i][n] == '=') return argv[*i] + n + 1;
    if (*i + 1 >= argc) cb_fail(CB_EXIT_USAGE, "%s: missing value (see casbench calibrate --help)", flag);
    return argv[++*i];
}

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

static int g_tty;
static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
    va_list ap;
    if (!g_tty) return;
    va_start(ap, fmt);
    fprintf(stderr, "\r\033[Kcalibrate: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

/* Run a tool; any failure ends the run with one line naming it. */
static char *tool_output(const char *name, char *const argv[], size_t *len)
{
    char err[256], *out = NULL;
    if (calib_run_tool(argv, TOOL_TIMEOUT_S, &out, len, err, sizeof err) != 0) {
        /* The tool's own last words, on the same line. */
        char last[160] = "";
        if (out) {
            size_t n = strlen(out);
            while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) out[--n] = 0;
            const char *b = out + n;
            while (b > out && b[-1] != '\n' && b[-1] != '\r') b--;
            snprintf(last, sizeof last, "%s", b);
            for (char *p = last; *p; p++)
                if ((unsigned char)*p < 0x20) *p = ' ';
            free(out);
        }
        cb_fail(CB_EXIT_ENV, "%s: %s%s%s", name, err, last[0] ? ": " : "", last);
    }
    return out;
}

/* The first line of `exe VERSIONFLAG`, cleaned of decoration; "unknown" when
 * the tool cannot say. */
static void tool_version(const char *exe, const char *flag, char *out, size_t cap)
{
    char *argv[] = {(char *)exe, (char *)flag, NULL}, err[128], *text = NULL;
    size_t len;
    snprintf(out, cap, "unknown");
    if (calib_run_tool(argv, 10, &text, &len, err, sizeof err) != 0) { free(text); return; }
    char *b = text;
    while (*b == '*' || *b == ' ' || *b == '\n') b++;
    char *e = b;
    while (*e && *e != '\n' && *e != '\r') e++;
    while (e > b && (e[-1] == '*' || e[-1] == ' ' || e[-1] == ',')) e--;
    if (e > b) snprintf(out, cap, "%.*s", (int)(e - b), b);
    free(text);
}

static double load_average(void)
{
    double v = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &v) != 1) v = NAN;
        fclose(f);
    }
    return v;
}

/* ---- the harness side --------------------------------------------------------- */

typedef struct {
    double bps;       /* `bytes` / fastest repetition, wall time */
    double cpu_bps;   /* the same in CPU time (the clock of xxhsum and openssl speed) */
    double spread;    /* (median - fastest) / fastest, wall time */
    int repetitions;
    uint64_t stored;  /* compressed size, for codec cells */
} harness_figure;

/* The better of two measurements of the same thing (taken before and after
 * a tool ran, so that a busy moment on one side does not decide). */
static harness_figure best_of(harness_figure a, harness_figure b)
{
    if (a.bps == 0) return b;   /* nothing measured yet */
    harness_figure r = a.bps >= b.bps ? a : b;
    r.cpu_bps = a.cpu_bps > b.cpu_bps ? a.cpu_bps : b.cpu_bps;
    r.spread = a.spread < b.spread ? a.spread : b.spread;
    return r;
}

/* The figure as a tool that times itself in CPU time would see it. */
static harness_figure in_cpu_time(harness_figure f)
{
    f.bps = f.cpu_bps;
    return f;
}

/* Verify and time one cell; `bytes` is what the throughput is counted in
 * (the uncompressed size, for decompression too, as the tools count it). */
static harness_figure time_cell(const cell_spec *spec, const cell_input *in, const char *name, uint64_t bytes)
{
    char err[512];
    gb_result *res = malloc(sizeof *res);
    harness_figure f = {0, 0, 0, 0, 0};
    if (!res) cb_fail(CB_EXIT_ENV, "out of memory");
    cell *c = cell_create(spec, in, err, sizeof err);
    if (!c) cb_fail(CB_EXIT_ENV, "%s: %s", name, err);
    if (cell_verify(c, err, sizeof err) != 0) cb_fail(CB_EXIT_INTERNAL, "%s: %s", name, err);
    gb_measurement m = cell_measurement(c, name);
    int g = gb_run(&m, res, err, sizeof err);
    if (g != 0) cb_fail(g == 1 ? CB_EXIT_ENV : CB_EXIT_INTERNAL, "%s: %s", name, g == 1 ? "interrupted" : err);
    f.bps = (double)bytes / res->min_ns * 1e9;
    f.cpu_bps = (double)bytes / res->cpu_min_ns * 1e9;
    f.spread = (res->median_ns - res->min_ns) / res->min_ns;
    f.repetitions = res->repetitions;
    f.stored = cell_stored_bytes(c);
    cell_destroy(c);
    free(res);
    return f;
}

static harness_figure time_measurement(const gb_measurement *m)
{
    char err[512];
    gb_result *res = malloc(sizeof *res);
    harness_figure f = {0, 0, 0, 0, 0};
    if (!res) cb_fail(CB_EXIT_ENV, "out of memory");
    int g = gb_run(m, res, err, sizeof err);
    if (g != 0) cb_fail(g == 1 ? CB_EXIT_ENV : CB_EXIT_INTERNAL, "%s: %s", m->name, g == 1 ? "interrupted" : err);
    f.bps = (double)m->bytes_per_iter / res->min_ns * 1e9;
    f.cpu_bps = (double)m->bytes_per_iter / res->cpu_min_ns * 1e9;
    f.spread = (res->median_ns - res->min_ns) / res->min_ns;
    f.repetitions = res->repetitions;
    free(res);
    return f;
}

/* ---- rows ------------------------------------------------------------------------ */

static calib_row *add_row(row_kind kind, const harness_figure *h, double tool_bps, const char *what_fmt, ...)
    __attribute__((format(printf, 4, 5)));
static calib_row *add_row(row_kind kind, const harness_figure *h, double tool_bps, const char *what_fmt, ...)
{
    va_list ap;
    if (g_nrows == MAX_ROWS) cb_fail(CB_EXIT_INTERNAL, "calibrate: more than %d rows", MAX_ROWS);
    calib_row *r = &g_rows[g_nrows++];
    memset(r, 0, sizeof *r);
    va_start(ap, what_fmt);
    vsnprintf(r->what, sizeof r->what, what_fmt, ap);
    va_end(ap);
    r->kind = kind;
    r->harness_bps = h->bps;
    r->spread = h->spread;
    r->tool_bps = tool_bps;
    r->tool_cpu_share = NAN;
    return r;
}

static double row_ratio(const calib_row *r) { return r->harness_bps / r->tool_bps; }

static const char *row_bounds(const calib_row *r)
{
    /* Judge the ratio as the table prints it (3 decimals), so that a printed
     * 1.050 is never called out of bounds. */
    double q = round(row_ratio(r) * 1000.0) / 1000.0;
    switch (r->kind) {
    case KIND_LIKE: return q >= LIKE_LO && q <= LIKE_HI ? "yes" : "no";
    case KIND_FLOOR: return q >= PICKLE_LO ? "yes" : "no";
    default: return "n/a";
    }
}

static void set_text(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_text(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

/* The explanation of a row: the known difference between the two sides
 * (`known`, may be NULL) when the ratio is out of bounds (or always, for a
 * context row), plus what the run itself says about noise. */
static void explain(calib_row *r, const char *known)
{
    const char *b = row_bounds(r);
    char noise[400] = "";
    if (strcmp(b, "yes") == 0) return;
    if (r->spread > 0.05)
        snprintf(noise, sizeof noise, "%sthe harness's repetitions spread %.0f%% (median over fastest) and the load average was %.1f: a busy machine",
                 known ? "; " : "", 100 * r->spread, load_average());
    if (r->tool && r->tool_cpu_share < 0.9)
        snprintf(noise + strlen(noise), sizeof noise - strlen(noise),
                 "%s%s had %.0f%% of a CPU while it ran (it times itself in wall time; other processes took the rest)",
                 known || noise[0] ? "; " : "", r->tool, 100 * r->tool_cpu_share);
    set_text(r->why, sizeof r->why, "%s%s", known ? known : "", noise);
    if (!r->why[0]) {
        double la = load_average();
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        set_text(r->why, sizeof r->why,
                 "not explained by the work timed (both sides run the same library call on the same bytes)%s; rerun on an idle machine",
                 la >= 0.5 * (double)ncpu ? "; the load average was high" : "");
        if (la >= 0.5 * (double)ncpu)
            set_text(r->why, sizeof r->why,
                     "not explained by the work timed (both sides run the same library call on the same bytes); the load average was %.1f on %ld CPUs: other processes shared the caches and memory, rerun on an idle machine",
                     la, ncpu);
    }
}

/* ---- comparisons ------------------------------------------------------------------- */

typedef struct {
    const char *name;            /* payload name */
    const pyobj *obj;
    const uint8_t *blob;
    size_t len;
    const char *file;            /* the blob written for the tools */
} blob_in;

static cell_input input_of(const blob_in *b)
{
    cell_input in;
    memset(&in, 0, sizeof in);
    in.obj = b->obj;
    in.popt = PICKLE_OPTIONS_DEFAULT;
    in.blob = b->blob;
    in.blob_len = b->len;
    return in;
}

static void codec_cells(const codec_desc *codec, int level, const blob_in *b, harness_figure *c, harness_figure *d)
{
    cell_input in = input_of(b);
    cell_spec spec;
    char name[256];
    memset(&spec, 0, sizeof spec);
    spec.codec = codec;
    spec.level = level;
    spec.alloc = CELL_ALLOC_REUSE;
    spec.stage = CELL_COMPRESS;
    snprintf(name, sizeof name, "calibrate/%s/compress/%s:%d", b->name, codec->name, level);
    *c = time_cell(&spec, &in, name, b->len);
    spec.stage = CELL_DECOMPRESS;
    snprintf(name, sizeof name, "calibrate/%s/decompress/%s:%d", b->name, codec->name, level);
    *d = time_cell(&spec, &in, name, b->len);
}

static void check_size(const char *tool, uint64_t got, size_t want)
{
    if (got != want)
        cb_fail(CB_EXIT_ENV, "%s: benchmarked %llu bytes, the blob has %zu", tool, (unsigned long long)got, want);
}

/* Run `lz4 -bL` / `zstd -bL` on the blob's file. */
static void codec_tool(const calib_opts *o, const char *tool, int level, const blob_in *b, uint64_t *csize,
                       double *tc, double *td, double *share)
{
    char err[256], *argv[6], iters[8], lv[8];
    size_t len;
    uint64_t size;
    snprintf(iters, sizeof iters, "-i%d", o->quick ? 1 : 2);
    snprintf(lv, sizeof lv, "-b%d", level);
    argv[0] = (char *)tool, argv[1] = lv, argv[2] = iters, argv[3] = (char *)b->file, argv[4] = NULL;
    char *out = tool_output(tool, argv, &len);
    if (calib_parse_codec_bench(out, len, &size, csize, tc, td, err, sizeof err) != 0)
        cb_fail(CB_EXIT_ENV, "%s: %s", tool, err);
    free(out);
    *share = calib_last_tool_cpu_share();
    check_size(tool, size, b->len);
}

/* The compressed sizes agree, or the two sides do not run the same
 * compression: a finding for the `why` column. */
static void size_note(char *dst, size_t cap, const char *tool, uint64_t harness, uint64_t tool_size)
{
    if (harness == tool_size)
        snprintf(dst, cap, "both sides write %llu compressed bytes (same parameters)", (unsigned long long)harness);
    else
        snprintf(dst, cap, "the sizes differ: harness %llu compressed bytes, %s %llu (not the same parameters)",
                 (unsigned long long)harness, tool, (unsigned long long)tool_size);
}

static void compare_lz4(const calib_opts *o, const blob_in *b)
{
    harness_figure hc, hd, fc, fd;
    char err[256], known[640], sizes[200];
    uint64_t csize;
    double tc, td;
    progress("lz4 %s", b->name);
    /* One measurement on each side, back to back: the best of two on one
     * side only would favour that side on a busy machine. */
    codec_cells(&codec_lz4_block, 1, b, &hc, &hd);
    double share;
    codec_tool(o, "lz4", 1, b, &csize, &tc, &td, &share);
    /* The matrix's own codec, for context. */
    const codec_desc *frame = codec_find("lz4:0", &(int){0}, err, sizeof err);
    if (!frame) cb_fail(CB_EXIT_INTERNAL, "lz4:0: %s", err);
    codec_cells(frame, 0, b, &fc, &fd);
    /* The lz4-block stream is the block after a 4-byte size. */
    size_note(sizes, sizeof sizes, "lz4 -b1", hc.stored - 4, csize);
    const char *lib = library_of(T_LZ4, "liblz4.so", "liblz4");

    calib_row *r = add_row(KIND_LIKE, &hc, tc, "lz4 -b1 compress %s (%zu B)", b->name, b->len);
    r->tool = "lz4", r->tool_cpu_share = share;
    set_text(r->harness_measures, sizeof r->harness_measures,
             "lz4-block cell: LZ4_compress_fast_extState (acceleration 1) over the whole blob as one block, into a reused buffer");
    set_text(r->tool_measures, sizeof r->tool_measures,
             "lz4 -b1: LZ4_compress_fast (acceleration 1) over the whole file as one block (no -B), into a reused buffer; wall time; %s",
             lib);
    snprintf(known, sizeof known, "%s; lz4 %s%s", sizes, lib,
             hc.stored - 4 == csize && strstr(lib, "own statically linked")
                 ? ": the same compression of the same bytes by another build of the library, so a gap here is that build's speed or a busy machine, not work the harness adds or leaves out"
                 : "");
    explain(r, known);
    r = add_row(KIND_LIKE, &hd, td, "lz4 -b1 decompress %s (%zu B)", b->name, b->len);
    r->tool = "lz4", r->tool_cpu_share = share;
    set_text(r->harness_measures, sizeof r->harness_measures,
             "lz4-block cell: LZ4_decompress_safe of the one block into a reused buffer; MB/s of decompressed bytes");
    set_text(r->tool_measures, sizeof r->tool_measures,
             "lz4 -b1: LZ4_decompress_safe_usingDict (no dictionary) of the one block; MB/s of decompressed bytes; wall time");
    explain(r, known);
    r = add_row(KIND_CONTEXT, &fc, tc, "lz4:0 frame (matrix) vs lz4 -b1 compress %s", b->name);
    set_text(r->harness_measures, sizeof r->harness_measures,
             "matrix compress cell lz4:0: the LZ4 frame of PR #3090 (LZ4F, 64 KiB linked blocks, content size)");
    set_text(r->tool_measures, sizeof r->tool_measures, "lz4 -b1: one LZ4 block over the whole file");
    explain(r, "not the same work: the frame compresses 64 KiB blocks each linked to the previous one (LZ4_compress_fast_continue with a 64 KiB dictionary) and writes block headers; lz4 -b compresses one block with no dictionary and no frame. The lz4-block rows above are the like-with-like check");
    r = add_row(KIND_CONTEXT, &fd, td, "lz4:0 frame (matrix) vs lz4 -b1 decompress %s", b->name);
    set_text(r->harness_measures, sizeof r->harness_measures,
             "matrix decompress cell lz4:0: LZ4F_decompress of the PR #3090 frame");
    set_text(r->tool_measures, sizeof r->tool_measures, "lz4 -b1: LZ4_decompress_safe of one block");
    explain(r, "not the same work: LZ4F decodes 64 KiB linked blocks (each match may reach into the previous block) through the frame parser; lz4 -b decodes one block");
}

static void compare_zstd(const calib_opts *o, const blob_in *b, int level)
{
    harness_figure hc, hd;
    char err[256], spec[16], known[640], sizes[200];
    uint64_t csize;
    double tc, td;
    int lvl;
    snprintf(spec, sizeof spec, "zstd:%d", level);
    progress("zstd -b%d %s", level, b->name);
    const codec_desc *z = codec_find(spec, &lvl, err, sizeof err);
    if (!z) cb_fail(CB_EXIT_INTERNAL, "%s: %s", spec, err);
    codec_cells(z, lvl, b, &hc, &hd);
    double share;
    codec_tool(o, "zstd", level, b, &csize, &tc, &td, &share);
    char tool[16];
    snprintf(tool, sizeof tool, "zstd -b%d", level);
    size_note(sizes, sizeof sizes, tool, hc.stored, csize);
    const char *lib = library_of(T_ZSTD, "libzstd.so", "libzstd");

    char known_c[1000];
    snprintf(known, sizeof known, "%s; zstd %s", sizes, lib);
    calib_row *r = add_row(KIND_LIKE, &hc, tc, "zstd -b%d compress %s (%zu B)", level, b->name, b->len);
    r->tool = "zstd", r->tool_cpu_share = share;
    /* Same parameters, same bytes out, another build: say so when it shows. */
    snprintf(known_c, sizeof known_c, "%s%s", known,
             hc.stored == csize && strstr(lib, "own statically linked")
                 ? ": the same compression of the same bytes by another build of the library, so a gap here is that build's speed, not work the harness adds or leaves out (the harness times the libzstd.so.1 that casbench links)"
                 : "");
    set_text(r->harness_measures, sizeof r->harness_measures,
             "matrix compress cell zstd:%d: ZSTD_compress2 of the whole blob (one frame, context reused) into a reused buffer", level);
    set_text(r->tool_measures, sizeof r->tool_measures,
             "zstd -b%d: ZSTD_compress2 of the whole file (no -B: one frame), single-threaded (-T1, its default, compresses in the calling thread); wall time; %s",
             level, lib);
    explain(r, known_c);
    r = add_row(KIND_LIKE, &hd, td, "zstd -b%d decompress %s (%zu B)", level, b->name, b->len);
    r->tool = "zstd", r->tool_cpu_share = share;
    set_text(r->harness_measures, sizeof r->harness_measures,
             "matrix decompress cell zstd:%d: ZSTD_decompressDCtx into a reused buffer; MB/s of decompressed bytes", level);
    set_text(r->tool_measures, sizeof r->tool_measures,
             "zstd -b%d: ZSTD_decompressStream into a buffer of the exact size; MB/s of decompressed bytes; wall time", level);
    explain(r, known_c);
}


static harness_figure hash_cell(const char *hash, size_t n, const char *tag)
{
    char err[256], name[128];
    const hash_desc *h = hash_find(hash, err, sizeof err);
    if (!h) cb_fail(CB_EXIT_INTERNAL, "%s: %s", hash, err);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) cb_fail(CB_EXIT_ENV, "out of memory");
    cb_fill_random(buf, n, 0);
    cell_input in;
    memset(&in, 0, sizeof in);
    in.blob = buf;
    in.blob_len = n;
    cell_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.stage = CELL_HASH;
    spec.hash = h;
    spec.alloc = CELL_ALLOC_REUSE;
    snprintf(name, sizeof name, "calibrate/%s/%zu/hash/%s", tag, n, hash);
    harness_figure f = time_cell(&spec, &in, name, n);
    free(buf);
    return f;
}

static void compare_xxhsum(const calib_opts *o)
{
    static const struct { int id; const char *tool_name, *hash; } algs[] = {
        {3, "XXH64", "xxh64"}, {5, "XXH3_64b", "xxh3-64"}, {11, "XXH128", "xxh3-128"},
    };
    char err[256], iters[8], *argv[6];
    size_t len;
    snprintf(iters, sizeof iters, "-i%d", o->quick ? 1 : 3);
    progress("xxhsum -b");
    /* Two rounds of (hash cells, xxhsum), the best of each side: both get
     * the same two chances at a quiet moment. xxhsum 0.8's sample is 100 KB;
     * the size it reports is checked against it. */
    harness_figure h[3];
    double tool_bps[3] = {0, 0, 0};
    uint64_t size = 0;
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < 3; i++) {
            harness_figure f = hash_cell(algs[i].hash, 102400, round ? "xxhsum-2" : "xxhsum-1");
            h[i] = round ? best_of(h[i], f) : f;
        }
        argv[0] = "xxhsum", argv[1] = "-b3,5,11", argv[2] = iters, argv[3] = NULL;
        char *out = tool_output("xxhsum", argv, &len);
        for (size_t i = 0; i < 3; i++) {
            double bps;
            if (calib_parse_xxhsum_bench(out, len, algs[i].id, algs[i].tool_name, &size, &bps, err, sizeof err) != 0)
                cb_fail(CB_EXIT_ENV, "xxhsum: %s", err);
            if (size != 102400)
                cb_fail(CB_EXIT_ENV, "xxhsum: a %llu-byte sample, not xxhsum 0.8's 100 KB", (unsigned long long)size);
            if (bps > tool_bps[i]) tool_bps[i] = bps;
        }
        free(out);
    }
    for (size_t i = 0; i < 3; i++) {
        harness_figure hc = in_cpu_time(h[i]);
        calib_row *r = add_row(KIND_LIKE, &hc, tool_bps[i], "xxhsum -b%d %s vs %s (%llu B)", algs[i].id, algs[i].tool_name,
                               algs[i].hash, (unsigned long long)size);
        set_text(r->harness_measures, sizeof r->harness_measures,
                 "matrix hash cell %s: reset, update, digest (libxxhash, the x86 dispatch entry points for XXH3) and the hex key, on a buffer of that size held in cache; CPU time",
                 algs[i].hash);
        set_text(r->tool_measures, sizeof r->tool_measures,
                 "xxhsum -b%d: one-shot %s of its %llu-byte sample in cache (CPU time, fastest of its runs; xxhsum's MB is 2^20, so its it/s x size is used); %s",
                 algs[i].id, algs[i].tool_name, (unsigned long long)size, library_of(T_XXHSUM, "libxxhash.so", "xxHash"));
        explain(r, NULL);
    }
}

static void compare_openssl(const calib_opts *o)
{
    static const struct { const char *tool_name, *hash, *evp; } algs[] = {
        {"sha1", "sha1", "SHA1"}, {"sha256", "sha256", "SHA2-256"}, {"blake2b512", "blake2b", "BLAKE2B-512"},
    };
    static const size_t sizes[] = {8192, 16384};
    char err[256], secs[8], bytes[24], name[128], known[700], *argv[10];
    snprintf(secs, sizeof secs, "%d", 1);
    (void)o;
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            size_t len, n = sizes[k];
            double bps;
            progress("openssl speed %s %zu", algs[i].tool_name, n);
            /* Two rounds of (hash cell, openssl speed, EVP_Digest loop), the
             * best of each: every side gets the same two chances. */
            uint8_t *buf = malloc(n);
            if (!buf) cb_fail(CB_EXIT_ENV, "out of memory");
            cb_fill_random(buf, n, 0);
            calib_evp *e = calib_evp_create(algs[i].evp, buf, n, err, sizeof err);
            if (!e) cb_fail(CB_EXIT_ENV, "%s", err);
            harness_figure h = {0, 0, 0, 0, 0}, he = {0, 0, 0, 0, 0};
            bps = 0;
            for (int round = 0; round < 2; round++) {
                double tb;
                h = best_of(h, hash_cell(algs[i].hash, n, round ? "openssl-2" : "openssl-1"));
                snprintf(bytes, sizeof bytes, "%zu", n);
                argv[0] = "openssl", argv[1] = "speed", argv[2] = "-evp", argv[3] = (char *)algs[i].tool_name;
                argv[4] = "-bytes", argv[5] = bytes, argv[6] = "-seconds", argv[7] = secs, argv[8] = NULL;
                char *out = tool_output("openssl", argv, &len);
                if (calib_parse_openssl_speed(out, len, algs[i].tool_name, n, &tb, err, sizeof err) != 0)
                    cb_fail(CB_EXIT_ENV, "openssl: %s", err);
                free(out);
                if (tb > bps) bps = tb;
                /* openssl speed's own loop, in the harness: EVP_Digest per block. */
                snprintf(name, sizeof name, "calibrate/openssl/%zu/EVP_Digest/%s/%d", n, algs[i].tool_name, round);
                gb_measurement m = calib_evp_measurement(e, name);
                he = best_of(he, time_measurement(&m));
            }
            h = in_cpu_time(h);
            he = in_cpu_time(he);
            calib_evp_free(e);
            free(buf);

            calib_row *r = add_row(KIND_LIKE, &h, bps, "openssl speed -evp %s vs %s (%zu B)", algs[i].tool_name,
                                   algs[i].hash, n);
            set_text(r->harness_measures, sizeof r->harness_measures,
                     "matrix hash cell %s: EVP_DigestInit_ex2 on a reused context, EVP_DigestUpdate, EVP_DigestFinal_ex and the hex key, on a buffer in cache; CPU time",
                     algs[i].hash);
            set_text(r->tool_measures, sizeof r->tool_measures,
                     "openssl speed -evp %s -bytes %zu: EVP_Digest (a new EVP_MD_CTX per block) on a hot buffer, for %s s of CPU time; links libcrypto, the library the harness runs",
                     algs[i].tool_name, n, secs);
            double extra_ns = (double)n / he.bps * 1e9 - (double)n / h.bps * 1e9;
            known[0] = 0;
            if (extra_ns > 0 && h.bps > bps * LIKE_HI)
                snprintf(known, sizeof known,
                     "openssl speed makes and frees an EVP_MD_CTX for every block, the hash cell reuses one: EVP_Digest per block costs %.0f ns more per %zu-byte block here (next row), %.1f%% of the block's time",
                     extra_ns, n, 100 * extra_ns / ((double)n / h.bps * 1e9));
            {
                double qe = he.bps / bps, qh = h.bps / bps;
                if ((qe < LIKE_LO && qh < LIKE_LO) || (qe > LIKE_HI && qh > LIKE_HI))
                    snprintf(known + strlen(known), sizeof known - strlen(known),
                             "%sthe next row, openssl speed's own loop run by the harness, is off by as much (%.3f): the machine at that moment, not the hash cell's work",
                             known[0] ? "; " : "", qe);
            }
            explain(r, known[0] ? known : NULL);
            r = add_row(KIND_LIKE, &he, bps, "EVP_Digest per block (as openssl speed) vs openssl speed -evp %s (%zu B)",
                        algs[i].tool_name, n);
            set_text(r->harness_measures, sizeof r->harness_measures,
                     "EVP_Digest per iteration (Google Benchmark, same run), the algorithm fetched once, as openssl speed's loop; CPU time");
            set_text(r->tool_measures, sizeof r->tool_measures, "openssl speed -evp %s -bytes %zu (as above)",
                     algs[i].tool_name, n);
            explain(r, NULL);
        }
}

static void compare_pickle(const blob_in *b)
{
    cell_input in = input_of(b);
    cell_spec spec;
    char name[256];
    progress("pickle %s vs memcpy", b->name);
    uint8_t *dst = malloc(b->len ? b->len : 1);
    if (!dst) cb_fail(CB_EXIT_ENV, "out of memory");
    memset(dst, 0, b->len);   /* touched: reuse means no page faults */
    for (int fresh = 0; fresh <= 1; fresh++) {
        calib_memcpy mc = {b->blob, dst, b->len, fresh};
        harness_figure hp = {0, 0, 0, 0, 0}, hm = {0, 0, 0, 0, 0};
        memset(&spec, 0, sizeof spec);
        spec.stage = CELL_PICKLE;
        spec.alloc = fresh ? CELL_ALLOC_FRESH : CELL_ALLOC_REUSE;
        /* Two rounds, alternating, the best of each: both sides see the
         * same moments of a shared machine. */
        for (int round = 0; round < 2; round++) {
            snprintf(name, sizeof name, "calibrate/%s/pickle/%s/%d", b->name, cell_alloc_names[spec.alloc], round);
            hp = best_of(hp, time_cell(&spec, &in, name, b->len));
            snprintf(name, sizeof name, "calibrate/%s/memcpy/%s/%d", b->name, cell_alloc_names[spec.alloc], round);
            gb_measurement m = calib_memcpy_measurement(&mc, name);
            hm = best_of(hm, time_measurement(&m));
        }
        /* CPU time on both sides: the thread's own time, page faults
         * included, and none of another process's. */
        hp = in_cpu_time(hp);
        calib_row *r = add_row(KIND_FLOOR, &hp, hm.cpu_bps, "pickle %s vs memcpy of the blob, %s (%zu B)", b->name,
                               cell_alloc_names[spec.alloc], b->len);
        set_text(r->harness_measures, sizeof r->harness_measures,
                 fresh ? "matrix pickle cell, fresh: malloc of the pickle (fresh mmap'd pages), pickle_dump, free; CPU time"
                       : "matrix pickle cell, reuse: pickle_dump into a touched buffer; CPU time");
        set_text(r->tool_measures, sizeof r->tool_measures,
                 fresh ? "memcpy of the blob into a fresh malloc'd buffer, then free (Google Benchmark, same run); CPU time; target >= %.2f"
                       : "memcpy of the blob into a touched buffer (Google Benchmark, same run); CPU time; target >= %.2f",
                 PICKLE_LO);
        explain(r, "pickling costs more than one copy of the array's data");
    }
    free(dst);
}

/* ---- output ------------------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) cb_fail(CB_EXIT_INTERNAL, "calibrate: formatting failed");
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 8192) + (size_t)k;
        char *np = realloc(b->p, cap);
        if (!np) cb_fail(CB_EXIT_ENV, "out of memory");
        b->p = np;
        b->cap = cap;
    }
}

static void write_tsv(const char *dir)
{
    sbuf b = {0};
    char path[PATH_MAX];
    sb_printf(&b, "what\tharness_mb_per_s\ttool_mb_per_s\tratio\twithin_bounds\tharness_measures\ttool_measures\twhy\n");
    for (size_t i = 0; i < g_nrows; i++) {
        const calib_row *r = &g_rows[i];
        sb_printf(&b, "%s\t%.1f\t%.1f\t%.3f\t%s\t%s\t%s\t%s\n", r->what, r->harness_bps / 1e6, r->tool_bps / 1e6,
                  row_ratio(r), row_bounds(r), r->harness_measures, r->tool_measures, r->why);
    }
    if (snprintf(path, sizeof path, "%s/calibrate.tsv", dir) >= (int)sizeof path ||
        snprintf(g_tmp_tsv, sizeof g_tmp_tsv, "%s/.calibrate.tsv.XXXXXX", dir) >= (int)sizeof g_tmp_tsv)
        cb_fail(CB_EXIT_INPUT, "--out %s: path too long", CB_Q(dir));
    int fd = mkstemp(g_tmp_tsv);
    if (fd < 0) {
        int e = errno;
        g_tmp_tsv[0] = 0;
        cb_fail(CB_EXIT_ENV, "%s: %s", dir, strerror(e));
    }
    if (cb_write_all(fd, b.p, b.n) != 0 || fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        cb_fail(CB_EXIT_ENV, "%s: %s", g_tmp_tsv, strerror(e));
    }
    if (close(fd) != 0) cb_fail(CB_EXIT_ENV, "%s: %s", g_tmp_tsv, strerror(errno));
    if (rename(g_tmp_tsv, path) != 0) cb_fail(CB_EXIT_ENV, "%s: %s", path, strerror(errno));
    g_tmp_tsv[0] = 0;
    free(b.p);
}

static void print_table(const calib_opts *o, const char *versions)
{
    sbuf b = {0};
    sb_printf(&b, "# casbench calibrate\n\n");
    sb_printf(&b, "harness / tool throughput on the same bytes, in the same run. MB/s = 10^6 bytes/s on both sides; "
                  "the harness figure is the fastest of %d Google Benchmark repetitions (at least %g s each), as each tool "
                  "reports its fastest run. Target: %.2f..%.2f for like-with-like rows, >= %.2f for pickle vs memcpy; "
                  "n/a rows are shown for context.\n\n",
              o->repetitions, o->min_time, LIKE_LO, LIKE_HI, PICKLE_LO);
    sb_printf(&b, "| what | harness MB/s | tool MB/s | ratio | within bounds | harness measures | tool measures | why |\n");
    sb_printf(&b, "|---|---:|---:|---:|---|---|---|---|\n");
    for (size_t i = 0; i < g_nrows; i++) {
        const calib_row *r = &g_rows[i];
        sb_printf(&b, "| %s | %.1f | %.1f | %.3f | %s | %s | %s | %s |\n", r->what, r->harness_bps / 1e6,
                  r->tool_bps / 1e6, row_ratio(r), row_bounds(r), r->harness_measures, r->tool_measures, r->why);
    }
    if (o->rt) sb_printf(&b, "\nRun with --rt: the harness and the tools under SCHED_FIFO priority 10.\n");
    sb_printf(&b, "\n%s", versions);
    if (cb_write_all(STDOUT_FILENO, b.p, b.n) != 0) cb_fail(CB_EXIT_ENV, "stdout: %s", strerror(errno));
    free(b.p);
}

/* ---- --parse (tests) -------------------------------------------------------------- */

static int parse_only(const char *kind, const char *file)
{
    uint8_t *data;
    size_t len;
    char err[256];
    if (cb_read_file(file, (size_t)64 << 20, &data, &len, err, sizeof err) != 0)
        cb_fail(CB_EXIT_INPUT, "%s: %s", file, err);
    const char *text = (const char *)data;
    if (strcmp(kind, "lz4") == 0 || strcmp(kind, "zstd") == 0) {
        uint64_t size, csize;
        double c, d;
        if (calib_parse_codec_bench(text, len, &size, &csize, &c, &d, err, sizeof err) != 0)
            cb_fail(CB_EXIT_ENV, "%s: %s", kind, err);
        printf("size\t%llu\ncompressed_size\t%llu\ncompress_bytes_per_s\t%.17g\ndecompress_bytes_per_s\t%.17g\n",
               (unsigned long long)size, (unsigned long long)csize, c, d);
    } else if (strcmp(kind, "xxhsum") == 0) {
        static const struct { int id; const char *name; } ids[] = {{3, "XXH64"}, {5, "XXH3_64b"}, {11, "XXH128"}};
        char lines[1024] = "";
        int found = 0;
        for (size_t i = 0; i < 3; i++) {
            uint64_t size;
            double bps;
            if (calib_parse_xxhsum_bench(text, len, ids[i].id, ids[i].name, &size, &bps, err, sizeof err) != 0) {
                if (strstr(err, "expected")) cb_fail(CB_EXIT_ENV, "xxhsum: %s", err);
                continue;
            }
            found++;
            snprintf(lines + strlen(lines), sizeof lines - strlen(lines), "%d\t%s\t%llu\t%.17g\n", ids[i].id,
                     ids[i].name, (unsigned long long)size, bps);
        }
        if (!found) cb_fail(CB_EXIT_ENV, "xxhsum: no result line '<id>#<name> : <size> -> <N> it/s' in its output");
        fputs(lines, stdout);
    } else if (strncmp(kind, "openssl:", 8) == 0) {
        char alg[64];
        uint64_t size;
        double bps;
        const char *c = strchr(kind + 8, ':');
        if (!c || c == kind + 8 || (size_t)(c - kind - 8) >= sizeof alg ||
            cb_parse_u64(c + 1, 1, UINT32_MAX, &size, err, sizeof err) != 0)
            cb_fail(CB_EXIT_USAGE, "--parse %s: expected openssl:ALG:SIZE", CB_Q(kind));
        memcpy(alg, kind + 8, (size_t)(c - kind - 8));
        alg[c - kind - 8] = 0;
        if (calib_parse_openssl_speed(text, len, alg, size, &bps, err, sizeof err) != 0)
            cb_fail(CB_EXIT_ENV, "openssl: %s", err);
        printf("bytes_per_s\t%.17g\n", bps);
    } else {
        cb_fail(CB_EXIT_USAGE, "--parse %s: expected lz4, zstd, xxhsum or openssl:ALG:SIZE", CB_Q(kind));
    }
    free(data);
    return CB_EXIT_OK;
}

/* ---- the subcommand ---------------------------------------------------------------- */

static void mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    struct stat st;
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) cb_fail(CB_EXIT_INPUT, "--out %s: path too long", CB_Q(dir));
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0777);
            *p = '/';
        }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) cb_fail(CB_EXIT_ENV, "--out %s: %s", CB_Q(dir), strerror(errno));
    if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode)) cb_fail(CB_EXIT_INPUT, "--out %s: not a directory", CB_Q(dir));
    if (access(tmp, W_OK) != 0) cb_fail(CB_EXIT_ENV, "--out %s: %s", CB_Q(dir), strerror(errno));
}

static void parse_tools(calib_opts *o, const char *arg)
{
    char *s = strdup(arg), *save = NULL;
    if (!s) cb_fail(CB_EXIT_ENV, "out of memory");
    o->tools = 0;
    for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < sizeof tools / sizeof tools[0] && strcmp(tools[i].name, t) != 0; i++) {}
        if (i == sizeof tools / sizeof tools[0])
            cb_fail(CB_EXIT_INPUT, "--tool %s: unknown (lz4, zstd, xxhsum, openssl, pickle)", CB_Q(t));
        o->tools |= tools[i].bit;
    }
    free(s);
    if (!o->tools) cb_fail(CB_EXIT_INPUT, "--tool %s: empty list", CB_Q(arg));
}

int cli_calibrate(int argc, char **argv)
{
    calib_opts o;
    char err[512];
    static char *payload_list;
    memset(&o, 0, sizeof o);
    o.tools = T_ALL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cb_is_help(a)) { usage(stdout); return CB_EXIT_OK; }
        if (cb_is_version(a)) { printf("casbench %s (commit %s)\n", cb_version, cb_git_commit); return CB_EXIT_OK; }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0) { o.quick = 1; continue; }
        if (strcmp(a, "--rt") == 0) { o.rt = 1; continue; }
        if (is_flag(a, "--out")) { o.out = flag_value(argc, argv, &i, "--out"); continue; }
        if (is_flag(a, "--tool")) { parse_tools(&o, flag_value(argc, argv, &i, "--tool")); continue; }
        if (is_flag(a, "--payload")) {
            const char *v = flag_value(argc, argv, &i, "--payload");
            char *save = NULL;
            free(payload_list);
            payload_list = strdup(v);
            if (!payload_list) cb_fail(CB_EXIT_ENV, "out of memory");
            o.npayloads = 0;
            for (char *t = strtok_r(payload_list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (o.npayloads == MAX_PAYLOADS) cb_fail(CB_EXIT_USAGE, "--payload: more than %d payloads", MAX_PAYLOADS);
                o.payloads[o.npayloads++] = t;
            }
            if (!o.npayloads) cb_fail(CB_EXIT_INPUT, "--payload %s: empty list", CB_Q(v));
            continue;
        }
        if (strcmp(a, "--parse") == 0) {
            if (i + 2 >= argc) cb_fail(CB_EXIT_USAGE, "--parse: needs KIND and FILE");
            return parse_only(argv[i + 1], argv[i + 2]);
        }
        cb_fail(CB_EXIT_USAGE, "%s: unknown option (see casbench calibrate --help)", a);
    }
    if (!o.npayloads)
        for (size_t i = 0; default_payloads[i]; i++) o.payloads[o.npayloads++] = default_payloads[i];
    o.repetitions = o.quick ? 2 : 5;
    o.min_time = o.quick ? 0.01 : 0.1;
    g_tty = isatty(STDERR_FILENO);

    /* Every tool first: a missing one should not cost a minute of measuring. */
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        if ((o.tools & tools[i].bit) && tools[i].exe && !on_path(tools[i].exe, g_tool_path[i]))
            cb_fail(CB_EXIT_ENV, "%s: not found on PATH (calibrate runs its benchmark; --tool leaves it out)", tools[i].exe);

    /* Payloads, pickled as `casbench pickle NAME` writes them. */
    payload *pl[MAX_PAYLOADS] = {0};
    uint8_t *blobs[MAX_PAYLOADS] = {0};
    blob_in in[MAX_PAYLOADS];
    memset(in, 0, sizeof in);
    for (size_t i = 0; i < o.npayloads; i++) {
        int status = CB_EXIT_INPUT;
        pl[i] = payload_create(o.payloads[i], 0, &status, err, sizeof err);
        if (!pl[i]) cb_fail(status, "--payload %s: %s", CB_Q(o.payloads[i]), err);
        in[i].name = payload_name(pl[i]);
        in[i].obj = payload_object(pl[i]);
        if (in[i].obj) {
            pickle_options popt = PICKLE_OPTIONS_DEFAULT;
            size_t cap = pickle_bound(in[i].obj, &popt);
            blobs[i] = malloc(cap ? cap : 1);
            if (!blobs[i]) cb_fail(CB_EXIT_ENV, "%s: out of memory", in[i].name);
            in[i].len = pickle_dump(in[i].obj, &popt, blobs[i], cap, err, sizeof err);
            if (!in[i].len) cb_fail(CB_EXIT_INPUT, "--payload %s: %s", CB_Q(o.payloads[i]), err);
            in[i].blob = blobs[i];
        } else {
            in[i].blob = payload_raw_blob(pl[i], &in[i].len);
        }
        if (in[i].len == 0 && (o.tools & (T_LZ4 | T_ZSTD)))
            cb_fail(CB_EXIT_INPUT, "--payload %s: an empty blob cannot be benchmarked", CB_Q(o.payloads[i]));
    }
    /* --out is checked now and made at the end: a failed run leaves nothing. */
    if (o.out) {
        struct stat st;
        if (stat(o.out, &st) == 0 && !S_ISDIR(st.st_mode)) cb_fail(CB_EXIT_INPUT, "--out %s: not a directory", CB_Q(o.out));
        if (stat(o.out, &st) == 0 && access(o.out, W_OK) != 0) cb_fail(CB_EXIT_ENV, "--out %s: %s", CB_Q(o.out), strerror(errno));
    }

    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (o.tools & (T_LZ4 | T_ZSTD)) {
        const char *tmp = getenv("TMPDIR");
        snprintf(g_tmpdir, sizeof g_tmpdir, "%s/casbench-calibrate.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(g_tmpdir)) {
            int e = errno;
            g_tmpdir[0] = 0;
            cb_fail(CB_EXIT_ENV, "temporary directory: %s", strerror(e));
        }
        for (size_t i = 0; i < o.npayloads; i++) {
            char path[PATH_MAX];
            if (snprintf(path, sizeof path, "%s/%zu-%s.pkl", g_tmpdir, i, o.payloads[i]) >= (int)sizeof path)
                cb_fail(CB_EXIT_INPUT, "--payload %s: name too long for a file", CB_Q(o.payloads[i]));
            for (char *p = path + strlen(g_tmpdir) + 1; *p; p++)
                if (*p == '/' || *p == ':' || *p == ',' || *p == '=') *p = '_';
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd < 0) cb_fail(CB_EXIT_ENV, "%s: %s", path, strerror(errno));
            snprintf(g_tmpfiles[i], sizeof g_tmpfiles[i], "%s", path);
            if (cb_write_all(fd, in[i].blob, in[i].len) != 0 || close(fd) != 0)
                cb_fail(CB_EXIT_ENV, "%s: %s", path, strerror(errno));
            in[i].file = g_tmpfiles[i];
        }
    }

    if (o.rt) {
        struct sched_param sp;
        memset(&sp, 0, sizeof sp);
        sp.sched_priority = 10;
        if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) cb_fail(CB_EXIT_ENV, "--rt: %s", strerror(errno));
    }
    gb_options gopt = {o.repetitions, o.min_time};
    if (gb_init(&gopt, err, sizeof err) != 0) cb_fail(CB_EXIT_INTERNAL, "%s", err);
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);

    if (o.tools & T_LZ4)
        for (size_t i = 0; i < o.npayloads; i++) compare_lz4(&o, &in[i]);
    if (o.tools & T_ZSTD)
        for (size_t i = 0; i < o.npayloads; i++) {
            compare_zstd(&o, &in[i], 1);
            compare_zstd(&o, &in[i], 3);
        }
    if (o.tools & T_XXHSUM) compare_xxhsum(&o);
    if (o.tools & T_OPENSSL) compare_openssl(&o);
    if (o.tools & T_PICKLE) {
        const blob_in *p = NULL;
        for (size_t i = 0; i < o.npayloads && !p; i++)
            if (in[i].obj && strcmp(in[i].name, "weights") == 0) p = &in[i];
        for (size_t i = 0; i < o.npayloads && !p; i++)
            if (in[i].obj) p = &in[i];
        if (!p) cb_fail(CB_EXIT_INPUT, "--tool pickle: no selected payload is an object to pickle");
        compare_pickle(p);
    }
    if (g_tty) fprintf(stderr, "\r\033[K");

    /* The versions each side ran. */
    char versions[2048], v[256];
    {
        const codec_desc *z = codec_find("zstd", &(int){0}, err, sizeof err);
        const hash_desc *x = hash_find("xxh64", err, sizeof err), *s = hash_find("sha1", err, sizeof err);
        snprintf(versions, sizeof versions,
                 "casbench %s (commit %s). Libraries in the harness: liblz4 %s, libzstd %s, libxxhash %s, OpenSSL %s.\n",
                 cb_version, cb_git_commit, codec_lz4_block.version(), z ? z->version() : "?", x ? x->version() : "?",
                 s ? s->version() : "?");
    }
    static const struct { int bit; const char *exe, *flag; } vflags[] = {
        {T_LZ4, "lz4", "-V"}, {T_ZSTD, "zstd", "-V"}, {T_XXHSUM, "xxhsum", "-V"}, {T_OPENSSL, "openssl", "version"},
    };
    int any = 0;
    for (size_t i = 0; i < sizeof vflags / sizeof vflags[0]; i++) {
        if (!(o.tools & vflags[i].bit)) continue;
        tool_version(vflags[i].exe, vflags[i].flag, v, sizeof v);
        snprintf(versions + strlen(versions), sizeof versions - strlen(versions), "%s%s", any ? "; " : "Tools: ", v);
        any = 1;
    }
    if (any) snprintf(versions + strlen(versions), sizeof versions - strlen(versions), ".\n");

    if (o.out) {
        mkdir_p(o.out);
        write_tsv(o.out);
    }
    print_table(&o, versions);
    gb_shutdown();
    for (size_t i = 0; i < o.npayloads; i++) {
        payload_free(pl[i]);
        free(blobs[i]);
    }
    free(payload_list);
    return CB_EXIT_OK;
}
