/*
 * report_ctx.h - internal to report/: the context every section of
 * REPORT.md reads (the loaded run, the protocol and allocation mode the
 * sections use, the payloads, codecs and hashes of the run) and the small
 * helpers the sections share (row look-up, plot data and plot jobs).
 *
 * A section is one file report_<name>.c exporting
 *     void report_sec_<name>(report_ctx *c, FILE *md);
 * (declared below) and one row of the section table in report.c. It reads
 * ok rows with rpt_find() / rpt_find_spec(), computes its numbers into a
 * struct of its own, then renders them as markdown on md (no heading: the
 * table numbers and titles sections). Plot data, built in a cb_buf, goes to
 * plots/ through rpt_write_data(), the plot itself is queued with rpt_add_job() (a script
 * in plots/ that writes out.png.tmp and out.svg.tmp). Facts about a codec
 * or hash come from the run's env.tsv (report_facts.h), never from its name.
 */
#ifndef CASBENCH_REPORT_CTX_H
#define CASBENCH_REPORT_CTX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"
#include "report_mix.h"
#include "rundir.h"
#include "schema.h"
#include "strbuf.h"
#include "tsv.h"
#include "util.h"

#define NUM(v) CB_FMT3(v)

/* matrix.tsv's stage and alloc names as rundata/schema.h defines them:
 * STAGE(COMPRESS) is "compress", ALLOC(FRESH) is "fresh". Variants and the
 * sweep payload are SCHEMA_VARIANT_* and SCHEMA_PAYLOAD_SWEEP. */
#define STAGE(s) (schema_stage_names[SCHEMA_STAGE_##s])
#define ALLOC(a) (schema_alloc_names[SCHEMA_ALLOC_##a])

/* A list of distinct strings, in the order first added. */
typedef struct { char **v; size_t n; } strlist;
int rpt_sl_has(const strlist *l, const char *s);
void rpt_sl_add(strlist *l, const char *s);   /* no-op when present */
void rpt_sl_free(strlist *l);

typedef struct {
    char *script;   /* file name under scripts_dir */
    char *expr;     /* gnuplot -e assignments */
    char *out;      /* RUN_DIR/plots/<base>, without extension */
} plot_job;

typedef struct report_ctx {
    const rundir *run;      /* the run without the rows only the prediction reads (rundir_view) */
    const rundir *all;      /* the run with them: the C twins of the Python overhead rows */
    const rundir *python;   /* --python: a run of infra/python_path.py, or NULL */
    const report_opts *opts;
    tsv_table *published;
    const char *published_path;
    char *plots_dir;
    const char *alloc;      /* the allocation mode the sections use */
    int protocol;           /* the pickle protocol the sections use */
    strlist payloads;       /* non-sweep payloads, in file order */
    strlist codecs;         /* "codec:level" of compress rows, in file order */
    strlist hashes;         /* hash names of hash rows, in file order */
    strlist written;        /* file names this report wrote into plots/ */
    plot_job *jobs;
    size_t njobs;
    rpt_mix mix;            /* the recommendation's workload mix (--mix) */
    double hit_rate;        /* share of saves whose key is stored (--hit-rate) */
    tsv_table *predict;     /* RUN_DIR/predict.tsv, or NULL */
    struct report_predictions *predictions; /* computed once (report_predict.c) */
    int failed;             /* a data file could not be written */
    char *err;
    size_t errlen;
} report_ctx;

/* The ok row with these fields under the context's protocol (sweep rows
 * carry none); NULL strings match empty fields; level is compared only when
 * codec is not empty. alloc NULL: the context's mode, else any mode (a
 * stage that allocates nothing, such as hash, may be measured in one mode). */
const rundir_row *rpt_find(const report_ctx *c, const char *payload, const char *stage,
                           const char *variant, const char *codec, int level,
                           const char *hash, const char *alloc);
/* The same with the codec as "codec:level". */
const rundir_row *rpt_find_spec(const report_ctx *c, const char *payload, const char *stage,
                                const char *variant, const char *spec, const char *hash,
                                const char *alloc);
/* "gzip:3" -> codec "gzip", level 3 (RUNDIR_NO_LEVEL without a colon). */
void rpt_split_spec(const char *spec, char *codec, size_t n, int *level);

/* Write a derived data file into plots/ (takes text); returns its path
 * (malloc'd) for gnuplot. A failed write sets c->failed and c->err. */
char *rpt_write_data(report_ctx *c, const char *name, char *text, size_t len);
/* Write plots/<base>.tsv (takes text) and return its path as a gnuplot
 * string literal (malloc'd), for a job's `data=`. */
char *rpt_plot_data(report_ctx *c, const char *base, char *text, size_t len);
/* Queue plots/<base>.png/.svg drawn by scripts_dir/<script> (takes expr). */
void rpt_add_job(report_ctx *c, const char *script, const char *base, char *expr);
/* Write plots/<base>.tsv (takes data's text) and queue plots/<base> drawn by
 * scripts_dir/<script> with `data=`, `names=` and `title=`: the plots whose
 * series are named in a separate list (upload, memory). */
void rpt_plot_named(report_ctx *c, const char *script, const char *base, cb_buf *data, const cb_buf *names,
                    const char *title);
/* A gnuplot string literal: single quotes, '' for a quote (malloc'd). */
char *rpt_gq(const char *s);

/* Out of memory while building the report exits as cb_xmalloc does
 * (common/util.h): the cb_x* allocations, or cb_oom() after any other small
 * one (a cb_buf's oom, a memory stream); every other error is returned.
 * rpt_oom is cb_oom's old name, kept until the sections written beside it
 * are merged; new code calls cb_oom(). */
#define rpt_oom cb_oom
/* One-off formatting (a path, a gnuplot expression), malloc'd; cb_oom()
 * when memory runs out. Strings built piece by piece use cb_buf. */
char *rpt_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A memory stream the driver hands a section as its FILE *md (the sections
 * render markdown with fprintf); cb_oom() when memory runs out. Plot data
 * and other text built piece by piece go into a cb_buf. */
void rpt_mem_open(FILE **f, char **buf, size_t *len);
/* A payload or codec name made safe for a file name. */
const char *rpt_slug(const char *s, char *buf, size_t n);
#define SLUG(s) rpt_slug((s), (char[128]){0}, 128)

static inline double ms(double ns) { return ns / 1e6; }
static inline double mbps(uint64_t bytes, double ns) { return (double)bytes / ns * 1e3; }

/* The sections, in report order (report.c's table). */
void report_sec_env(report_ctx *c, FILE *md);
void report_sec_stages(report_ctx *c, FILE *md);
void report_sec_codecs(report_ctx *c, FILE *md);
void report_sec_hashes(report_ctx *c, FILE *md);
void report_sec_upload(report_ctx *c, FILE *md);
void report_sec_recommend(report_ctx *c, FILE *md);
void report_sec_fastsave(report_ctx *c, FILE *md);
void report_sec_python(report_ctx *c, FILE *md);
void report_sec_memory(report_ctx *c, FILE *md);
void report_sec_predict(report_ctx *c, FILE *md);
/* Writes RUN_DIR/predict.tsv from the Python run (nothing when no Python
 * row can be predicted); 0, or -1 with the message in c->err. */
int report_predict_write(report_ctx *c);
/* Frees the predictions the report computed (ctx teardown). */
void report_predict_free(report_ctx *c);

/* Digest size in bytes from any hash row of the run (bytes_out), or 0. */
int rpt_digest_bytes(const report_ctx *c, const char *hash);

#endif
