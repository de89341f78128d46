/*
 * cell_impl.h - inside the cells module (cells.c, cells_cpython.c,
 * cells_verify.c): the cell itself and what its three files share. Nothing
 * outside bench/cells*.c includes it; cells.h is the module's contract.
 *
 *   cells.c          buffers, the stages and save variants, creation,
 *                    the measurement
 *   cells_cpython.c  the cpython allocation mode: CPython 3.11's and its
 *                    bindings' allocations per stage, and the settling of
 *                    glibc's heap before each batch
 *   cells_verify.c   the checks a cell passes before it is timed
 */
#ifndef CASBENCH_CELL_IMPL_H
#define CASBENCH_CELL_IMPL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "cells.h"
#include "handoff.h"
#include "streaming.h"

/* Output slots: where each kind of output lives in reuse mode, and where a
 * verifying run leaves it for the checks. */
enum { SLOT_PICKLE, SLOT_STORED, SLOT_PLAIN, SLOT_COUNT };

struct cell {
    cell_spec spec;
    cell_input in;
    void *cctx;
    void *hstate;
    size_t cap[SLOT_COUNT];
    uint8_t *buf[SLOT_COUNT];         /* reuse mode: allocated and touched at creation */
    int verifying;
    struct { uint8_t *p; size_t n; int owned; } out[SLOT_COUNT];
    /* Input of decompress/load: the blob compressed once before timing. */
    uint8_t *stored_in;
    size_t stored_len;
    /* The save path's current outputs, between the variant and its release. */
    uint8_t *cur_pickle, *cur_stored;
    size_t cur_pickle_len, cur_stored_len;
    uint8_t digest[HASH_MAX_DIGEST];
    uint8_t want[HASH_MAX_DIGEST];    /* load+verify: the key's digest */
    char key[2 * HASH_MAX_DIGEST + 1];
    size_t last_codec_err;
    char errbuf[256];
    /* save+store */
    char dir[PATH_MAX], path[PATH_MAX], meta[PATH_MAX], tmpl[PATH_MAX];
    int store_err;                    /* errno of the first failed store call */
    const char *store_what;
    /* overlapped: the worker thread and the blob it hashes */
    handoff *ho;
    const uint8_t *job_blob;
    size_t job_len;
    streaming *st;                    /* the streaming variant (streaming.h) */
    /* verifying run of an overlapped save: when the caller compressed and
     * the worker hashed (cell_overlap) */
    int64_t ov_ns[4];
    double cold_ns;                   /* cpython saves: the verified (first) run */
    /* cpython: the pickle buffer's capacities in order, the arrays numpy
     * copies, scratch pointers (blocks, chunks, copies), the GzipFile
     * stream's size, pymalloc's stand-in for small results */
    size_t *py_caps, py_ncaps;
    const pyobj **py_arrays;
    size_t py_narrays;
    uint8_t **py_tmp;
    size_t *py_tmp_len;               /* GzipFile.read: each chunk's size */
    size_t py_ntmp;
    size_t py_clen;                   /* GzipFile: the stream's size, from the first run */
    uint8_t py_small[SLOT_COUNT][512];
    int py_tracking;
    uint8_t *py_peak;                 /* the highest break while settling */
    long long py_live, py_live_peak;  /* heap bytes held while settling */
    ptrdiff_t py_extent;              /* how far the settling call grew the heap */
    int py_settled, py_held;          /* py_settle measured the call; it keeps its heap */
    size_t py_settled_at;             /* the mmap threshold it was measured under */
};

/* ---- shared by the module's files --------------------------------------- */
/* What a PyBytesObject asks of the allocator beyond its data: the object
 * header (32 bytes on 64-bit) and the trailing NUL. */
#define PY_BYTES_HEAD ((size_t)33)
typedef enum { PYB_GZIPFILE, PYB_LZ4, PYB_BYTES } py_binding;

/* cells_cpython.c: a stage's allocations as CPython's (NULL on failure),
 * what a cell knows before timing, the settling before each batch
 * (gb_measurement.prepare). */
uint8_t *py_result(cell *c, int slot, size_t n);
void py_free(cell *c, int slot, uint8_t *p);
uint8_t *py_pickle(cell *c, size_t *n);
uint8_t *py_compress(cell *c, const uint8_t *blob, size_t n, size_t *r, int keep_bytesio);
uint8_t *py_decompress(cell *c);
py_binding py_binding_of(const codec_desc *k);
int py_prepare(cell *c, char *err, size_t errlen);
void py_alloc_base(void);
void py_settle(void *ctx);

/* cells.c: the cell's iteration, the spinning worker's wake-up, the store
 * step between iterations, the _meta file's text, stage kinds, the clock of
 * the overlap record, an output slot's release. */
gb_iter_fn iteration_of(const cell *c);
void wake_worker(void *ctx);
int cell_stores(const cell *c);
void store_remove(void *p);
const char *meta_json(const cell *c);
int stage_is_load(cell_stage s);
int64_t mono_ns(void);
void out_free(cell *c, int slot);

#endif
