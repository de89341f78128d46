/* cli_calibrate.c - `casbench calibrate`: options, the run directory and
 * temporary files, and the table; the checks themselves are calibrate/. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calibrate.h"
#include "atomic.h"
#include "cliopt.h"
#include "cli.h"
#include "gbench.h"
#include "outdir.h"
#include "strbuf.h"
#include "util.h"

/* As `casbench run` (results/README.md): fresh allocations of this size or
 * more are fresh mmap'd pages each iteration. */
#define MMAP_THRESHOLD (128 * 1024)

static const char *const default_payloads[] = {"embeddings", "weights", "random", NULL};

typedef struct {
    calib_opts run;
    const char *payloads[CALIB_MAX_PAYLOADS];
    size_t npayloads;
    char *payload_list;   /* the --payload value the names point into */
    const char *out;
    int repetitions;
    double min_time;
    int rt;
} cli_opts;

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
"Options are read in order, as getopt_long reads them: `--out DIR` or\n"
"`--out=DIR`, a long name may be shortened while it stays unambiguous, and\n"
"`--` ends the options (calibrate takes no other argument).\n"
"\n"
"calibrate.tsv columns: what, harness_mb_per_s, tool_mb_per_s, ratio,\n"
"within_bounds (yes, no, or n/a for a row shown for context), harness_measures,\n"
"tool_measures, why. MB/s is 10^6 bytes per second on both sides; the harness\n"
"figure is its fastest repetition, as each tool reports its fastest run.\n"
"\n"
"exit status: 0 done (a ratio out of bounds is a finding, not an error), 1 usage,\n"
"2 bad input, 3 environment (a tool missing, failing or printing what calibrate\n"
"cannot read; I/O), 4 internal (a harness cell fails verification).\n",
            CALIB_PICKLE_LO, CALIB_LIKE_LO, CALIB_LIKE_HI);
}

/* ---- what the process must remove however it ends (atexit, signals) ------- */

static char g_tmpdir[PATH_MAX];
static const calib_inputs *g_inputs;
static char g_tmp_tsv[PATH_MAX];

static void cleanup(void)
{
    if (g_inputs) calib_inputs_unlink(g_inputs);
    if (g_tmpdir[0]) rmdir(g_tmpdir);
    if (g_tmp_tsv[0]) unlink(g_tmp_tsv);
}

static void on_signal(int sig)
{
    cleanup();   /* unlink and rmdir only: safe in a handler */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void progress(void *arg, const char *what)
{
    (void)arg;
    fprintf(stderr, "\r\033[Kcalibrate: %s", what);
    fflush(stderr);
}

/* ---- options ---------------------------------------------------------------- */

static unsigned parse_tools(const char *arg)
{
    char *s = strdup(arg), *save = NULL;
    unsigned bits = 0;
    if (!s) cb_fail(CB_EXIT_ENV, "out of memory");
    for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const calib_tool *k = calib_tool_named(t);
        if (!k) cb_fail(CB_EXIT_INPUT, "--tool %s: unknown (lz4, zstd, xxhsum, openssl, pickle)", CB_Q(t));
        bits |= k->bit;
    }
    free(s);
    if (!bits) cb_fail(CB_EXIT_INPUT, "--tool %s: empty list", CB_Q(arg));
    return bits;
}

static void parse_payloads(cli_opts *o, const char *arg)
{
    char *save = NULL;
    free(o->payload_list);
    o->payload_list = strdup(arg);
    if (!o->payload_list) cb_fail(CB_EXIT_ENV, "out of memory");
    o->npayloads = 0;
    for (char *t = strtok_r(o->payload_list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->npayloads == CALIB_MAX_PAYLOADS) cb_fail(CB_EXIT_USAGE, "--payload: more than %d payloads", CALIB_MAX_PAYLOADS);
        o->payloads[o->npayloads++] = t;
    }
    if (!o->npayloads) cb_fail(CB_EXIT_INPUT, "--payload %s: empty list", CB_Q(arg));
}

static int parse_only(const char *kind, const char *file);

enum { OPT_RT = 256, OPT_PAYLOAD, OPT_TOOL, OPT_OUT, OPT_PARSE, OPT_VERSION, OPT_QUICK };

/* libc's getopt_long: "--flag value", "--flag=value", "--" ends the
 * options, unambiguous prefixes of a long name are accepted. Returns -1 when
 * the options ask for a run, else the exit status of what they did
 * (--help, --version, --parse). */
static int parse_options(int argc, char **argv, cli_opts *o)
{
    static const struct option longopts[] = {
        CB_OPT_FLAG("quick", OPT_QUICK),
        CB_OPT_FLAG("rt", OPT_RT),
        CB_OPT_VALUE("payload", OPT_PAYLOAD),
        CB_OPT_VALUE("tool", OPT_TOOL),
        CB_OPT_VALUE("out", OPT_OUT),
        CB_OPT_VALUE("parse", OPT_PARSE),
        CB_OPT_HELP,
        CB_OPT_FLAG("version", OPT_VERSION),
        CB_OPT_END,
    };
    int c;
    char err[256];
    cb_getopt_reset();
    while ((c = cb_getopt(argc, argv, "h", longopts, err, sizeof err)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return CB_EXIT_OK;
        case OPT_VERSION: printf("casbench %s (commit %s)\n", cb_version, cb_git_commit); return CB_EXIT_OK;
        case OPT_QUICK: o->run.quick = 1; break;
        case OPT_RT: o->rt = 1; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_TOOL: o->run.tools = parse_tools(optarg); break;
        case OPT_PAYLOAD: parse_payloads(o, optarg); break;
        case OPT_PARSE:
            /* KIND is the option's value, FILE the argument after it. */
            if (optind >= argc) cb_fail(CB_EXIT_USAGE, "--parse: needs KIND and FILE");
            return parse_only(optarg, argv[optind]);
        default:
            if (optopt == OPT_PARSE) cb_fail(CB_EXIT_USAGE, "--parse: needs KIND and FILE");
            cb_fail(CB_EXIT_USAGE, "calibrate: %s (see casbench calibrate --help)", err);
        }
    }
    if (optind < argc)
        cb_fail(CB_EXIT_USAGE, "%s: unknown option (see casbench calibrate --help)", CB_QP(argv[optind]));
    return -1;
}

/* ---- --parse (tests) ------------------------------------------------------- */

static void parse_xxhsum(const char *text, size_t len)
{
    char lines[1024] = "", err[256];
    int found = 0;
    for (size_t i = 0; i < calib_xxh_alg_count; i++) {
        const calib_xxh_alg *a = &calib_xxh_algs[i];
        uint64_t size;
        double bps;
        int rc = calib_parse_xxhsum_bench(text, len, a->id, a->tool_name, &size, &bps, err, sizeof err);
        if (rc == CALIB_PARSE_ABSENT) continue;
        if (rc != 0) cb_fail(rc, "xxhsum: %s", err);
        found++;
        snprintf(lines + strlen(lines), sizeof lines - strlen(lines), "%d\t%s\t%llu\t%.17g\n", a->id, a->tool_name,
                 (unsigned long long)size, bps);
    }
    if (!found) cb_fail(CB_EXIT_ENV, "xxhsum: no result line '<id>#<name> : <size> -> <N> it/s' in its output");
    fputs(lines, stdout);
}

/* Read a captured tool output and print what calibrate reads from it. */
static int parse_only(const char *kind, const char *file)
{
    uint8_t *data;
    size_t len;
    char err[256];
    int rc;
    if (strcmp(kind, "lz4") != 0 && strcmp(kind, "zstd") != 0 && strcmp(kind, "xxhsum") != 0 &&
        strncmp(kind, "openssl:", 8) != 0)
        cb_fail(CB_EXIT_USAGE, "--parse %s: expected lz4, zstd, xxhsum or openssl:ALG:SIZE", CB_Q(kind));
    if (cb_read_file(file, (size_t)64 << 20, &data, &len, err, sizeof err) != 0)
        cb_fail(CB_EXIT_INPUT, "%s: %s", file, err);
    const char *text = (const char *)data;
    if (strcmp(kind, "lz4") == 0 || strcmp(kind, "zstd") == 0) {
        uint64_t size, csize;
        double c, d;
        if ((rc = calib_parse_codec_bench(text, len, &size, &csize, &c, &d, err, sizeof err)) != 0)
            cb_fail(rc, "%s: %s", kind, err);
        printf("size\t%llu\ncompressed_size\t%llu\ncompress_bytes_per_s\t%.17g\ndecompress_bytes_per_s\t%.17g\n",
               (unsigned long long)size, (unsigned long long)csize, c, d);
    } else if (strcmp(kind, "xxhsum") == 0) {
        parse_xxhsum(text, len);
    } else {
        char alg[64];
        uint64_t size;
        double bps;
        const char *c = strchr(kind + 8, ':');
        if (!c || c == kind + 8 || (size_t)(c - kind - 8) >= sizeof alg ||
            cb_parse_u64(c + 1, 1, UINT32_MAX, &size, err, sizeof err) != 0)
            cb_fail(CB_EXIT_USAGE, "--parse %s: expected openssl:ALG:SIZE", CB_Q(kind));
        memcpy(alg, kind + 8, (size_t)(c - kind - 8));
        alg[c - kind - 8] = 0;
        if ((rc = calib_parse_openssl_speed(text, len, alg, size, &bps, err, sizeof err)) != 0)
            cb_fail(rc, "openssl: %s", err);
        printf("bytes_per_s\t%.17g\n", bps);
    }
    free(data);
    return CB_EXIT_OK;
}

/* ---- output ------------------------------------------------------------------ */

/* b, whole, or exit 1 when a growth of it failed. */
static void buf_done(const cb_buf *b)
{
    if (b->oom) cb_fail(CB_EXIT_ENV, "out of memory");
}

static void write_tsv(const calib_table *t, const char *dir)
{
    cb_buf b = {0};
    char path[PATH_MAX], err[PATH_MAX + 128];
    cb_buf_puts(&b, "what\tharness_mb_per_s\ttool_mb_per_s\tratio\twithin_bounds\tharness_measures\ttool_measures\twhy\n");
    for (size_t i = 0; i < t->n; i++) {
        const calib_row *r = &t->rows[i];
        cb_buf_printf(&b, "%s\t%.1f\t%.1f\t%.3f\t%s\t%s\t%s\t%s\n", r->what, r->harness_bps / 1e6, r->tool_bps / 1e6,
                      calib_row_ratio(r), calib_row_bounds(r), r->harness_measures, r->tool_measures, r->why);
    }
    buf_done(&b);
    if (snprintf(path, sizeof path, "%s/calibrate.tsv", dir) >= (int)sizeof path ||
        snprintf(g_tmp_tsv, sizeof g_tmp_tsv, "%s.tmp", path) >= (int)sizeof g_tmp_tsv)
        cb_fail(CB_EXIT_INPUT, "--out %s: path too long", CB_Q(dir));
    /* g_tmp_tsv: cb_write_atomic's temporary file, removed on a signal. */
    if (cb_write_atomic(path, b.p, b.n, CB_DURABLE, NULL, err, sizeof err) != 0) cb_fail(CB_EXIT_ENV, "%s", err);
    g_tmp_tsv[0] = 0;
    cb_buf_free(&b);
}

static void print_table(const cli_opts *o, const calib_table *t, const char *versions)
{
    cb_buf b = {0};
    cb_buf_printf(&b, "# casbench calibrate\n\n");
    cb_buf_printf(&b, "harness / tool throughput on the same bytes, in the same run. MB/s = 10^6 bytes/s on both sides; "
                 "the harness figure is the fastest of %d Google Benchmark repetitions (at least %g s each), as each tool "
                 "reports its fastest run. Target: %.2f..%.2f for like-with-like rows, >= %.2f for pickle vs memcpy; "
                 "n/a rows are shown for context.\n\n",
            o->repetitions, o->min_time, CALIB_LIKE_LO, CALIB_LIKE_HI, CALIB_PICKLE_LO);
    cb_buf_printf(&b, "| what | harness MB/s | tool MB/s | ratio | within bounds | harness measures | tool measures | why |\n");
    cb_buf_printf(&b, "|---|---:|---:|---:|---|---|---|---|\n");
    for (size_t i = 0; i < t->n; i++) {
        const calib_row *r = &t->rows[i];
        cb_buf_printf(&b, "| %s | %.1f | %.1f | %.3f | %s | %s | %s | %s |\n", r->what, r->harness_bps / 1e6,
                r->tool_bps / 1e6, calib_row_ratio(r), calib_row_bounds(r), r->harness_measures, r->tool_measures, r->why);
    }
    if (o->rt) cb_buf_printf(&b, "\nRun with --rt: the harness and the tools under SCHED_FIFO priority 10.\n");
    cb_buf_printf(&b, "\n%s", versions);
    buf_done(&b);
    if (cb_write_all(STDOUT_FILENO, b.p, b.n) != 0) cb_fail(CB_EXIT_ENV, "stdout: %s", strerror(errno));
    cb_buf_free(&b);
}

/* ---- the subcommand ------------------------------------------------------------ */

/* --out, checked before measuring and made after: a failed run leaves nothing. */
static void check_out(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) cb_fail(CB_EXIT_INPUT, "--out %s: not a directory", CB_Q(dir));
    if (stat(dir, &st) == 0 && access(dir, W_OK) != 0) cb_fail(CB_EXIT_ENV, "--out %s: %s", CB_Q(dir), strerror(errno));
}

static void make_out(const char *dir)
{
    struct stat st;
    if (strlen(dir) >= PATH_MAX) cb_fail(CB_EXIT_INPUT, "--out %s: path too long", CB_Q(dir));
    outdir_mkdir_parents(dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) cb_fail(CB_EXIT_ENV, "--out %s: %s", CB_Q(dir), strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) cb_fail(CB_EXIT_INPUT, "--out %s: not a directory", CB_Q(dir));
    if (access(dir, W_OK) != 0) cb_fail(CB_EXIT_ENV, "--out %s: %s", CB_Q(dir), strerror(errno));
}

/* The payloads, pickled; and, for the codec tools, written to files in a
 * temporary directory removed however the run ends. */
static void load_inputs(const cli_opts *o, calib_inputs *in)
{
    char err[512];
    int rc, codec_tools = (o->run.tools & (CALIB_LZ4 | CALIB_ZSTD)) != 0;
    for (size_t i = 0; i < o->npayloads; i++)
        if ((rc = calib_inputs_add(in, o->payloads[i], codec_tools, err, sizeof err)) != 0)
            cb_fail(rc, "--payload %s: %s", CB_Q(o->payloads[i]), err);
    if ((o->run.tools & CALIB_PICKLE) && !calib_pickle_input(in))
        cb_fail(CB_EXIT_INPUT, "--tool pickle: no selected payload is an object to pickle");
    if (o->out) check_out(o->out);
    g_inputs = in;
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!codec_tools) return;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_tmpdir, sizeof g_tmpdir, "%s/casbench-calibrate.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_tmpdir)) {
        int e = errno;
        g_tmpdir[0] = 0;
        cb_fail(CB_EXIT_ENV, "temporary directory: %s", strerror(e));
    }
    if ((rc = calib_inputs_write(in, g_tmpdir, err, sizeof err)) != 0) cb_fail(rc, "%s", err);
}

int cli_calibrate(int argc, char **argv)
{
    cli_opts o;
    calib_toolset ts;
    calib_inputs in;
    calib_table t = {0};
    char err[512], versions[2048];
    int rc;
    memset(&o, 0, sizeof o);
    memset(&in, 0, sizeof in);
    o.run.tools = CALIB_ALL;
    if ((rc = parse_options(argc, argv, &o)) >= 0) return rc;
    if (!o.npayloads)
        for (size_t i = 0; default_payloads[i]; i++) o.payloads[o.npayloads++] = default_payloads[i];
    o.repetitions = o.run.quick ? 2 : 5;
    o.min_time = o.run.quick ? 0.01 : 0.1;
    if (isatty(STDERR_FILENO)) o.run.progress = progress;

    /* Every tool first: a missing one should not cost a minute of measuring. */
    if ((rc = calib_tools_find(o.run.tools, &ts, err, sizeof err)) != 0) cb_fail(rc, "%s", err);
    load_inputs(&o, &in);
    if (o.rt) {
        struct sched_param sp;
        memset(&sp, 0, sizeof sp);
        sp.sched_priority = 10;
        if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) cb_fail(CB_EXIT_ENV, "--rt: %s", strerror(errno));
    }
    gb_options gopt = {o.repetitions, o.min_time};
    if (gb_init(&gopt, err, sizeof err) != 0) cb_fail(CB_EXIT_INTERNAL, "%s", err);
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    if ((rc = calib_run(&o.run, &ts, &in, &t, err, sizeof err)) != 0) cb_fail(rc, "%s", err);
    if (o.run.progress) fprintf(stderr, "\r\033[K");
    calib_versions(o.run.tools, versions, sizeof versions);
    if (o.out) {
        make_out(o.out);
        write_tsv(&t, o.out);
    }
    print_table(&o, &t, versions);
    gb_shutdown();
    calib_table_free(&t);
    g_inputs = NULL;
    calib_inputs_unlink(&in);
    calib_inputs_free(&in);
    free(o.payload_list);
    return CB_EXIT_OK;
}
