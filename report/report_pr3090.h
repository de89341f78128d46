/*
 * report_pr3090.h - the report's "PR #3090 reproduction" section and
 * RUN_DIR/pr3090.tsv: every published figure of the PR's three scripts
 * (results/reference/pr3090-published.tsv: suite, script, payload,
 * blob_bytes, iterations, codec, metric, value, unit) beside the same figure
 * measured by the same method (`casbench run --suite pr3090`, and
 * `infra/python_path.py --suite pr3090` with --python).
 *
 * A figure is found in a run by the rows bench/roundtrip.h writes: the
 * payload spec of the published name (rt_payloads), the stage of the metric
 * (rt_stage_of_metric), variant pr3090-<suite>, the codec and level (hash
 * rows: the hash), and sha1 for round-trip rows. Times are the mean (the
 * PR's statistic) of the row; the median and its order-statistic interval
 * (rundata/sampstat.h) come from the row's samples. Sizes are exact:
 * compressed_bytes is the compress row's bytes_out, compressed/original its
 * bytes_out / pickled_bytes.
 */
#ifndef CASBENCH_REPORT_PR3090_H
#define CASBENCH_REPORT_PR3090_H

#include <stddef.h>
#include <stdio.h>

#include "rundir.h"
#include "tsv.h"

/* Load and check the published table: its columns, a known suite, payload
 * and metric on every row, numbers where numbers belong. NULL with
 * "PATH:LINE: column 'C': problem" in err. */
tsv_table *pr3090_published_load(const char *path, char *err, size_t errlen);

/* Write RUN_DIR/pr3090.tsv (temporary file + rename: one row per published
 * figure and runtime, c first, then python when py is not NULL) and the
 * section's markdown to md. pub may be NULL (the table was not found: the
 * section says so and no pr3090.tsv is written). Returns 0, or -1 with a
 * message in err when pr3090.tsv cannot be written. */
int pr3090_section(const tsv_table *pub, const char *pub_path, const rundir *run,
                   const rundir *py, FILE *md, char *err, size_t errlen);

#endif
