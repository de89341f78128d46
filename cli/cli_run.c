/* cli_run.c - `casbench run`: parse the options, hand the plan request to the
 * executor (bench/executor.h, bench/plan.h) and write env.tsv. */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cells.h"
#include "cli.h"
#include "cliopt.h"
#include "codec.h"
#include "envinfo.h"
#include "executor.h"
#include "gbench.h"
#include "handoff.h"
#include "hash.h"
#include "outdir.h"
#include "payload.h"
#include "plan.h"
#include "pyserve.h"
#include "results.h"
#include "schema.h"
#include "runlock.h"
#include "sets.h"
#include "testcodec.h"
#include "tmpstore.h"
#include "util.h"

#define MAX_ITEMS 64
#define DEFAULT_SEED 0   /* as `casbench pickle` */
#define DEFAULT_ROUNDS 10
/* With --python the figure that matters is the prediction's: the median
 * over the rounds of a ratio of two samples, each with a spread (IQR over
 * median) of 20-50 % on a shared VM: at 10 rounds the median's own error
 * is about the +-10 % the prediction is judged by, and how many rows fall
 * within it moved by 6 between three 10-round slices of one run (the
 * commit that set this has the counts). 30 rounds cut that error by
 * sqrt(3). */
#define DEFAULT_PYTHON_ROUNDS 30

typedef struct {
    char *payloads[MAX_ITEMS];
    size_t npayloads;
    plan_codec codecs[MAX_ITEMS];
    size_t ncodecs;
    const hash_desc *hashes[MAX_ITEMS];
    size_t nhashes;
    int protocols[4];
    size_t nprotocols;
    int alloc_mask;            /* PLAN_ALLOC_*; 0: the profile's policy */
    unsigned variant_mask;     /* --variant: bits of cell_save_variants; 0: the profile's */
    int repetitions;           /* rounds (run_rounds.h) */
    double min_time;           /* seconds: a cell's batch in one round lasts at least this */
    plan_profile profile;
    int sweep;                 /* EXEC_SWEEP_* */
    int cpu;                   /* -1: not pinned */
    const char *out, *resume, *store_dir;
    const char *python;        /* --python[=PY]: CPython's cells in the same rounds */
    int store_fsync;
    uint64_t seed;
    int seed_given;            /* --seed on the command line */
    int opts_given;            /* selection or timing options on the command line */
    unsigned char *not_kept;   /* argv[i] is --out, --resume or their value: not in run_args */
    char *decoded_args;        /* a resumed run's arguments: options point into it */
} run_opts;

/* ---- help --------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
"usage: casbench run [OPTIONS]\n"
"\n"
"Times metaflow's artifact save and load path with Google Benchmark, for each\n"
"payload, codec and hash, and writes a results directory (results/README.md):\n"
"matrix.tsv (one row per cell), env.tsv (machine, libraries, build) and\n"
"gbench.json (Google Benchmark's raw JSON, readable by compare.py).\n"
"Every cell is run once and verified before it is timed: decompress(compress(\n"
"blob)) == blob and the key equals an independent computation; a cell that\n"
"fails is a row with status `error` and is not timed.\n"
"\n"
"  --suite pr3090      PR #3090's three suites by its own method instead of the\n"
"                      matrix (see casbench run --suite pr3090 --help)\n"
"\n"
"selection (each repeatable or comma-separated):\n"
"  --payload SPEC      a payload (see `casbench list`); default: the five PR #3090\n"
"                      payloads. In a list, a piece `key=value` continues the\n"
"                      spec before it: weights:rows=64,cols=8,config is two specs\n"
"  --codec NAME[:L]    codec and level; default: the default set (below)\n"
"  --hash NAME         default: the default set (below)\n"
"  --protocol N        pickle protocol 2..5; default 4 (metaflow since 2.13.10)\n"
"  --variant NAME      save-path variant (save and save+store rows): sequential\n"
"                      (metaflow's order), fused (one pass of 128 KiB chunks, each\n"
"                      hashed then compressed in cache), overlapped (a worker\n"
"                      thread hashes while this one compresses; condition-variable\n"
"                      hand-off), overlapped-spin (spinning hand-off), streaming\n"
"                      (pickled through a 256 KiB window, each piece hashed and\n"
"                      compressed as it is made; save+store writes it to the\n"
"                      store's file as it goes: never the whole blob). Default:\n"
"                      sequential everywhere; with the key hash, also all three\n"
"                      for lz4:0 (cpython and reuse) and fused and overlapped for\n"
"                      gzip:3 (reuse); naming variants runs them with every save\n"
"                      pairing. fused and streaming need a codec with streaming:\n"
"                      libdeflate has none and gets no fused or streaming cell.\n"
"                      With --cpu N the overlapped worker runs on the next online\n"
"                      CPU, never on N\n"
"  --alloc MODE        cpython, fresh, reuse or both (fresh and reuse), for every\n"
"                      row that allocates output (default: see below). cpython:\n"
"                      glibc malloc/realloc/free in the sizes and order of\n"
"                      CPython 3.11 and its bindings (metaflow's path); fresh:\n"
"                      outputs of 128 KiB or more mmap'd each iteration (new\n"
"                      pages: an upper bound); reuse: buffers touched before\n"
"                      timing (a lower bound)\n"
"\n"
"the matrix (per payload and protocol):\n"
"  stage rows   pickle (fresh, reuse, cpython), hash of every hash (reuse: it\n"
"               allocates nothing; also cpython for xxh3-64 and xxh3-128: the\n"
"               plain entry points python3-xxhash calls), compress and\n"
"               decompress of every codec (reuse, cpython)\n"
"  save rows    variant sequential: every codec with sha1 (or the first hash\n"
"               when sha1 is not selected), reuse and cpython; every hash with\n"
"               lz4 and with the fastest gzip-compatible codec (the lowest\n"
"               compress median of this payload in this run; not `none`), cpython\n"
"  load rows    every codec, cpython (load with reuse is the decompress row)\n"
"  load+verify  the save pairings, cpython\n"
"  save+store   every codec with sha1, cpython\n"
"  --full       the whole cross product instead: every codec x every hash for\n"
"               save, load+verify and save+store, every row in all three modes\n"
"  --quick      a reduced profile: the quick sets of codecs and hashes (below,\n"
"               unless --codec/--hash); pickle, save and load cpython only;\n"
"               no load+verify or save+store; --rounds 3 --min-time 0.0015\n"
"  --hash-sweep[=only]  also (or only) time every selected hash on random input\n"
"               of 64 B to 64 MiB (powers of 4); payload column `sweep`\n"
"\n"
"timing: rounds (results/README.md). Every cell is verified, warmed up and\n"
"calibrated first; then each round times every cell once, as a batch of\n"
"iterations, in an order shuffled per round (cells whose ratio the report\n"
"states back-to-back), with a canary cell at round boundaries (rounds.tsv).\n"
"A cell's figure is its median over rounds. Google Benchmark times each batch.\n"
"  --rounds N          rounds, 2..%d; default %d, with --python %d (the\n"
"                      prediction is a median of per-round ratios)\n"
"                      (--repetitions N: the same)\n"
"  --min-time S        a batch lasts at least S seconds (at least one\n"
"                      iteration); default 0.003. Each round runs a cell's\n"
"                      batch as 3 sub-batches (results/README.md), the\n"
"                      fastest counting\n"
"  --cpu N             pin to logical CPU N (sched_setaffinity)\n"
"  --python[=PY]       also time CPython's cells (infra/python_path.py --serve,\n"
"                      run by PY, default " PYSERVE_DEFAULT_PYTHON ") in the same\n"
"                      rounds, into DIR/python/ (report finds it there). If\n"
"                      the Python side fails, one line says so and the C run\n"
"                      goes on. The C run then also times the calls of its\n"
"                      per-call cost rows on their own tiny inputs (payload\n"
"                      `overhead`: pickle of 0, hash, compress, decompress of\n"
"                      that 5-byte pickle, ..., a job handed to the overlapped\n"
"                      save's worker), which report's prediction subtracts\n"
"\n"
"output:\n"
"  --out DIR           results directory; default results/<host>-<UTC time>.\n"
"                      An existing non-empty DIR is refused\n"
"  --resume DIR        run only the cells DIR/matrix.tsv lacks (a torn last line\n"
"                      is dropped); alone, it reuses the run's own options\n"
"  --seed N            payload generator seed; default %d\n"
"  --store-dir DIR     where save+store writes <key[:2]>/<key> and <key>_meta;\n"
"                      default: a temporary directory, removed afterwards. Files\n"
"                      are removed between iterations (timer paused) so that each\n"
"                      iteration really writes\n"
"  --fsync             fsync each stored file before its rename\n"
"  -h, --help          this help;  --version  casbench's version\n"
"\n"
"On a terminal, a progress line goes to stderr. The results directory is\n"
"printed on stdout at the end.\n"
"\n"
"exit status: 0 done (rows with status error included), 1 usage, 2 bad input\n"
"(name, value, existing --out), 3 environment (I/O, memory, DIR in use by\n"
"another run or --resume: one writer at a time), 4 internal,\n"
"130 / 143 interrupted by SIGINT / SIGTERM: matrix.tsv keeps the finished rows\n"
"and --resume completes the run.\n",
            GB_MAX_REPETITIONS, DEFAULT_ROUNDS, DEFAULT_PYTHON_ROUNDS, DEFAULT_SEED);
    /* The named sets, from the codec and hash rows that define them. */
    fprintf(out, "\nnamed sets (the rows of codecs/codec.c and codecs/hash.c):\n");
    for (size_t i = 0; cb_set_names[i].name; i++) {
        char codecs[512], hashes[512];
        codec_set_specs(cb_set_names[i].bit, codecs, sizeof codecs);
        hash_set_names(cb_set_names[i].bit, hashes, sizeof hashes);
        fprintf(out, "  %-8s codecs %s\n  %-8s hashes %s\n", cb_set_names[i].name, codecs, "", hashes);
    }
}

/* ---- option parsing ----------------------------------------------------- */

static void add_payload(run_opts *o, const char *spec)
{
    size_t i;
    for (i = 0; i < o->npayloads; i++)
        if (strcmp(o->payloads[i], spec) == 0) return;
    if (o->npayloads == MAX_ITEMS) cb_fail(CB_EXIT_USAGE, "--payload: more than %d payloads", MAX_ITEMS);
    o->payloads[o->npayloads] = strdup(spec);
    if (!o->payloads[o->npayloads]) cb_fail(CB_EXIT_ENV, "out of memory");
    o->npayloads++;
}

/* Payload specs hold commas themselves: a piece that is `key=value` (no ':'
 * before its '=') continues the spec before it. */
static void add_payload_list(run_opts *o, const char *arg)
{
    char *s = strdup(arg), *cur = NULL, *piece, *save = NULL;
    size_t curlen = 0;
    if (!s) cb_fail(CB_EXIT_ENV, "out of memory");
    if (!*s) cb_fail(CB_EXIT_INPUT, "--payload '': empty payload spec");
    for (piece = strtok_r(s, ",", &save); piece; piece = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(piece, '='), *colon = strchr(piece, ':');
        int continues = cur && eq && (!colon || colon > eq);
        if (continues) {
            size_t n = strlen(piece);
            char *grown = realloc(cur, curlen + n + 2);
            if (!grown) cb_fail(CB_EXIT_ENV, "out of memory");
            cur = grown;
            cur[curlen++] = ',';
            memcpy(cur + curlen, piece, n + 1);
            curlen += n;
            continue;
        }
        if (cur) { add_payload(o, cur); free(cur); }
        cur = strdup(piece);
        if (!cur) cb_fail(CB_EXIT_ENV, "out of memory");
        curlen = strlen(cur);
    }
    if (cur) { add_payload(o, cur); free(cur); }
    free(s);
}

/* Each comma-separated piece of arg, in turn. */
#define FOR_EACH_PIECE(arg, flag, piece, body)                                         \
    do {                                                                                 \
        if (!*(arg) || (arg)[strlen(arg) - 1] == ',' || (arg)[0] == ',' || strstr((arg), ",,")) \
            cb_fail(CB_EXIT_INPUT, "%s %s: empty name in the list", flag, CB_Q(arg));         \
        char *s_ = strdup(arg), *save_ = NULL, *piece;                                  \
        if (!s_) cb_fail(CB_EXIT_ENV, "out of memory");                                  \
        for (piece = strtok_r(s_, ",", &save_); piece; piece = strtok_r(NULL, ",", &save_)) \
            body                                                                         \
        free(s_);                                                                        \
    } while (0)

static int add_codec(run_opts *o, const char *spec, int strict)
{
    char err[256];
    int level = 0;
    size_t i;
    const codec_desc *d = testcodec_find(spec, &level, err, sizeof err);
    if (!d) d = codec_find(spec, &level, err, sizeof err);
    if (!d) {
        if (strict) cb_fail(CB_EXIT_INPUT, "--codec %s: %s", CB_Q(spec), err);
        cb_warn("default codec %s: %s (skipped)", spec, err);
        return -1;
    }
    for (i = 0; i < o->ncodecs; i++)
        if (o->codecs[i].desc == d && o->codecs[i].level == level) return 0;
    if (o->ncodecs == MAX_ITEMS) cb_fail(CB_EXIT_USAGE, "--codec: more than %d codecs", MAX_ITEMS);
    o->codecs[o->ncodecs++] = (plan_codec){d, level};
    return 0;
}

static int add_hash(run_opts *o, const char *name, int strict)
{
    char err[256];
    size_t i;
    const hash_desc *h = hash_find(name, err, sizeof err);
    if (!h) {
        if (strict) cb_fail(CB_EXIT_INPUT, "--hash %s: %s", CB_Q(name), err);
        cb_warn("default hash %s: %s (skipped)", name, err);
        return -1;
    }
    for (i = 0; i < o->nhashes; i++)
        if (o->hashes[i] == h) return 0;
    if (o->nhashes == MAX_ITEMS) cb_fail(CB_EXIT_USAGE, "--hash: more than %d hashes", MAX_ITEMS);
    o->hashes[o->nhashes++] = h;
    return 0;
}

static void add_protocols(run_opts *o, const char *v)
{
    char err[256];
    FOR_EACH_PIECE(v, "--protocol", p, {
        uint64_t n;
        size_t k;
        if (cb_parse_u64(p, 2, 5, &n, err, sizeof err) != 0)
            cb_fail(CB_EXIT_INPUT, "--protocol %s: %s", CB_Q(p), err);
        for (k = 0; k < o->nprotocols && o->protocols[k] != (int)n; k++) {}
        if (k == o->nprotocols) o->protocols[o->nprotocols++] = (int)n;
    });
}

static void add_variants(run_opts *o, const char *v)
{
    FOR_EACH_PIECE(v, "--variant", p, {
        const cell_save_variant *sv = cell_save_variant_find(p);
        if (!sv) {
            char known[256] = "";
            for (size_t k = 0; k < cell_save_variant_count; k++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "",
                         cell_save_variants[k].name);
            cb_fail(CB_EXIT_INPUT, "--variant %s: unknown save variant (known: %s)", CB_Q(p), known);
        }
        o->variant_mask |= 1u << (unsigned)(sv - cell_save_variants);
    });
}

static void add_allocs(run_opts *o, const char *v)
{
    FOR_EACH_PIECE(v, "--alloc", p, {
        if (strcmp(p, schema_alloc_names[SCHEMA_ALLOC_FRESH]) == 0) o->alloc_mask |= PLAN_ALLOC_FRESH;
        else if (strcmp(p, schema_alloc_names[SCHEMA_ALLOC_REUSE]) == 0) o->alloc_mask |= PLAN_ALLOC_REUSE;
        else if (strcmp(p, schema_alloc_names[SCHEMA_ALLOC_CPYTHON]) == 0) o->alloc_mask |= PLAN_ALLOC_CPYTHON;
        else if (strcmp(p, "both") == 0) o->alloc_mask |= PLAN_ALLOC_FRESH | PLAN_ALLOC_REUSE;
        else cb_fail(CB_EXIT_INPUT, "--alloc %s: not fresh, reuse, cpython or both", CB_Q(p));
    });
}

enum {
    OPT_OUT = 256, OPT_RESUME, OPT_STORE_DIR, OPT_FSYNC, OPT_CPU, OPT_VERSION, OPT_PYTHON,
    /* The selection and timing options: a run's own, kept in env.tsv's run_args. */
    OPT_PAYLOAD, OPT_CODEC, OPT_HASH, OPT_PROTOCOL, OPT_VARIANT, OPT_ALLOC, OPT_ROUNDS, OPT_REPETITIONS,
    OPT_MIN_TIME, OPT_SEED, OPT_QUICK, OPT_FULL, OPT_HASH_SWEEP,
};

static const struct option run_options[] = {
    CB_OPT_VALUE("out", OPT_OUT),
    CB_OPT_VALUE("resume", OPT_RESUME),
    CB_OPT_VALUE("store-dir", OPT_STORE_DIR),
    CB_OPT_FLAG("fsync", OPT_FSYNC),
    CB_OPT_VALUE("cpu", OPT_CPU),
    CB_OPT_VALUE("payload", OPT_PAYLOAD),
    CB_OPT_VALUE("codec", OPT_CODEC),
    CB_OPT_VALUE("hash", OPT_HASH),
    CB_OPT_VALUE("protocol", OPT_PROTOCOL),
    CB_OPT_VALUE("variant", OPT_VARIANT),
    CB_OPT_VALUE("alloc", OPT_ALLOC),
    CB_OPT_VALUE("rounds", OPT_ROUNDS),
    CB_OPT_VALUE("repetitions", OPT_REPETITIONS),
    CB_OPT_VALUE("min-time", OPT_MIN_TIME),
    CB_OPT_VALUE("seed", OPT_SEED),
    CB_OPT_FLAG("quick", OPT_QUICK),
    CB_OPT_FLAG("full", OPT_FULL),
    CB_OPT_OPTIONAL("hash-sweep", OPT_HASH_SWEEP),
    CB_OPT_OPTIONAL("python", OPT_PYTHON),
    CB_OPT_HELP,
    CB_OPT_FLAG("version", OPT_VERSION),
    CB_OPT_END,
};

/* One option with its value (NULL when it takes none). */
static void apply_option(run_opts *o, int c, const char *v)
{
    char err[256], name[32];
    uint64_t n;
    switch (c) {
    case OPT_OUT: o->out = v; break;
    case OPT_RESUME: o->resume = v; break;
    case OPT_STORE_DIR: o->store_dir = v; break;
    case OPT_FSYNC: o->store_fsync = 1; break;
    case OPT_CPU:
        if (cb_parse_u64(v, 0, CPU_SETSIZE - 1, &n, err, sizeof err) != 0)
            cb_fail(CB_EXIT_INPUT, "--cpu %s: %s", CB_Q(v), err);
        o->cpu = (int)n;
        break;
    case OPT_PAYLOAD: add_payload_list(o, v); break;
    case OPT_CODEC: FOR_EACH_PIECE(v, "--codec", p, { add_codec(o, p, 1); }); break;
    case OPT_HASH: FOR_EACH_PIECE(v, "--hash", p, { add_hash(o, p, 1); }); break;
    case OPT_PROTOCOL: add_protocols(o, v); break;
    case OPT_VARIANT: add_variants(o, v); break;
    case OPT_ALLOC: add_allocs(o, v); break;
    case OPT_ROUNDS: case OPT_REPETITIONS:
        snprintf(name, sizeof name, "--%s", c == OPT_ROUNDS ? "rounds" : "repetitions");
        if (cb_parse_u64(v, 2, GB_MAX_REPETITIONS, &n, err, sizeof err) != 0)
            cb_fail(CB_EXIT_INPUT, "%s %s: %s", name, CB_Q(v), err);
        o->repetitions = (int)n;
        break;
    case OPT_MIN_TIME:
        if (cb_parse_double(v, 1e-6, 3600, &o->min_time, err, sizeof err) != 0)
            cb_fail(CB_EXIT_INPUT, "--min-time %s: %s", CB_Q(v), err);
        break;
    case OPT_SEED:
        if (cb_parse_u64(v, 0, UINT64_MAX, &o->seed, err, sizeof err) != 0)
            cb_fail(CB_EXIT_INPUT, "--seed %s: %s", CB_Q(v), err);
        break;
    case OPT_QUICK: case OPT_FULL: {
        plan_profile p = c == OPT_QUICK ? PLAN_QUICK : PLAN_FULL;
        if (o->profile != PLAN_DEFAULT && o->profile != p) cb_fail(CB_EXIT_USAGE, "--quick and --full: choose one");
        o->profile = p;
        break;
    }
    case OPT_HASH_SWEEP:
        if (v && strcmp(v, "only") != 0) cb_fail(CB_EXIT_INPUT, "--hash-sweep %s: the only value is 'only'", CB_Q(v));
        o->sweep = v ? EXEC_SWEEP_ONLY : EXEC_SWEEP_ADD;
        break;
    case OPT_PYTHON:
        o->python = v ? v : PYSERVE_DEFAULT_PYTHON;
        break;
    default:
        cb_fail(CB_EXIT_INTERNAL, "run: option %d has no handler", c);
    }
}

/* from_env: argv is a resumed run's own arguments (env.tsv's run_args). */
static void parse_args(run_opts *o, int argc, char **argv, int from_env)
{
    int c;
    char err[256];
    cb_getopt_reset();   /* a resumed run parses twice */
    while ((c = cb_getopt(argc, argv, "+hV", run_options, err, sizeof err)) != -1) {
        if (c == 'h') { usage(stdout); exit(CB_EXIT_OK); }
        if (c == 'V' || c == OPT_VERSION) {
            printf("casbench %s (commit %s)\n", cb_version, cb_git_commit);
            exit(CB_EXIT_OK);
        }
        if (c == '?') cb_fail(CB_EXIT_USAGE, "run: %s (see casbench run --help)", err);
        if (!from_env && c >= OPT_PAYLOAD) o->opts_given = 1;
        if (!from_env && c == OPT_SEED) o->seed_given = 1;
        if (!from_env && (c == OPT_OUT || c == OPT_RESUME)) {
            o->not_kept[optind - 1] = 1;
            if (optarg == argv[optind - 1]) o->not_kept[optind - 2] = 1;   /* "--out DIR" */
        }
        apply_option(o, c, optarg);
    }
    if (optind < argc)
        cb_fail(CB_EXIT_USAGE, "run: %s: unexpected argument (options only; see casbench run --help)", CB_Q(argv[optind]));
}

static void apply_profile(run_opts *o)
{
    size_t i;
    if (o->npayloads == 0 && o->sweep != EXEC_SWEEP_ONLY)
        for (i = 0; payload_default_names[i]; i++) add_payload(o, payload_default_names[i]);
    /* The named sets are data in the codec and hash rows (sets.h). */
    unsigned set = plan_profile_set(o->profile);
    if (o->ncodecs == 0) {
        size_t pos = 0;
        const codec_desc *c;
        int level;
        while ((c = codec_set_next(set, &pos, &level))) {
            char spec[64];
            snprintf(spec, sizeof spec, "%s:%d", c->name, level);
            add_codec(o, spec, 0);
        }
    }
    if (o->nhashes == 0)
        for (i = 0; i < hash_count; i++)
            if (hash_table[i].sets & set) add_hash(o, hash_table[i].name, 0);
    if (o->nprotocols == 0) o->protocols[o->nprotocols++] = 4;
    /* Sized for the budget (README): the default matrix with the hash sweep
     * in 5 minutes, --quick in 30 seconds, on 2 vCPUs. */
    if (o->repetitions == 0)
        o->repetitions = o->profile == PLAN_QUICK ? 3 : o->python ? DEFAULT_PYTHON_ROUNDS : DEFAULT_ROUNDS;
    if (o->min_time == 0) o->min_time = o->profile == PLAN_QUICK ? 0.0015 : 0.003;
    if (o->ncodecs == 0 || o->nhashes == 0)
        cb_fail(CB_EXIT_INPUT, "no codec or no hash left to run");
}

/* ---- run arguments kept for --resume ---------------------------------------- */

/* The arguments but --out and --resume, space-separated, each space, tab,
 * newline, CR and '%' as %XX: env.tsv's run_args. */
static void encode_args(const run_opts *o, int argc, char **argv, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (int i = 1; i < argc; i++) {
        if (o->not_kept[i]) continue;
        if (n && n + 1 < cap) out[n++] = ' ';
        for (const char *p = argv[i]; *p && n + 4 < cap; p++) {
            if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '%' || *p == '\r')
                n += (size_t)snprintf(out + n, cap - n, "%%%02X", (unsigned char)*p);
            else
                out[n++] = *p;
        }
        out[n] = 0;
    }
}

/* The words of encode_args' text; o->decoded_args holds them (options parsed
 * from them point into it) until cli_run returns. */
static char **decode_args(run_opts *o, const char *s, int *argc)
{
    if (strcmp(s, "none") == 0) s = "";
    size_t n = strlen(s), cnt = 1;
    char **argv = calloc(n + 2, sizeof *argv);
    char *copy = strdup(s);
    if (!argv || !copy) cb_fail(CB_EXIT_ENV, "out of memory");
    o->decoded_args = copy;
    argv[0] = "run";
    char *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *w = t;
        for (char *r = t; *r; r++) {
            unsigned v;
            if (*r == '%' && sscanf(r + 1, "%2x", &v) == 1) { *w++ = (char)v; r += 2; }
            else *w++ = *r;
        }
        *w = 0;
        argv[cnt++] = t;
    }
    *argc = (int)cnt;
    return argv;
}

/* --resume DIR: alone, the run's own options (from DIR/env.tsv) with this
 * command line's --cpu, --store-dir and --fsync; with selection or timing
 * options, those. The seed must be the run's. args_text: run_args. */
static void resume_options(run_opts *o, int argc, char **argv, char *args_text, size_t cap)
{
    char err[256], path[PATH_MAX + 32];
    const char *dir = o->resume;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        cb_fail(CB_EXIT_INPUT, "--resume %s: not a results directory", CB_Q(dir));
    snprintf(path, sizeof path, "%s/env.tsv", dir);
    char *stored = env_lookup(path, "run_args");
    char *seed_text = env_lookup(path, "seed");
    if (!stored || !seed_text) cb_fail(CB_EXIT_INPUT, "--resume %s: no env.tsv with run_args and seed", CB_Q(dir));
    if (!o->opts_given) {
        int sargc;
        char **sargv = decode_args(o, stored, &sargc);
        const char *keep_resume = o->resume, *keep_store = o->store_dir;
        int keep_cpu = o->cpu, keep_fsync = o->store_fsync;
        parse_args(o, sargc, sargv, 1);
        o->resume = keep_resume;
        o->out = NULL;
        if (keep_store) o->store_dir = keep_store;
        if (keep_cpu >= 0) o->cpu = keep_cpu;
        o->store_fsync |= keep_fsync;
        free(sargv);
        snprintf(args_text, cap, "%s", stored);
    } else {
        encode_args(o, argc, argv, args_text, cap);
    }
    char want_seed[32];
    snprintf(want_seed, sizeof want_seed, "%llu", (unsigned long long)o->seed);
    if (!o->seed_given && o->opts_given) {
        uint64_t s;
        if (cb_parse_u64(seed_text, 0, UINT64_MAX, &s, err, sizeof err) == 0) o->seed = s;
    } else if (strcmp(want_seed, seed_text) != 0) {
        cb_fail(CB_EXIT_INPUT, "--resume %s: the run used --seed %s, not %s", CB_Q(dir), seed_text, want_seed);
    }
    free(stored);
    free(seed_text);
}

/* ---- set-up ------------------------------------------------------------------ */

/* save+store's directory: --store-dir (made when missing), else a temporary
 * one, removed at exit whatever the exit (tmpstore.h). */
static const char *store_directory(const run_opts *o, char *tmp, size_t cap)
{
    char err[512];
    struct stat sb;
    if (!o->store_dir) {
        if (tmpstore_create(tmp, cap, err, sizeof err) != 0) cb_fail(CB_EXIT_ENV, "%s", err);
        return tmp;
    }
    outdir_mkdir_parents(o->store_dir);
    if (mkdir(o->store_dir, 0777) != 0 && errno != EEXIST)
        cb_fail(CB_EXIT_ENV, "--store-dir %s: %s", CB_Q(o->store_dir), strerror(errno));
    if (stat(o->store_dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || access(o->store_dir, W_OK) != 0)
        cb_fail(CB_EXIT_ENV, "--store-dir %s: not a writable directory", CB_Q(o->store_dir));
    return o->store_dir;
}

/* env.tsv: the machine and libraries (envinfo.h) and the run's options; a
 * resumed run only appends its time. */
static void write_env(const run_opts *o, const char *dir, const char *store_dir, const char *args_text)
{
    char err[512], path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/env.tsv", dir);
    if (o->resume) {
        char t[64];
        env_utc_now(t, sizeof t, 0);
        if (env_append(path, "resume_utc_time", t, err, sizeof err) != 0) cb_fail(CB_EXIT_ENV, "%s", err);
        return;
    }
    char seed[32], reps[16], mt[32], cpu[16], protos[32] = "", mmap_t[32], fs[32] = "unknown";
    char wcpu[16], load[32] = "unknown";
    int w = handoff_worker_cpu();
    FILE *lf = fopen("/proc/loadavg", "r");
    /* Other work on the machine at the start: what the overlapped variants
     * (which need a second CPU) and every median should be read against. */
    if (lf) {
        if (fscanf(lf, "%31s", load) != 1) snprintf(load, sizeof load, "unknown");
        fclose(lf);
    }
    /* Where the overlapped variants' worker thread runs (cells.h). */
    snprintf(wcpu, sizeof wcpu, w >= 0 ? "%d" : w == -1 ? "unpinned" : "none", w);
    struct statfs sfs;
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    snprintf(reps, sizeof reps, "%d", o->repetitions);
    snprintf(mt, sizeof mt, "%g", o->min_time);
    snprintf(cpu, sizeof cpu, o->cpu >= 0 ? "%d" : "none", o->cpu);
    for (size_t i = 0; i < o->nprotocols; i++)
        snprintf(protos + strlen(protos), sizeof protos - strlen(protos), "%s%d", i ? "," : "", o->protocols[i]);
    snprintf(mmap_t, sizeof mmap_t, "%zu", CELL_FRESH_MMAP_MIN);
    if (statfs(store_dir, &sfs) == 0) snprintf(fs, sizeof fs, "0x%lx", (unsigned long)sfs.f_type);
    const char *extra[] = {
        "profile", plan_profile_names[o->profile],
        "seed", seed,
        "repetitions", reps,
        "min_time_s", mt,
        "protocols", protos,
        "cpu_pin", cpu,
        "overlapped_worker_cpu", wcpu,
        "loadavg_1m", load,
        "store_dir", o->store_dir ? o->store_dir : "temporary",
        "store_fs_magic", fs,
        "store_fsync", o->store_fsync ? "yes" : "no",
        "fresh_mmap_min_bytes", mmap_t,
        "pickle_numpy_major", "1",
        "run_args", args_text,
        NULL, NULL,
    };
    if (env_write(path, extra, err, sizeof err) != 0) cb_fail(CB_EXIT_ENV, "%s", err);
}

/* Every payload spec is checked, --cpu applied and Google Benchmark set up
 * before anything is written. */
static void check_and_pin(const run_opts *o)
{
    char err[512];
    for (size_t i = 0; i < o->npayloads; i++) {
        int status = CB_EXIT_INPUT;
        payload *p = payload_create(o->payloads[i], o->seed, &status, err, sizeof err);
        if (!p) cb_fail(status, "--payload %s: %s", CB_Q(o->payloads[i]), err);
        payload_free(p);
    }
    if (o->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(o->cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0)
            cb_fail(CB_EXIT_INPUT, "--cpu %d: %s (this machine has %ld online CPUs)", o->cpu, strerror(errno),
                    sysconf(_SC_NPROCESSORS_ONLN));
    }
    /* Google Benchmark's global repetitions: every batch sets its own (rounds.h). */
    gb_options gopt = {2, o->min_time};
    if (gb_init(&gopt, err, sizeof err) != 0) cb_fail(CB_EXIT_INPUT, "%s", err);
}

/* ---- the subcommand ---------------------------------------------------------- */

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    g_signal = sig;
    gb_request_stop();
}

/* PR #3090's suites have their own options and executor (cli_run_suite.c). */
static int wants_suite(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strncmp(argv[i], "--suite", 7) == 0 && (argv[i][7] == 0 || argv[i][7] == '=')) return 1;
    return 0;
}

int cli_run(int argc, char **argv)
{
    if (wants_suite(argc, argv)) return cli_run_suite(argc, argv);
    run_opts o = {0};
    char err[512], dir[PATH_MAX], args_text[8192], store_tmp[PATH_MAX];
    o.cpu = -1;
    o.seed = DEFAULT_SEED;
    if (!(o.not_kept = calloc((size_t)argc + 1, 1))) cb_fail(CB_EXIT_ENV, "out of memory");
    parse_args(&o, argc, argv, 0);
    if (o.out && o.resume) cb_fail(CB_EXIT_USAGE, "--out and --resume: give one (--resume DIR writes into DIR)");
    if (o.resume) {
        snprintf(dir, sizeof dir, "%s", o.resume);
        resume_options(&o, argc, argv, args_text, sizeof args_text);
    } else {
        encode_args(&o, argc, argv, args_text, sizeof args_text);
    }
    if (!args_text[0]) snprintf(args_text, sizeof args_text, "none");
    apply_profile(&o);
    check_and_pin(&o);

    int out_status = o.resume ? 0 : outdir_make(o.out, "; use --resume to complete it", dir, sizeof dir, err, sizeof err);
    if (out_status != 0) cb_fail(out_status, "%s", err);
    int lock_status = runlock_acquire(dir, err, sizeof err);   /* one writer per directory */
    if (lock_status != 0) cb_fail(lock_status, "%s", err);
    const char *store_dir = store_directory(&o, store_tmp, sizeof store_tmp);
    int rstatus = CB_EXIT_ENV;
    results_file *rf = results_open(dir, o.resume != NULL, &rstatus, err, sizeof err);
    if (!rf) cb_fail(rstatus, "%s", err);
    write_env(&o, dir, store_dir, args_text);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;   /* a second signal ends the process at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char python_dir[PATH_MAX + 8];
    snprintf(python_dir, sizeof python_dir, "%s/python", dir);
    plan_request req = {o.codecs, o.ncodecs, o.hashes, o.nhashes, o.profile, o.alloc_mask, o.variant_mask};
    exec_opts eo = {&req, o.payloads, o.npayloads, o.protocols, o.nprotocols, o.sweep, o.seed, dir,
                    o.resume != NULL, store_dir, o.store_fsync, o.repetitions, o.min_time, isatty(2), &g_signal,
                    o.python, python_dir};
    size_t errors = 0;
    int exec_status;
    int stopped = exec_run(&eo, rf, &errors, &exec_status, err, sizeof err);
    if (stopped < 0) cb_fail(exec_status, "%s", err);
    size_t rows = results_count(rf);
    results_close(rf);
    gb_shutdown();
    for (size_t i = 0; i < o.npayloads; i++) free(o.payloads[i]);
    free(o.decoded_args);
    free(o.not_kept);
    if (stopped) {
        int sig = g_signal ? g_signal : SIGINT;
        cb_warn("%s: interrupted by %s: %zu finished rows kept (casbench run --resume %s completes it)", dir,
                sig == SIGTERM ? "SIGTERM" : "SIGINT", rows, dir);
        return 128 + sig;
    }
    if (errors) cb_warn("%s: %zu cells failed verification (status error)", dir, errors);
    printf("%s\n", dir);
    return CB_EXIT_OK;
}
