/* plan.c - see plan.h. */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "sets.h"

const char *const plan_profile_names[PLAN_PROFILE_COUNT] = {"default", "quick", "full"};

/* The baselines the default matrix is built around, named once: the key hash
 * of metaflow's save path, and PR #3090's codec, whose every hash is paired
 * with it as with the fastest gzip-compatible codec. */
#define PLAN_KEY_HASH "sha1"
#define PLAN_PAIRED_CODEC "lz4"

/* The save cells also timed with the fast variants by default, with the key
 * hash: PR #3090's lz4:0 with every variant, cpython and reuse (the
 * spinning hand-off against the condition variable is measured there), and
 * metaflow's gzip:3 with fused and overlapped, reuse only (the mode the
 * stages are timed in; a gzip:3 save of 8 MB takes a third of a second, and
 * the budget is the whole matrix's). --quick has one mode for saves,
 * cpython, and keeps of gzip:3 only the variant infra/python_path.py times
 * too (overlapped): its fused cell would take --quick past its 30 s. */
static const struct {
    const char *codec;
    int level;
    const char *variants;     /* space-separated */
    int allocs;               /* PLAN_ALLOC_* */
    const char *quick_variants;
} fast_variant_plan[] = {
    {"lz4", 0, "fused overlapped overlapped-spin", PLAN_ALLOC_CPYTHON | PLAN_ALLOC_REUSE,
     "fused overlapped overlapped-spin"},
    {"gzip", 3, "fused overlapped", PLAN_ALLOC_REUSE, "overlapped"},
};

void plan_cells_free(plan_cells *p)
{
    free(p->v);
    p->v = NULL;
    p->n = p->cap = 0;
}

unsigned plan_profile_set(plan_profile profile)
{
    return profile == PLAN_QUICK ? CB_SET_QUICK : CB_SET_DEFAULT;
}

size_t plan_key_hash(const plan_request *r)
{
    for (size_t i = 0; i < r->nhashes; i++)
        if (strcmp(r->hashes[i]->name, PLAN_KEY_HASH) == 0) return i;
    return 0;
}

int plan_gzip_candidate(const codec_desc *d)
{
    return d->gzip_compatible && !d->ceiling;
}

static int add_spec(plan_cells *p, const cell_spec *s)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].stage == s->stage && p->v[i].variant == s->variant && p->v[i].codec == s->codec &&
            p->v[i].level == s->level && p->v[i].hash == s->hash && p->v[i].alloc == s->alloc)
            return 0;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        cell_spec *v = realloc(p->v, cap * sizeof *v);
        if (!v) return -1;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = *s;
    return 0;
}

/* Which allocation modes a stage runs with: the request's, or the policy of
 * the profile. Hashing allocates nothing: always `reuse`. `cpython` is the
 * mode of every row that models metaflow; `reuse` times the codecs alone and
 * bounds the save from below, `fresh` (new pages every iteration) bounds the
 * pickle from above. */
static int alloc_modes(const plan_request *r, cell_stage s)
{
    if (s == CELL_HASH) return PLAN_ALLOC_REUSE;
    if (r->alloc_mask) return r->alloc_mask;
    if (r->profile == PLAN_FULL) return PLAN_ALLOC_FRESH | PLAN_ALLOC_REUSE | PLAN_ALLOC_CPYTHON;
    /* quick: the Python path only (cpython), and the codecs alone (reuse). */
    if (r->profile == PLAN_QUICK)
        return s == CELL_COMPRESS || s == CELL_DECOMPRESS ? PLAN_ALLOC_REUSE : PLAN_ALLOC_CPYTHON;
    switch (s) {
    case CELL_PICKLE: return PLAN_ALLOC_FRESH | PLAN_ALLOC_REUSE | PLAN_ALLOC_CPYTHON;
    case CELL_SAVE: case CELL_COMPRESS: case CELL_DECOMPRESS: return PLAN_ALLOC_REUSE | PLAN_ALLOC_CPYTHON;
    default: return PLAN_ALLOC_CPYTHON;
    }
}

static int word_in(const char *word, const char *list)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return 1;
    return 0;
}

/* Whether a save / save+store cell of this variant is in the plan. */
static int variant_planned(const plan_request *r, const cell_save_variant *v, const cell_spec *x)
{
    if (!cell_save_variant_applies(v, x->codec)) return 0;
    if (v == &cell_save_variants[0] || r->variant_mask || r->profile == PLAN_FULL) return 1;
    if (x->stage != CELL_SAVE || x->hash != r->hashes[plan_key_hash(r)]) return 0;
    for (size_t i = 0; i < sizeof fast_variant_plan / sizeof fast_variant_plan[0]; i++) {
        int bit = x->alloc == CELL_ALLOC_FRESH ? PLAN_ALLOC_FRESH
                  : x->alloc == CELL_ALLOC_REUSE ? PLAN_ALLOC_REUSE : PLAN_ALLOC_CPYTHON;
        if (strcmp(x->codec->name, fast_variant_plan[i].codec) != 0 || x->level != fast_variant_plan[i].level)
            continue;
        /* --alloc or --quick may leave only one mode: then use it. */
        if (!(fast_variant_plan[i].allocs & bit) && (alloc_modes(r, CELL_SAVE) & fast_variant_plan[i].allocs))
            return 0;
        return word_in(v->name, r->profile == PLAN_QUICK ? fast_variant_plan[i].quick_variants
                                                          : fast_variant_plan[i].variants);
    }
    return 0;
}

/* The cell of a stage with the request's codec and hash of these indices
 * (-1: none). */
static cell_spec cell_of(const plan_request *r, cell_stage stage, int codec, int hash)
{
    cell_spec s = {0};
    s.stage = stage;
    if (codec >= 0) {
        s.codec = r->codecs[codec].desc;
        s.level = r->codecs[codec].level;
    }
    s.hash = hash >= 0 ? r->hashes[hash] : NULL;
    return s;
}

/* The cell, once per planned variant for the save stages. */
static int add(const plan_request *r, plan_cells *p, cell_spec s)
{
    if (s.stage != CELL_SAVE && s.stage != CELL_SAVE_STORE) return add_spec(p, &s);
    unsigned mask = r->variant_mask ? r->variant_mask : ~0u;
    for (size_t v = 0; v < cell_save_variant_count && v < 32; v++) {
        if (!(mask & (1u << v)) || !variant_planned(r, &cell_save_variants[v], &s)) continue;
        s.variant = &cell_save_variants[v];
        if (add_spec(p, &s) != 0) return -1;
    }
    return 0;
}

/* The modes of cell s's stage; a hash whose Python binding runs other code
 * than casbench's (hash.h, py_update) also gets a cpython row: that code,
 * what a prediction needs. */
static int cell_modes(const plan_request *r, const cell_spec *s)
{
    int m = alloc_modes(r, s->stage);
    if (s->stage == CELL_HASH && s->hash && s->hash->py_update &&
        (!r->alloc_mask || (r->alloc_mask & PLAN_ALLOC_CPYTHON)))
        m |= PLAN_ALLOC_CPYTHON;
    return m;
}

/* The cell in each allocation mode of `modes` (0: those of its stage). */
static int add_modes(const plan_request *r, plan_cells *p, cell_spec s, int modes)
{
    int m = modes ? modes : cell_modes(r, &s);
    s.alloc = CELL_ALLOC_FRESH;
    if ((m & PLAN_ALLOC_FRESH) && add(r, p, s) != 0) return -1;
    s.alloc = CELL_ALLOC_REUSE;
    if ((m & PLAN_ALLOC_REUSE) && add(r, p, s) != 0) return -1;
    s.alloc = CELL_ALLOC_CPYTHON;
    if ((m & PLAN_ALLOC_CPYTHON) && add(r, p, s) != 0) return -1;
    return 0;
}

/* A pairing (or any cell) for another stage. */
static cell_spec restaged(cell_spec s, cell_stage stage)
{
    s.stage = stage;
    s.variant = NULL;
    return s;
}

int plan_stages(const plan_request *r, int have_object, plan_cells *out)
{
    int rc = have_object ? add_modes(r, out, cell_of(r, CELL_PICKLE, -1, -1), 0) : 0;
    for (size_t i = 0; rc == 0 && i < r->nhashes; i++) rc = add_modes(r, out, cell_of(r, CELL_HASH, -1, (int)i), 0);
    for (size_t i = 0; rc == 0 && i < r->ncodecs; i++)
        rc = add_modes(r, out, cell_of(r, CELL_COMPRESS, (int)i, -1), 0);
    for (size_t i = 0; rc == 0 && i < r->ncodecs; i++)
        rc = add_modes(r, out, cell_of(r, CELL_DECOMPRESS, (int)i, -1), 0);
    return rc;
}

static int add_pairing(const plan_request *r, plan_cells *pairs, size_t codec, size_t hash)
{
    cell_spec s = cell_of(r, CELL_SAVE, (int)codec, (int)hash);
    return add_spec(pairs, &s);
}

/* The save pairings (codec, hash), in the order they are planned. */
static int save_pairings(const plan_request *r, int fastest, plan_cells *pairs)
{
    size_t kh = plan_key_hash(r);
    int rc = 0;
    if (r->profile == PLAN_FULL) {
        for (size_t c = 0; rc == 0 && c < r->ncodecs; c++)
            for (size_t h = 0; rc == 0 && h < r->nhashes; h++) rc = add_pairing(r, pairs, c, h);
        return rc;
    }
    for (size_t c = 0; rc == 0 && c < r->ncodecs; c++) rc = add_pairing(r, pairs, c, kh);
    for (size_t c = 0; rc == 0 && c < r->ncodecs; c++) {
        if (strcmp(r->codecs[c].desc->name, PLAN_PAIRED_CODEC) != 0 && (int)c != fastest) continue;
        for (size_t h = 0; rc == 0 && h < r->nhashes; h++) rc = add_pairing(r, pairs, c, h);
    }
    return rc;
}

int plan_paths(const plan_request *r, int fastest, plan_cells *out)
{
    const hash_desc *key = r->hashes[plan_key_hash(r)];
    plan_cells pairs = {0};
    int rc = save_pairings(r, fastest, &pairs);
    /* By default only the key-hash pairings are also timed with reused
     * buffers: the other pairings compare hashes, which allocation does not
     * change. */
    for (size_t i = 0; rc == 0 && i < pairs.n; i++) {
        int m = alloc_modes(r, CELL_SAVE);
        if (!r->alloc_mask && r->profile != PLAN_FULL && pairs.v[i].hash != key) m &= PLAN_ALLOC_CPYTHON;
        if (m) rc = add_modes(r, out, pairs.v[i], m);
    }
    for (size_t c = 0; rc == 0 && c < r->ncodecs; c++) rc = add_modes(r, out, cell_of(r, CELL_LOAD, (int)c, -1), 0);
    if (r->profile != PLAN_QUICK) {
        for (size_t i = 0; rc == 0 && i < pairs.n; i++)
            rc = add_modes(r, out, restaged(pairs.v[i], CELL_LOAD_VERIFY), 0);
        if (r->profile == PLAN_FULL) {
            for (size_t i = 0; rc == 0 && i < pairs.n; i++)
                rc = add_modes(r, out, restaged(pairs.v[i], CELL_SAVE_STORE), 0);
        } else {
            for (size_t c = 0; rc == 0 && c < r->ncodecs; c++)
                rc = add_modes(r, out, cell_of(r, CELL_SAVE_STORE, (int)c, (int)plan_key_hash(r)), 0);
        }
    }
    plan_cells_free(&pairs);
    return rc;
}

/* The mode a prediction starts from (schema_alloc_predicted_from) among
 * those cell s's stage has (cell_modes), so that a twin pays what the C
 * cell it is subtracted beside pays. */
static cell_alloc twin_alloc(const plan_request *r, const cell_spec *s)
{
    static const int bit[SCHEMA_ALLOC_COUNT] = {[SCHEMA_ALLOC_FRESH] = PLAN_ALLOC_FRESH,
                                                [SCHEMA_ALLOC_REUSE] = PLAN_ALLOC_REUSE,
                                                [SCHEMA_ALLOC_CPYTHON] = PLAN_ALLOC_CPYTHON};
    int m = cell_modes(r, s);
    for (size_t a = 0; a < SCHEMA_ALLOC_COUNT; a++)
        if (m & bit[schema_alloc_predicted_from[a]]) return (cell_alloc)schema_alloc_predicted_from[a];
    return CELL_ALLOC_REUSE;
}

int plan_overhead(const plan_request *r, plan_cells *out)
{
    int rc;
    cell_spec s = cell_of(r, CELL_PICKLE, -1, -1);
    s.alloc = twin_alloc(r, &s);
    rc = add_spec(out, &s);
    for (size_t i = 0; rc == 0 && i < r->nhashes; i++) {
        s = cell_of(r, CELL_HASH, -1, (int)i);
        s.alloc = twin_alloc(r, &s);
        rc = add_spec(out, &s);
    }
    static const cell_stage stages[] = {CELL_COMPRESS, CELL_DECOMPRESS, CELL_LOAD};
    for (size_t k = 0; rc == 0 && k < sizeof stages / sizeof stages[0]; k++)
        for (size_t i = 0; rc == 0 && i < r->ncodecs; i++) {
            s = cell_of(r, stages[k], (int)i, -1);
            s.alloc = twin_alloc(r, &s);
            rc = add_spec(out, &s);
        }
    if (rc == 0) {
        /* in the mode of the overlapped save's cells */
        cell_spec save = cell_of(r, CELL_SAVE, -1, -1);
        s = cell_of(r, CELL_HANDOFF, -1, -1);
        s.variant = cell_save_variant_find(SCHEMA_VARIANT_OVERLAPPED);
        s.alloc = twin_alloc(r, &save);
        rc = add_spec(out, &s);
    }
    return rc;
}

size_t plan_count(const plan_request *r, int have_object)
{
    int fastest = -1;
    for (size_t c = 0; fastest < 0 && c < r->ncodecs; c++)
        if (plan_gzip_candidate(r->codecs[c].desc)) fastest = (int)c;
    plan_cells p = {0};
    size_t n = plan_stages(r, have_object, &p) == 0 && plan_paths(r, fastest, &p) == 0 ? p.n : (size_t)-1;
    plan_cells_free(&p);
    return n;
}
