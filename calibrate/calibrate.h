/*
 * calibrate.h - `casbench calibrate` as a library: the harness against the
 * libraries' own benchmark tools (lz4 -b, zstd -b, xxhsum -b, openssl
 * speed), on the same bytes, in the same run, judged row by row.
 *
 * The modules: calib_tools.c finds and runs the tools and says which
 * library each one runs; calib_parse.c reads their output; calib_inputs.c
 * pickles the payloads and writes the files the tools read;
 * calib_measure.c times the harness side (cells, memcpy, EVP_Digest);
 * calib_compare.c runs the five comparisons; calib_judge.c holds the
 * results table and judges each row against its bounds.
 *
 * Errors, in every module: a function that can fail returns 0, or an exit
 * status of util.h (CB_EXIT_INPUT, CB_EXIT_ENV, CB_EXIT_INTERNAL) with one
 * line in the caller's err buffer that names the tool or the payload and
 * the problem. Nothing here prints, exits or keeps global state; the CLI
 * (cli/cli_calibrate.c) turns a status into cb_fail.
 *
 * Units: every throughput is in bytes per second. The tools print "MB/s"
 * with different MBs: lz4 -b and zstd -b divide by 10^6, xxhsum -b by 2^20
 * (its it/s figure times the sample size is exact, so that is what is
 * used), openssl speed prints 1000s of bytes per second.
 */
#ifndef CASBENCH_CALIBRATE_H
#define CASBENCH_CALIBRATE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "payload.h"

/* Bounds of the judgement: a like-with-like ratio (harness / tool) inside
 * [LO, HI]; pickling an ndarray is one memcpy of its data plus a header,
 * so it should run at memcpy speed: PICKLE_LO leaves room for the header
 * and the memo. */
#define CALIB_LIKE_LO 0.95
#define CALIB_LIKE_HI 1.05
#define CALIB_PICKLE_LO 0.8
#define CALIB_TOOL_TIMEOUT_S 120.0

/* ---- the comparisons and the tools they run ----------------------------- */

enum {
    CALIB_LZ4 = 1, CALIB_ZSTD = 2, CALIB_XXHSUM = 4, CALIB_OPENSSL = 8, CALIB_PICKLE = 16,
    CALIB_ALL = 31
};

typedef struct {
    const char *name;          /* the --tool word */
    unsigned bit;
    const char *exe;           /* NULL: no tool (pickle vs memcpy) */
    const char *version_flag;  /* "-V", "version" */
} calib_tool;

extern const calib_tool calib_tools[];
extern const size_t calib_tool_count;

/* The comparison named `name` (lz4, zstd, ...), or NULL. */
const calib_tool *calib_tool_named(const char *name);

/* The executables the selected comparisons run, found on PATH. */
typedef struct {
    char path[8][PATH_MAX];    /* indexed as calib_tools; "" when not selected */
} calib_toolset;

/* Look up the executable of every comparison in `bits` on PATH (before any
 * measuring: a missing tool should not cost a minute). 0, or CB_EXIT_ENV
 * with "EXE: not found on PATH (...)". */
int calib_tools_find(unsigned bits, calib_toolset *ts, char *err, size_t errlen);

/* "casbench ... Libraries in the harness: ...; Tools: lz4 ...; ...\n": the
 * versions each side ran, for the end of the table. */
void calib_versions(unsigned bits, char *out, size_t cap);

/* ---- inputs ------------------------------------------------------------- */

#define CALIB_MAX_PAYLOADS 16

typedef struct {
    const char *name;          /* the payload's name */
    const pyobj *obj;          /* NULL for a raw payload */
    const uint8_t *blob;       /* the pickle (or the raw bytes) */
    size_t len;
    char file[PATH_MAX];       /* the blob written for the tools, "" when none */
} calib_blob;

typedef struct {
    calib_blob blob[CALIB_MAX_PAYLOADS];
    payload *pl[CALIB_MAX_PAYLOADS];
    uint8_t *owned[CALIB_MAX_PAYLOADS];
    size_t n;
} calib_inputs;

/* Make payload `spec` and its pickle as `casbench pickle NAME` writes it,
 * appended to in (zero it before the first call). `nonempty`: an empty blob
 * is an error (the codec tools cannot benchmark it). The message names
 * neither the payload nor the flag: the caller adds "--payload 'x': ". */
int calib_inputs_add(calib_inputs *in, const char *spec, int nonempty, char *err, size_t errlen);

/* Write each blob into directory dir (which the caller made and removes),
 * as the file the tools read; sets blob[i].file. */
int calib_inputs_write(calib_inputs *in, const char *dir, char *err, size_t errlen);

/* Unlink the files calib_inputs_write made. Only unlink(): safe in a signal
 * handler. */
void calib_inputs_unlink(const calib_inputs *in);
void calib_inputs_free(calib_inputs *in);   /* the payloads and blobs; accepts a zeroed one */

/* The payload the pickle comparison uses: "weights" when selected, else the
 * first object payload; NULL when no selected payload is an object. */
const calib_blob *calib_pickle_input(const calib_inputs *in);

/* ---- the results table --------------------------------------------------- */

typedef enum { CALIB_KIND_LIKE, CALIB_KIND_FLOOR, CALIB_KIND_CONTEXT } calib_kind;

typedef struct {
    char what[160];
    double harness_bps, tool_bps;
    calib_kind kind;
    double spread;              /* harness (median - min) / min */
    double tool_cpu_share;      /* wall-clocked tools: CPU time / wall time; NAN otherwise */
    const char *tool;           /* the tool that times itself in wall time, or NULL */
    char harness_measures[320], tool_measures[320], why[640];
} calib_row;

typedef struct {
    calib_row *rows;
    size_t n, cap;
} calib_table;

void calib_table_free(calib_table *t);   /* the rows; accepts a zeroed table */

/* harness / tool. */
double calib_row_ratio(const calib_row *r);

/* "yes", "no" (out of the row's bounds) or "n/a" (a context row), judged on
 * the ratio as printed (3 decimals), so that a printed 1.050 is never out. */
const char *calib_row_bounds(const calib_row *r);

/* ---- running ------------------------------------------------------------- */

typedef struct {
    unsigned tools;             /* CALIB_* bits */
    int quick;                  /* shorter tool runs */
    /* Called before each comparison with what it is about to run
     * ("zstd -b3 embeddings"); NULL: nothing. */
    void (*progress)(void *arg, const char *what);
    void *progress_arg;
} calib_opts;

/* Run the selected comparisons over every input, in the order of
 * calib_tools, appending rows to t. gb_init() MUST have been called (the
 * harness side runs through the Google Benchmark shim, as `casbench run`);
 * the lz4 and zstd comparisons need calib_inputs_write() first.
 * CB_EXIT_ENV: a tool missing, failing or printing what calibrate cannot
 * read, out of memory, interrupted; CB_EXIT_INTERNAL: a harness cell fails
 * verification; CB_EXIT_INPUT: no payload for the pickle comparison. */
int calib_run(const calib_opts *o, const calib_toolset *ts, const calib_inputs *in, calib_table *t,
              char *err, size_t errlen);

/* ---- reading the tools' output ------------------------------------------- */

/* lz4 -b / zstd -b output: progress segments separated by carriage
 * returns, each "<mark>-<name> : <size> -> <csize> (<ratio>), <C> MB/s,
 * <D> MB/s" (lz4 writes "(0.996),", zstd "(x1.047),"), ending with a
 * "<level>#" segment. Reads the last segment with both speeds that precedes
 * the end marker; C and D are the tools' best compression and
 * decompression speeds in 10^6 bytes per second (both tools divide by
 * 10^6). *size and *csize receive the input and compressed sizes the
 * tool reports. 0, or CB_EXIT_ENV with what is missing. */
int calib_parse_codec_bench(const char *text, size_t len, uint64_t *size, uint64_t *csize,
                            double *compress_bps, double *decompress_bps,
                            char *err, size_t errlen);

/* xxhsum -b output: one final line per algorithm,
 * "<id>#<name> : <size> -> <N> it/s (<X> MB/s)". Finds the line of `id`,
 * checks its name is `name` (xxhsum 0.8's numbering: 3 XXH64, 5 XXH3_64b,
 * 11 XXH128), and returns the sample size and N * size bytes per second.
 * 0; CALIB_PARSE_ABSENT when there is no line for `id`; CB_EXIT_ENV when
 * the line names another algorithm or has no speed. */
#define CALIB_PARSE_ABSENT (-1)

/* The algorithms `xxhsum -b3,5,11` times, xxhsum 0.8's numbering, and the
 * hash row each is compared with. */
typedef struct { int id; const char *tool_name, *hash; } calib_xxh_alg;
extern const calib_xxh_alg calib_xxh_algs[];
extern const size_t calib_xxh_alg_count;
int calib_parse_xxhsum_bench(const char *text, size_t len, int id, const char *name,
                             uint64_t *size, double *bps, char *err, size_t errlen);

/* openssl speed -evp ALG -bytes SIZE output: a "type <SIZE> bytes" header
 * and a row "<alg> <V>k" (V in 1000s of bytes per second). Checks the
 * header's size is `size`; returns V * 1000 in *bps. 0 or CB_EXIT_ENV. */
int calib_parse_openssl_speed(const char *text, size_t len, const char *alg, uint64_t size,
                              double *bps, char *err, size_t errlen);

#endif
