/*
 * cells.h - the measured work of one matrix cell: a stage or a path of
 * metaflow's save/load, with one payload, codec, hash and allocation mode.
 *
 * A cell is built (contexts created, reused buffers allocated and touched),
 * verified once (its own iteration run and its outputs checked against
 * independent computations), and only then handed to the timing engine as a
 * gb_measurement. The iteration functions know nothing of timing.
 *
 * Stages (the `stage` column of matrix.tsv):
 *   pickle       object -> blob (pickle_dump)
 *   hash         blob -> key (digest, then lowercase hex, as metaflow keys it)
 *   compress     blob -> stored bytes
 *   decompress   stored bytes -> blob
 *   save         pickle, key, compress in the order of a save variant
 *   load         decompress (metaflow does not re-hash on load)
 *   load+verify  decompress, then re-hash and compare with the key
 *   save+store   save, then write the stored bytes and their _meta file as
 *                metaflow's local datastore does (see cell_spec.store_dir)
 * Allocation: `fresh` allocates each output inside the iteration and frees it
 * (as Python does for every bytes object); outputs of CELL_FRESH_MMAP_MIN
 * bytes or more are mmap'd and munmap'd, so that they are new pages every
 * iteration whatever ran before. `reuse` writes into buffers that were
 * allocated and touched before timing. `cpython` allocates as CPython 3.11
 * and the Python bindings do, through glibc's own malloc/realloc/free (so
 * that glibc's dynamic mmap threshold and heap trimming decide, as they do
 * under CPython, which outputs are new pages), in the sizes and order of:
 *   pickle       _pickle's output buffer (4096 bytes, then (len + n) / 2 * 3
 *                whenever a write does not fit, a large bytes payload in one
 *                write, the final shrink) and numpy's tobytes() copy of each
 *                array inside ndarray.__reduce__, freed after the dump
 *   compress     gzip-compatible codecs: GzipFile into a BytesIO (zlib's
 *                output blocks of 32 KiB, 64 KiB, 256 KiB, 1 MiB, 4 MiB, ...,
 *                joined into one bytes, written into the BytesIO buffer, which
 *                grows by 1/8 for the trailer, getvalue's shrink); lz4: a
 *                buffer of the bound, copied into a bytes of the size
 *                (lz4.frame.compress); zstd and the others: a bytes of the bound
 *   decompress   gzip-compatible: gzip.decompress (a copy of the stream after
 *                its header, output blocks, joined); lz4: a buffer of the
 *                content size copied into a bytes; zstd, none: a bytes of the size
 *   load         gzip-compatible: GzipFile(fileobj=BytesIO(data)).read()
 *                (8 KiB chunks, each through a 32 KiB block, then joined);
 *                the others as decompress
 *   save+store   the save, then metaflow's byte_obj.read() of the BytesIO
 *                (a copy) before the write
 * A result under 512 bytes with its header comes from pymalloc: a static
 * pool here (no page faults). Hashing allocates nothing.
 */
#ifndef CASBENCH_CELLS_H
#define CASBENCH_CELLS_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "gbench.h"
#include "hash.h"
#include "pickle.h"
#include "schema.h"

typedef enum {
    CELL_PICKLE = SCHEMA_STAGE_PICKLE, CELL_HASH = SCHEMA_STAGE_HASH,
    CELL_COMPRESS = SCHEMA_STAGE_COMPRESS, CELL_DECOMPRESS = SCHEMA_STAGE_DECOMPRESS,
    CELL_SAVE = SCHEMA_STAGE_SAVE, CELL_LOAD = SCHEMA_STAGE_LOAD,
    CELL_LOAD_VERIFY = SCHEMA_STAGE_LOAD_VERIFY, CELL_SAVE_STORE = SCHEMA_STAGE_SAVE_STORE,
    /* A trivial job handed to the worker of the save variant `variant` and
     * waited for: the exposed hand-off, the C twin of python_path.py's
     * `thread-handoff` row (plan.h plan_overhead); reads no bytes. */
    CELL_HANDOFF = SCHEMA_STAGE_HANDOFF,
    CELL_STAGE_COUNT = SCHEMA_STAGE_COUNT
} cell_stage;

/* The stage names as written in results (matrix.tsv's schema), indexed by cell_stage. */
#define cell_stage_names schema_stage_names

typedef enum {
    CELL_ALLOC_FRESH = SCHEMA_ALLOC_FRESH, CELL_ALLOC_REUSE = SCHEMA_ALLOC_REUSE,
    CELL_ALLOC_CPYTHON = SCHEMA_ALLOC_CPYTHON
} cell_alloc;
/* glibc's own initial mmap threshold. */
#define CELL_FRESH_MMAP_MIN ((size_t)128 * 1024)
#define cell_alloc_names schema_alloc_names

typedef struct cell cell;

/* A way of running the save path: one row of cell_save_variants. `run`
 * produces the key (cell's digest and hex) and the stored bytes.
 *   sequential       metaflow's order: pickle, hash the blob, compress it
 *   fused            pickle, then one pass over 128 KiB chunks: each chunk
 *                    is hashed and then compressed while it is in cache
 *                    (the codec's streaming members; a codec without them,
 *                    libdeflate, has no fused cell)
 *   overlapped       pickle, then a worker thread hashes the blob while the
 *                    calling thread compresses it; the iteration ends when
 *                    both are done. Hand-off by condition variable.
 *   overlapped-spin  the same with a spinning hand-off (handoff.h)
 *   streaming        never the whole pickle: pickled through a fixed window,
 *                    each piece hashed and compressed as it is made; in
 *                    save+store written to the store's temporary file as it
 *                    goes, renamed to <key[:2]>/<key> at the end; in save
 *                    no file (streaming.h; needs the streaming members)
 * The worker thread of the overlapped variants is created with the cell,
 * outside timing. When the process is pinned to one CPU (run --cpu N) the
 * worker is pinned to the next online CPU (handoff_worker_cpu), never to N;
 * on a machine with one CPU such a cell fails (status error). */
typedef struct {
    const char *name;              /* the `variant` column */
    int (*run)(cell *c);           /* 0, or non-zero on failure */
    int needs_stream;              /* needs codec_desc's streaming members */
    int handoff;                   /* -1: no worker thread; else a handoff_mode */
} cell_save_variant;

extern const cell_save_variant cell_save_variants[];
extern const size_t cell_save_variant_count;
/* NULL when no variant has that name. */
const cell_save_variant *cell_save_variant_find(const char *name);
/* 1 when the variant can run with this codec (fused needs streaming). */
int cell_save_variant_applies(const cell_save_variant *v, const codec_desc *codec);

typedef struct {
    cell_stage stage;
    const cell_save_variant *variant; /* save, save+store and thread-handoff; NULL otherwise */
    const codec_desc *codec;       /* NULL for pickle and hash */
    int level;
    const hash_desc *hash;         /* NULL for pickle, compress, decompress, load */
    cell_alloc alloc;
    const char *store_dir;         /* save+store: an existing directory */
    int store_fsync;               /* save+store: fsync each file before its rename */
} cell_spec;

typedef struct {
    const pyobj *obj;              /* NULL when the blob is given (file payloads, sweep):
                                    * the save path then starts from the blob */
    pickle_options popt;
    const uint8_t *blob;           /* the reference blob (pickled once, before any cell) */
    size_t blob_len;
} cell_input;

/* Create the contexts and buffers of a cell (nothing is timed or checked
 * yet). `in` and everything it points to MUST outlive the cell. NULL with a
 * message in err when memory or a library context cannot be had. */
cell *cell_create(const cell_spec *spec, const cell_input *in, char *err, size_t errlen);
void cell_destroy(cell *c);        /* accepts NULL */

/* Run the cell's iteration once and check what it produced:
 * decompress(compress(blob)) == blob with a separate codec context (and, for
 * the fused and overlapped variants with gzip, lz4, zstd or none, stored bytes
 * identical to a one-shot compress() of the blob), the key
 * equals an independent computation (a fresh hash state fed in uneven
 * pieces), the pickle equals the reference blob, a stored file reads back
 * byte for byte. Returns 0, or -1 with the one-line reason in err. A cell
 * that fails MUST NOT be timed. */
int cell_verify(cell *c, char *err, size_t errlen);

/* The measurement to time, valid after cell_verify succeeded. `name` is the
 * benchmark name for gbench.json; it MUST stay valid until gb_run returns. */
gb_measurement cell_measurement(cell *c, const char *name);

/* The verified run of an overlapped save: when the calling thread handed
 * the hash off and then compressed (ns[0], ns[1]) and when the worker hashed
 * (ns[2], ns[3]),
 * CLOCK_MONOTONIC nanoseconds, so that a test can check the two intervals
 * intersect. 0, or -1 when the cell has no worker or was not verified. */
int cell_overlap(const cell *c, int64_t ns[4]);

/* A cpython save or save+store cell: the wall time of its verified run,
 * the cell's first iteration (cold: nothing of it warmed up, its heap not
 * settled), in nanoseconds; 0 for other cells. */
double cell_cold_ns(const cell *c);

/* Results of the verified run. */
const char *cell_key(const cell *c);       /* hex digest, "" when the cell has no hash */
uint64_t cell_bytes_in(const cell *c);
uint64_t cell_bytes_out(const cell *c);
uint64_t cell_stored_bytes(const cell *c); /* compressed size; 0 when no codec */

/* The peak extra memory of one iteration (matrix.tsv's peak_bytes, see
 * memory.h): runs the iteration once more, after cell_verify, counting the
 * live bytes of its outputs and mappings plus the buffers the cell holds
 * across iterations; CELL_NO_PEAK when the iteration fails. */
#define CELL_NO_PEAK UINT64_MAX
uint64_t cell_peak_bytes(cell *c);

#endif
