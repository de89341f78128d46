/*
 * roundtrip.h - PR #3090's three benchmark suites (Netflix/metaflow
 * benchmarks/bench_cas_realistic.py, bench_cas_e2e.py, bench_cas.py) as
 * casbench measurements, by the scripts' own method:
 *
 *   realistic, e2e   per iteration: a fresh store directory (made and removed
 *                    untimed), blob + the iteration number as 4 big-endian
 *                    bytes (no iteration deduplicates), then timed apart:
 *                    save (store_save: key, existence check, compress,
 *                    makedirs, blob and _meta through temp file + rename
 *                    under DIR/cas/<key[:2]>/<key>) and load (store_load:
 *                    existence checks, _meta, read, decompress), then an
 *                    untimed comparison with the blob. Pickling is not timed:
 *                    the blob is made once, before. Rows: stage
 *                    roundtrip-save, roundtrip-load, roundtrip-total (each
 *                    iteration's save + load).
 *   micro            one call in a loop of the published iteration count,
 *                    timed in batches (up to 20; the mean is the loop's
 *                    total / count, the PR's figure): hash (hexdigest),
 *                    compress (gzip: GzipFile-equivalent, i.e. the stream
 *                    then a copy of it as BytesIO.read() makes), decompress.
 *
 * Every row has variant pr3090-<suite>, alloc fresh (every output malloc'd and
 * freed in its call, as CPython allocates bytes objects: store.h),
 * samples_ns = one value per iteration (micro: per batch, per call), and
 * mean_ns = the PR's statistic. The round-trip rows carry peak_bytes: the
 * VmHWM of one save, one load, one of both, each in a forked child
 * (memory.h). Every measurement runs once and is checked
 * before it is timed (the stored bytes decode with a separate context to the
 * blob, the key equals a second computation, the load returns the blob); a
 * failure is a row with status error and no time.
 */
#ifndef CASBENCH_ROUNDTRIP_H
#define CASBENCH_ROUNDTRIP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "results.h"

typedef enum { RT_REALISTIC, RT_E2E, RT_MICRO, RT_SUITE_COUNT } rt_suite;

/* "realistic", "e2e", "micro" (the published table's `suite` column) and
 * the variant column of their rows ("pr3090-realistic", ...). */
extern const char *const rt_suite_names[RT_SUITE_COUNT];
extern const char *const rt_suite_variants[RT_SUITE_COUNT];

/* One payload of a suite: its name in the published table, the casbench
 * payload spec that makes its blob, the script's iteration count, and
 * whether the blob is the payload's bytes object itself (the pattern blobs:
 * the scripts store bytes(range(256)) cut to size, unpickled) rather than
 * its pickle. */
typedef struct {
    rt_suite suite;
    const char *published;
    const char *spec;
    int iterations;
    int unpickled;
} rt_payload;

extern const rt_payload rt_payloads[];
extern const size_t rt_payload_count;

/* The stage a published metric is measured by: realistic/e2e save, load,
 * total -> roundtrip-save, -load, -total; micro hash, compress, decompress,
 * compressed_bytes and compressed/original -> hash, compress, compress,
 * decompress. NULL for a metric no suite has. */
const char *rt_stage_of_metric(rt_suite suite, const char *metric);

/* The suite named s, or -1. */
int rt_suite_find(const char *s);

typedef struct {
    int quick;                   /* iterations / 10 (at least 2), published pairings only */
    int numpy_major;             /* the ndarray pickles' module path (1 or 2) */
    const char *tmp_base;        /* where the per-iteration stores are made */
    const char *keep_dir;        /* NULL, or where each round trip's last store is kept
                                  * (renamed, untimed) as KEEP/<n>-<payload>-<codec>-<hash>,
                                  * for tests that compare it with metaflow's bytes */
    volatile sig_atomic_t *stop; /* checked between iterations; may be NULL */
    void (*progress)(const char *what);   /* may be NULL */
} rt_options;

/* Run the three suites, appending rows to rf as each measurement ends;
 * *error_rows receives the number of rows with status error.
 * Returns 0; 1 when *stop was set (the unfinished measurement is dropped);
 * -1 with a message in err when results cannot be written or a blob cannot
 * be made (an unknown payload name is an error row instead). */
int rt_run_all(const rt_options *o, results_file *rf, size_t *error_rows, char *err,
               size_t errlen);

/* The blob of a payload spec: its protocol-4 pickle (numpy_major's module
 * path for arrays), or the file's bytes (file:PATH); with unpickled, a
 * bytes object's own content (pattern:SIZE as the scripts use it).
 * Malloc'd. 0, or -1 with a message in err and a util.h status in *status. */
int rt_payload_blob(const char *spec, int numpy_major, int unpickled, uint8_t **blob,
                    size_t *len, int *status, char *err, size_t errlen);

#endif
