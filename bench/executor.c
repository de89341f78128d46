/* executor.c - see executor.h. */
#include "executor.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "cells.h"
#include "gbench.h"
#include "payload.h"
#include "pickle.h"
#include "pyobj.h"
#include "pyserve.h"
#include "run_rounds.h"
#include "strbuf.h"
#include "util.h"

typedef void (*free_fn)(void *);

typedef struct {
    const exec_opts *o;
    results_file *rf;
    char gbench_path[PATH_MAX];
    size_t total, done, ran, errors;
    double t0;
    run_rounds *rr;            /* every verified cell, timed in rounds at the end */
    void **kept;               /* blobs, payloads and cell inputs the cells point into */
    size_t nkept;
    size_t per_payload;        /* plan_count of a payload with an object */
    pyserve *py;               /* --python: CPython's cells in the same rounds */
    int status;                /* non-zero: the run failed, the message in err */
    char *err;
    size_t errlen;
} run_state;

/* The run fails: the util.h status and message for exec_run to return.
 * Returns 1, as a stop does, so that every loop ends. */
static int fail(run_state *st, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(run_state *st, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (st->errlen) vsnprintf(st->err, st->errlen, fmt, ap);
    va_end(ap);
    st->status = status;
    return 1;
}

/* Keep p until the run ends (cells point into it); fn releases it. */
static void keep_until_end(run_state *st, void *p, free_fn fn)
{
    void **grown = cb_xrealloc(st->kept, (st->nkept + 2) * sizeof *grown);
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
static void arena_release(void *p) { pyobj_arena_free(p); }

static cell_input *kept_input(run_state *st)
{
    cell_input *in = cb_xcalloc(1, sizeof *in);
    keep_until_end(st, in, free);
    return in;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void progress(run_state *st, const char *what)
{
    char eta[32] = "?";
    if (!st->o->tty) return;
    if (st->ran > 0) {
        double per = (now_s() - st->t0) / (double)st->ran;
        double left = per * (double)(st->total > st->done ? st->total - st->done : 0);
        snprintf(eta, sizeof eta, "%dm%02ds", (int)(left / 60), (int)fmod(left, 60));
    }
    fprintf(stderr, "\r\033[K[%zu/%zu] %.60s  ETA %s", st->done + 1, st->total, what, eta);
    fflush(stderr);
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

static int resume_gbench(run_state *st)
{
    char err[512];
    name_set set = {0};
    set.names = cb_xcalloc(results_count(st->rf) + 1, sizeof *set.names);
    for (size_t i = 0; i < results_count(st->rf); i++) {
        double med;
        results_identity_at(st->rf, i, &med);
        if (isnan(med)) continue;
        set.names[set.n++] = cb_xstrdup(results_bench_name_at(st->rf, i));
    }
    int rc = 0;
    if (access(st->gbench_path, F_OK) == 0 && gb_json_load(st->gbench_path, keep_entry, &set, err, sizeof err) != 0)
        rc = fail(st, CB_EXIT_INPUT, "%s: %s", st->gbench_path, err);
    for (size_t i = 0; i < set.n; i++) free(set.names[i]);
    free(set.names);
    return rc;
}

/* One cell: verify, hand it to the rounds, or append its error row.
 * Returns 0, or 1 when a stop was requested or the run failed (st->status). */
static int run_cell(run_state *st, const char *payload_name, int protocol, const cell_spec *spec,
                    const cell_input *in)
{
    char err[512], id[4096], name[1024], codec_spec[64] = "";
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
    if (spec->codec) snprintf(codec_spec, sizeof codec_spec, "%s:%d", spec->codec->name, spec->level);
    schema_key key = results_row_key(&row);
    schema_key_bench_name(&key, name, sizeof name);
    {
        char what[256];
        snprintf(what, sizeof what, "%s %s %s %s %s", payload_name, row.stage, codec_spec, row.hash, row.alloc);
        progress(st, what);
    }

    cell *c = cell_create(spec, in, err, sizeof err);
    int rc = c ? cell_verify(c, err, sizeof err) : -1;
    if (c) row.bytes_in = cell_bytes_in(c);
    if (rc == 0) {
        /* Timed later, in rounds; the row is written after each round. */
        const plan_request *r = st->o->plan;
        char group[256];
        double estimate;
        row.bytes_out = cell_bytes_out(c);
        row.stored_bytes = cell_stored_bytes(c);
        if (spec->stage == CELL_SAVE || spec->stage == CELL_SAVE_STORE || spec->stage == CELL_LOAD ||
            spec->stage == CELL_LOAD_VERIFY) {
            row.peak_bytes = cell_peak_bytes(c);
            row.have_peak = row.peak_bytes != CELL_NO_PEAK;
        }
        run_rounds_group(spec, payload_name, protocol, r->hashes[plan_key_hash(r)], row.bytes_in, group,
                         sizeof group);
        rc = run_rounds_add(st->rr, c, &row, name, group, &estimate, err, sizeof err);
        c = NULL;
        if (rc == -2) return 1;
    }
    if (rc != 0) {
        row.status = "error";
        row.message = err;
        st->errors++;
        if (results_append(st->rf, &row, err, sizeof err) != 0) {
            cell_destroy(c);
            return fail(st, CB_EXIT_ENV, "%s/%s", st->o->dir, err);
        }
    }
    cell_destroy(c);
    st->done++;
    st->ran++;
    return *st->o->stop ? 1 : 0;
}

static int run_cells(run_state *st, const char *payload_name, int protocol, const plan_cells *p,
                     const cell_input *in)
{
    for (size_t i = 0; i < p->n; i++) {
        cell_spec spec = p->v[i];
        spec.store_dir = st->o->store_dir;
        spec.store_fsync = st->o->store_fsync;
        if (run_cell(st, payload_name, protocol, &spec, in)) return 1;
    }
    return 0;
}

/* The measured fact the save pairings need: the gzip-compatible codec with
 * the lowest compress time in this run (the calibration estimate of a cell
 * of this run, or the median of a resumed row; reuse rows first: they time
 * the codec alone). -1 when there is none. */
static int fastest_gzip(run_state *st, const char *payload_name, int protocol, uint64_t blob_len)
{
    const plan_request *r = st->o->plan;
    int best = -1;
    double best_t = INFINITY;
    for (size_t c = 0; c < r->ncodecs; c++) {
        if (!plan_gzip_candidate(r->codecs[c].desc)) continue;
        static const cell_alloc order[] = {CELL_ALLOC_REUSE, CELL_ALLOC_CPYTHON, CELL_ALLOC_FRESH};
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
            cell_alloc a = order[k];
            results_row row = {0};
            char id[4096];
            double t;
            row.payload = payload_name;
            row.protocol = protocol;
            row.stage = cell_stage_names[CELL_COMPRESS];
            row.codec = r->codecs[c].desc->name;
            row.level = r->codecs[c].level;
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

/* The input of one payload under one protocol, kept until the run ends;
 * NULL when it cannot be pickled so (st->status). */
static cell_input *payload_input(run_state *st, payload *p, int protocol)
{
    char err[512];
    const char *name = payload_name(p);
    cell_input *in = kept_input(st);
    in->obj = payload_object(p);
    in->popt = PICKLE_OPTIONS_DEFAULT;
    in->popt.protocol = protocol;
    uint8_t *owned;
    int status;
    if (payload_blob(p, &in->popt, &in->blob, &in->blob_len, &owned, &status, err, sizeof err) != 0) {
        fail(st, status, "--payload %s: cannot pickle with protocol %d: %s", CB_Q(name), protocol, err);
        return NULL;
    }
    if (owned) keep_until_end(st, owned, free);
    return in;
}

static int run_payload(run_state *st, const char *spec_text)
{
    const exec_opts *o = st->o;
    const plan_request *r = o->plan;
    char err[512];
    int status = CB_EXIT_INPUT;
    payload *p = payload_create(spec_text, o->seed, &status, err, sizeof err);
    if (!p) return fail(st, status, "--payload %s: %s", CB_Q(spec_text), err);
    keep_until_end(st, p, payload_release);   /* the cells point into its object */
    const char *name = payload_name(p);
    /* A file payload is a blob already: no protocol changes it, so it is run
     * once, under the first protocol selected. */
    size_t nprot = payload_object(p) ? o->nprotocols : 1;
    st->total -= st->per_payload * (o->nprotocols - nprot);
    for (size_t k = 0; k < nprot; k++) {
        const cell_input *in = payload_input(st, p, o->protocols[k]);
        if (!in) return 1;
        plan_cells stages = {0}, paths = {0};
        int stop = plan_stages(r, in->obj != NULL, &stages) != 0 ? fail(st, CB_EXIT_ENV, "out of memory")
                                                                  : run_cells(st, name, in->popt.protocol, &stages, in);
        if (!stop) {
            int fastest = fastest_gzip(st, name, in->popt.protocol, in->blob_len);
            if (plan_paths(r, fastest, &paths) != 0) {
                stop = fail(st, CB_EXIT_ENV, "out of memory");
            } else {
                /* The total assumed a gzip-compatible codec would be measured. */
                st->total = st->total + stages.n + paths.n - st->per_payload;
                stop = run_cells(st, name, in->popt.protocol, &paths, in);
            }
        }
        plan_cells_free(&stages);
        plan_cells_free(&paths);
        if (stop) return 1;
    }
    return 0;
}

#define SWEEP_MIN 64
#define SWEEP_MAX ((size_t)64 << 20)

static size_t sweep_cells(const plan_request *r)
{
    size_t n = 0;
    for (size_t s = SWEEP_MIN; s <= SWEEP_MAX; s *= 4) n += r->nhashes;
    return n;
}

static int run_sweep(run_state *st)
{
    const plan_request *r = st->o->plan;
    uint8_t *buf = malloc(SWEEP_MAX);
    if (!buf) return fail(st, CB_EXIT_ENV, "hash sweep: out of memory");
    keep_until_end(st, buf, free);
    cb_fill_random(buf, SWEEP_MAX, st->o->seed);
    for (size_t s = SWEEP_MIN; s <= SWEEP_MAX; s *= 4) {
        cell_input *in = kept_input(st);
        in->blob = buf;
        in->blob_len = s;
        for (size_t h = 0; h < r->nhashes; h++) {
            cell_spec spec = {0};
            spec.stage = CELL_HASH;
            spec.hash = r->hashes[h];
            spec.alloc = CELL_ALLOC_REUSE;
            if (run_cell(st, SCHEMA_PAYLOAD_SWEEP, 0, &spec, in)) return 1;
        }
    }
    return 0;
}

/* --python: the C twins of the Python side's `overhead` rows (plan.h
 * plan_overhead), timed in the same rounds: the pickle of the int 0, and
 * every other call on that 5-byte pickle (its stream for decompress and
 * load), the bytes the Python rows use. */
static int run_overhead(run_state *st)
{
    char err[512];
    plan_cells p = {0};
    pyobj_arena *a = pyobj_arena_new();
    cell_input *obj = kept_input(st);
    if (!a || !(obj->obj = pyobj_int(a, 0)) || plan_overhead(st->o->plan, &p) != 0) {
        pyobj_arena_free(a);
        plan_cells_free(&p);
        return fail(st, CB_EXIT_ENV, "out of memory");
    }
    keep_until_end(st, a, arena_release);
    st->total += p.n;
    obj->popt = PICKLE_OPTIONS_DEFAULT;
    obj->popt.protocol = PLAN_OVERHEAD_PROTOCOL;
    size_t bound = pickle_bound(obj->obj, &obj->popt);
    uint8_t *blob = cb_xmalloc(bound);
    keep_until_end(st, blob, free);
    obj->blob = blob;
    if (!(obj->blob_len = pickle_dump(obj->obj, &obj->popt, blob, bound, err, sizeof err))) {
        plan_cells_free(&p);
        return fail(st, CB_EXIT_INTERNAL, "pickle of 0: %s", err);
    }
    int stop = 0;
    for (size_t i = 0; !stop && i < p.n; i++) {
        cell_spec spec = p.v[i];
        stop = run_cell(st, SCHEMA_PAYLOAD_OVERHEAD, PLAN_OVERHEAD_PROTOCOL, &spec, obj);
    }
    plan_cells_free(&p);
    return stop;
}

/* rounds_opts' aside: the Python side's round, at its place in the C round. */
static void python_round(void *arg, int round, uint64_t seed)
{
    run_state *st = arg;
    if (st->py && pyserve_round(st->py, round, seed) != 0) {
        pyserve_stop(st->py, 0);
        st->py = NULL;
    }
}

/* run_rounds_opts' beside: a Python cell's sample right after its C
 * partner's (pyserve.h). */
static void python_pair(void *arg, int round, int partner)
{
    run_state *st = arg;
    if (st->py && pyserve_pair(st->py, round, partner) != 0) {
        pyserve_stop(st->py, 0);
        st->py = NULL;
    }
}

/* Each Python cell's C partner, the cell its prediction starts from
 * (report_predict.c's c_row: alloc cpython, else fresh, else reuse), gets it
 * as partner when it is most of the Python cell's time (pyserve.h), and the
 * Python side is told which cells will be asked for one by one. The per-call
 * cost rows (payload `overhead`) have none. Each decision and the two
 * calibration estimates it was made on go to pairing.tsv (results/README.md):
 * they are timings, so a reader (and the test of the rule) checks the rule
 * against them rather than against the rounds' medians. */
static void python_partners(run_state *st)
{
    size_t n = pyserve_ncells(st->py), k = 0;
    int *paired = cb_xmalloc((n ? n : 1) * sizeof *paired);
    cb_buf tsv = {0};
    cb_buf_printf(&tsv, "python_cell\tpayload\tprotocol\tstage\tvariant\tcodec\tlevel\thash\tc_alloc\tc_estimate_ns\t"
                        "python_estimate_ns\tpaired\n");
    for (size_t i = 0; i < n; i++) {
        const pyserve_cell *w = pyserve_cell_at(st->py, i);
        long c = -1;
        const char *c_alloc = "", *stage = w->stage, *variant = w->variant;
        /* A per-call cost row (python_path.py's stage `overhead`) pairs with
         * its C twin (plan_overhead: stage the row's variant; the hand-off's
         * twin names its save variant), by the same rule as a cell, so that
         * the prediction subtracts two figures of the same moment of the
         * machine. It matters for the hand-off: a thread wake-up costs what
         * the state of both CPUs makes it, and in the block after the other
         * rows' quiet calls Python's hand-off took longer than it took
         * beside C's. Even so the overlapped saves of a tiny payload, which
         * are almost all hand-off, do not predict within +-25 % in every
         * run: C's own hand-off is fast or slow by batch. */
        if (strcmp(w->payload, SCHEMA_PAYLOAD_OVERHEAD) == 0 && strcmp(w->stage, SCHEMA_STAGE_PY_OVERHEAD) == 0)
            schema_overhead_twin(w->variant, &stage, &variant);
        for (size_t a = 0; c < 0 && a < SCHEMA_ALLOC_COUNT; a++) {
            c_alloc = schema_alloc_names[schema_alloc_predicted_from[a]];
            c = run_rounds_find(st->rr, w->payload, w->protocol, stage, variant, w->codec, w->level, w->hash,
                                c_alloc);
        }
        double c_est = c < 0 ? NAN : run_rounds_estimate_of(st->rr, c);
        /* taken: one Python cell per C cell */
        int pair = c >= 0 && run_rounds_partner(st->rr, c) < 0 && c_est >= PYSERVE_PAIR_MIN_SHARE * w->est_ns;
        cb_buf_printf(&tsv, "%zu\t%s\t%d\t%s\t%s\t%s\t", i, w->payload, w->protocol, w->stage, w->variant, w->codec);
        if (*w->codec) cb_buf_printf(&tsv, "%d", w->level);
        cb_buf_printf(&tsv, "\t%s\t%s\t", w->hash, c < 0 ? "" : c_alloc);
        if (c >= 0) cb_buf_printf(&tsv, "%.3f", c_est);
        cb_buf_printf(&tsv, "\t%.3f\t%s\n", w->est_ns, pair ? "yes" : "no");
        if (!pair) continue;
        run_rounds_set_partner(st->rr, c, (int)i);
        paired[k++] = (int)i;
    }
    char path[PATH_MAX], werr[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/pairing.tsv", st->o->dir);
    if (tsv.oom) cb_warn("%s: out of memory", path);
    else if (cb_write_atomic(path, tsv.p, tsv.n, CB_VOLATILE, NULL, werr, sizeof werr) != 0) cb_warn("%s", werr);
    cb_buf_free(&tsv);
    if (pyserve_pairs(st->py, paired, k) != 0) {
        pyserve_stop(st->py, 0);
        st->py = NULL;
    }
    free(paired);
}

/* Start the Python side with the run's payloads, codecs and hashes (the key
 * hash first); what it cannot measure it leaves out itself. */
static pyserve *python_start(const exec_opts *o)
{
    const plan_request *r = o->plan;
    cb_buf codecs = {0}, hashes = {0};
    size_t key = plan_key_hash(r);
    for (size_t i = 0; i < r->ncodecs; i++)
        cb_buf_printf(&codecs, "%s%s:%d", i ? "," : "", r->codecs[i].desc->name, r->codecs[i].level);
    cb_buf_printf(&hashes, "%s", r->hashes[key]->name);
    for (size_t i = 0; i < r->nhashes; i++)
        if (i != key) cb_buf_printf(&hashes, ",%s", r->hashes[i]->name);
    if (codecs.oom || hashes.oom) {
        cb_warn("python side: out of memory; the C run goes on without it");
        cb_buf_free(&codecs);
        cb_buf_free(&hashes);
        return NULL;
    }
    pyserve_opts po = {o->python, o->python_dir, o->payloads, o->npayloads, codecs.p ? codecs.p : "",
                       hashes.p, o->nprotocols ? o->protocols[0] : 4, o->min_time};
    if (o->tty) fprintf(stderr, "\r\033[K[python] %s: verifying and calibrating its cells", o->python);
    pyserve *p = pyserve_start(&po);
    cb_buf_free(&codecs);
    cb_buf_free(&hashes);
    return p;
}

int exec_run(const exec_opts *o, results_file *rf, size_t *errors, int *status, char *err, size_t errlen)
{
    run_state st = {0};
    st.o = o;
    st.rf = rf;
    st.err = err;
    st.errlen = errlen;
    *status = 0;
    *errors = 0;
    if (snprintf(st.gbench_path, sizeof st.gbench_path, "%s/gbench.json", o->dir) >= (int)sizeof st.gbench_path) {
        *status = CB_EXIT_INPUT;
        return cb_err(err, errlen, "%s: path too long", o->dir);
    }
    if ((st.per_payload = plan_count(o->plan, 1)) == (size_t)-1) {
        *status = CB_EXIT_ENV;
        return cb_err(err, errlen, "out of memory");
    }
    if (o->resume && resume_gbench(&st)) {
        *status = st.status;
        return -1;
    }
    gb_add_context("casbench_version", cb_version);
    gb_add_context("casbench_commit", cb_git_commit);
    gb_add_context("casbench_profile", plan_profile_names[o->plan->profile]);
    if (gb_json_write(st.gbench_path, 1, err, errlen) != 0) {
        *status = CB_EXIT_ENV;
        return -1;
    }

    /* The planned total, for the progress line. */
    if (o->sweep != EXEC_SWEEP_ONLY) st.total = st.per_payload * o->nprotocols * o->npayloads;
    if (o->sweep != EXEC_SWEEP_NONE) st.total += sweep_cells(o->plan);

    run_rounds_opts ro = {o->dir, o->rounds, o->min_time, o->min_time * 5, o->seed, o->tty, python_round, &st,
                          python_pair};
    if (!(st.rr = run_rounds_create(&ro, err, errlen))) {
        *status = CB_EXIT_ENV;
        return -1;
    }
    st.t0 = now_s();
    int stopped = 0;
    /* Every cell is built, verified, warmed up and calibrated first; then all
     * are timed together, round after round (run_rounds.h). */
    for (size_t i = 0; !stopped && o->sweep != EXEC_SWEEP_ONLY && i < o->npayloads; i++)
        stopped = run_payload(&st, o->payloads[i]);
    if (!stopped && o->sweep != EXEC_SWEEP_NONE) stopped = run_sweep(&st);
    if (!stopped && o->python && o->sweep != EXEC_SWEEP_ONLY) stopped = run_overhead(&st);
    if (*o->stop) stopped = 1;
    int done = 0;
    if (!stopped) {
        size_t round_errors = 0;
        if (o->python && (st.py = python_start(o))) python_partners(&st);
        if (o->tty) fprintf(stderr, "\r\033[K");
        done = run_rounds_run(st.rr, rf, st.gbench_path, &round_errors, err, errlen);
        if (done < 0) fail(&st, CB_EXIT_ENV, "%s", err);
        else if (done < o->rounds) stopped = 1;
        st.errors += round_errors;
    }
    pyserve_stop(st.py, done);
    run_rounds_free(st.rr);
    release_kept(&st);
    if (o->tty) fprintf(stderr, "\r\033[K");
    *errors = st.errors;
    if (st.status) {
        *status = st.status;
        return -1;
    }
    char werr[512];
    if (gb_json_write(st.gbench_path, 1, werr, sizeof werr) != 0) cb_warn("%s", werr);
    return stopped;
}
