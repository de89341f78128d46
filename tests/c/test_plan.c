/* test_plan.c - the planner (bench/plan.h) against the rules `casbench run
 * --help` states, with the expected counts computed here from the codec and
 * hash rows (their named sets), never typed in: the default matrix per
 * stage, --quick, --full, a codec list with no gzip-compatible codec,
 * determinism, and where the save variants go. Then two methodology
 * invariants of the cells the plan gives (bench/cells.h): a save+store
 * iteration leaves its file (the unlink is the untimed step between
 * iterations), and an overlapped save hashes while it compresses.
 * Prints "PASS: ..." / "FAIL: ..." lines (tests/lib.sh); exit 1 on failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cells.h"
#include "codec.h"
#include "hash.h"
#include "plan.h"
#include "pyobj.h"
#include "sets.h"

static int failures;

static void check_eq(const char *what, size_t want, size_t got)
{
    if (want == got) {
        printf("PASS: %s (%zu)\n", what, got);
    } else {
        printf("FAIL: %s: want %zu, got %zu\n", what, want, got);
        failures++;
    }
}

static void check(const char *what, int ok)
{
    printf("%s: %s\n", ok ? "PASS" : "FAIL", what);
    if (!ok) failures++;
}

#define MAXN 64
typedef struct {
    plan_codec codecs[MAXN];
    size_t ncodecs;
    const hash_desc *hashes[MAXN];
    size_t nhashes;
    plan_request r;
} request;

/* The codecs and hashes of a named set, read from their rows as `run` does. */
static void from_set(request *q, unsigned set, plan_profile profile)
{
    memset(q, 0, sizeof *q);
    size_t pos = 0;
    const codec_desc *c;
    int level;
    while ((c = codec_set_next(set, &pos, &level))) q->codecs[q->ncodecs++] = (plan_codec){c, level};
    for (size_t i = 0; i < hash_count; i++)
        if (hash_table[i].sets & set) q->hashes[q->nhashes++] = &hash_table[i];
    q->r = (plan_request){q->codecs, q->ncodecs, q->hashes, q->nhashes, profile, 0, 0};
}

static void add_codec(request *q, const char *name, int level)
{
    for (size_t i = 0; i < codec_count; i++)
        if (strcmp(codec_table[i].name, name) == 0) q->codecs[q->ncodecs++] = (plan_codec){&codec_table[i], level};
    q->r.codecs = q->codecs;
    q->r.ncodecs = q->ncodecs;
}

static plan_cells plan_all(const plan_request *r, int have_object, int fastest)
{
    plan_cells p = {0};
    if (plan_stages(r, have_object, &p) != 0 || plan_paths(r, fastest, &p) != 0) {
        printf("FAIL: planning: out of memory\n");
        exit(1);
    }
    return p;
}

/* Cells of a stage and allocation (alloc -1: any); variant NULL: sequential
 * or none, "*": any variant, else that variant. */
static size_t count(const plan_cells *p, cell_stage s, int alloc, const char *variant)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) {
        const cell_spec *c = &p->v[i];
        if (c->stage != s || (alloc >= 0 && (int)c->alloc != alloc)) continue;
        const char *v = c->variant ? c->variant->name : NULL;
        if (variant && strcmp(variant, "*") == 0) { n++; continue; }
        if (!variant ? (v && strcmp(v, "sequential") != 0) : (!v || strcmp(v, variant) != 0)) continue;
        n++;
    }
    return n;
}

static int first_gzip_candidate(const request *q, int after)
{
    for (size_t c = (size_t)(after + 1); c < q->ncodecs; c++)
        if (plan_gzip_candidate(q->codecs[c].desc)) return (int)c;
    return -1;
}

static int is_codec(const plan_codec *c, const char *name, int level)
{
    return strcmp(c->desc->name, name) == 0 && (level < 0 || c->level == level);
}

/* The save pairings of the default rules: every codec with the key hash,
 * every hash with lz4 and with the fastest gzip-compatible codec. */
static size_t default_pairings(const request *q, int fastest)
{
    size_t n = 0, kh = plan_key_hash(&q->r);
    for (size_t c = 0; c < q->ncodecs; c++)
        for (size_t h = 0; h < q->nhashes; h++)
            if (h == kh || is_codec(&q->codecs[c], "lz4", -1) || (int)c == fastest) n++;
    return n;
}

/* The variant cells the default rules add: lz4:0 with fused, overlapped and
 * overlapped-spin, cpython and reuse; gzip:3 with fused and overlapped, reuse
 * (--quick: overlapped only, cpython, its one mode for saves). */
static size_t default_variant_cells(const request *q, const char *variant, int quick)
{
    size_t n = 0;
    const cell_save_variant *v = cell_save_variant_find(variant);
    for (size_t c = 0; c < q->ncodecs; c++) {
        if (!cell_save_variant_applies(v, q->codecs[c].desc)) continue;
        if (is_codec(&q->codecs[c], "lz4", 0)) n += quick ? 1 : 2;
        if (is_codec(&q->codecs[c], "gzip", 3) && strcmp(variant, "overlapped-spin") != 0 &&
            (!quick || strcmp(variant, "overlapped") == 0))
            n += 1;
    }
    return n;
}

/* The hashes whose Python binding runs other code than casbench's row
 * (hash.h py_update): each also gets a cpython hash row. */
static size_t py_code_hashes(const request *q)
{
    size_t n = 0;
    for (size_t h = 0; h < q->nhashes; h++) n += q->hashes[h]->py_update != NULL;
    return n;
}

static void test_default(void)
{
    request q;
    from_set(&q, CB_SET_DEFAULT, PLAN_DEFAULT);
    check("the default set has codecs, hashes and a gzip-compatible codec",
          q.ncodecs && q.nhashes && first_gzip_candidate(&q, -1) >= 0);
    int fastest = first_gzip_candidate(&q, -1);
    plan_cells p = plan_all(&q.r, 1, fastest);
    size_t nc = q.ncodecs, nh = q.nhashes, pairs = default_pairings(&q, fastest);
    check_eq("default: pickle fresh", 1, count(&p, CELL_PICKLE, CELL_ALLOC_FRESH, NULL));
    check_eq("default: pickle reuse", 1, count(&p, CELL_PICKLE, CELL_ALLOC_REUSE, NULL));
    check_eq("default: pickle cpython", 1, count(&p, CELL_PICKLE, CELL_ALLOC_CPYTHON, NULL));
    check_eq("default: hash rows, every hash, reuse", nh, count(&p, CELL_HASH, CELL_ALLOC_REUSE, NULL));
    check_eq("default: no hash row fresh", 0, count(&p, CELL_HASH, CELL_ALLOC_FRESH, NULL));
    check_eq("default: a cpython hash row for each hash whose binding runs other code", py_code_hashes(&q),
             count(&p, CELL_HASH, CELL_ALLOC_CPYTHON, NULL));
    check_eq("default: compress and decompress cpython", 2 * nc,
             count(&p, CELL_COMPRESS, CELL_ALLOC_CPYTHON, NULL) + count(&p, CELL_DECOMPRESS, CELL_ALLOC_CPYTHON, NULL));
    check_eq("default: compress reuse", nc, count(&p, CELL_COMPRESS, CELL_ALLOC_REUSE, NULL));
    check_eq("default: decompress reuse", nc, count(&p, CELL_DECOMPRESS, CELL_ALLOC_REUSE, NULL));
    check_eq("default: no compress/decompress fresh", 0,
             count(&p, CELL_COMPRESS, CELL_ALLOC_FRESH, NULL) + count(&p, CELL_DECOMPRESS, CELL_ALLOC_FRESH, NULL));
    check_eq("default: sequential save cpython = the pairings", pairs, count(&p, CELL_SAVE, CELL_ALLOC_CPYTHON, "sequential"));
    check_eq("default: no save fresh", 0, count(&p, CELL_SAVE, CELL_ALLOC_FRESH, "*"));
    check_eq("default: sequential save reuse = every codec with the key hash", nc,
             count(&p, CELL_SAVE, CELL_ALLOC_REUSE, "sequential"));
    const char *variants[] = {"fused", "overlapped", "overlapped-spin"};
    for (size_t i = 0; i < 3; i++) {
        char what[96];
        snprintf(what, sizeof what, "default: %s save cells (lz4:0 and gzip:3 only)", variants[i]);
        check_eq(what, default_variant_cells(&q, variants[i], 0), count(&p, CELL_SAVE, -1, variants[i]));
    }
    check_eq("default: load cpython, every codec", nc, count(&p, CELL_LOAD, CELL_ALLOC_CPYTHON, NULL));
    check_eq("default: no load reuse", 0, count(&p, CELL_LOAD, CELL_ALLOC_REUSE, NULL));
    check_eq("default: load+verify = the pairings, cpython", pairs, count(&p, CELL_LOAD_VERIFY, CELL_ALLOC_CPYTHON, NULL));
    check_eq("default: save+store = every codec with the key hash, cpython, sequential", nc,
             count(&p, CELL_SAVE_STORE, CELL_ALLOC_CPYTHON, "sequential"));
    check_eq("default: save+store has no other variant or mode", nc, count(&p, CELL_SAVE_STORE, -1, "*"));
    size_t kh = plan_key_hash(&q.r);
    check("default: the key hash is sha1", strcmp(q.hashes[kh]->name, "sha1") == 0);
    int variants_ok = 1;
    for (size_t i = 0; i < p.n; i++) {
        const cell_spec *c = &p.v[i];
        if (!c->variant || c->variant == &cell_save_variants[0]) continue;
        int lz4 = strcmp(c->codec->name, "lz4") == 0 && c->level == 0;
        int gz = strcmp(c->codec->name, "gzip") == 0 && c->level == 3;
        if (c->stage != CELL_SAVE || c->hash != q.hashes[kh] || !(lz4 || gz) ||
            (gz && c->alloc != CELL_ALLOC_REUSE) || !cell_save_variant_applies(c->variant, c->codec))
            variants_ok = 0;
    }
    check("default: variants only on save with the key hash, lz4:0 / gzip:3 (reuse)", variants_ok);
    size_t total = 3 + nh + py_code_hashes(&q) + 4 * nc + pairs + nc + nc + pairs + nc;
    for (size_t i = 0; i < 3; i++) total += default_variant_cells(&q, variants[i], 0);
    check_eq("default: nothing else is planned", total, p.n);
    check_eq("default: plan_count agrees", p.n, plan_count(&q.r, 1));

    plan_cells blob = plan_all(&q.r, 0, fastest);
    check_eq("a payload that is a blob: no pickle row", p.n - 3, blob.n);
    plan_cells_free(&blob);

    /* Another gzip-compatible codec measured fastest: other pairings, same count. */
    int other = first_gzip_candidate(&q, fastest);
    if (other >= 0) {
        plan_cells p2 = plan_all(&q.r, 1, other);
        size_t with_other = 0;
        for (size_t i = 0; i < p2.n; i++)
            if (p2.v[i].stage == CELL_SAVE && p2.v[i].codec == q.codecs[other].desc &&
                p2.v[i].level == q.codecs[other].level && p2.v[i].hash != q.hashes[kh])
                with_other++;
        check_eq("the measured fastest codec gets every other hash", nh - 1, with_other);
        plan_cells_free(&p2);
    }
    plan_cells_free(&p);
}

static void test_quick(void)
{
    request q;
    check("--quick reads the quick set", plan_profile_set(PLAN_QUICK) == CB_SET_QUICK &&
                                         plan_profile_set(PLAN_DEFAULT) == CB_SET_DEFAULT &&
                                         plan_profile_set(PLAN_FULL) == CB_SET_DEFAULT);
    from_set(&q, CB_SET_QUICK, PLAN_QUICK);
    int fastest = first_gzip_candidate(&q, -1);
    plan_cells p = plan_all(&q.r, 1, fastest);
    size_t nc = q.ncodecs, nh = q.nhashes, pairs = default_pairings(&q, fastest);
    check_eq("quick: pickle cpython only", 1, count(&p, CELL_PICKLE, CELL_ALLOC_CPYTHON, "*"));
    check_eq("quick: one pickle row", 1, count(&p, CELL_PICKLE, -1, "*"));
    check_eq("quick: hash rows", nh, count(&p, CELL_HASH, CELL_ALLOC_REUSE, NULL));
    check_eq("quick: compress + decompress reuse", 2 * nc,
             count(&p, CELL_COMPRESS, CELL_ALLOC_REUSE, NULL) + count(&p, CELL_DECOMPRESS, CELL_ALLOC_REUSE, NULL));
    check_eq("quick: sequential save = the pairings, cpython only", pairs, count(&p, CELL_SAVE, CELL_ALLOC_CPYTHON, "sequential"));
    check_eq("quick: one sequential save per pairing", pairs, count(&p, CELL_SAVE, -1, "sequential"));
    check_eq("quick: no save reuse", 0, count(&p, CELL_SAVE, CELL_ALLOC_REUSE, "*"));
    check_eq("quick: load cpython", nc, count(&p, CELL_LOAD, CELL_ALLOC_CPYTHON, "*"));
    check_eq("quick: no load+verify, no save+store", 0,
             count(&p, CELL_LOAD_VERIFY, -1, "*") + count(&p, CELL_SAVE_STORE, -1, "*"));
    size_t variant_cells = 0;
    const char *variants[] = {"fused", "overlapped", "overlapped-spin"};
    for (size_t i = 0; i < 3; i++) variant_cells += default_variant_cells(&q, variants[i], 1);
    check_eq("quick: variant cells (cpython)", variant_cells,
             count(&p, CELL_SAVE, CELL_ALLOC_CPYTHON, "*") - pairs);
    check_eq("quick: nothing else is planned", 1 + nh + py_code_hashes(&q) + 2 * nc + pairs + variant_cells + nc, p.n);
    plan_cells_free(&p);
}

static void test_full(void)
{
    request q;
    from_set(&q, CB_SET_DEFAULT, PLAN_FULL);
    plan_cells p = plan_all(&q.r, 1, first_gzip_candidate(&q, -1));
    size_t nc = q.ncodecs, nh = q.nhashes, streaming = 0;
    const cell_save_variant *fused = cell_save_variant_find("fused");
    for (size_t c = 0; c < nc; c++) streaming += (size_t)cell_save_variant_applies(fused, q.codecs[c].desc);
    check_eq("full: save sequential = codecs x hashes x 3 modes", nc * nh * 3, count(&p, CELL_SAVE, -1, "sequential"));
    check_eq("full: save fused = streaming codecs x hashes x 3", streaming * nh * 3, count(&p, CELL_SAVE, -1, "fused"));
    check_eq("full: save overlapped = codecs x hashes x 3", nc * nh * 3, count(&p, CELL_SAVE, -1, "overlapped"));
    check_eq("full: load+verify = codecs x hashes x 3", nc * nh * 3, count(&p, CELL_LOAD_VERIFY, -1, "*"));
    check_eq("full: save+store sequential = codecs x hashes x 3", nc * nh * 3,
             count(&p, CELL_SAVE_STORE, -1, "sequential"));
    check_eq("full: pickle, load, compress, decompress in all three modes", 3 + 9 * nc,
             count(&p, CELL_PICKLE, -1, "*") + count(&p, CELL_LOAD, -1, "*") + count(&p, CELL_COMPRESS, -1, "*") +
                 count(&p, CELL_DECOMPRESS, -1, "*"));
    plan_cells_free(&p);
}

static void test_no_gzip(void)
{
    request q;
    from_set(&q, CB_SET_DEFAULT, PLAN_DEFAULT);
    q.ncodecs = 0;
    for (size_t i = 0; i < codec_count; i++)
        if (!plan_gzip_candidate(&codec_table[i]) && codec_table[i].in_sets[0].sets)
            add_codec(&q, codec_table[i].name, codec_table[i].in_sets[0].level);
    check("a codec list with no gzip-compatible codec", q.ncodecs > 0 && first_gzip_candidate(&q, -1) < 0);
    plan_cells p = plan_all(&q.r, 1, -1);
    size_t kh = plan_key_hash(&q.r), stray = 0;
    for (size_t i = 0; i < p.n; i++)
        if ((p.v[i].stage == CELL_SAVE || p.v[i].stage == CELL_LOAD_VERIFY) && p.v[i].hash != q.hashes[kh] &&
            strcmp(p.v[i].codec->name, "lz4") != 0)
            stray++;
    check_eq("no gzip-compatible codec: other hashes are paired with lz4 only", 0, stray);
    check_eq("no gzip-compatible codec: sequential save cpython", default_pairings(&q, -1),
             count(&p, CELL_SAVE, CELL_ALLOC_CPYTHON, "sequential"));
    check_eq("no gzip-compatible codec: plan_count agrees", p.n, plan_count(&q.r, 1));
    plan_cells_free(&p);
}

static void test_options(void)
{
    request q;
    from_set(&q, CB_SET_DEFAULT, PLAN_DEFAULT);
    int fastest = first_gzip_candidate(&q, -1);
    plan_cells a = plan_all(&q.r, 1, fastest), b = plan_all(&q.r, 1, fastest);
    int same = a.n == b.n;
    for (size_t i = 0; same && i < a.n; i++)   /* field by field: a struct's padding is not its value */
        same = a.v[i].stage == b.v[i].stage && a.v[i].variant == b.v[i].variant && a.v[i].codec == b.v[i].codec &&
               a.v[i].level == b.v[i].level && a.v[i].hash == b.v[i].hash && a.v[i].alloc == b.v[i].alloc;
    check("the planner is deterministic", same);
    plan_cells_free(&a);
    plan_cells_free(&b);

    const cell_save_variant *fused = cell_save_variant_find("fused");
    q.r.variant_mask = 1u << (unsigned)(fused - cell_save_variants);
    plan_cells p = plan_all(&q.r, 1, fastest);
    size_t streaming = 0;
    for (size_t c = 0; c < q.ncodecs; c++) streaming += (size_t)cell_save_variant_applies(fused, q.codecs[c].desc);
    check_eq("--variant fused: no sequential save", 0,
             count(&p, CELL_SAVE, -1, "sequential") + count(&p, CELL_SAVE_STORE, -1, "sequential"));
    check_eq("--variant fused: save+store fused for every streaming codec", streaming,
             count(&p, CELL_SAVE_STORE, -1, "fused"));
    int applies = 1;
    for (size_t i = 0; i < p.n; i++)
        if (p.v[i].variant && !cell_save_variant_applies(p.v[i].variant, p.v[i].codec)) applies = 0;
    check("--variant fused: never with a codec without streaming", applies);
    plan_cells_free(&p);

    q.r.variant_mask = 0;
    q.r.alloc_mask = PLAN_ALLOC_FRESH | PLAN_ALLOC_REUSE;
    p = plan_all(&q.r, 1, fastest);
    check_eq("--alloc both: load in both modes", 2 * q.ncodecs, count(&p, CELL_LOAD, -1, "*"));
    check_eq("--alloc both: hash rows stay reuse", 0, count(&p, CELL_HASH, CELL_ALLOC_FRESH, "*"));
    plan_cells_free(&p);

    q.nhashes = 0;
    for (size_t i = 0; i < hash_count; i++)
        if (strcmp(hash_table[i].name, "sha1") != 0 && (hash_table[i].sets & CB_SET_DEFAULT))
            q.hashes[q.nhashes++] = &hash_table[i];
    q.r.nhashes = q.nhashes;
    check_eq("without sha1 the key hash is the first", 0, plan_key_hash(&q.r));
}

/* A blob of n bytes that compresses, but not to nothing. */
static uint8_t *test_blob(size_t n)
{
    uint8_t *b = malloc(n);
    uint32_t x = 12345;
    if (!b) { printf("FAIL: out of memory\n"); exit(1); }
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)((x >> 16) % 16 + 'a');
    }
    return b;
}

static cell *verified_cell(cell_spec *s, const cell_input *in, const char *what)
{
    char err[512];
    cell *c = cell_create(s, in, err, sizeof err);
    if (c && cell_verify(c, err, sizeof err) != 0) {
        cell_destroy(c);
        c = NULL;
    }
    if (!c) printf("FAIL: %s: %s\n", what, err), failures++;
    return c;
}

/* save+store: the timed iteration (run) writes the blob and leaves it; only
 * the step between iterations, which the Google Benchmark shim runs with the
 * timer paused (tests/test_faults.sh checks the shim), removes it. In every
 * allocation mode. */
static void test_store_unlink_untimed(void)
{
    char dir[] = "/tmp/casbench-test-store.XXXXXX", path[4200];
    cell_input in = {0};
    in.blob_len = 300000;
    in.blob = test_blob(in.blob_len);
    if (!mkdtemp(dir)) { printf("FAIL: mkdtemp\n"); failures++; return; }
    for (int a = 0; a < SCHEMA_ALLOC_COUNT; a++) {
        char what[160];
        int lvl;
        cell_spec s = {0};
        s.stage = CELL_SAVE_STORE;
        s.variant = cell_save_variant_find("sequential");
        s.codec = codec_find("gzip:3", &lvl, what, sizeof what);
        s.level = lvl;
        s.hash = hash_find("sha1", what, sizeof what);
        s.alloc = (cell_alloc)a;
        s.store_dir = dir;
        snprintf(what, sizeof what, "save+store %s: a cell", cell_alloc_names[a]);
        cell *c = verified_cell(&s, &in, what);
        if (!c) continue;
        gb_measurement m = cell_measurement(c, "store");
        snprintf(path, sizeof path, "%s/%.2s/%s", dir, cell_key(c), cell_key(c));
        struct stat st;
        check("save+store: the verified cell left no file", stat(path, &st) != 0);
        snprintf(what, sizeof what, "save+store %s: the timed iteration writes the blob and does not remove it",
                 cell_alloc_names[a]);
        if (m.prepare) m.prepare(m.ctx);
        check(what, m.run(m.ctx) == 0 && stat(path, &st) == 0 && (uint64_t)st.st_size == cell_stored_bytes(c));
        snprintf(what, sizeof what, "save+store %s: the untimed step between iterations removes it",
                 cell_alloc_names[a]);
        check(what, m.between != NULL && (m.between(m.ctx), stat(path, &st) != 0));
        cell_destroy(c);
    }
    rmdir(dir);
    free((void *)in.blob);
}

/* overlapped and overlapped-spin: in the verified run the worker's hash and
 * the caller's compress intersect in time (no threshold: only the order of
 * the four instants). gzip:9 of 8 MB takes far longer than a hand-off. */
static void test_overlap(void)
{
    const char *variants[] = {"overlapped", "overlapped-spin"};
    cell_input in = {0};
    in.blob_len = 8u << 20;
    in.blob = test_blob(in.blob_len);
    for (size_t v = 0; v < 2; v++) {
        char what[160];
        int lvl;
        int64_t ns[4];
        cell_spec s = {0};
        s.stage = CELL_SAVE;
        s.variant = cell_save_variant_find(variants[v]);
        s.codec = codec_find("gzip:9", &lvl, what, sizeof what);
        s.level = lvl;
        s.hash = hash_find("sha1", what, sizeof what);
        s.alloc = CELL_ALLOC_REUSE;
        snprintf(what, sizeof what, "%s: a cell", variants[v]);
        cell *c = verified_cell(&s, &in, what);
        if (!c) continue;
        snprintf(what, sizeof what, "%s: the worker's hash runs while the caller compresses", variants[v]);
        check(what, cell_overlap(c, ns) == 0 && ns[2] < ns[1] && ns[0] < ns[3]);
        cell_destroy(c);
    }
    free((void *)in.blob);
}

/* plan_overhead: the C twins of python_path.py's overhead rows, one per
 * call (pickle, every hash, compress, decompress and load of every codec,
 * the hand-off to the overlapped save's worker), in the mode predictions
 * prefer; and each one builds, verifies and runs on the Python row's input
 * (the int 0 pickled at protocol 4; those 5 bytes for the rest, or their
 * stream; nothing for the hand-off), for every codec of the table. */
static size_t count_alloc(const plan_cells *p, cell_alloc a)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) n += p->v[i].alloc == a;
    return n;
}

/* The mode a prediction of twin t's stage starts from, as report_predict.c's
 * c_row finds it: the first of cpython, fresh, reuse among the payload
 * plan's cells of the same stage, codec, level and hash; -1 when none. */
static int predicted_from(const plan_cells *payload, const cell_spec *t)
{
    static const cell_alloc order[] = {CELL_ALLOC_CPYTHON, CELL_ALLOC_FRESH, CELL_ALLOC_REUSE};
    for (size_t a = 0; a < 3; a++)
        for (size_t i = 0; i < payload->n; i++) {
            const cell_spec *c = &payload->v[i];
            if (c->stage == t->stage && c->codec == t->codec && (!c->codec || c->level == t->level) &&
                c->hash == t->hash && c->alloc == order[a])
                return (int)order[a];
        }
    return -1;
}

/* Each twin but the hand-off in the mode of the C cell its Python row's
 * prediction starts from, in profile `profile`: the count of those that
 * are (and of those that have such a cell). */
static void twins_beside_their_cells(unsigned set, plan_profile profile, const char *what)
{
    request q;
    plan_cells p = {0}, payload = {0};
    char name[160];
    from_set(&q, set, profile);
    check("twins beside their cells: planned",
          plan_overhead(&q.r, &p) == 0 && plan_stages(&q.r, 1, &payload) == 0 && plan_paths(&q.r, 0, &payload) == 0);
    size_t same = 0, twins = 0;
    for (size_t i = 0; i < p.n; i++) {
        if (p.v[i].stage == CELL_HANDOFF) continue;
        twins++;
        same += predicted_from(&payload, &p.v[i]) == (int)p.v[i].alloc;
    }
    snprintf(name, sizeof name, "overhead (%s): every twin in the mode of the C cell its prediction starts from", what);
    check_eq(name, twins, same);
    plan_cells_free(&p);
    plan_cells_free(&payload);
}

static void test_overhead(void)
{
    request q;
    twins_beside_their_cells(CB_SET_DEFAULT, PLAN_DEFAULT, "default");
    twins_beside_their_cells(CB_SET_QUICK, PLAN_QUICK, "--quick");
    from_set(&q, CB_SET_DEFAULT, PLAN_DEFAULT);
    plan_cells p = {0};
    check("overhead: planned", plan_overhead(&q.r, &p) == 0);
    check_eq("overhead: pickle + every hash + compress, decompress and load of every codec + the hand-off",
             1 + q.nhashes + 3 * q.ncodecs + 1, p.n);
    check_eq("overhead: one pickle, first", 1, count(&p, CELL_PICKLE, -1, "*"));
    check("overhead: the pickle first", p.n && p.v[0].stage == CELL_PICKLE);
    check_eq("overhead: one hand-off, to the worker of variant overlapped", 1,
             count(&p, CELL_HANDOFF, -1, SCHEMA_VARIANT_OVERLAPPED));
    check("overhead: the hand-off last, no codec, no hash",
          p.n && p.v[p.n - 1].stage == CELL_HANDOFF && !p.v[p.n - 1].codec && !p.v[p.n - 1].hash);
    check_eq("overhead: by default every cell cpython but the hashes without their binding's own code (reuse)",
             p.n - count_alloc(&p, CELL_ALLOC_REUSE), count_alloc(&p, CELL_ALLOC_CPYTHON));
    check_eq("overhead: no save variant", 0, count(&p, CELL_SAVE, -1, "*") + count(&p, CELL_SAVE_STORE, -1, "*"));
    plan_cells_free(&p);
    q.r.alloc_mask = PLAN_ALLOC_FRESH | PLAN_ALLOC_REUSE;
    check("overhead: --alloc both", plan_overhead(&q.r, &p) == 0);
    check_eq("overhead: --alloc both: fresh, the mode predictions prefer next, but the hashes (reuse: their only mode)",
             p.n - q.nhashes, count_alloc(&p, CELL_ALLOC_FRESH));
    check_eq("overhead: --alloc both: the hashes reuse", q.nhashes, count_alloc(&p, CELL_ALLOC_REUSE));
    plan_cells_free(&p);
    q.r.alloc_mask = PLAN_ALLOC_REUSE;
    check("overhead: --alloc reuse", plan_overhead(&q.r, &p) == 0);
    check_eq("overhead: --alloc reuse: reuse", p.n, count_alloc(&p, CELL_ALLOC_REUSE));
    plan_cells_free(&p);

    /* every codec of the table at its default level, every hash */
    memset(&q, 0, sizeof q);
    for (size_t i = 0; i < codec_count; i++)
        q.codecs[q.ncodecs++] = (plan_codec){&codec_table[i], codec_table[i].level_default};
    for (size_t i = 0; i < hash_count; i++) q.hashes[q.nhashes++] = &hash_table[i];
    q.r = (plan_request){q.codecs, q.ncodecs, q.hashes, q.nhashes, PLAN_DEFAULT, 0, 0};
    if (plan_overhead(&q.r, &p) != 0) { printf("FAIL: overhead: planning\n"); failures++; return; }
    pyobj_arena *a = pyobj_arena_new();
    uint8_t blob[64];
    char err[256];
    cell_input obj = {0};
    obj.obj = a ? pyobj_int(a, 0) : NULL;
    obj.popt = PICKLE_OPTIONS_DEFAULT;
    obj.popt.protocol = PLAN_OVERHEAD_PROTOCOL;
    obj.blob = blob;
    obj.blob_len = obj.obj ? pickle_dump(obj.obj, &obj.popt, blob, sizeof blob, err, sizeof err) : 0;
    check_eq("overhead: pickle.dumps(0, protocol=4) is 5 bytes", 5, obj.blob_len);
    check("overhead: ... b'\\x80\\x04K\\x00.'", obj.blob_len == 5 && memcmp(blob, "\x80\x04K\x00.", 5) == 0);
    size_t ok = 0, inputs = 0;
    /* each codec's stream of the 5 bytes, as its compress twin (planned
     * before the decompress and load twins) wrote it */
    uint64_t stream_len[64] = {0};
    for (size_t i = 0; i < p.n; i++) {
        char what[200];
        cell_stage st = p.v[i].stage;
        snprintf(what, sizeof what, "overhead %s %s:%d %s", cell_stage_names[st],
                 p.v[i].codec ? p.v[i].codec->name : "", p.v[i].level, p.v[i].hash ? p.v[i].hash->name : "");
        cell *c = verified_cell(&p.v[i], &obj, what);
        if (!c) continue;
        /* python_path.py's rows: the hand-off reads no bytes; decompress
         * and load the stream, which gives back the 5 bytes; the others
         * (pickle: its size, as every pickle row) the 5 bytes */
        uint64_t in = cell_bytes_in(c);
        size_t k = p.v[i].codec ? (size_t)(p.v[i].codec - codec_table) : 0;
        if (st == CELL_COMPRESS && k < 64) stream_len[k] = cell_bytes_out(c);
        int in_ok = st == CELL_HANDOFF                               ? in == 0
                    : st == CELL_DECOMPRESS || st == CELL_LOAD ? k < 64 && in > 0 && in == stream_len[k] &&
                                                                     cell_bytes_out(c) == 5
                                                               : in == 5;
        if (!in_ok) printf("FAIL: %s: reads %llu bytes\n", what, (unsigned long long)in), failures++;
        inputs += in_ok;
        gb_measurement m = cell_measurement(c, "overhead");
        if (m.prepare) m.prepare(m.ctx);
        ok += m.run(m.ctx) == 0;
        cell_destroy(c);
    }
    check_eq("overhead: every twin of every codec and hash verifies and runs on its input", p.n, ok);
    check_eq("overhead: every twin reads the Python row's input", p.n, inputs);
    pyobj_arena_free(a);
    plan_cells_free(&p);
}

int main(void)
{
    test_default();
    test_quick();
    test_full();
    test_no_gzip();
    test_options();
    test_overhead();
    test_store_unlink_untimed();
    test_overlap();
    return failures ? 1 : 0;
}
