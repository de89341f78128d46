/* run_rounds.c - see run_rounds.h. */
#include "run_rounds.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gbench.h"
#include "rounds.h"
#include "roundstats.h"
#include "util.h"

#define CANARY_BYTES ((size_t)64 * 1024)
#define CANARY_EVERY_S 0.5

typedef struct {
    cell *c;
    results_row row;
    char *payload, *group, *name, *identity;
    double estimate_ns;
    int index;                 /* in the rounds schedule */
    int partner;               /* run_rounds_set_partner's, -1: none */
} held_cell;

static double now_monotonic_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct run_rounds {
    run_rounds_opts o;
    rounds *sched;
    held_cell *v;
    size_t n, cap;
    /* The canary: sha1 of fixed random bytes, a cell like any other. */
    uint8_t *canary_bytes;
    cell_input canary_in;
    cell *canary;
    double t0;
    int *partner_at;           /* by rounds index, during run_rounds_run */
};

/* rounds_opts' after_cell: a partner's sample beside the cell's. */
static void after_cell(void *arg, int round, size_t index)
{
    run_rounds *rr = arg;
    if (rr->partner_at && rr->partner_at[index] >= 0 && rr->o.beside)
        rr->o.beside(rr->o.aside_arg, round, rr->partner_at[index]);
}

run_rounds *run_rounds_create(const run_rounds_opts *o, char *err, size_t errlen)
{
    char path[4200];
    run_rounds *rr = cb_xcalloc(1, sizeof *rr);
    rr->canary_bytes = cb_xmalloc(CANARY_BYTES);
    rr->o = *o;
    cb_fill_random(rr->canary_bytes, CANARY_BYTES, o->seed);
    rr->canary_in.blob = rr->canary_bytes;
    rr->canary_in.blob_len = CANARY_BYTES;
    cell_spec spec = {0};
    spec.stage = CELL_HASH;
    spec.hash = hash_find("sha1", err, errlen);
    spec.alloc = CELL_ALLOC_REUSE;
    if (!spec.hash || !(rr->canary = cell_create(&spec, &rr->canary_in, err, errlen)) ||
        cell_verify(rr->canary, err, errlen) != 0) {
        run_rounds_free(rr);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/rounds.tsv", o->dir);
    rounds_opts ro = {o->nrounds, o->batch_s, o->warmup_s, CANARY_EVERY_S, o->seed, path,
                      cell_measurement(rr->canary, "canary/sha1/64KiB"), o->aside, o->aside_arg, after_cell, rr};
    if (!(rr->sched = rounds_create(&ro, err, errlen))) {
        run_rounds_free(rr);
        return NULL;
    }
    return rr;
}

void run_rounds_free(run_rounds *rr)
{
    if (!rr) return;
    rounds_free(rr->sched);
    for (size_t i = 0; i < rr->n; i++) {
        cell_destroy(rr->v[i].c);
        free(rr->v[i].payload);
        free(rr->v[i].group);
        free(rr->v[i].name);
        free(rr->v[i].identity);
    }
    free(rr->v);
    cell_destroy(rr->canary);
    free(rr->canary_bytes);
    free(rr);
}

void run_rounds_group(const cell_spec *spec, const char *payload, int protocol, const hash_desc *key_hash,
                      uint64_t bytes_in, char *out, size_t cap)
{
    const char *stage = cell_stage_names[spec->stage];
    if (strcmp(payload, SCHEMA_PAYLOAD_SWEEP) == 0) {
        /* Every hash of one size: the sweep's ratios. */
        snprintf(out, cap, "sweep/%llu", (unsigned long long)bytes_in);
        return;
    }
    switch (spec->stage) {
    case CELL_HASH:
        /* Every hash of one payload. */
        snprintf(out, cap, "%s/p%d/hash", payload, protocol);
        return;
    case CELL_COMPRESS: case CELL_DECOMPRESS:
        /* A codec stage beside its save path (save with the key hash, reuse). */
        snprintf(out, cap, "%s/p%d/save-reuse", payload, protocol);
        return;
    case CELL_SAVE:
        if (spec->hash == key_hash) {
            /* Every codec's save and every save variant of one allocation mode. */
            snprintf(out, cap, "%s/p%d/save-%s", payload, protocol, cell_alloc_names[spec->alloc]);
        } else {
            /* Every hash on one codec's save path. */
            snprintf(out, cap, "%s/p%d/save-hashes-%s:%d", payload, protocol, spec->codec->name, spec->level);
        }
        return;
    default:
        snprintf(out, cap, "%s/p%d/%s", payload, protocol, stage);
        return;
    }
}

int run_rounds_add(run_rounds *rr, cell *c, const results_row *row, const char *bench_name, const char *group,
                   double *estimate_ns, char *err, size_t errlen)
{
    char id[4096];
    rr->v = cb_xgrow(rr->v, &rr->cap, rr->n, sizeof *rr->v);
    held_cell *h = &rr->v[rr->n];
    memset(h, 0, sizeof *h);
    h->c = c;
    h->row = *row;
    h->payload = cb_xstrdup(row->payload);
    h->row.payload = h->payload;
    h->group = cb_xstrdup(group);
    h->name = cb_xstrdup(bench_name);
    results_identity(row, id, sizeof id);
    h->identity = cb_xstrdup(id);
    h->partner = -1;
    /* The measurement points at the cell and at h->name, both kept to the end. */
    gb_measurement m = cell_measurement(c, h->name);
    h->index = rounds_add(rr->sched, &m, group, &h->estimate_ns, err, errlen);
    rr->n++;
    if (h->index < 0) {
        int rc = h->index;
        cell_destroy(h->c);
        h->c = NULL;
        return rc;
    }
    *estimate_ns = h->estimate_ns;
    return 0;
}

double run_rounds_estimate(const run_rounds *rr, const char *identity)
{
    for (size_t i = 0; i < rr->n; i++)
        if (rr->v[i].index >= 0 && strcmp(rr->v[i].identity, identity) == 0) return rr->v[i].estimate_ns;
    return NAN;
}

/* Row fields a caller left NULL are empty. */
static int same(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }

long run_rounds_find(const run_rounds *rr, const char *payload, int protocol, const char *stage, const char *variant,
                     const char *codec, int level, const char *hash, const char *alloc)
{
    for (size_t i = 0; i < rr->n; i++) {
        const results_row *r = &rr->v[i].row;
        if (rr->v[i].index < 0 || r->protocol != protocol || !same(r->payload, payload) || !same(r->stage, stage) ||
            !same(r->variant, variant) || !same(r->codec, codec) || (codec && *codec && r->level != level) ||
            !same(r->hash, hash) || !same(r->alloc, alloc))
            continue;
        return (long)i;
    }
    return -1;
}

void run_rounds_set_partner(run_rounds *rr, long held, int partner) { rr->v[held].partner = partner; }

int run_rounds_partner(const run_rounds *rr, long held) { return rr->v[held].partner; }

double run_rounds_estimate_of(const run_rounds *rr, long held) { return rr->v[held].estimate_ns; }

/* The row of held cell h after `done` rounds: ok with its round statistics,
 * error when an iteration failed during the rounds. 0: no row yet. */
static int fill_row(const run_rounds *rr, const held_cell *h, results_row *row, gb_result *t)
{
    size_t n;
    int64_t iterations;
    const double *s = rounds_samples(rr->sched, (size_t)h->index, &n, &iterations);
    const char *failure = rounds_failure(rr->sched, (size_t)h->index);
    *row = h->row;
    row->group = h->group;
    row->spread = row->drift = NAN;
    if (failure) {
        row->have_out = 0;
        row->status = "error";
        row->message = failure;
        row->timing = NULL;
        return 1;
    }
    if (n == 0) return 0;
    if (n > GB_MAX_REPETITIONS) n = GB_MAX_REPETITIONS;
    memset(t, 0, sizeof *t);
    t->repetitions = (int)n;
    t->iterations = iterations;
    double sum = 0, sum2 = 0;
    t->min_ns = t->max_ns = s[0];
    for (size_t i = 0; i < n; i++) {
        t->samples_ns[i] = s[i];
        sum += s[i];
        if (s[i] < t->min_ns) t->min_ns = s[i];
        if (s[i] > t->max_ns) t->max_ns = s[i];
    }
    t->mean_ns = sum / (double)n;
    for (size_t i = 0; i < n; i++) sum2 += (s[i] - t->mean_ns) * (s[i] - t->mean_ns);
    t->stddev_ns = n > 1 ? sqrt(sum2 / (double)(n - 1)) : 0;
    t->cv = t->mean_ns > 0 ? t->stddev_ns / t->mean_ns : 0;
    /* The cell's figure: the median over rounds. */
    t->median_ns = rs_median(s, n);
    t->bytes_per_second = t->median_ns > 0 ? (double)row->bytes_in * 1e9 / t->median_ns : 0;
    row->have_out = 1;
    row->key = cell_key(h->c);
    row->status = "ok";
    row->message = "";
    row->timing = t;
    row->spread = rs_spread(s, n);
    const double *faults = rounds_minflt(rr->sched, (size_t)h->index);
    row->have_minflt = faults != NULL;
    if (faults) row->minflt_per_iter = rs_median(faults, n);
    row->cold_ns = cell_cold_ns(h->c);
    row->drift = rs_drift(s, n);
    row->flag = rs_flag(s, n);
    return 1;
}

typedef struct {
    run_rounds *rr;
    results_file *rf;
    const char *gbench_path;
    size_t errors;
    int final, failed;
    char *err;
    size_t errlen;
} writer;

/* 0, or -1 with the failed write's message in w->err (the rounds stop). */
static int write_rows(void *arg, int done)
{
    writer *w = arg;
    run_rounds *rr = w->rr;
    results_row *rows = cb_xcalloc(rr->n, sizeof *rows);
    gb_result *t = cb_xmalloc(rr->n * sizeof *t);
    size_t k = 0;
    w->errors = 0;
    for (size_t i = 0; i < rr->n; i++) {
        if (rr->v[i].index < 0) continue;   /* its error row is written already */
        if (fill_row(rr, &rr->v[i], &rows[k], &t[k])) {
            if (!rows[k].timing) w->errors++;
            k++;
        }
    }
    /* gbench.json first: it never lacks the runs of a row matrix.tsv has. */
    int rc = gb_json_write(w->gbench_path, w->final, w->err, w->errlen) != 0 ||
             results_rewrite(w->rf, rows, k, w->final, w->err, w->errlen) != 0 ? -1 : 0;
    free(rows);
    free(t);
    if (rc != 0) return w->failed = -1;
    if (rr->o.tty && !w->final) {
        double per = (now_monotonic_s() - rr->t0) / done;
        double left = per * (double)(rr->o.nrounds - done);
        fprintf(stderr, "\r\033[K[round %d/%d] %zu cells  ETA %dm%02ds", done, rr->o.nrounds, k,
                (int)(left / 60), (int)fmod(left, 60));
        fflush(stderr);
    }
    return 0;
}

int run_rounds_run(run_rounds *rr, results_file *rf, const char *gbench_path, size_t *errors, char *err,
                   size_t errlen)
{
    writer w = {rr, rf, gbench_path, 0, 0, 0, err, errlen};
    rr->t0 = now_monotonic_s();
    /* rounds_add's indices are dense: one per held cell that got in. */
    rr->partner_at = cb_xmalloc((rr->n ? rr->n : 1) * sizeof *rr->partner_at);
    for (size_t i = 0; i < rr->n; i++) rr->partner_at[i] = -1;
    for (size_t i = 0; i < rr->n; i++)
        if (rr->v[i].index >= 0) rr->partner_at[rr->v[i].index] = rr->v[i].partner;
    if (rr->o.tty) fprintf(stderr, "\r\033[K[round 0/%d] %zu cells", rr->o.nrounds, rr->n);
    int done = rounds_run(rr->sched, write_rows, &w);
    free(rr->partner_at);
    rr->partner_at = NULL;
    w.final = 1;
    if (w.failed || write_rows(&w, done) != 0) return -1;
    *errors = w.errors;
    return done;
}
