/*
 * report_rounds.h - the report's sections about rounds (results/README.md,
 * "Rounds"): findings with intervals, consistency checks, drift. Each
 * section reads a loaded run (rundir.h) and prints markdown; report.c calls
 * them from its table of sections.
 *
 * A ratio the report states between two rows is the median of per-round
 * ratios when the rows ran in one round group with the same rounds (paired:
 * they ran back-to-back in every round), else the ratio of the two rows'
 * medians with both rows' intervals combined (roundstats.h). Where the
 * interval includes 1 the report says "no difference" instead of naming a
 * winner.
 */
#ifndef CASBENCH_REPORT_ROUNDS_H
#define CASBENCH_REPORT_ROUNDS_H

#include <stddef.h>
#include <stdio.h>

#include "rundir.h"

typedef struct {
    double value, lo, hi;      /* lo = hi = NAN: too few rounds for an interval */
    int paired;
} report_ratio;

/* num / den. */
report_ratio report_ratio_of(const rundir_row *num, const rundir_row *den);

/* "1.23x (95 % CI 1.10-1.37)"; "no difference: 0.98x (95 % CI 0.91-1.05)"
 * when the interval includes 1; "1.23x (no interval: fewer than 3 rounds)". */
void report_ratio_text(report_ratio r, char *buf, size_t n);

/* A table cell, figures times scale, unit after each ("" or " %"):
 * "0.993 (0.951-1.04)"; with judge_one, "no difference: 0.993 (0.951-1.04)"
 * when the interval includes 1; "0.993" when it has no interval. */
void report_ratio_cell(report_ratio r, int judge_one, double scale, const char *unit, char *buf, size_t n);

/* parts[which] / (parts[0] + ... + parts[n-1]), n <= 8: a share of a sum of
 * rows timed in different rounds, its interval from each row's own
 * (roundstats.h) by the delta method on the log scale. */
report_ratio report_share_of(const rundir_row *const *parts, size_t n, size_t which);

/* The ok row with these fields (NULL or "" match empty fields; level only
 * when codec is not empty; alloc NULL: any), protocol ignored for sweep rows. */
const rundir_row *report_find_row(const rundir *run, int protocol, const char *payload, const char *stage,
                                  const char *variant, const char *codec, int level, const char *hash,
                                  const char *alloc);

/* Sections (markdown on md, no heading). */
void report_findings(const rundir *run, int protocol, const char *alloc, FILE *md);
/* Returns the number of violations found. */
size_t report_consistency(const rundir *run, int protocol, FILE *md);
/* The drift section; *plot_tsv receives the canary's data (t_s, canary
 * relative to its median, load average, steal %) for plots/canary.gp, or
 * NULL when the run has no rounds.tsv. The caller frees it. */
void report_drift(const rundir *run, FILE *md, char **plot_tsv, size_t *plot_len);

#endif
