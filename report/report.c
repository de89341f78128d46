/* report.c - the driver of `casbench report` (report.h): loads the run,
 * sets up the context the sections share (report_ctx.h), writes each
 * section of the table below into REPORT.md (and the README excerpt), then
 * draws the plots the sections queued. Each section is its own file,
 * report_<name>.c. */
#include "report.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "plots.h"
#include "proc.h"
#include "readme.h"
#include "report_ctx.h"
#include "report_pr3090.h"
#include "report_rounds.h"
#include "schema.h"
#include "strbuf.h"

/* ------------------------------------------------------ the section table */

/* Adding a section: one file report_<name>.c with
 * `void report_sec_<name>(report_ctx *c, FILE *md)` (see report_ctx.h), its
 * prototype in report_ctx.h, and a row here, with in_readme set if the
 * README excerpt should carry it. Then regenerate the golden REPORT.md
 * (tests/fixtures/report/README.md). */
typedef struct {
    const char *title;
    void (*write)(report_ctx *c, FILE *md);
    int in_readme;          /* part of the README excerpt */
} report_section;

/* The section and pr3090.tsv live in report_pr3090.c. */
static void sec_pr3090(report_ctx *c, FILE *md)
{
    if (pr3090_section(c->published, c->published_path, c->run, c->python, md, c->err, c->errlen) != 0)
        c->failed = 1;
}

/* The rounds sections live in report_findings.c, report_consistency.c and
 * report_drift.c (report_rounds.h); these only hand them the context. */
static void sec_findings(report_ctx *c, FILE *md) { report_findings(c->run, c->protocol, c->alloc, md); }
static void sec_consistency(report_ctx *c, FILE *md) { report_consistency(c->run, c->protocol, md); }
static void sec_drift(report_ctx *c, FILE *md)
{
    char *data;
    size_t len;
    report_drift(c->run, md, &data, &len);
    if (!data) return;
    char *path = rpt_write_data(c, "canary.tsv", data, len), *qd = rpt_gq(path);
    rpt_add_job(c, "canary.gp", "canary", rpt_asprintf("data=%s", qd));
    free(qd);
    free(path);
}

static const report_section sections[] = {
    {"Environment", report_sec_env, 0},
    {"PR #3090 reproduction", sec_pr3090, 1},
    {"Where the time goes", report_sec_stages, 0},
    {"Codecs", report_sec_codecs, 0},
    {"The SHA-1 proposal", report_sec_hashes, 1},
    {"Save + upload", report_sec_upload, 0},
    {"Recommendation", report_sec_recommend, 1},
    {"The fastest save path", report_sec_fastsave, 0},
    {"C and Python side by side", report_sec_python, 0},
    {"What metaflow would see: predicted against measured", report_sec_predict, 0},
    {"Memory", report_sec_memory, 0},
    {"Findings with intervals", sec_findings, 1},
    {"Consistency checks", sec_consistency, 0},
    {"Drift over the run", sec_drift, 0},
};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

/* ------------------------------------------------------------ the driver */

static void ctx_free(report_ctx *c)
{
    size_t i;
    for (i = 0; i < c->njobs; i++) {
        free(c->jobs[i].script);
        free(c->jobs[i].expr);
        free(c->jobs[i].out);
    }
    free(c->jobs);
    rpt_sl_free(&c->payloads);
    rpt_sl_free(&c->codecs);
    rpt_sl_free(&c->hashes);
    rpt_sl_free(&c->written);
    tsv_free(c->published);
    tsv_free(c->predict);
    report_predict_free(c);
    rpt_mix_free(&c->mix);
    free(c->plots_dir);
}

/* The Python run: --python DIR (its runtime must be python), else
 * RUN_DIR/python when `casbench run --python` made one (a broken one is
 * left out with a warning). *python stays NULL without either. */
static int load_python(const report_opts *o, rundir *pyrun, const rundir **python, char *err, size_t errlen)
{
    struct stat st;
    if (o->python_dir) {
        if (rundir_load(o->python_dir, pyrun, err, errlen) != 0) return -1;
        if (strcmp(rundir_env(pyrun, "runtime"), "python") != 0)
            return cb_err(err, errlen, "%s: env.tsv runtime is %s, not 'python' (--python wants a run of "
                          "infra/python_path.py)", pyrun->env_path, CB_Q(rundir_env(pyrun, "runtime")));
        *python = pyrun;
        return 0;
    }
    char *auto_dir = rpt_asprintf("%s/python", o->run_dir), perr[512];
    if (stat(auto_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (rundir_load(auto_dir, pyrun, perr, sizeof perr) == 0) *python = pyrun;
        else cb_warn("%s (the Python rows are left out of the report)", perr);
    }
    free(auto_dir);
    return 0;
}

int report_write(const report_opts *o, char *err, size_t errlen)
{
    rundir all, run, pyrun;
    report_ctx c;
    char gnuplot[PATH_MAX], *published_default = NULL;
    cb_buf md = {0}, excerpt = {0};
    size_t i;
    const char *scripts = o->scripts_dir ? o->scripts_dir : report_find_scripts();
    int rc = CB_EXIT_INPUT, have_fresh = 0, have_cpython = 0;
    struct stat st;

    memset(&c, 0, sizeof c);
    c.opts = o;
    c.err = err;
    c.errlen = errlen;
    if (rundir_load(o->run_dir, &all, err, errlen) != 0) return CB_EXIT_INPUT;
    /* The sections see the run without the prediction's own rows. */
    if (rundir_view(&all, &run) != 0) cb_oom();
    c.run = &run;
    c.all = &all;
    memset(&pyrun, 0, sizeof pyrun);
    if (load_python(o, &pyrun, &c.python, err, errlen) != 0) goto out;

    if (o->published) {
        c.published_path = o->published;
        if (!(c.published = pr3090_published_load(c.published_path, err, errlen))) goto out;
    } else {
        /* RUN_DIR's parent, spelled without "..": results/<run> -> results/. */
        size_t n = strlen(o->run_dir);
        while (n > 1 && o->run_dir[n - 1] == '/') n--;
        while (n > 0 && o->run_dir[n - 1] != '/') n--;
        published_default = rpt_asprintf("%.*sreference/pr3090-published.tsv", (int)n, o->run_dir);
        c.published_path = published_default;
        if (stat(published_default, &st) != 0) c.published_path = "results/reference/pr3090-published.tsv";
        if (stat(c.published_path, &st) == 0 &&
            !(c.published = pr3090_published_load(c.published_path, err, errlen)))
            goto out;
    }

    if (o->readme && readme_check(o->readme, err, errlen) != 0) goto out;

    rc = CB_EXIT_ENV;
    if (cb_find_exe(o->gnuplot ? o->gnuplot : "gnuplot", gnuplot, sizeof gnuplot) != 0) {
        cb_err(err, errlen, "%s: not found (install gnuplot-nox; the plots need it)",
               o->gnuplot ? o->gnuplot : "gnuplot");
        goto out;
    }
    if (!scripts || stat(scripts, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cb_err(err, errlen, "%s: gnuplot scripts not found (set CASBENCH_PLOTS_DIR or "
               "--plots-dir to casbench's plots/ directory)", scripts ? scripts : "plots");
        goto out;
    }
    c.plots_dir = rpt_asprintf("%s/plots", o->run_dir);
    if (mkdir(c.plots_dir, 0755) != 0 && errno != EEXIST) {
        cb_err(err, errlen, "%s: %s", c.plots_dir, strerror(errno));
        goto out;
    }

    /* The sections describe metaflow's path: protocol 4 and cpython (else
     * fresh) buffers when the run has them. */
    c.protocol = -1;
    for (i = 0; i < run.nrows; i++) {
        const rundir_row *w = &run.rows[i];
        if (!w->ok || strcmp(w->payload, SCHEMA_PAYLOAD_SWEEP) == 0) continue;
        if (w->protocol == 4 || c.protocol < 0) c.protocol = w->protocol;
        if (strcmp(w->alloc, ALLOC(FRESH)) == 0) have_fresh = 1;
        if (strcmp(w->alloc, ALLOC(CPYTHON)) == 0) have_cpython = 1;
    }
    /* cpython where the run has it: the mode that models metaflow. */
    c.alloc = have_cpython ? ALLOC(CPYTHON) : have_fresh ? ALLOC(FRESH) : ALLOC(REUSE);
    for (i = 0; i < run.nrows; i++) {
        const rundir_row *w = &run.rows[i];
        if (!w->ok) continue;
        if (strcmp(w->payload, SCHEMA_PAYLOAD_SWEEP) != 0) rpt_sl_add(&c.payloads, w->payload);
        if (strcmp(w->stage, STAGE(COMPRESS)) == 0 && *w->codec && w->protocol == c.protocol) {
            char *spec = w->level != RUNDIR_NO_LEVEL ? rpt_asprintf("%s:%d", w->codec, w->level)
                                       : rpt_asprintf("%s", w->codec);
            rpt_sl_add(&c.codecs, spec);
            free(spec);
        }
        if (strcmp(w->stage, STAGE(HASH)) == 0 && *w->hash) rpt_sl_add(&c.hashes, w->hash);
    }
    if (!c.payloads.n && !c.hashes.n) {
        rc = CB_EXIT_INPUT;
        cb_err(err, errlen, "%s: no row with status ok: nothing to report", run.matrix_path);
        goto out;
    }
    /* The recommendation's inputs, checked before anything is written. */
    c.hit_rate = o->has_hit_rate ? o->hit_rate : REPORT_HIT_RATE_DEFAULT;
    if (rpt_mix_load(&c.mix, o->mix, c.payloads.v, c.payloads.n, err, errlen) != 0) {
        rc = CB_EXIT_INPUT;
        goto out;
    }
    /* predict.tsv from this run's Python rows, then read back by the
     * recommendation (it may also be one the user put there). */
    if (report_predict_write(&c) != 0) {
        rc = CB_EXIT_ENV;
        goto out;
    }
    if (!(c.predict = rpt_predict_load(run.dir, err, errlen)) && err[0]) {
        rc = CB_EXIT_INPUT;
        goto out;
    }

    cb_buf_printf(&md, "# casbench report: %s\n\n", run.dir);
    cb_buf_printf(&md, "Every number below is computed from `%s`, `%s` and the published table by "
            "`casbench report`; regenerate with `casbench report %s`.\n\n", run.matrix_path,
            run.env_path, run.dir);
    for (i = 0; i < N_SECTIONS; i++) {
        char *sbuf;
        size_t slen;
        FILE *sf;
        rpt_mem_open(&sf, &sbuf, &slen);
        sections[i].write(&c, sf);
        fclose(sf);
        cb_buf_printf(&md, "## %zu. %s\n\n%s", i + 1, sections[i].title, sbuf);
        if (sections[i].in_readme) cb_buf_printf(&excerpt, "### %s\n\n%s", sections[i].title, sbuf);
        free(sbuf);
    }
    if (md.oom || excerpt.oom) cb_oom();
    if (c.failed) goto out;

    if (plots_run(gnuplot, scripts, c.jobs, c.njobs, &c.written, err, errlen) != 0) goto out;
    plots_remove_stale(c.plots_dir, &c.written);
    {
        char *path = rpt_asprintf("%s/REPORT.md", run.dir);
        /* Volatile: REPORT.md is regenerated from the run by `casbench report`. */
        int r = cb_write_atomic(path, md.p, md.n, CB_VOLATILE, NULL, err, errlen);
        free(path);
        if (r != 0) goto out;
    }
    if (o->readme &&
        readme_update(o->readme, run.dir, excerpt.p ? excerpt.p : "", c.jobs, c.njobs, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    cb_buf_free(&md);
    cb_buf_free(&excerpt);
    free(published_default);
    ctx_free(&c);
    rundir_free(&run);
    rundir_free(&all);
    rundir_free(&pyrun);
    return rc;
}
