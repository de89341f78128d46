/*
 * readme.h - internal to report/: the block of a README.md between
 * REPORT_README_BEGIN and REPORT_README_END (report.h) that `casbench report
 * --readme` replaces with the sections marked for it, their links moved to
 * be relative to the README.
 */
#ifndef CASBENCH_README_H
#define CASBENCH_README_H

#include <stddef.h>

#include "report_ctx.h"

/* Before anything is written: 0 when the README is readable and its markers
 * are both absent or both present in order; else an exit status with err. */
int readme_check(const char *readme, char *err, size_t errlen);

/* Replace the block (append it when there is none) with md_excerpt (links
 * "](plots/" relative to run_dir) and links to the jobs' plots; written
 * through a temporary file and a rename. 0, or -1 with err. */
int readme_update(const char *readme, const char *run_dir, const char *md_excerpt,
                  const plot_job *jobs, size_t njobs, char *err, size_t errlen);

#endif
