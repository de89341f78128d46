/* cli_run_suite.c - `casbench run --suite pr3090`: PR #3090's three benchmark
 * suites by their own method (bench/roundtrip.h), into a results directory
 * of the usual schema (matrix.tsv, env.tsv). cli_run hands over any command
 * line holding --suite. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cliopt.h"
#include "envinfo.h"
#include "outdir.h"
#include "results.h"
#include "roundtrip.h"
#include "util.h"

static void usage(FILE *out)
{
    fprintf(out,
"usage: casbench run --suite pr3090 [--quick] [--out DIR] [--numpy 1|2] [--tmp DIR]\n"
"                                   [--keep-stores DIR]\n"
"\n"
"Runs the C side of PR #3090's three benchmark scripts (Netflix/metaflow\n"
"benchmarks/) by their own method: the same blobs, iteration counts and mean.\n"
"  realistic  bench_cas_realistic.py: the five pr3090-* payloads (pickled, pickle\n"
"             not timed) through a metaflow-layout local store: save (key, existence\n"
"             check, compress, makedirs, blob and _meta via temp file + rename) and\n"
"             load (existence checks, _meta, read, decompress), a fresh store per\n"
"             iteration, the iteration number appended as 4 big-endian bytes\n"
"  e2e        bench_cas_e2e.py: the same on pattern:1000 .. pattern:10000000\n"
"  micro      bench_cas.py: sha1, xxh64, gzip:3/gzip:1 (GzipFile-equivalent),\n"
"             zlib:3, lz4:0 compress and decompress on pattern:1000 .. 10000000\n"
"The round trip runs gzip:3 (cas_version 1, metaflow master) and lz4:0\n"
"(cas_version 2, the PR), then every other default codec with sha1 and lz4:0 /\n"
"isal:1 with other hashes. Rows: variant pr3090-<suite>; mean_ns is the PR's\n"
"statistic, median_ns and samples_ns (one per iteration) give the median and\n"
"its interval (casbench report).\n"
"  --quick      a tenth of the iterations (at least 2), gzip:3 and lz4:0 only\n"
"  --out DIR    results directory (default results/<host>-<UTC time>/); never\n"
"               an existing non-empty one\n"
"  --numpy M    the ndarray pickles' module path: 2 (default: numpy._core, the\n"
"               published blob sizes) or 1 (numpy.core, Debian 12's numpy)\n"
"  --tmp DIR    where the per-iteration stores are made (default $TMPDIR or /tmp)\n"
"  --keep-stores DIR  keep each round trip's last store (its last iteration's\n"
"               blob and _meta) as DIR/<n>-<payload>-<codec>-<hash>/cas/..., moved\n"
"               there untimed: what the round trip wrote, for checking with metaflow\n"
"Exit status: 0 done, 1 usage, 2 bad input, 3 environment, 130/143 interrupted\n"
"(finished rows are kept).\n");
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { g_stop = sig; }

static void progress(const char *what)
{
    fprintf(stderr, "casbench: pr3090: %s\n", what);
}

#define SUITE_HELP "casbench run --suite pr3090 --help"

enum { OPT_SUITE = 256, OPT_OUT, OPT_TMP, OPT_KEEP, OPT_NUMPY, OPT_QUICK };

static const struct option suite_options[] = {
    CB_OPT_VALUE("suite", OPT_SUITE),
    CB_OPT_VALUE("out", OPT_OUT),
    CB_OPT_VALUE("tmp", OPT_TMP),
    CB_OPT_VALUE("keep-stores", OPT_KEEP),
    CB_OPT_VALUE("numpy", OPT_NUMPY),
    CB_OPT_FLAG("quick", OPT_QUICK),
    CB_OPT_HELP,
    CB_OPT_END,
};

int cli_run_suite(int argc, char **argv)
{
    const char *suite = NULL, *out = NULL, *tmp = getenv("TMPDIR"), *keep = NULL;
    char err[512], dir[PATH_MAX], path[PATH_MAX + 16];
    int quick = 0, numpy_major = 2, c;
    int64_t m;

    cb_getopt_reset();
    while ((c = cb_getopt(argc, argv, "+h", suite_options, err, sizeof err)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return CB_EXIT_OK;
        case OPT_SUITE: suite = optarg; break;
        case OPT_OUT: out = optarg; break;
        case OPT_TMP: tmp = optarg; break;
        case OPT_KEEP: keep = optarg; break;
        case OPT_NUMPY:
            if (cb_parse_i64(optarg, 1, 2, &m, err, sizeof err) != 0)
                cb_fail(CB_EXIT_INPUT, "--numpy %s: %s", CB_Q(optarg), err);
            numpy_major = (int)m;
            break;
        case OPT_QUICK: quick = 1; break;
        case '?': cb_fail(CB_EXIT_USAGE, "run: %s (see %s)", err, SUITE_HELP);
        default: cb_fail(CB_EXIT_INTERNAL, "run --suite: option %d has no handler", c);
        }
    }
    if (optind < argc)
        cb_fail(CB_EXIT_USAGE, "run: %s: unexpected argument (options only; see %s)", CB_Q(argv[optind]), SUITE_HELP);
    if (!suite || strcmp(suite, "pr3090") != 0)
        cb_fail(CB_EXIT_INPUT, "--suite %s: unknown suite (there is one: pr3090)", CB_Q(suite ? suite : ""));
    if (!tmp || !*tmp) tmp = "/tmp";
    struct stat sb;
    if (stat(tmp, &sb) != 0 || !S_ISDIR(sb.st_mode))
        cb_fail(CB_EXIT_INPUT, "--tmp %s: not a directory", CB_Q(tmp));
    if (keep && (stat(keep, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        cb_fail(CB_EXIT_INPUT, "--keep-stores %s: not a directory", CB_Q(keep));

    int out_status = outdir_make(out, "", dir, sizeof dir, err, sizeof err);
    if (out_status != 0) cb_fail(out_status, "%s", err);
    int status;
    results_file *rf = results_open(dir, 0, &status, err, sizeof err);
    if (!rf) cb_fail(status, "%s", err);
    snprintf(path, sizeof path, "%s/env.tsv", dir);
    char numpy_text[8], load[32] = "unknown";
    double la[1];
    snprintf(numpy_text, sizeof numpy_text, "%d", numpy_major);
    if (getloadavg(la, 1) == 1) snprintf(load, sizeof load, "%.2f", la[0]);
    const char *extra[] = {
        "runtime", "c",
        "profile", quick ? "pr3090-quick" : "pr3090",
        "suite", "pr3090",
        "statistic", "mean of the published iteration counts (mean_ns); median_ns with an "
                     "order-statistic interval from samples_ns",
        "pickle_numpy_major", numpy_text,
        "loadavg_1m", load,
        "store_dir", tmp,
        NULL, NULL,
    };
    if (env_write(path, extra, err, sizeof err) != 0) cb_fail(CB_EXIT_ENV, "%s", err);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rt_options o = {quick, numpy_major, tmp, keep, &g_stop, progress};
    size_t errors = 0;
    int rc = rt_run_all(&o, rf, &errors, err, sizeof err);
    size_t rows = results_count(rf);
    results_close(rf);
    if (rc < 0) cb_fail(CB_EXIT_ENV, "%s", err);
    if (rc == 1) {
        cb_warn("%s: interrupted: %zu finished rows kept", dir, rows);
        return 128 + (g_stop ? (int)g_stop : SIGINT);
    }
    if (errors) cb_warn("%s: %zu rows failed verification (status error)", dir, errors);
    printf("%s\n", dir);
    return CB_EXIT_OK;
}
