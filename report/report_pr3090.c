/* report_pr3090.c - see report_pr3090.h. */
#include "report_pr3090.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "baselines.h"
#include "roundtrip.h"
#include "sampstat.h"
#include "schema.h"
#include "strbuf.h"
#include "util.h"

/* The machine the published figures come from (pr3090-method.md). */
#define PUBLISHED_MACHINE "Azure Standard_D2s_v5 (2 vCPUs, most likely two hyperthreads of one " \
                          "Intel Xeon Platinum 8370C or 8473C core), Ubuntu 24.04, Python 3.12"

static const char *const pub_cols[] = {"suite", "script", "payload", "blob_bytes", "iterations",
                                       "codec", "metric", "value", "unit"};
enum { P_SUITE, P_SCRIPT, P_PAYLOAD, P_BLOB, P_ITERS, P_CODEC, P_METRIC, P_VALUE, P_UNIT, P_NCOLS };

typedef struct {
    const tsv_table *t;
    int col[P_NCOLS];
} pubtab;

static void pub_cols_of(const tsv_table *t, pubtab *p)
{
    size_t k;
    p->t = t;
    for (k = 0; k < P_NCOLS; k++) p->col[k] = tsv_col(t, pub_cols[k]);
}

static const char *F(const pubtab *p, size_t i, int c) { return tsv_str(p->t, i, p->col[c]); }

static const rt_payload *payload_of(rt_suite s, const char *published)
{
    size_t i;
    for (i = 0; i < rt_payload_count; i++)
        if (rt_payloads[i].suite == s && strcmp(rt_payloads[i].published, published) == 0)
            return &rt_payloads[i];
    return NULL;
}

tsv_table *pr3090_published_load(const char *path, char *err, size_t errlen)
{
    tsv_table *t = tsv_load(path, 1, err, errlen);
    pubtab p;
    size_t i, k;
    if (!t) return NULL;
    for (k = 0; k < P_NCOLS; k++)
        if (tsv_require_col(t, pub_cols[k], err, errlen) < 0) goto fail;
    if (tsv_nrows(t) == 0) { cb_err(err, errlen, "%s:1: no rows after the header", path); goto fail; }
    pub_cols_of(t, &p);
    for (i = 0; i < tsv_nrows(t); i++) {
        double v;
        int64_t n;
        int s = rt_suite_find(F(&p, i, P_SUITE));
        const char *bad = NULL;
        int bad_col = 0;
        if (tsv_double(t, i, p.col[P_VALUE], &v, err, errlen) != 0 ||
            tsv_i64(t, i, p.col[P_BLOB], 1, INT64_MAX, &n, err, errlen) != 0 ||
            tsv_i64(t, i, p.col[P_ITERS], 1, INT64_MAX, &n, err, errlen) != 0)
            goto fail;
        if (s < 0) { bad = "is not a suite (realistic, e2e, micro)"; bad_col = P_SUITE; }
        else if (!payload_of((rt_suite)s, F(&p, i, P_PAYLOAD))) { bad = "is not a payload of that suite"; bad_col = P_PAYLOAD; }
        else if (!rt_stage_of_metric((rt_suite)s, F(&p, i, P_METRIC))) { bad = "is not a metric of that suite"; bad_col = P_METRIC; }
        else if (!(v > 0)) { bad = "must be greater than 0"; bad_col = P_VALUE; }
        if (bad) {
            cb_err(err, errlen, "%s:%zu: column '%s': %s %s", CB_QP(path), tsv_line(t, i), pub_cols[bad_col],
                   CB_Q(F(&p, i, bad_col)), bad);
            goto fail;
        }
    }
    return t;
fail:
    tsv_free(t);
    return NULL;
}

/* ---- one figure measured ------------------------------------------------ */

typedef struct {
    int found;
    double value;                /* the PR's statistic, in the published unit */
    sampstat st;                 /* time figures: in the published unit (ms) */
    uint64_t blob_bytes;
    char statistic[96];
} figure;

static const rundir_row *find_row(const rundir *r, rt_suite s, const rt_payload *pl,
                                  const char *stage, const char *codec_spec)
{
    char codec[32] = "", hash[32] = BASE_HASH;
    int level = RUNDIR_NO_LEVEL;
    size_t i;
    if (strcmp(stage, schema_stage_names[SCHEMA_STAGE_HASH]) == 0) {
        snprintf(hash, sizeof hash, "%s", codec_spec);
    } else {
        const char *colon = strchr(codec_spec, ':');
        snprintf(codec, sizeof codec, "%.*s", colon ? (int)(colon - codec_spec) : (int)strlen(codec_spec), codec_spec);
        if (colon) level = atoi(colon + 1);
        if (s == RT_MICRO) *hash = 0;
    }
    for (i = 0; i < r->nrows; i++) {
        const rundir_row *w = &r->rows[i];
        if (!w->ok || strcmp(w->payload, pl->spec) != 0 || strcmp(w->stage, stage) != 0 ||
            strcmp(w->variant, rt_suite_variants[s]) != 0 || strcmp(w->codec, codec) != 0 ||
            strcmp(w->hash, hash) != 0 || (*codec && w->level != level))
            continue;
        return w;
    }
    return NULL;
}

static void measure(const rundir *r, const pubtab *p, size_t i, figure *f)
{
    rt_suite s = (rt_suite)rt_suite_find(F(p, i, P_SUITE));
    const rt_payload *pl = payload_of(s, F(p, i, P_PAYLOAD));
    const char *metric = F(p, i, P_METRIC);
    const rundir_row *w = find_row(r, s, pl, rt_stage_of_metric(s, metric), F(p, i, P_CODEC));
    size_t k;
    memset(f, 0, sizeof *f);
    if (!w) return;
    f->found = 1;
    f->blob_bytes = w->pickled_bytes;
    if (strcmp(metric, "compressed_bytes") == 0) {
        f->value = (double)w->bytes_out;
        snprintf(f->statistic, sizeof f->statistic, "exact");
        return;
    }
    if (strcmp(metric, "compressed/original") == 0) {
        f->value = (double)w->bytes_out / (double)w->pickled_bytes;
        snprintf(f->statistic, sizeof f->statistic, "exact");
        return;
    }
    f->value = w->mean_ns / 1e6;
    double *ms = malloc((w->nsamples ? w->nsamples : 1) * sizeof *ms);
    if (!ms) return;
    for (k = 0; k < w->nsamples; k++) ms[k] = w->samples_ns[k] / 1e6;
    sampstat_compute(ms, w->nsamples, &f->st);
    free(ms);
    if (s == RT_MICRO)
        snprintf(f->statistic, sizeof f->statistic, "mean of %lld calls (%lld batches)",
                 (long long)(w->repetitions * w->iterations), (long long)w->repetitions);
    else
        snprintf(f->statistic, sizeof f->statistic, "mean of %lld iterations", (long long)w->repetitions);
}

/* ---- pr3090.tsv --------------------------------------------------------- */

static void tsv_num(cb_buf *o, double v, int last)
{
    if (isfinite(v)) cb_buf_printf(o, "%.6g", v);
    cb_buf_puts(o, last ? "\n" : "\t");
}

static void write_rows(cb_buf *o, const pubtab *p, const rundir *r, const char *runtime)
{
    size_t i;
    for (i = 0; i < tsv_nrows(p->t); i++) {
        figure f;
        double pub = atof(F(p, i, P_VALUE));
        measure(r, p, i, &f);
        cb_buf_printf(o, "%s\t%s\t%s\t%s\t%s\t%s\t", F(p, i, P_SUITE), F(p, i, P_PAYLOAD), F(p, i, P_CODEC),
                F(p, i, P_METRIC), F(p, i, P_UNIT), F(p, i, P_VALUE));
        tsv_num(o, f.found ? f.value : NAN, 0);
        tsv_num(o, f.found ? f.value / pub : NAN, 0);
        cb_buf_printf(o, "%s\t%s\t", runtime, f.found ? f.statistic : "not measured");
        int timed = f.found && f.st.n > 0;
        tsv_num(o, timed ? f.st.median : NAN, 0);
        tsv_num(o, timed ? f.st.ci_lo : NAN, 0);
        tsv_num(o, timed ? f.st.ci_hi : NAN, 0);
        tsv_num(o, timed ? f.st.ci_level : NAN, 0);
        cb_buf_printf(o, "%s\t", F(p, i, P_BLOB));
        if (f.found) cb_buf_printf(o, "%llu", (unsigned long long)f.blob_bytes);
        cb_buf_puts(o, "\n");
    }
}

static int write_tsv(const pubtab *p, const rundir *run, const rundir *py, char *err, size_t errlen)
{
    cb_buf o = {0};
    char *path;
    int rc;
    if (asprintf(&path, "%s/pr3090.tsv", run->dir) < 0) return cb_err(err, errlen, "out of memory");
    cb_buf_puts(&o, "suite\tpayload\tcodec\tmetric\tunit\tpublished\tmeasured\tmeasured/published\t"
                "runtime\tstatistic\tmedian\tmedian_lo\tmedian_hi\tinterval_level\t"
                "published_blob_bytes\tmeasured_blob_bytes\n");
    write_rows(&o, p, run, "c");
    if (py) write_rows(&o, p, py, "python");
    /* Volatile: pr3090.tsv is regenerated from the run by every report. */
    rc = o.oom ? cb_err(err, errlen, "out of memory")
               : cb_write_atomic(path, o.p, o.n, CB_VOLATILE, NULL, err, errlen);
    cb_buf_free(&o);
    free(path);
    return rc;
}

/* ---- the markdown ------------------------------------------------------- */

static void md_cell(FILE *md, const figure *f, double pub, int with_median)
{
    if (!f->found) { fprintf(md, " - | - |%s", with_median ? " - |" : ""); return; }
    fprintf(md, " %s | %s |", CB_FMT3(f->value), CB_FMT3(f->value / pub));
    if (!with_median) return;
    if (f->st.n) fprintf(md, " %s [%s, %s] |", CB_FMT3(f->st.median), CB_FMT3(f->st.ci_lo), CB_FMT3(f->st.ci_hi));
    else fprintf(md, " - |");
}

/* The published row index of (suite, payload, codec, metric), or -1. */
static long pub_find(const pubtab *p, const char *suite, const char *payload, const char *codec,
                     const char *metric)
{
    size_t i;
    for (i = 0; i < tsv_nrows(p->t); i++)
        if (!strcmp(F(p, i, P_SUITE), suite) && !strcmp(F(p, i, P_PAYLOAD), payload) &&
            !strcmp(F(p, i, P_CODEC), codec) && !strcmp(F(p, i, P_METRIC), metric))
            return (long)i;
    return -1;
}

/* gzip:3 total / lz4:0 total of one payload: published, or measured in r
 * (by means, the PR's statistic, or by medians). */
static double speedup(const pubtab *p, const rundir *r, const char *suite, const char *payload,
                      int by_median)
{
    long g = pub_find(p, suite, payload, BASE_SPEC, "total"), l = pub_find(p, suite, payload, PR_SPEC, "total");
    figure fg, fl;
    if (g < 0 || l < 0) return NAN;
    if (!r) return atof(F(p, (size_t)g, P_VALUE)) / atof(F(p, (size_t)l, P_VALUE));
    measure(r, p, (size_t)g, &fg);
    measure(r, p, (size_t)l, &fl);
    if (!fg.found || !fl.found) return NAN;
    return by_median ? fg.st.median / fl.st.median : fg.value / fl.value;
}

/* The C run's raw-store round trip (codec none: key + files, no codec) as a
 * share of a codec's, median over median (the two were measured at
 * different moments; the median resists what else the machine did): how
 * much of the round trip no codec can remove. */
static double storage_share(const rundir *r, const rt_payload *pl, const char *codec, int level)
{
    size_t i;
    const rundir_row *none = NULL, *with = NULL;
    for (i = 0; i < r->nrows; i++) {
        const rundir_row *w = &r->rows[i];
        if (!w->ok || strcmp(w->payload, pl->spec) || strcmp(w->stage, SCHEMA_STAGE_RT_TOTAL) ||
            strcmp(w->variant, rt_suite_variants[pl->suite]) || strcmp(w->hash, BASE_HASH))
            continue;
        if (!strcmp(w->codec, "none")) none = w;
        if (!strcmp(w->codec, codec) && w->level == level) with = w;
    }
    return none && with ? none->median_ns / with->median_ns : NAN;
}

static void md_speedups(FILE *md, const pubtab *p, const rundir *run, const rundir *py)
{
    size_t i;
    fprintf(md, "Round-trip speedup per payload: mean `total` of gzip:3 (metaflow master) / "
            "mean `total` of lz4:0 (the PR), as the PR's write-up computes it; beside it the "
            "same ratio of the medians, which what else the machine did moves less.\n\n"
            "| suite | payload | published | C (means) | C (medians) |%s\n|---|---|---|---|---|%s\n",
            py ? " Python (means) | Python (medians) |" : "", py ? "---|---|" : "");
    for (i = 0; i < rt_payload_count; i++) {
        const rt_payload *pl = &rt_payloads[i];
        if (pl->suite == RT_MICRO) continue;
        const char *sn = rt_suite_names[pl->suite];
        fprintf(md, "| %s | %s | %s | %s | %s |", sn, pl->published,
                CB_FMT3(speedup(p, NULL, sn, pl->published, 0)), CB_FMT3(speedup(p, run, sn, pl->published, 0)),
                CB_FMT3(speedup(p, run, sn, pl->published, 1)));
        if (py)
            fprintf(md, " %s | %s |", CB_FMT3(speedup(p, py, sn, pl->published, 0)),
                    CB_FMT3(speedup(p, py, sn, pl->published, 1)));
        fputc('\n', md);
    }
    fputc('\n', md);
}

static void md_why(FILE *md, const pubtab *p, const rundir *run, const rundir *py)
{
    size_t i;
    fprintf(md, "Why measured differs, per payload. The published machine: %s. This run (C): "
            "CPU `%s`, %s logical CPUs, load average %s at the start.", PUBLISHED_MACHINE,
            rundir_env(run, "cpu_model"), rundir_env(run, "cpus_logical"),
            rundir_env(run, "loadavg_1m"));
    if (py)
        fprintf(md, " The Python run: CPU `%s`, Python %s, numpy %s, load average %s, round trip "
                "through %s (gzip) and %s (lz4).", rundir_env(py, "cpu_model"),
                rundir_env(py, "python_version"), rundir_env(py, "numpy_version"),
                rundir_env(py, "loadavg_1m"), rundir_env(py, "pr3090_roundtrip_gzip"),
                rundir_env(py, "pr3090_roundtrip_lz4"));
    fputs(" \"Storage share\" is the median C round trip with codec `none` (SHA-1 key, "
          "existence checks, makedirs, two temp-file writes and renames, two reads: "
          "everything but the codec) over the codec's median: what a faster codec cannot "
          "remove (over 100 %: the two medians disagree by more than the codec costs, "
          "which a loaded machine does).\n\n", md);
    for (i = 0; i < rt_payload_count; i++) {
        const rt_payload *pl = &rt_payloads[i];
        const char *sn = rt_suite_names[pl->suite];
        long g = pub_find(p, sn, pl->published, BASE_SPEC, "total");
        long l = pub_find(p, sn, pl->published, PR_SPEC, "total");
        figure cg, cl, pg, pyl;
        if (pl->suite == RT_MICRO || g < 0 || l < 0) continue;
        measure(run, p, (size_t)g, &cg);
        measure(run, p, (size_t)l, &cl);
        fprintf(md, "- %s `%s`: total gzip:3 C %s x published, lz4:0 C %s x", sn, pl->published,
                cg.found ? CB_FMT3(cg.value / atof(F(p, (size_t)g, P_VALUE))) : "-",
                cl.found ? CB_FMT3(cl.value / atof(F(p, (size_t)l, P_VALUE))) : "-");
        if (py) {
            measure(py, p, (size_t)g, &pg);
            measure(py, p, (size_t)l, &pyl);
            fprintf(md, "; Python gzip:3 %s x, lz4:0 %s x",
                    pg.found ? CB_FMT3(pg.value / atof(F(p, (size_t)g, P_VALUE))) : "-",
                    pyl.found ? CB_FMT3(pyl.value / atof(F(p, (size_t)l, P_VALUE))) : "-");
        }
        double sg = storage_share(run, pl, BASE_CODEC, BASE_LEVEL), sl = storage_share(run, pl, PR_CODEC, PR_LEVEL);
        if (isfinite(sg) && isfinite(sl))
            fprintf(md, "; storage share (C) %s %% of gzip:3's round trip, %s %% of lz4:0's",
                    CB_FMT3(100 * sg), CB_FMT3(100 * sl));
        else
            fprintf(md, "; storage share: no `none` round trip in this run (run without --quick)");
        fprintf(md, "; blob %llu bytes here, %s published.\n",
                (unsigned long long)(cg.found ? cg.blob_bytes : 0), F(p, (size_t)g, P_BLOB));
    }
    fputc('\n', md);
}

/* Every codec/hash pairing the C run put through a suite's round trip: one
 * line each, in the run's order, the median total per payload. */
static void md_pairings(FILE *md, const rundir *run, rt_suite suite)
{
    size_t i, k, j;
    int any = 0;
    for (i = 0; i < run->nrows; i++) {
        const rundir_row *w = &run->rows[i], *first = NULL;
        if (!w->ok || strcmp(w->stage, SCHEMA_STAGE_RT_TOTAL) || strcmp(w->variant, rt_suite_variants[suite]))
            continue;
        for (j = 0; j < i && !first; j++) {
            const rundir_row *u = &run->rows[j];
            if (u->ok && !strcmp(u->stage, w->stage) && !strcmp(u->variant, w->variant) &&
                !strcmp(u->codec, w->codec) && u->level == w->level && !strcmp(u->hash, w->hash))
                first = u;
        }
        if (first) continue;   /* this pairing has its line already */
        if (!any) {
            fprintf(md, "Every pairing of the C run's %s round trip: median `total` in ms (the "
                    "published pairings are gzip:3 and lz4:0 with sha1).\n\n| codec | hash |",
                    rt_suite_names[suite]);
            for (k = 0; k < rt_payload_count; k++)
                if (rt_payloads[k].suite == suite) fprintf(md, " %s |", rt_payloads[k].published);
            fprintf(md, "\n|---|---|");
            for (k = 0; k < rt_payload_count; k++)
                if (rt_payloads[k].suite == suite) fprintf(md, "---|");
            fputc('\n', md);
            any = 1;
        }
        fprintf(md, "| %s:%d | %s |", w->codec, w->level, w->hash);
        for (k = 0; k < rt_payload_count; k++) {
            const rundir_row *m = NULL;
            if (rt_payloads[k].suite != suite) continue;
            for (j = 0; j < run->nrows && !m; j++) {
                const rundir_row *u = &run->rows[j];
                if (u->ok && !strcmp(u->payload, rt_payloads[k].spec) && !strcmp(u->stage, w->stage) &&
                    !strcmp(u->variant, w->variant) && !strcmp(u->codec, w->codec) &&
                    u->level == w->level && !strcmp(u->hash, w->hash))
                    m = u;
            }
            fprintf(md, " %s |", m ? CB_FMT3(m->median_ns / 1e6) : "-");
        }
        fputc('\n', md);
    }
    if (any) fputc('\n', md);
}

static void md_table(FILE *md, const pubtab *p, const rundir *run, const rundir *py)
{
    size_t i;
    fprintf(md, "Every published figure (also in `pr3090.tsv`, one row per figure and runtime). "
            "Times in ms; \"mean\" is the PR's statistic over its iteration count; the median's "
            "interval is distribution-free (95 %%, or [min, max] and less with under 6 samples: "
            "`interval_level` in pr3090.tsv).\n\n"
            "| suite | payload | codec | metric | published | C mean | C / publ. | C median [interval] |%s\n"
            "|---|---|---|---|---|---|---|---|%s\n",
            py ? " Python mean | Python / publ. | Python median [interval] |" : "",
            py ? "---|---|---|" : "");
    for (i = 0; i < tsv_nrows(p->t); i++) {
        figure f;
        double pub = atof(F(p, i, P_VALUE));
        fprintf(md, "| %s | %s | %s | %s | %s |", F(p, i, P_SUITE), F(p, i, P_PAYLOAD), F(p, i, P_CODEC),
                F(p, i, P_METRIC), F(p, i, P_VALUE));
        measure(run, p, i, &f);
        md_cell(md, &f, pub, 1);
        if (py) {
            measure(py, p, i, &f);
            md_cell(md, &f, pub, 1);
        }
        fputc('\n', md);
    }
    fputc('\n', md);
}

int pr3090_section(const tsv_table *pub, const char *pub_path, const rundir *run,
                   const rundir *py, FILE *md, char *err, size_t errlen)
{
    pubtab p;
    size_t i, found = 0, found_py = 0;
    if (!pub) {
        fprintf(md, "The published table was not found (looked for `%s`); pass `--published "
                "FILE`.\n\n", pub_path);
        return 0;
    }
    pub_cols_of(pub, &p);
    for (i = 0; i < tsv_nrows(pub); i++) {
        figure f;
        measure(run, &p, i, &f);
        found += f.found;
        if (py) {
            measure(py, &p, i, &f);
            found_py += f.found;
        }
    }
    fprintf(md, "Published: `%s`, %zu figures of the PR's own scripts (`benchmarks/` on its "
            "branch). Their round-trip figures are metaflow's `save_blobs` and `load_blobs` on a "
            "local store, pickling not timed, the mean of 5-200 iterations; this section sets "
            "beside each the same quantity measured by the same method: `casbench run --suite "
            "pr3090` (C: %zu of %zu figures in this run)%s.\n\n",
            pub_path, tsv_nrows(pub), found, tsv_nrows(pub), py ? "" : "; add `--python DIR` "
            "for `infra/python_path.py --suite pr3090`");
    if (py) fprintf(md, "Python: `%s` (%zu of %zu figures).\n\n", py->dir, found_py, tsv_nrows(pub));
    if (!found && !found_py) {
        fprintf(md, "This run has no `--suite pr3090` rows: run `make reproduce` (or `casbench "
                "run --suite pr3090`) for this section.\n\n");
    } else {
        md_speedups(md, &p, run, py);
        md_why(md, &p, run, py);
        md_table(md, &p, run, py);
        md_pairings(md, run, RT_REALISTIC);
        md_pairings(md, run, RT_E2E);
    }
    return write_tsv(&p, run, py, err, errlen);
}
