/*
 * report_cost.h - internal to report/: what a flow step pays for an
 * artifact path, under the workload mix (report_mix.h), for the section
 * "Recommendation".
 *
 * Per payload p of the mix (weight w_p artifacts per step), at hit rate h
 * (the share of saves whose key is already stored: metaflow then skips the
 * compression and the upload, report_mix.h):
 *     w_p * ((1 - h) * (save + up) + h * hit + load + down)
 * save: stage `save` (pickle + sha1 + compress) of the variant; hit: `pickle`
 * + `hash` sha1 for `sequential` (the key is known before compressing), the
 * whole save for the other variants (they compress while hashing, before the
 * key is known); load: stage `load`; up, down: compressed bytes at
 * RPT_TRANSFER_MBPS. The load side (load, down) is modelled on the payloads
 * where today's codec has a `load` row, the hit where `pickle` and `hash`
 * rows exist; a payload without a save row for today's codec is left out.
 *
 * Timings: a cell's time is its C row's plus an offset to the Python level,
 * from the first source that has the cell: RUN_DIR/predict.tsv
 * (predicted_ms), the --python run (its median), today's codec's offset on
 * the same payload and stage (a codec without a Python row of its own), or
 * none (C). Per-round costs use the C row's samples (one per round, the
 * rounds in which every cell ran) plus that offset, so that two paths are
 * compared round by round (roundstats.h's rs_estimate_paired).
 */
#ifndef CASBENCH_REPORT_COST_H
#define CASBENCH_REPORT_COST_H

#include <stddef.h>

#include "report_ctx.h"

typedef enum { COST_SRC_PREDICT, COST_SRC_PYTHON, COST_SRC_BASE, COST_SRC_C, COST_SRC_COUNT } cost_src;
/* "predicted", "Python", "C + gzip:3's overhead", "C". */
extern const char *const cost_src_names[COST_SRC_COUNT];

/* Costs at no hit ([0]) and at the stated hit rate ([1]). */
#define COST_HITS 2

typedef struct {
    char spec[64];          /* "codec:level" */
    const char *variant;    /* SCHEMA_VARIANT_* */
    int ok;                 /* every cell of the model found */
    char why[192];          /* when !ok: the first cell missing */
    double cost_ns[COST_HITS];      /* per step, from the medians */
    double *rounds[COST_HITS];      /* per-round costs, nrounds each, or NULL */
    size_t nrounds;
    size_t nsrc[COST_SRC_COUNT];    /* cells by source */
    double *save_ns, *load_ns;      /* per mix payload (NAN: not modelled) */
} cost_cand;

typedef struct cost_pay_cells cost_pay_cells;   /* report_cost.c */

typedef struct {
    int *in, *load, *hit;   /* per mix payload: modelled, its load side, its hit */
    size_t npay;            /* payloads modelled */
    cost_cand base;         /* today's codec (BASE_SPEC), sequential */
    cost_pay_cells *base_cells;   /* its cells, whose offsets others borrow */
} cost_model;

/* The model and today's codec's cost. 0, or -1 when today's codec has no
 * save row on any payload of the mix (m->base.why says so). */
int cost_model_init(const report_ctx *c, cost_model *m);
void cost_model_free(cost_model *m);

/* The cost of spec's save variant under the model (out->ok 0 and why when a
 * cell is missing). */
void cost_eval(const report_ctx *c, const cost_model *m, const char *spec, const char *variant, cost_cand *out);
void cost_cand_free(cost_cand *x);

typedef enum { COST_NOT_JUDGED, COST_SAME, COST_CHEAPER, COST_DEARER } cost_verdict;
typedef struct {
    double saving_ns;       /* ref's cost - x's, from the medians */
    double lo_ns, hi_ns;    /* its 95 % interval (NAN: not judged) */
    cost_verdict verdict;   /* SAME when the interval includes no difference */
} cost_versus;

/* x against ref at hit index k: ref's cost - x's (from the medians), with
 * the interval of the per-round ratios x / ref (rs_estimate_paired),
 * relative to their median, applied to x's cost. */
cost_versus cost_compare(const cost_cand *x, const cost_cand *ref, int k);

#endif
