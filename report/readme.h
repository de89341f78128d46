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

/* A section's text between these two lines (each alone on its line) is in
 * REPORT.md but left out of the README block: detail behind a headline. */
#define README_OMIT_BEGIN "<!-- casbench:readme-omit -->\n"
#define README_OMIT_END "<!-- casbench:readme-omit-end -->\n"

/* Replace the block (append it when there is none) with md_excerpt (links
 * "](plots/" relative to run_dir; the spans between README_OMIT_BEGIN and
 * README_OMIT_END left out) and links to the jobs' plots; written through a
 * temporary file and a rename. 0, or -1 with err. */
int readme_update(const char *readme, const char *run_dir, const char *md_excerpt,
                  const plot_job *jobs, size_t njobs, char *err, size_t errlen);

#endif
