/*
 * schema.h - matrix.tsv, defined once: its columns (names, order, meaning),
 * the names a row's stage, alloc and variant take, and a row's identity.
 *
 * The writer (bench/results.c) writes the columns in this order; the reader
 * (rundata/rundir.c) finds them by name; `run --resume`, `compare`, report
 * and the Google Benchmark entry names all identify a row with schema_key.
 * results/README.md documents the same columns for users.
 */
#ifndef CASBENCH_SCHEMA_H
#define CASBENCH_SCHEMA_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* The columns of matrix.tsv, in the order they are written. */
typedef enum {
    SCHEMA_PAYLOAD, SCHEMA_PROTOCOL, SCHEMA_PICKLED_BYTES, SCHEMA_STAGE, SCHEMA_VARIANT,
    SCHEMA_CODEC, SCHEMA_LEVEL, SCHEMA_HASH, SCHEMA_ALLOC, SCHEMA_BYTES_IN, SCHEMA_BYTES_OUT,
    SCHEMA_RATIO, SCHEMA_REPETITIONS, SCHEMA_ITERATIONS, SCHEMA_MEDIAN_NS, SCHEMA_MEAN_NS,
    SCHEMA_STDDEV_NS, SCHEMA_MIN_NS, SCHEMA_MAX_NS, SCHEMA_CV, SCHEMA_MB_PER_S,
    SCHEMA_SAMPLES_NS, SCHEMA_KEY, SCHEMA_STATUS, SCHEMA_MESSAGE,
    /* Written since runs are timed in rounds; a reader accepts files without them. */
    SCHEMA_ROUND_GROUP, SCHEMA_SPREAD, SCHEMA_DRIFT, SCHEMA_FLAG,
    /* Written since faults are counted; a reader accepts files without it. */
    SCHEMA_MINFLT_PER_ITER,
    /* Written since memory is counted (bench/memory.h); a reader accepts files without it. */
    SCHEMA_PEAK_BYTES,
    /* Written since the cpython mode; a reader accepts files without it. */
    SCHEMA_COLD_NS,
    SCHEMA_NCOLS
} schema_col;

typedef struct {
    const char *name;      /* the header name: stable, tests and scripts use it */
    const char *type;      /* "text", "int", "float" */
    int optional;          /* a reader accepts a file without this column */
    const char *meaning;   /* one line; results/README.md says more */
} schema_column;

/* Indexed by schema_col. */
extern const schema_column schema_columns[SCHEMA_NCOLS];

/* The stages a cell times (bench/cells.h: cell_stage follows this order). */
typedef enum {
    SCHEMA_STAGE_PICKLE, SCHEMA_STAGE_HASH, SCHEMA_STAGE_COMPRESS, SCHEMA_STAGE_DECOMPRESS,
    SCHEMA_STAGE_SAVE, SCHEMA_STAGE_LOAD, SCHEMA_STAGE_LOAD_VERIFY, SCHEMA_STAGE_SAVE_STORE,
    SCHEMA_STAGE_HANDOFF,         /* only the C twins (SCHEMA_PAYLOAD_OVERHEAD) */
    SCHEMA_STAGE_COUNT
} schema_stage;
extern const char *const schema_stage_names[SCHEMA_STAGE_COUNT];

/* The stages of PR #3090's round trip (bench/roundtrip.c). */
#define SCHEMA_STAGE_RT_SAVE  "roundtrip-save"
#define SCHEMA_STAGE_RT_LOAD  "roundtrip-load"
#define SCHEMA_STAGE_RT_TOTAL "roundtrip-total"

/* Output allocation: "fresh" (every output allocated and freed each
 * iteration, the large ones mmap'd: new pages every time), "reuse" (buffers
 * touched before timing) or "cpython" (glibc malloc/realloc/free in the
 * sizes and order of CPython 3.11 and its bindings, bench/cells.h). */
typedef enum { SCHEMA_ALLOC_FRESH, SCHEMA_ALLOC_REUSE, SCHEMA_ALLOC_CPYTHON, SCHEMA_ALLOC_COUNT } schema_alloc;
extern const char *const schema_alloc_names[SCHEMA_ALLOC_COUNT];
/* The C cell a Python row's prediction starts from, by its alloc in this
 * order: CPython's own pattern, else every output fresh, else reused
 * buffers (report_predict.c, the run's Python pairs, the overhead twins). */
extern const schema_alloc schema_alloc_predicted_from[SCHEMA_ALLOC_COUNT];

/* Variants of the save stage (bench/cells.c cell_save_variants) and of the
 * PR #3090 suites (bench/roundtrip.c). */
#define SCHEMA_VARIANT_SEQUENTIAL      "sequential"
#define SCHEMA_VARIANT_FUSED           "fused"
#define SCHEMA_VARIANT_OVERLAPPED      "overlapped"
#define SCHEMA_VARIANT_OVERLAPPED_SPIN "overlapped-spin"
#define SCHEMA_VARIANT_STREAMING       "streaming"
#define SCHEMA_VARIANT_PR3090_REALISTIC "pr3090-realistic"
#define SCHEMA_VARIANT_PR3090_E2E       "pr3090-e2e"
#define SCHEMA_VARIANT_PR3090_MICRO     "pr3090-micro"

/* The payload of --hash-sweep rows: nothing is pickled, the rows differ in
 * bytes_in only. */
#define SCHEMA_PAYLOAD_SWEEP "sweep"

/* The payload of the C twins of infra/python_path.py's `overhead` rows
 * (plan.h plan_overhead; a run with --python): the calls those rows make,
 * on their own tiny inputs. Only the prediction reads them; every other
 * reader sees the run without them (rundir.h rundir_view). */
#define SCHEMA_PAYLOAD_OVERHEAD "overhead"

/* The stage of those rows on the Python side: each names its call in
 * `variant` (`pickle`, `hash`, `thread-handoff`, ...). */
#define SCHEMA_STAGE_PY_OVERHEAD "overhead"

/* The stage and variant of the C twin of the Python per-call cost row whose
 * variant is `call`: the stage is the call, and the hand-off's twin names
 * the save variant whose worker it hands to (plan.h plan_overhead). */
void schema_overhead_twin(const char *call, const char **stage, const char **variant);

#define SCHEMA_NO_PROTOCOL (-1)
#define SCHEMA_NO_LEVEL INT_MIN

/* What identifies a row: payload protocol stage variant codec level hash
 * alloc, and bytes_in for sweep rows. Text fields: NULL is empty. */
typedef struct {
    const char *payload, *stage, *variant, *codec, *hash, *alloc;
    int protocol;          /* SCHEMA_NO_PROTOCOL when empty */
    int level;             /* SCHEMA_NO_LEVEL when empty */
    uint64_t bytes_in;     /* part of the identity of sweep rows only */
} schema_key;

/* The identity as a string, for lookups: the fields tab-separated, each as
 * matrix.tsv holds it (a tab or line break in a text field becomes a space,
 * as the writer writes it), so that a key built by the writer and one read
 * back from the file give the same string. Truncated to fit cap (cap >= 1). */
void schema_key_id(const schema_key *k, char *out, size_t cap);

/* The identity for a message: the same fields, space-separated, an empty one
 * as "-", and "bytes_in=N" after those of a sweep row. */
void schema_key_text(const schema_key *k, char *out, size_t cap);

/* The row's benchmark name in gbench.json (by which `run --resume` keeps the
 * entries of finished rows): payload/pPROTOCOL/stage/variant/codec:level/
 * hash/alloc ("-" for an empty part; sweep rows: payload/BYTES/stage/-/-/
 * hash/alloc). Quotes, backslashes and control bytes become '_' (JSON-safe). */
void schema_key_bench_name(const schema_key *k, char *out, size_t cap);

/* The index of column `name` in schema_columns, or -1. */
int schema_col_find(const char *name);

#endif
