/*
 * report_mix.h - internal to report/: the workload mix the recommendation
 * prices a flow step with (`casbench report --mix FILE`), and the
 * Python-level timings it reads beside the run (RUN_DIR/predict.tsv).
 *
 * A mix says how many artifacts of each payload a flow step saves (and later
 * loads), on average: weight = artifacts per step. The time of one artifact
 * already grows with its bytes, so the weights count artifacts, not bytes.
 * File format (a TSV read by rundata/tsv.h): a header line naming the
 * columns `payload` and `weight` (others are ignored), then one row per
 * payload; a weight is a finite number >= 0; a payload at most once, and
 * every payload named must be one of the run's. Payloads of the run not in
 * the file weigh 0. At least one weight must be above 0.
 */
#ifndef CASBENCH_REPORT_MIX_H
#define CASBENCH_REPORT_MIX_H

#include <stddef.h>

#include "tsv.h"

typedef struct {
    char **payload;     /* the run's payloads with weight > 0, in mix order */
    double *weight;
    size_t n;
    char **dropped;     /* default mix payloads this run lacks */
    size_t ndropped;
} rpt_mix;

/* The default mix, payload by payload (the assumption the report states;
 * results/README.md says where the weights come from). */
typedef struct { const char *payload; double weight; const char *why; } rpt_mix_default;
extern const rpt_mix_default rpt_mix_defaults[];
extern const size_t rpt_mix_ndefaults;

/* The bandwidth of an artifact's upload and of its download, MB/s. */
#define RPT_TRANSFER_MBPS 100.0

/* Build *m from path (NULL: the default mix) against the run's payloads
 * (names[0..n)). 0, or -1 with "<path>:<line>: <problem>" in err (then *m
 * holds nothing to free). */
int rpt_mix_load(rpt_mix *m, const char *path, char *const *names, size_t n, char *err, size_t errlen);
void rpt_mix_free(rpt_mix *m);

/* RUN_DIR/predict.tsv when it exists: NULL with *err empty when there is
 * none, NULL with a message when it is malformed (a required column
 * missing: payload, stage, variant, codec, level, hash, predicted_ms). */
tsv_table *rpt_predict_load(const char *run_dir, char *err, size_t errlen);

#endif
