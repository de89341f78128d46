/*
 * plots.h - internal to report/: gnuplot for the report's plots. The sections
 * queue jobs (report_ctx.h, rpt_add_job); the driver runs them here once the
 * markdown is complete.
 */
#ifndef CASBENCH_PLOTS_H
#define CASBENCH_PLOTS_H

#include <stddef.h>

#include "report_ctx.h"

/* Run every job (gnuplot: the program's path, from cb_find_exe): `gnuplot -e "set loadpath SCRIPTS; EXPR; out=OUT"
 * SCRIPTS/SCRIPT`, then rename OUT.png.tmp and OUT.svg.tmp to their final
 * names, adding them to written. 0, or -1 with gnuplot's last message (or
 * the failed rename) in err. */
int plots_run(const char *gnuplot, const char *scripts, const plot_job *jobs, size_t njobs,
              strlist *written, char *err, size_t errlen);

/* plots/ belongs to the report: remove the .tsv/.png/.svg files in plots_dir
 * that are not in written (left by an earlier report: a payload or codec no
 * longer in the run), so that no stale plot survives beside the new ones. */
void plots_remove_stale(const char *plots_dir, const strlist *written);

#endif
