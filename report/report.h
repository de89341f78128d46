/*
 * report.h - REPORT.md, its plots and the README excerpt for one results
 * directory (`casbench report`).
 *
 * Every number in the report comes from the run's matrix.tsv / env.tsv or the
 * published PR #3090 table; the recommendation is computed by rules stated in
 * the report itself; facts about codecs and hashes come from the run's
 * env.tsv. Sections are rows of a table in report.c: adding one is one file
 * report_<name>.c and one row (report_ctx.h).
 *
 * Outputs (each written to a temporary name and renamed, so a reader never
 * sees half a file; a failed run leaves no REPORT.md it did not finish):
 *   RUN_DIR/REPORT.md, RUN_DIR/plots/<name>.tsv (the data each plot draws),
 *   RUN_DIR/plots/<name>.png and .svg (drawn by gnuplot from scripts_dir).
 * plots/ belongs to the report: .tsv/.png/.svg files there that this report
 * did not write (left by an earlier one) are removed once it has succeeded.
 */
#ifndef CASBENCH_REPORT_H
#define CASBENCH_REPORT_H

#include <stddef.h>

typedef struct {
    const char *run_dir;      /* required */
    const char *published;    /* the PR #3090 table; NULL: look beside the run
                                 (RUN_DIR/../reference/pr3090-published.tsv), then
                                 results/reference/ under the working directory */
    const char *scripts_dir;  /* the gnuplot scripts; NULL: see report_find_scripts */
    const char *readme;       /* NULL, or a README.md whose marked block is replaced */
    const char *gnuplot;      /* NULL: "gnuplot" from PATH */
    const char *python_dir;   /* NULL, or a run directory of infra/python_path.py
                                 (env.tsv runtime = python) for the section
                                 "C and Python side by side" */
    const char *mix;          /* NULL, or the recommendation's workload mix
                                 (report/report_mix.h: payload, weight) */
    double hit_rate;          /* share of saves that find their key stored */
    int has_hit_rate;         /* 0: REPORT_HIT_RATE_DEFAULT */
} report_opts;

/* Write the report. Returns 0, or an exit status from util.h (2 bad input,
 * 3 environment: I/O, a missing gnuplot or scripts) with a one-line message
 * in err. Nothing is printed. */
int report_write(const report_opts *o, char *err, size_t errlen);

/* The directory holding the gnuplot scripts: $CASBENCH_PLOTS_DIR, else
 * ./plots, else <binary's directory>/../plots, /../../plots or
 * /../share/casbench/plots (the first holding stages.gp). NULL if none.
 * The string is static. */
const char *report_find_scripts(void);

/* The share of saves the recommendation assumes find their key already
 * stored, without --hit-rate (an assumption the report states). */
#define REPORT_HIT_RATE_DEFAULT 0.25

#define REPORT_README_BEGIN "<!-- casbench:report:begin -->"
#define REPORT_README_END "<!-- casbench:report:end -->"

#endif
