/*
 * calib_impl.h - internal to calibrate/: what its modules share beside the
 * public calibrate.h. Errors as calibrate.h says: 0 or a util.h exit status
 * with a message in err.
 */
#ifndef CASBENCH_CALIB_IMPL_H
#define CASBENCH_CALIB_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "calibrate.h"
#include "cells.h"
#include "codec.h"
#include "gbench.h"

/* cb_err with a status: returns `status`. */
int calib_err(int status, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- calib_tools.c: running a tool -------------------------------------- */

typedef struct {
    char *out;          /* stdout and stderr together, NUL-terminated; the caller frees */
    size_t len;
    double cpu_s;       /* user + system time of the tool (wait4) */
    double cpu_share;   /* cpu_s over its wall time: below 1, other processes took the CPU */
} calib_tool_run;

/* Run argv[0] (looked up on PATH) with argv, standard input /dev/null, its
 * output captured into r; killed after timeout_s seconds. 0 when it exited
 * 0; otherwise CB_EXIT_ENV with "NAME: PROBLEM[: its last line]" in err,
 * NAME being `name`: "not found on PATH", "exited with status N", "killed
 * by signal N", "did not finish in N s (killed)". r->out is NULL then. */
int calib_tool_exec(const char *name, char *const argv[], double timeout_s, calib_tool_run *r,
                    char *err, size_t errlen);

/* Which library the executable at `path` runs: "links SONAME*, the library
 * the harness runs", "runs its own statically linked copy of LIB, not
 * SONAME*", or "library unknown (...)"; into out. */
void calib_tool_library(const char *path, const char *soname, const char *lib, char *out, size_t cap);

/* ---- calib_measure.c: the harness side ---------------------------------- */

typedef struct {
    double bps;       /* `bytes` / fastest repetition, wall time */
    double cpu_bps;   /* the same in CPU time (the clock of xxhsum and openssl speed) */
    double spread;    /* (median - fastest) / fastest, wall time */
    int repetitions;
    uint64_t stored;  /* compressed size, for codec cells */
} calib_figure;

/* The better of two measurements of the same thing (taken before and after
 * a tool ran, so that a busy moment on one side does not decide). */
calib_figure calib_best_of(calib_figure a, calib_figure b);
/* The figure as a tool that times itself in CPU time would see it. */
calib_figure calib_in_cpu_time(calib_figure f);

/* Verify and time one cell; `bytes` is what the throughput is counted in
 * (the uncompressed size, for decompression too, as the tools count it). */
int calib_time_cell(const cell_spec *spec, const cell_input *in, const char *name, uint64_t bytes,
                    calib_figure *f, char *err, size_t errlen);
int calib_time_measurement(const gb_measurement *m, calib_figure *f, char *err, size_t errlen);

/* Compress and decompress cells of codec:level over the blob, reused buffers. */
int calib_codec_cells(const codec_desc *codec, int level, const calib_blob *b, calib_figure *c,
                      calib_figure *d, char *err, size_t errlen);
/* The hash cell of `hash` on n reproducible bytes; tag names the measurement. */
int calib_hash_cell(const char *hash, size_t n, const char *tag, calib_figure *f, char *err, size_t errlen);
/* The cell input of a blob: its object (for pickle cells) and its bytes. */
cell_input calib_cell_input(const calib_blob *b);

/* memcpy of n bytes, the speed ceiling of anything that writes the blob.
 * `fresh` mallocs the destination each iteration and frees it (as the
 * `fresh` cells do); otherwise dst is a buffer of n bytes the caller
 * allocated and touched. The struct MUST outlive the measurement. */
typedef struct {
    const uint8_t *src;
    uint8_t *dst;
    size_t n;
    int fresh;
} calib_memcpy;
gb_measurement calib_memcpy_measurement(calib_memcpy *m, const char *name);

/* One EVP_Digest() call per iteration, as `openssl speed -evp` times it: a
 * new EVP_MD_CTX (and the provider's digest state) made and freed for every
 * block, the algorithm fetched once. NULL with a message when OpenSSL has no
 * such digest. Free with calib_evp_free (accepts NULL). */
typedef struct calib_evp calib_evp;
calib_evp *calib_evp_create(const char *alg, const uint8_t *buf, size_t n, char *err, size_t errlen);
gb_measurement calib_evp_measurement(calib_evp *e, const char *name);
void calib_evp_free(calib_evp *e);

/* ---- calib_judge.c: rows ------------------------------------------------- */

/* A new row of t, zeroed but for these; NULL when out of memory. */
calib_row *calib_add_row(calib_table *t, calib_kind kind, const calib_figure *h, double tool_bps,
                         const char *what_fmt, ...) __attribute__((format(printf, 5, 6)));

/* What each side of row r times, in its harness_measures and
 * tool_measures (cut to fit, like every text of a row). */
void calib_row_harness(calib_row *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void calib_row_tool(calib_row *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The row's `why`: the known difference between the two sides (`known`,
 * may be NULL) when the ratio is out of bounds (or always, for a context
 * row), plus what the run itself says about noise. Nothing for a row
 * within bounds. */
void calib_explain(calib_row *r, const char *known);

/* ---- calib_compare.c: one comparison each ---------------------------------
 * `path`: where calib_tools_find found the tool, to say which library it runs. */

int calib_compare_lz4(const calib_opts *o, const char *path, const calib_blob *b, calib_table *t,
                      char *err, size_t errlen);
int calib_compare_zstd(const calib_opts *o, const char *path, const calib_blob *b, int level, calib_table *t,
                       char *err, size_t errlen);
int calib_compare_xxhsum(const calib_opts *o, const char *path, calib_table *t, char *err, size_t errlen);
int calib_compare_openssl(const calib_opts *o, calib_table *t, char *err, size_t errlen);
int calib_compare_pickle(const calib_opts *o, const calib_blob *b, calib_table *t, char *err, size_t errlen);

#endif
