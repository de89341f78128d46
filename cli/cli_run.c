/* cli_run.c - `casbench run`: the benchmark matrix into a results directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cells.h"
#include "cli.h"
#include "codec.h"
#include "envinfo.h"
#include "gbench.h"
#include "handoff.h"
#include "hash.h"
#include "outdir.h"
#include "payload.h"
#include "pickle.h"
#include "results.h"
#include "runlock.h"
#include "run_rounds.h"
#include "testcodec.h"
#include "tmpstore.h"
#include "util.h"

#define MAX_ITEMS 64
#define DEFAULT_SEED 0   /* as `casbench pickle` */
#define DEFAULT_ROUNDS 15

enum { ALLOC_BIT_FRESH = 1, ALLOC_BIT_REUSE = 2 };
enum { SWEEP_NONE, SWEEP_ADD, SWEEP_ONLY };
enum { PROFILE_DEFAULT, PROFILE_QUICK, PROFILE_FULL };
static const char *const profile_names[] = {"default", "quick", "full"};

typedef struct {
    const codec_desc *desc;
    int level;
    char spec[48];             /* "gzip:3" */
} codec_sel;

typedef struct {
    char *payloads[MAX_ITEMS];
    size_t npayloads;
    codec_sel codecs[MAX_ITEMS];
    size_t ncodecs;
    const hash_desc *hashes[MAX_ITEMS];
    size_t nhashes;
    int protocols[4];
    size_t nprotocols;
    int alloc_mask;            /* 0: the profile's policy */
    int repetitions;           /* rounds (run_rounds.h) */
    double min_time;           /* seconds: a cell's batch in one round lasts at least this */
    int profile;
    int sweep;
    int cpu;                   /* -1: not pinned */
    const char *out, *resume, *store_dir;
    int store_fsync;
    uint64_t seed;
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
"                      hand-off), overlapped-spin (spinning hand-off). Default:\n"
"                      sequential everywhere; with the key hash, also all three\n"
"                      for lz4:0 (fresh and reuse) and fused and overlapped for\n"
"                      gzip:3 (reuse); naming variants runs them with every save\n"
"                      pairing. fused needs a codec with\n"
"                      streaming: libdeflate has none and gets no fused cell.\n"
"                      With --cpu N the overlapped worker runs on the next online\n"
"                      CPU, never on N\n"
"  --alloc MODE        fresh, reuse or both, for every row that allocates output\n"
"                      (default: see below)\n"
"\n"
"the matrix (per payload and protocol):\n"
"  stage rows   pickle (fresh, reuse), hash of every hash (reuse: it allocates\n"
"               nothing), compress and decompress of every codec (reuse)\n"
"  save rows    variant sequential: every codec with sha1 (or the first hash\n"
"               when sha1 is not selected), fresh and reuse; every hash with lz4\n"
"               and with the fastest gzip-compatible codec (the lowest compress\n"
"               median of this payload in this run; not `none`), fresh\n"
"  load rows    every codec, fresh (load with reuse is the decompress row)\n"
"  load+verify  the save pairings, fresh\n"
"  save+store   every codec with sha1, fresh\n"
"  --full       the whole cross product instead: every codec x every hash for\n"
"               save, load+verify and save+store, every row fresh and reuse\n"
"  --quick      a reduced profile: the quick sets of codecs and hashes (below,\n"
"               unless --codec/--hash); pickle, save and load fresh only;\n"
"               no load+verify or save+store; --rounds 3 --min-time 0.0015\n"
"  --hash-sweep[=only]  also (or only) time every selected hash on random input\n"
"               of 64 B to 64 MiB (powers of 4); payload column `sweep`\n"
"\n"
"timing: rounds (results/README.md). Every cell is verified, warmed up and\n"
"calibrated first; then each round times every cell once, as a batch of\n"
"iterations, in an order shuffled per round (cells whose ratio the report\n"
"states back-to-back), with a canary cell at round boundaries (rounds.tsv).\n"
"A cell's figure is its median over rounds. Google Benchmark times each batch.\n"
"  --rounds N          rounds, 2..%d; default %d (--repetitions N: the same)\n"
"  --min-time S        a batch lasts at least S seconds (at least one\n"
"                      iteration); default 0.003. Each round runs a cell's\n"
"                      batch as 3 sub-batches (results/README.md), the\n"
"                      fastest counting\n"
"  --cpu N             pin to logical CPU N (sched_setaffinity)\n"
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
            GB_MAX_REPETITIONS, DEFAULT_ROUNDS, DEFAULT_SEED);
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

static int g_opts_given;      /* selection or timing flags other than --resume */
/* The save variants selected (--variant; all rows of cell_save_variants by
 * default): every save and save+store cell runs once per variant. */
static unsigned g_variant_mask;
static int g_variant_given;   /* --variant: its variants with every save pairing */

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
    o->codecs[o->ncodecs].desc = d;
    o->codecs[o->ncodecs].level = level;
    snprintf(o->codecs[o->ncodecs].spec, sizeof o->codecs[0].spec, "%s:%d", d->name, level);
    o->ncodecs++;
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

/* --flag VALUE or --flag=VALUE. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag)
{
    size_t n = strlen(flag);
    if (strncmp(argv[*i], flag, n) == 0 && argv[*i][n] == '=') return argv[*i] + n + 1;
    if (*i + 1 >= argc) cb_fail(CB_EXIT_USAGE, "%s: missing value (see casbench run --help)", flag);
    return argv[++*i];
}

static int is_flag(const char *arg, const char *flag)
{
    size_t n = strlen(flag);
    return strncmp(arg, flag, n) == 0 && (arg[n] == 0 || arg[n] == '=');
}

static void parse_args(run_opts *o, int argc, char **argv, int from_env)
{
    char err[256];
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cb_is_help(a)) { usage(stdout); exit(CB_EXIT_OK); }
        if (cb_is_version(a)) { printf("casbench %s (commit %s)\n", cb_version, cb_git_commit); exit(CB_EXIT_OK); }
        if (is_flag(a, "--out")) { o->out = flag_value(argc, argv, &i, "--out"); continue; }
        if (is_flag(a, "--resume")) { o->resume = flag_value(argc, argv, &i, "--resume"); continue; }
        if (is_flag(a, "--store-dir")) { o->store_dir = flag_value(argc, argv, &i, "--store-dir"); continue; }
        if (strcmp(a, "--fsync") == 0) { o->store_fsync = 1; continue; }
        if (is_flag(a, "--cpu")) {
            uint64_t n;
            v = flag_value(argc, argv, &i, "--cpu");
            if (cb_parse_u64(v, 0, CPU_SETSIZE - 1, &n, err, sizeof err) != 0)
                cb_fail(CB_EXIT_INPUT, "--cpu %s: %s", CB_Q(v), err);
            o->cpu = (int)n;
            continue;
        }
        if (!from_env) g_opts_given = 1;
        if (is_flag(a, "--payload")) { add_payload_list(o, flag_value(argc, argv, &i, "--payload")); continue; }
        if (is_flag(a, "--codec")) {
            v = flag_value(argc, argv, &i, "--codec");
            FOR_EACH_PIECE(v, "--codec", p, { add_codec(o, p, 1); });
            continue;
        }
        if (is_flag(a, "--hash") && !is_flag(a, "--hash-sweep")) {
            v = flag_value(argc, argv, &i, "--hash");
            FOR_EACH_PIECE(v, "--hash", p, { add_hash(o, p, 1); });
            continue;
        }
        if (is_flag(a, "--protocol")) {
            v = flag_value(argc, argv, &i, "--protocol");
            FOR_EACH_PIECE(v, "--protocol", p, {
                uint64_t n;
                size_t k;
                if (cb_parse_u64(p, 2, 5, &n, err, sizeof err) != 0)
                    cb_fail(CB_EXIT_INPUT, "--protocol %s: %s", CB_Q(p), err);
                for (k = 0; k < o->nprotocols && o->protocols[k] != (int)n; k++) {}
                if (k == o->nprotocols) o->protocols[o->nprotocols++] = (int)n;
            });
            continue;
        }
        if (is_flag(a, "--variant")) {
            v = flag_value(argc, argv, &i, "--variant");
            FOR_EACH_PIECE(v, "--variant", p, {
                const cell_save_variant *sv = cell_save_variant_find(p);
                if (!sv) {
                    char known[256] = "";
                    for (size_t k = 0; k < cell_save_variant_count; k++)
                        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "",
                                 cell_save_variants[k].name);
                    cb_fail(CB_EXIT_INPUT, "--variant %s: unknown save variant (known: %s)", CB_Q(p), known);
                }
                g_variant_mask |= 1u << (unsigned)(sv - cell_save_variants);
                g_variant_given = 1;
            });
            continue;
        }
        if (is_flag(a, "--alloc")) {
            v = flag_value(argc, argv, &i, "--alloc");
            FOR_EACH_PIECE(v, "--alloc", p, {
                if (strcmp(p, "fresh") == 0) o->alloc_mask |= ALLOC_BIT_FRESH;
                else if (strcmp(p, "reuse") == 0) o->alloc_mask |= ALLOC_BIT_REUSE;
                else if (strcmp(p, "both") == 0) o->alloc_mask |= ALLOC_BIT_FRESH | ALLOC_BIT_REUSE;
                else cb_fail(CB_EXIT_INPUT, "--alloc %s: not fresh, reuse or both", CB_Q(p));
            });
            continue;
        }
        if (is_flag(a, "--rounds") || is_flag(a, "--repetitions")) {
            uint64_t n;
            const char *flag = is_flag(a, "--rounds") ? "--rounds" : "--repetitions";
            v = flag_value(argc, argv, &i, flag);
            if (cb_parse_u64(v, 2, GB_MAX_REPETITIONS, &n, err, sizeof err) != 0)
                cb_fail(CB_EXIT_INPUT, "%s %s: %s", flag, CB_Q(v), err);
            o->repetitions = (int)n;
            continue;
        }
        if (is_flag(a, "--min-time")) {
            v = flag_value(argc, argv, &i, "--min-time");
            if (cb_parse_double(v, 1e-6, 3600, &o->min_time, err, sizeof err) != 0)
                cb_fail(CB_EXIT_INPUT, "--min-time %s: %s", CB_Q(v), err);
            continue;
        }
        if (is_flag(a, "--seed")) {
            v = flag_value(argc, argv, &i, "--seed");
            if (cb_parse_u64(v, 0, UINT64_MAX, &o->seed, err, sizeof err) != 0)
                cb_fail(CB_EXIT_INPUT, "--seed %s: %s", CB_Q(v), err);
            continue;
        }
        if (strcmp(a, "--quick") == 0 || strcmp(a, "--full") == 0) {
            int p = a[2] == 'q' ? PROFILE_QUICK : PROFILE_FULL;
            if (o->profile != PROFILE_DEFAULT && o->profile != p)
                cb_fail(CB_EXIT_USAGE, "--quick and --full: choose one");
            o->profile = p;
            continue;
        }
        if (strcmp(a, "--hash-sweep") == 0) { o->sweep = SWEEP_ADD; continue; }
        if (strcmp(a, "--hash-sweep=only") == 0) { o->sweep = SWEEP_ONLY; continue; }
        if (strncmp(a, "--hash-sweep=", 13) == 0)
            cb_fail(CB_EXIT_INPUT, "--hash-sweep %s: the only value is 'only'", CB_Q(a + 13));
        cb_fail(CB_EXIT_USAGE, "%s: unknown option (see casbench run --help)", a);
    }
}

static void apply_profile(run_opts *o)
{
    size_t i;
    if (o->npayloads == 0 && o->sweep != SWEEP_ONLY)
        for (i = 0; payload_default_names[i]; i++) add_payload(o, payload_default_names[i]);
    /* The named sets are data in the codec and hash rows (sets.h). */
    unsigned set = o->profile == PROFILE_QUICK ? CB_SET_QUICK : CB_SET_DEFAULT;
    if (o->ncodecs == 0)
        for (i = 0; i < codec_count; i++)
            for (size_t j = 0; j < CODEC_MAX_SET_LEVELS && codec_table[i].in_sets[j].sets; j++) {
                if (!(codec_table[i].in_sets[j].sets & set)) continue;
                char spec[64];
                snprintf(spec, sizeof spec, "%s:%d", codec_table[i].name, codec_table[i].in_sets[j].level);
                add_codec(o, spec, 0);
            }
    if (o->nhashes == 0)
        for (i = 0; i < hash_count; i++)
            if (hash_table[i].sets & set) add_hash(o, hash_table[i].name, 0);
    if (o->nprotocols == 0) o->protocols[o->nprotocols++] = 4;
    if (!g_variant_mask) g_variant_mask = ~0u;
    /* Sized for the budget (README): the default matrix with the hash sweep
     * in 5 minutes, --quick in 30 seconds, on 2 vCPUs. */
    if (o->repetitions == 0) o->repetitions = o->profile == PROFILE_QUICK ? 3 : DEFAULT_ROUNDS;
    if (o->min_time == 0) o->min_time = o->profile == PROFILE_QUICK ? 0.0015 : 0.003;
    if (o->ncodecs == 0 || o->nhashes == 0)
        cb_fail(CB_EXIT_INPUT, "no codec or no hash left to run");
}

/* ---- the plan ------------------------------------------------------------ */

typedef struct {
    cell_stage stage;
    const cell_save_variant *variant;
    int codec;                 /* index into opts codecs, -1 none */
    int hash;                  /* index into opts hashes, -1 none */
    cell_alloc alloc;
} plan_item;

typedef struct {
    plan_item *v;
    size_t n, cap;
} plan;

static void plan_add_one(plan *p, cell_stage s, const cell_save_variant *variant, int codec, int hash,
                         cell_alloc a)
{
    size_t i;
    for (i = 0; i < p->n; i++)
        if (p->v[i].stage == s && p->v[i].variant == variant && p->v[i].codec == codec &&
            p->v[i].hash == hash && p->v[i].alloc == a)
            return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        plan_item *v = realloc(p->v, cap * sizeof *v);
        if (!v) cb_fail(CB_EXIT_ENV, "out of memory");
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = (plan_item){s, variant, codec, hash, a};
}

static int variant_planned(const run_opts *o, const cell_save_variant *v, cell_stage s, int codec, int hash,
                           cell_alloc a);

static void plan_add(const run_opts *o, plan *p, cell_stage s, int codec, int hash, cell_alloc a)
{
    if (s != CELL_SAVE && s != CELL_SAVE_STORE) {
        plan_add_one(p, s, NULL, codec, hash, a);
        return;
    }
    for (size_t v = 0; v < cell_save_variant_count && v < 32; v++)
        if ((g_variant_mask & (1u << v)) && variant_planned(o, &cell_save_variants[v], s, codec, hash, a))
            plan_add_one(p, s, &cell_save_variants[v], codec, hash, a);
}

/* Which allocation modes a stage runs with: the --alloc set, or the policy of
 * the profile (see usage). Hashing allocates nothing: always `reuse`. */
static int alloc_modes(const run_opts *o, cell_stage s)
{
    if (s == CELL_HASH) return ALLOC_BIT_REUSE;
    if (o->alloc_mask) return o->alloc_mask;
    if (o->profile == PROFILE_FULL) return ALLOC_BIT_FRESH | ALLOC_BIT_REUSE;
    /* quick: the Python path only (fresh), and the codecs alone (reuse). */
    if (o->profile == PROFILE_QUICK)
        return s == CELL_COMPRESS || s == CELL_DECOMPRESS ? ALLOC_BIT_REUSE : ALLOC_BIT_FRESH;
    switch (s) {
    case CELL_PICKLE: case CELL_SAVE: return ALLOC_BIT_FRESH | ALLOC_BIT_REUSE;
    /* load with reuse is the decompress row: the same work. */
    case CELL_COMPRESS: case CELL_DECOMPRESS: return ALLOC_BIT_REUSE;
    default: return ALLOC_BIT_FRESH;
    }
}

static void plan_modes(const run_opts *o, plan *p, cell_stage s, int codec, int hash)
{
    int m = alloc_modes(o, s);
    if (m & ALLOC_BIT_FRESH) plan_add(o, p, s, codec, hash, CELL_ALLOC_FRESH);
    if (m & ALLOC_BIT_REUSE) plan_add(o, p, s, codec, hash, CELL_ALLOC_REUSE);
}

static void plan_stages(const run_opts *o, int have_object, plan *p)
{
    size_t i;
    if (have_object) plan_modes(o, p, CELL_PICKLE, -1, -1);
    for (i = 0; i < o->nhashes; i++) plan_modes(o, p, CELL_HASH, -1, (int)i);
    for (i = 0; i < o->ncodecs; i++) plan_modes(o, p, CELL_COMPRESS, (int)i, -1);
    for (i = 0; i < o->ncodecs; i++) plan_modes(o, p, CELL_DECOMPRESS, (int)i, -1);
}

static int key_hash_index(const run_opts *o)
{
    size_t i;
    for (i = 0; i < o->nhashes; i++)
        if (strcmp(o->hashes[i]->name, "sha1") == 0) return (int)i;
    return 0;
}

/* The save cells also timed with the fast variants by default, with the key
 * hash: PR #3090's lz4:0 with every variant in both allocation modes (the
 * spinning hand-off against the condition variable is measured there), and
 * metaflow's gzip:3 with fused and overlapped, reuse only (the mode the
 * stages are timed in; a gzip:3 save of 8 MB takes a third of a second, and
 * the budget is the whole matrix's). --variant NAME times the named variants
 * with every save pairing instead; --full times every variant everywhere. */
static const struct {
    const char *codec;
    const char *variants;     /* space-separated */
    int allocs;               /* ALLOC_BIT_* */
} fast_variant_plan[] = {
    {"lz4:0", "fused overlapped overlapped-spin", ALLOC_BIT_FRESH | ALLOC_BIT_REUSE},
    {"gzip:3", "fused overlapped", ALLOC_BIT_REUSE},
};

static int word_in(const char *word, const char *list)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return 1;
    return 0;
}

/* Whether a save / save+store cell of this variant is in the plan. A variant
 * that cannot run with the codec (fused without streaming: libdeflate) is
 * never planned. */
static int variant_planned(const run_opts *o, const cell_save_variant *v, cell_stage s, int codec, int hash,
                           cell_alloc a)
{
    if (!cell_save_variant_applies(v, o->codecs[codec].desc)) return 0;
    if (v == &cell_save_variants[0] || g_variant_given || o->profile == PROFILE_FULL) return 1;
    if (s != CELL_SAVE || hash != key_hash_index(o)) return 0;
    for (size_t i = 0; i < sizeof fast_variant_plan / sizeof fast_variant_plan[0]; i++) {
        int bit = a == CELL_ALLOC_FRESH ? ALLOC_BIT_FRESH : ALLOC_BIT_REUSE;
        if (strcmp(o->codecs[codec].spec, fast_variant_plan[i].codec) != 0) continue;
        /* --alloc or --quick may leave only one mode: then use it. */
        if (!(fast_variant_plan[i].allocs & bit) && (alloc_modes(o, CELL_SAVE) & fast_variant_plan[i].allocs))
            return 0;
        return word_in(v->name, fast_variant_plan[i].variants);
    }
    return 0;
}

static int gzip_candidate(const codec_sel *c)
{
    return c->desc->gzip_compatible && !c->desc->ceiling;
}

/* The save/load pairings. fastest: the fastest gzip-compatible codec's index,
 * or -1 when there is none. */
static void plan_paths(const run_opts *o, int fastest, plan *p)
{
    size_t c, h;
    int kh = key_hash_index(o);
    plan pairs = {0};
    if (o->profile == PROFILE_FULL) {
        for (c = 0; c < o->ncodecs; c++)
            for (h = 0; h < o->nhashes; h++) plan_add_one(&pairs, CELL_SAVE, NULL, (int)c, (int)h, CELL_ALLOC_FRESH);
    } else {
        for (c = 0; c < o->ncodecs; c++) plan_add_one(&pairs, CELL_SAVE, NULL, (int)c, kh, CELL_ALLOC_FRESH);
        for (c = 0; c < o->ncodecs; c++) {
            if (strcmp(o->codecs[c].desc->name, "lz4") != 0 && (int)c != fastest) continue;
            for (h = 0; h < o->nhashes; h++) plan_add_one(&pairs, CELL_SAVE, NULL, (int)c, (int)h, CELL_ALLOC_FRESH);
        }
    }
    /* By default only the key-hash pairings are also timed with reused
     * buffers: the other pairings compare hashes, which allocation does not
     * change. */
    for (size_t i = 0; i < pairs.n; i++) {
        int m = alloc_modes(o, CELL_SAVE);
        if (!o->alloc_mask && o->profile != PROFILE_FULL && pairs.v[i].hash != kh) m &= ALLOC_BIT_FRESH;
        if (m & ALLOC_BIT_FRESH) plan_add(o, p, CELL_SAVE, pairs.v[i].codec, pairs.v[i].hash, CELL_ALLOC_FRESH);
        if (m & ALLOC_BIT_REUSE) plan_add(o, p, CELL_SAVE, pairs.v[i].codec, pairs.v[i].hash, CELL_ALLOC_REUSE);
    }
    for (c = 0; c < o->ncodecs; c++) plan_modes(o, p, CELL_LOAD, (int)c, -1);
    if (o->profile == PROFILE_QUICK) {
        free(pairs.v);
        return;
    }
    for (size_t i = 0; i < pairs.n; i++) plan_modes(o, p, CELL_LOAD_VERIFY, pairs.v[i].codec, pairs.v[i].hash);
    if (o->profile == PROFILE_FULL) {
        for (size_t i = 0; i < pairs.n; i++) plan_modes(o, p, CELL_SAVE_STORE, pairs.v[i].codec, pairs.v[i].hash);
    } else {
        for (c = 0; c < o->ncodecs; c++) plan_modes(o, p, CELL_SAVE_STORE, (int)c, kh);
    }
    free(pairs.v);
}

/* For the total on the progress line: any gzip-compatible codec stands in
 * for the fastest, which gives the same count. */
static int placeholder_fastest(const run_opts *o)
{
    size_t c;
    for (c = 0; c < o->ncodecs; c++)
        if (gzip_candidate(&o->codecs[c])) return (int)c;
    return -1;
}

/* ---- running ------------------------------------------------------------- */

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    g_signal = sig;
    gb_request_stop();
}

typedef struct {
    const run_opts *o;
    results_file *rf;
    const char *dir;
    char gbench_path[PATH_MAX];
    const char *store_dir;
    size_t total, done, ran, errors;
    int tty;
    run_rounds *rr;            /* every verified cell, timed in rounds at the end */
    void **kept;               /* blobs, payloads and cell inputs the cells point into */
    size_t nkept;
} run_state;

/* Keep p until the run ends (cells point into it); free_fn releases it. */
typedef void (*free_fn)(void *);
static void keep_until_end(run_state *st, void *p, free_fn fn)
{
    void **grown = realloc(st->kept, (st->nkept + 2) * sizeof *grown);
    if (!grown) cb_fail(CB_EXIT_ENV, "out of memory");
    st->kept = grown;
    st->kept[st->nkept++] = p;
    st->kept[st->nkept++] = (void *)fn;
}

static void release_kept(run_state *st)
{
    for (size_t i = 0; i + 1 < st->nkept; i += 2) ((free_fn)st->kept[i + 1])(st->kept[i]);
    free(st->kept);
}

static void payload_release(void *p) { payload_free(p); }

static cell_input *kept_input(run_state *st)
{
    cell_input *in = calloc(1, sizeof *in);
    if (!in) cb_fail(CB_EXIT_ENV, "out of memory");
    keep_until_end(st, in, free);
    return in;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double g_t0;

static void progress(run_state *st, const char *what)
{
    char eta[32] = "?";
    if (!st->tty) return;
    if (st->ran > 0) {
        double per = (now_s() - g_t0) / (double)st->ran;
        double left = per * (double)(st->total > st->done ? st->total - st->done : 0);
        snprintf(eta, sizeof eta, "%dm%02ds", (int)(left / 60), (int)fmod(left, 60));
    }
    fprintf(stderr, "\r\033[K[%zu/%zu] %.60s  ETA %s", st->done + 1, st->total, what, eta);
    fflush(stderr);
}

/* The benchmark name of a row, from its identity (payload protocol stage
 * variant codec level hash alloc, and bytes_in for sweep rows): its name in
 * gbench.json, by which a resumed run keeps the entries of finished rows.
 * Quotes, backslashes and control characters become '_' (JSON-safe). */
static void bench_name(const char *identity, char *out, size_t cap)
{
    char copy[4096], codec[160] = "-";
    const char *f[9];
    int n = 0, w;
    char *p = copy;
    w = snprintf(copy, sizeof copy, "%s", identity);
    (void)w;
    while (n < 9) {
        f[n++] = p;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = 0;
        p = t + 1;
    }
    if (n < 8) {
        w = snprintf(out, cap, "%s", identity);
    } else {
        if (*f[4]) w = snprintf(codec, sizeof codec, "%s:%s", f[4], f[5]);
        if (n == 9)   /* sweep rows: the size instead of a protocol */
            w = snprintf(out, cap, "%s/%s/%s/-/-/%s/%s", f[0], f[8], f[2], f[6], f[7]);
        else
            w = snprintf(out, cap, "%s/p%s/%s/%s/%s/%s/%s", f[0], f[1], f[2], *f[3] ? f[3] : "-", codec,
                         *f[6] ? f[6] : "-", f[7]);
    }
    (void)w;
    for (char *q = out; *q; q++)
        if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20 || *q == 0x7f) *q = '_';
}

/* gbench.json entries kept on --resume: those of the ok rows of matrix.tsv.
 * (An entry written just before a SIGKILL, whose row was not, is dropped and
 * its cell runs again.) */
typedef struct { char **names; size_t n; } name_set;

static int keep_entry(const char *name, void *arg)
{
    const name_set *set = arg;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->names[i], name) == 0) return 1;
    return 0;
}

/* One cell: verify, time, write its gbench.json entries, then append its row.
 * Returns 0, or 1 when interrupted. */
static int run_cell(run_state *st, const char *payload_name, int protocol, const cell_spec *spec,
                    const cell_input *in)
{
    char err[512], id[4096], name[1024];
    char codec_spec[64] = "";
    results_row row = {0};
    row.payload = payload_name;
    row.protocol = protocol;
    row.pickled_bytes = in->blob_len;
    row.stage = cell_stage_names[spec->stage];
    row.variant = spec->variant ? spec->variant->name : "";
    row.codec = spec->codec ? spec->codec->name : "";
    row.level = spec->level;
    row.hash = spec->hash ? spec->hash->name : "";
    row.alloc = cell_alloc_names[spec->alloc];
    row.bytes_in = in->blob_len;
    results_identity(&row, id, sizeof id);
    if (results_done(st->rf, id, NULL)) {
        st->done++;
        return 0;
    }
    if (spec->codec) {
        snprintf(codec_spec, sizeof codec_spec, "%s:%d", spec->codec->name, spec->level);
    }
    bench_name(id, name, sizeof name);
    {
        char what[256];
        snprintf(what, sizeof what, "%s %s %s %s %s", payload_name, row.stage, *codec_spec ? codec_spec : "",
                 row.hash, row.alloc);
        progress(st, what);
    }

    cell *c = cell_create(spec, in, err, sizeof err);
    int rc = c ? cell_verify(c, err, sizeof err) : -1;
    if (c) row.bytes_in = cell_bytes_in(c);
    if (rc == 0) {
        /* Timed later, in rounds; the row is written after each round. */
        char group[256];
        double estimate;
        row.bytes_out = cell_bytes_out(c);
        row.stored_bytes = cell_stored_bytes(c);
        run_rounds_group(spec, payload_name, protocol, st->o->hashes[key_hash_index(st->o)], row.bytes_in,
                         group, sizeof group);
        rc = run_rounds_add(st->rr, c, &row, name, group, &estimate, err, sizeof err);
        c = NULL;
        if (rc == -2) return 1;
    }
    if (rc != 0) {
        row.status = "error";
        row.message = err;
        st->errors++;
        if (results_append(st->rf, &row, err, sizeof err) != 0) cb_fail(CB_EXIT_ENV, "%s/%s", st->dir, err);
    }
    cell_destroy(c);
    st->done++;
    st->ran++;
    return g_signal ? 1 : 0;
}

static int run_plan(run_state *st, const char *payload_name, int protocol, const plan *p,
                    const cell_input *in)
{
    const run_opts *o = st->o;
    size_t i;
    for (i = 0; i < p->n; i++) {
        const plan_item *it = &p->v[i];
        cell_spec spec = {0};
        spec.stage = it->stage;
        spec.variant = it->variant;
        if (it->codec >= 0) {
            spec.codec = o->codecs[it->codec].desc;
            spec.level = o->codecs[it->codec].level;
        }
        spec.hash = it->hash >= 0 ? o->hashes[it->hash] : NULL;
        spec.alloc = it->alloc;
        spec.store_dir = st->store_dir;
        spec.store_fsync = o->store_fsync;
        if (run_cell(st, payload_name, protocol, &spec, in)) return 1;
    }
    return 0;
}

/* The lowest compress median among gzip-compatible codecs, from this run's
 * rows (reuse rows first: they time the codec alone). */
static int fastest_gzip(run_state *st, const char *payload_name, int protocol, uint64_t blob_len)
{
    const run_opts *o = st->o;
    int best = -1;
    double best_t = INFINITY;
    for (size_t c = 0; c < o->ncodecs; c++) {
        if (!gzip_candidate(&o->codecs[c])) continue;
        for (int a = CELL_ALLOC_REUSE; a >= CELL_ALLOC_FRESH; a--) {
            results_row row = {0};
            char id[4096];
            double t;
            row.payload = payload_name;
            row.protocol = protocol;
            row.stage = "compress";
            row.codec = o->codecs[c].desc->name;
            row.level = o->codecs[c].level;
            row.alloc = cell_alloc_names[a];
            row.bytes_in = blob_len;
            results_identity(&row, id, sizeof id);
            t = run_rounds_estimate(st->rr, id);
            if (!isnan(t) || results_done(st->rf, id, &t)) {
                if (!isnan(t) && t < best_t) { best_t = t; best = (int)c; }
                break;
            }
        }
    }
    return best;
}

static int run_payload(run_state *st, const char *spec_text)
{
    const run_opts *o = st->o;
    char err[512];
    int status = CB_EXIT_INPUT;
    payload *p = payload_create(spec_text, o->seed, &status, err, sizeof err);
    if (!p) cb_fail(status, "--payload %s: %s", CB_Q(spec_text), err);
    keep_until_end(st, p, payload_release);   /* the cells point into its object */
    const char *name = payload_name(p);
    /* A file payload is a blob already: no protocol changes it, so it is run
     * once, under the first protocol selected. */
    size_t nprot = payload_object(p) ? o->nprotocols : 1;
    if (nprot < o->nprotocols) {
        plan a = {0}, b = {0};
        plan_stages(o, 1, &a);
        plan_paths(o, placeholder_fastest(o), &b);
        st->total -= (a.n + b.n) * (o->nprotocols - nprot);
        free(a.v);
        free(b.v);
    }
    for (size_t k = 0; k < nprot; k++) {
        cell_input in = {0};
        uint8_t *blob = NULL;
        in.obj = payload_object(p);
        in.popt = PICKLE_OPTIONS_DEFAULT;
        in.popt.protocol = o->protocols[k];
        if (in.obj) {
            size_t cap = pickle_bound(in.obj, &in.popt);
            blob = malloc(cap ? cap : 1);
            if (!blob) cb_fail(CB_EXIT_ENV, "%s: out of memory", name);
            keep_until_end(st, blob, free);
            in.blob_len = pickle_dump(in.obj, &in.popt, blob, cap, err, sizeof err);
            if (in.blob_len == 0)
                cb_fail(CB_EXIT_INPUT, "--payload %s: cannot pickle with protocol %d: %s", CB_Q(name),
                        in.popt.protocol, err);
            in.blob = blob;
        } else {
            in.blob = payload_raw_blob(p, &in.blob_len);
        }
        /* The cells point into the input until the rounds end. */
        cell_input *kept = kept_input(st);
        *kept = in;
        plan stages = {0}, paths = {0};
        plan_stages(o, in.obj != NULL, &stages);
        int stop = run_plan(st, name, in.popt.protocol, &stages, kept);
        if (!stop) {
            int fastest = fastest_gzip(st, name, in.popt.protocol, in.blob_len);
            plan_paths(o, fastest, &paths);
            /* The total assumed a gzip-compatible codec would be measured. */
            plan guess = {0};
            plan_paths(o, placeholder_fastest(o), &guess);
            st->total = st->total + paths.n - guess.n;
            free(guess.v);
            stop = run_plan(st, name, in.popt.protocol, &paths, kept);
        }
        free(stages.v);
        free(paths.v);
        if (stop) return 1;
    }
    return 0;
}


#define SWEEP_MIN 64
#define SWEEP_MAX ((size_t)64 << 20)

static size_t sweep_cells(const run_opts *o)
{
    size_t n = 0;
    for (size_t s = SWEEP_MIN; s <= SWEEP_MAX; s *= 4) n += o->nhashes;
    return n;
}

static int run_sweep(run_state *st)
{
    const run_opts *o = st->o;
    uint8_t *buf = malloc(SWEEP_MAX);
    if (!buf) cb_fail(CB_EXIT_ENV, "hash sweep: out of memory");
    keep_until_end(st, buf, free);
    cb_fill_random(buf, SWEEP_MAX, o->seed);
    for (size_t s = SWEEP_MIN; s <= SWEEP_MAX; s *= 4) {
        cell_input *in = kept_input(st);
        in->blob = buf;
        in->blob_len = s;
        for (size_t h = 0; h < o->nhashes; h++) {
            cell_spec spec = {0};
            spec.stage = CELL_HASH;
            spec.hash = o->hashes[h];
            spec.alloc = CELL_ALLOC_REUSE;
            if (run_cell(st, "sweep", 0, &spec, in)) return 1;
        }
    }
    return 0;
}

/* ---- directories ----------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    remove(path);
    return 0;
}


/* ---- run arguments kept for --resume ---------------------------------------- */

static void encode_args(int argc, char **argv, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (int i = 1; i < argc; i++) {
        if (is_flag(argv[i], "--out") || is_flag(argv[i], "--resume")) {
            if (!strchr(argv[i], '=')) i++;
            continue;
        }
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

/* The decoded words of a resumed run's arguments: options parsed from them
 * (--store-dir) point into it, so it lives until cli_run returns. */
static char *g_decoded_args;

static char **decode_args(const char *s, int *argc)
{
    if (strcmp(s, "none") == 0) s = "";
    size_t n = strlen(s), cnt = 1;
    char **argv = calloc(n + 2, sizeof *argv);
    char *copy = strdup(s);
    if (!argv || !copy) cb_fail(CB_EXIT_ENV, "out of memory");
    g_decoded_args = copy;
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

/* ---- the subcommand ---------------------------------------------------------- */

static char g_store_tmp[PATH_MAX];

int cli_run(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)   /* PR #3090's suites: their own executor */
        if (is_flag(argv[i], "--suite")) return cli_run_suite(argc, argv);
    run_opts o = {0};
    char err[512], dir[PATH_MAX], path[PATH_MAX + 32], args_text[8192];
    o.cpu = -1;
    o.seed = DEFAULT_SEED;
    int seed_given = 0;
    for (int i = 1; i < argc; i++)
        if (is_flag(argv[i], "--seed")) seed_given = 1;
    parse_args(&o, argc, argv, 0);
    if (o.out && o.resume) cb_fail(CB_EXIT_USAGE, "--out and --resume: give one (--resume DIR writes into DIR)");

    if (o.resume) {
        struct stat sb;
        snprintf(dir, sizeof dir, "%s", o.resume);
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            cb_fail(CB_EXIT_INPUT, "--resume %s: not a results directory", CB_Q(dir));
        snprintf(path, sizeof path, "%s/env.tsv", dir);
        char *stored = env_lookup(path, "run_args");
        char *seed_text = env_lookup(path, "seed");
        if (!stored || !seed_text) cb_fail(CB_EXIT_INPUT, "--resume %s: no env.tsv with run_args and seed", CB_Q(dir));
        if (!g_opts_given) {
            int sargc;
            char **sargv = decode_args(stored, &sargc);
            const char *keep_resume = o.resume, *keep_store = o.store_dir;
            int keep_cpu = o.cpu, keep_fsync = o.store_fsync;
            parse_args(&o, sargc, sargv, 1);
            o.resume = keep_resume;
            o.out = NULL;
            if (keep_store) o.store_dir = keep_store;
            if (keep_cpu >= 0) o.cpu = keep_cpu;
            o.store_fsync |= keep_fsync;
            free(sargv);
            snprintf(args_text, sizeof args_text, "%s", stored);
        } else {
            encode_args(argc, argv, args_text, sizeof args_text);
        }
        char want_seed[32];
        snprintf(want_seed, sizeof want_seed, "%llu", (unsigned long long)o.seed);
        if (!seed_given && g_opts_given) {
            uint64_t s;
            if (cb_parse_u64(seed_text, 0, UINT64_MAX, &s, err, sizeof err) == 0) o.seed = s;
        } else if (strcmp(want_seed, seed_text) != 0) {
            cb_fail(CB_EXIT_INPUT, "--resume %s: the run used --seed %s, not %s", CB_Q(dir), seed_text, want_seed);
        }
        free(stored);
        free(seed_text);
    } else {
        encode_args(argc, argv, args_text, sizeof args_text);
    }
    if (!args_text[0]) snprintf(args_text, sizeof args_text, "none");
    apply_profile(&o);

    /* Every payload spec is checked before anything is written. */
    for (size_t i = 0; i < o.npayloads; i++) {
        int status = CB_EXIT_INPUT;
        payload *p = payload_create(o.payloads[i], o.seed, &status, err, sizeof err);
        if (!p) cb_fail(status, "--payload %s: %s", CB_Q(o.payloads[i]), err);
        payload_free(p);
    }
    if (o.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(o.cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0)
            cb_fail(CB_EXIT_INPUT, "--cpu %d: %s (this machine has %ld online CPUs)", o.cpu, strerror(errno),
                    sysconf(_SC_NPROCESSORS_ONLN));
    }
    /* Google Benchmark's global repetitions: every batch sets its own (rounds.h). */
    gb_options gopt = {2, o.min_time};
    if (gb_init(&gopt, err, sizeof err) != 0) cb_fail(CB_EXIT_INPUT, "%s", err);

    int resume = o.resume != NULL;
    if (!resume) outdir_make(o.out, "; use --resume to complete it", dir, sizeof dir);
    int lock_status = runlock_acquire(dir, err, sizeof err);   /* one writer per directory */
    if (lock_status != 0) cb_fail(lock_status, "%s", err);

    /* save+store's directory. */
    const char *store_dir = o.store_dir;
    if (!store_dir) {
        /* Removed at exit, whatever the exit; stale ones of killed runs first. */
        if (tmpstore_create(g_store_tmp, sizeof g_store_tmp, err, sizeof err) != 0) cb_fail(CB_EXIT_ENV, "%s", err);
        store_dir = g_store_tmp;
    } else {
        struct stat sb;
        outdir_mkdir_parents(store_dir);
        if (mkdir(store_dir, 0777) != 0 && errno != EEXIST)
            cb_fail(CB_EXIT_ENV, "--store-dir %s: %s", CB_Q(store_dir), strerror(errno));
        if (stat(store_dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || access(store_dir, W_OK) != 0)
            cb_fail(CB_EXIT_ENV, "--store-dir %s: not a writable directory", CB_Q(store_dir));
    }


    int rstatus = CB_EXIT_ENV;
    results_file *rf = results_open(dir, resume, &rstatus, err, sizeof err);
    if (!rf) {
        if (g_store_tmp[0]) rmdir(g_store_tmp);
        cb_fail(rstatus, "%s", err);
    }

    /* env.tsv */
    snprintf(path, sizeof path, "%s/env.tsv", dir);
    {
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
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)o.seed);
        snprintf(reps, sizeof reps, "%d", o.repetitions);
        snprintf(mt, sizeof mt, "%g", o.min_time);
        snprintf(cpu, sizeof cpu, o.cpu >= 0 ? "%d" : "none", o.cpu);
        for (size_t i = 0; i < o.nprotocols; i++)
            snprintf(protos + strlen(protos), sizeof protos - strlen(protos), "%s%d", i ? "," : "", o.protocols[i]);
        snprintf(mmap_t, sizeof mmap_t, "%zu", CELL_FRESH_MMAP_MIN);
        if (statfs(store_dir, &sfs) == 0) snprintf(fs, sizeof fs, "0x%lx", (unsigned long)sfs.f_type);
        if (resume) {
            char t[64];
            env_utc_now(t, sizeof t, 0);
            if (env_append(path, "resume_utc_time", t, err, sizeof err) != 0) cb_fail(CB_EXIT_ENV, "%s", err);
        } else {
            const char *extra[] = {
                "profile", profile_names[o.profile],
                "seed", seed,
                "repetitions", reps,
                "min_time_s", mt,
                "protocols", protos,
                "cpu_pin", cpu,
                "overlapped_worker_cpu", wcpu,
                "loadavg_1m", load,
                "store_dir", o.store_dir ? o.store_dir : "temporary",
                "store_fs_magic", fs,
                "store_fsync", o.store_fsync ? "yes" : "no",
                "fresh_mmap_min_bytes", mmap_t,
                "pickle_numpy_major", "1",
                "run_args", args_text,
                NULL, NULL,
            };
            if (env_write(path, extra, err, sizeof err) != 0) cb_fail(CB_EXIT_ENV, "%s", err);
        }
    }

    run_state st = {0};
    st.o = &o;
    st.rf = rf;
    st.dir = dir;
    st.store_dir = store_dir;
    st.tty = isatty(2);
    if (snprintf(st.gbench_path, sizeof st.gbench_path, "%s/gbench.json", dir) >= (int)sizeof st.gbench_path)
        cb_fail(CB_EXIT_INPUT, "%s: path too long", dir);
    if (resume) {
        name_set set = {0};
        set.names = calloc(results_count(rf) + 1, sizeof *set.names);
        if (!set.names) cb_fail(CB_EXIT_ENV, "out of memory");
        for (size_t i = 0; i < results_count(rf); i++) {
            double med;
            const char *id = results_identity_at(rf, i, &med);
            char nm[1024];
            if (isnan(med)) continue;
            bench_name(id, nm, sizeof nm);
            if (!(set.names[set.n++] = strdup(nm))) cb_fail(CB_EXIT_ENV, "out of memory");
        }
        if (access(st.gbench_path, F_OK) == 0 &&
            gb_json_load(st.gbench_path, keep_entry, &set, err, sizeof err) != 0)
            cb_fail(CB_EXIT_INPUT, "%s: %s", st.gbench_path, err);
        for (size_t i = 0; i < set.n; i++) free(set.names[i]);
        free(set.names);
    }
    gb_add_context("casbench_version", cb_version);
    gb_add_context("casbench_commit", cb_git_commit);
    gb_add_context("casbench_profile", profile_names[o.profile]);
    if (gb_json_write(st.gbench_path, 1, err, sizeof err) != 0) cb_fail(CB_EXIT_ENV, "%s", err);

    /* The planned total, for the progress line. */
    for (size_t i = 0; o.sweep != SWEEP_ONLY && i < o.npayloads; i++) {
        plan a = {0}, b = {0};
        plan_stages(&o, 1, &a);
        plan_paths(&o, placeholder_fastest(&o), &b);
        st.total += (a.n + b.n) * o.nprotocols;
        free(a.v);
        free(b.v);
    }
    if (o.sweep != SWEEP_NONE) st.total += sweep_cells(&o);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;   /* a second signal ends the process at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    run_rounds_opts ro = {dir, o.repetitions, o.min_time, o.min_time * 5, o.seed, st.tty};
    if (!(st.rr = run_rounds_create(&ro, err, sizeof err))) cb_fail(CB_EXIT_ENV, "%s", err);
    g_t0 = now_s();
    int stopped = 0;
    /* Every cell is built, verified, warmed up and calibrated first; then all
     * are timed together, round after round (run_rounds.h). */
    for (size_t i = 0; !stopped && o.sweep != SWEEP_ONLY && i < o.npayloads; i++)
        stopped = run_payload(&st, o.payloads[i]);
    if (!stopped && o.sweep != SWEEP_NONE) stopped = run_sweep(&st);
    if (g_signal) stopped = 1;
    if (!stopped) {
        size_t round_errors = 0;
        if (st.tty) fprintf(stderr, "\r\033[K");
        if (run_rounds_run(st.rr, rf, st.gbench_path, &round_errors) < o.repetitions) stopped = 1;
        st.errors += round_errors;
    }
    run_rounds_free(st.rr);
    release_kept(&st);

    if (st.tty) fprintf(stderr, "\r\033[K");
    if (gb_json_write(st.gbench_path, 1, err, sizeof err) != 0) cb_warn("%s", err);
    size_t rows = results_count(rf);
    results_close(rf);
    gb_shutdown();
    if (g_store_tmp[0]) nftw(g_store_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < o.npayloads; i++) free(o.payloads[i]);
    free(g_decoded_args);
    if (stopped) {
        int sig = g_signal ? g_signal : SIGINT;
        cb_warn("%s: interrupted by %s: %zu finished rows kept (casbench run --resume %s completes it)", dir,
                sig == SIGTERM ? "SIGTERM" : "SIGINT", rows, dir);
        return 128 + sig;
    }
    if (st.errors) cb_warn("%s: %zu cells failed verification (status error)", dir, st.errors);
    printf("%s\n", dir);
    return CB_EXIT_OK;
}
