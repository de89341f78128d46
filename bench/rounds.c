/* rounds.c - see rounds.h. */
#include "rounds.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* Each round's sample of a cell is the fastest of this many sub-batches: on
 * a machine shared with other work a batch of a few milliseconds is often
 * cut by another process's time slice, the fastest of three far less often.
 * A batch of SUB_BATCHES or more iterations is split into sub-batches of a
 * third; a shorter one (its iterations are long) is run SUB_BATCHES times
 * whole while it lasts less than SUB_BATCH_WHOLE_MAX_S, and once beyond
 * (a slice is then a small part of it, and tripling it would break the
 * run's time budget). */
#define SUB_BATCHES 3
#define SUB_BATCH_WHOLE_MAX_S 0.02
#define SUB_BATCH_ONE_ITERATION_NS 1e6

typedef struct {
    gb_measurement m;
    size_t group;
    int64_t iterations;      /* of one sub-batch */
    int parts;               /* sub-batches per round */
    double *samples;         /* nrounds */
    double *minflt;          /* nrounds: minor faults per iteration of the kept sub-batch */
    char *failure;
} round_cell;

struct rounds {
    rounds_opts o;
    FILE *tsv;
    round_cell *cells;
    size_t n, cap;
    char **groups;
    size_t ngroups;
    int done;                /* complete rounds */
    double t0, last_canary;
    int64_t canary_iterations;
    unsigned long long total_prev, steal_prev, iowait_prev;   /* /proc/stat at the last canary */
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void shuffle(size_t *v, size_t n, uint64_t *s)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(cb_splitmix64(s) % i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* The aggregate cpu line of /proc/stat: total jiffies, steal, iowait. 0, or
 * -1 where there is no /proc/stat. */
static int read_stat(unsigned long long *total, unsigned long long *steal, unsigned long long *iowait)
{
    unsigned long long f[10] = {0};
    FILE *fp = fopen("/proc/stat", "r");
    if (!fp) return -1;
    int got = fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3],
                     &f[4], &f[5], &f[6], &f[7], &f[8], &f[9]);
    fclose(fp);
    if (got < 8) return -1;
    /* user nice system idle iowait irq softirq steal (guest time is in user). */
    *total = f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7];
    *iowait = f[4];
    *steal = f[7];
    return 0;
}

static double read_loadavg(void)
{
    double l = NAN;
    FILE *fp = fopen("/proc/loadavg", "r");
    if (fp) {
        if (fscanf(fp, "%lf", &l) != 1) l = NAN;
        fclose(fp);
    }
    return l;
}

rounds *rounds_create(const rounds_opts *o, char *err, size_t errlen)
{
    rounds *r = cb_xcalloc(1, sizeof *r);
    r->o = *o;
    /* A resumed run appends: the first part's drift stays on record. */
    r->tsv = fopen(o->rounds_tsv, "a");
    if (!r->tsv) {
        snprintf(err, errlen, "%s: cannot create", o->rounds_tsv);
        free(r);
        return NULL;
    }
    if (fseek(r->tsv, 0, SEEK_END) == 0 && ftell(r->tsv) == 0)
        fprintf(r->tsv, "round\tt_s\tkind\tcanary_ns\tsteal_pct\tiowait_pct\tloadavg_1m\n");
    fflush(r->tsv);
    return r;
}

void rounds_free(rounds *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->cells[i].samples);
        free(r->cells[i].minflt);
        free(r->cells[i].failure);
    }
    for (size_t g = 0; g < r->ngroups; g++) free(r->groups[g]);
    free(r->groups);
    free(r->cells);
    if (r->tsv) fclose(r->tsv);
    free(r);
}

static size_t group_index(rounds *r, const char *group)
{
    for (size_t g = 0; g < r->ngroups; g++)
        if (strcmp(r->groups[g], group) == 0) return g;
    char **grown = cb_xrealloc(r->groups, (r->ngroups + 1) * sizeof *grown);
    grown[r->ngroups] = cb_xstrdup(group);
    r->groups = grown;
    return r->ngroups++;
}

int rounds_add(rounds *r, const gb_measurement *m, const char *group, double *estimate_ns, char *err,
               size_t errlen)
{
    gb_batch b, again;
    int rc = gb_run_batch(m, 0, r->o.batch_s, r->o.warmup_s, 0, &b, err, errlen);
    /* Calibrated twice, the larger count kept: a calibration batch cut by a
     * time slice would leave a cell of microseconds with a batch of one
     * iteration, which times the timer. A cell whose one iteration outlasts
     * any slice needs no second look. */
    int long_cell = rc == 0 && b.iterations == 1 && b.real_ns > SUB_BATCH_WHOLE_MAX_S * 1e9;
    if (rc == 0 && !long_cell) rc = gb_run_batch(m, 0, r->o.batch_s, 0, 0, &again, err, errlen);
    if (rc == 1) return -2;
    if (rc != 0) return -1;
    if (!long_cell && again.iterations > b.iterations) b = again;
    r->cells = cb_xgrow(r->cells, &r->cap, r->n, sizeof *r->cells);
    round_cell *c = &r->cells[r->n];
    memset(c, 0, sizeof *c);
    c->m = *m;
    c->group = group_index(r, group);
    /* Google Benchmark's count for the calibration batch lasted batch_s. */
    c->iterations = b.iterations > 0 ? b.iterations : 1;
    c->parts = 1;
    /* An iteration of a millisecond or more is a sub-batch of its own: a
     * sub-batch's chance of being cut by a time slice grows with its length,
     * and cells compared with each other (decompress, load) must not differ
     * in it just because one calibrated to two iterations and the other to one. */
    if (b.real_ns >= SUB_BATCH_ONE_ITERATION_NS) c->iterations = 1;
    if (c->iterations >= SUB_BATCHES) {
        c->iterations /= SUB_BATCHES;
        c->parts = SUB_BATCHES;
    } else if ((double)c->iterations * b.real_ns < SUB_BATCH_WHOLE_MAX_S * 1e9) {
        c->parts = SUB_BATCHES;
    }
    c->samples = cb_xcalloc((size_t)r->o.nrounds, sizeof *c->samples);
    c->minflt = cb_xcalloc((size_t)r->o.nrounds, sizeof *c->minflt);
    *estimate_ns = b.real_ns;
    return (int)r->n++;
}

/* One canary sample and its rounds.tsv row. 1 when a stop was requested. */
static int canary(rounds *r, int round, const char *kind)
{
    gb_batch b;
    char err[256];
    unsigned long long total = 0, steal = 0, iowait = 0;
    if (!r->canary_iterations) {
        if (gb_run_batch(&r->o.canary, 0, r->o.batch_s, r->o.warmup_s, 0, &b, err, sizeof err) != 0) return 1;
        r->canary_iterations = b.iterations;
    }
    /* The fastest of SUB_BATCHES, as every cell's sample. */
    double fastest = INFINITY;
    for (int k = 0; k < SUB_BATCHES; k++) {
        if (gb_run_batch(&r->o.canary, r->canary_iterations, 0, 0, 0, &b, err, sizeof err) != 0) return 1;
        if (b.real_ns < fastest) fastest = b.real_ns;
    }
    double t = now_s();
    r->last_canary = t;
    int have = read_stat(&total, &steal, &iowait) == 0;
    double dt = have ? (double)(total - r->total_prev) : 0;
    char steal_pct[32] = "unknown", iowait_pct[32] = "unknown", load[32] = "unknown";
    if (have && r->total_prev && dt > 0) {
        snprintf(steal_pct, sizeof steal_pct, "%.2f", 100.0 * (double)(steal - r->steal_prev) / dt);
        snprintf(iowait_pct, sizeof iowait_pct, "%.2f", 100.0 * (double)(iowait - r->iowait_prev) / dt);
    }
    if (have) {
        r->total_prev = total;
        r->steal_prev = steal;
        r->iowait_prev = iowait;
    }
    double l = read_loadavg();
    if (!isnan(l)) snprintf(load, sizeof load, "%.2f", l);
    fprintf(r->tsv, "%d\t%.3f\t%s\t%.1f\t%s\t%s\t%s\n", round, t - r->t0, kind, fastest, steal_pct, iowait_pct,
            load);
    fflush(r->tsv);
    return 0;
}

/* One round's sample of a cell: the fastest of its sub-batches, whose
 * gbench.json entry alone is kept. 0, 1 when a stop was requested, -1 when an iteration failed
 * (c->failure says why). */
static int time_cell(round_cell *c, double *sample, double *minflt)
{
    int parts = c->parts;
    size_t first = gb_json_round_batches(), fastest = first;
    char err[512];
    *sample = INFINITY;
    for (int k = 0; k < parts; k++) {
        gb_batch b;
        int rc = gb_run_batch(&c->m, c->iterations, 0, 0, 1, &b, err, sizeof err);
        if (rc == 1) return 1;
        if (rc != 0) {
            c->failure = cb_xstrdup(err);
            return -1;
        }
        if (b.real_ns < *sample) {
            *sample = b.real_ns;
            *minflt = b.minflt_per_iter;
            fastest = first + (size_t)k;
        }
    }
    gb_json_round_keep_one(first, fastest);
    return 0;
}

/* One round. 0 when complete, 1 when a stop was requested. */
static int one_round(rounds *r, int round)
{
    uint64_t s = r->o.seed ^ (0x5851f42d4c957f2dull * (uint64_t)(round + 1));
    size_t *gorder = cb_xmalloc(r->ngroups * sizeof *gorder);
    size_t *corder = cb_xmalloc(r->n * sizeof *corder);
    int stopped = 0;
    for (size_t g = 0; g < r->ngroups; g++) gorder[g] = g;
    shuffle(gorder, r->ngroups, &s);
    /* The aside's place and seed come from a stream of their own, so that the
     * C cells' order is the same with and without it. */
    uint64_t as = s ^ 0x9e3779b97f4a7c15ull;
    size_t aside_at = (size_t)(cb_splitmix64(&as) % (r->ngroups + 1));
    if (canary(r, round, "boundary")) stopped = 1;
    for (size_t gi = 0; !stopped && gi <= r->ngroups; gi++) {
        if (gi == aside_at && r->o.aside) r->o.aside(r->o.aside_arg, round, cb_splitmix64(&as));
        if (gi == r->ngroups) break;
        size_t g = gorder[gi], k = 0;
        /* failed cells too: no longer timed, but their after_cell work is */
        for (size_t i = 0; i < r->n; i++)
            if (r->cells[i].group == g) corder[k++] = i;
        shuffle(corder, k, &s);
        for (size_t j = 0; !stopped && j < k; j++) {
            round_cell *c = &r->cells[corder[j]];
            int rc = c->failure ? -1 : time_cell(c, &c->samples[round], &c->minflt[round]);
            if (rc == 1) stopped = 1;
            else if (r->o.after_cell) r->o.after_cell(r->o.after_cell_arg, round, corder[j]);
        }
        if (!stopped && gi + 1 < r->ngroups && now_s() - r->last_canary >= r->o.canary_every_s)
            stopped = canary(r, round, "inside");
    }
    free(gorder);
    free(corder);
    return stopped;
}

int rounds_run(rounds *r, int (*after_round)(void *arg, int done), void *arg)
{
    r->t0 = now_s();
    if (r->n == 0) return r->o.nrounds;   /* a resume with nothing left to time */
    for (int k = 0; k < r->o.nrounds; k++) {
        int stopped = one_round(r, k);
        gb_json_round_end(!stopped);
        if (stopped) return r->done;
        r->done++;
        if (after_round && after_round(arg, r->done) != 0) return r->done;
    }
    canary(r, r->o.nrounds, "boundary");
    return r->done;
}

const double *rounds_samples(const rounds *r, size_t i, size_t *n, int64_t *iterations)
{
    *iterations = r->cells[i].iterations;
    if (r->cells[i].failure) {
        *n = 0;
        return NULL;
    }
    *n = (size_t)r->done;
    return r->cells[i].samples;
}

const double *rounds_minflt(const rounds *r, size_t i)
{
    return r->cells[i].failure ? NULL : r->cells[i].minflt;
}

const char *rounds_failure(const rounds *r, size_t i) { return r->cells[i].failure; }

const char *rounds_group(const rounds *r, size_t i) { return r->groups[r->cells[i].group]; }
