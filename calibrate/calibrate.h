/*
 * calibrate.h - what `casbench calibrate` needs besides the cells: running
 * the libraries' own benchmark tools, reading their output, and the two
 * measurements the matrix has no cell for (memcpy, EVP_Digest per block).
 * The LZ4 block codec lz4 -b is compared with is codecs/codec_lz4block.h.
 *
 * Units: every throughput returned here is in bytes per second. The tools
 * print "MB/s" with different MBs: lz4 -b and zstd -b divide by 10^6,
 * xxhsum -b by 2^20 (its it/s figure times the sample size is exact, so
 * that is what is used), openssl speed prints 1000s of bytes per second.
 *
 * All functions report errors in a caller's buffer (cb_err); none exits.
 */
#ifndef CASBENCH_CALIBRATE_H
#define CASBENCH_CALIBRATE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "gbench.h"

/* ---- running a tool ---------------------------------------------------- */

/* Run argv[0] (looked up on PATH) with argv, standard input /dev/null and
 * standard output and error both captured into one malloc'd, NUL-terminated
 * buffer (*out, length *outlen; the caller frees it). The tool is killed
 * when it runs longer than timeout_s seconds.
 * Returns 0 when the tool ran and exited 0; otherwise -1 with a message in
 * err that starts with the problem (never the tool's name: the caller adds
 * it): "not found on PATH", "exited with status N", "killed by signal N",
 * "did not finish in N s". *out is NULL on failure, except after a non-zero
 * exit, when it holds what the tool printed (for the message). */
int calib_run_tool(char *const argv[], double timeout_s, char **out, size_t *outlen,
                   char *err, size_t errlen);

/* The share of one CPU the last tool run by calib_run_tool had: its CPU
 * time (user + system, from wait4) over its wall time; NAN before any run.
 * Below 1, other processes took the CPU from a tool that times itself in
 * wall time. */
double calib_last_tool_cpu_share(void);
/* Its CPU time in seconds (user + system); NAN before any run. */
double calib_last_tool_cpu_s(void);

/* ---- parsers ------------------------------------------------------------ */

/* lz4 -b / zstd -b output: progress segments separated by carriage
 * returns, each "<mark>-<name> : <size> -> <csize> (<ratio>), <C> MB/s,
 * <D> MB/s" (lz4 writes "(0.996),", zstd "(x1.047),"), ending with a
 * "<level>#" segment. Reads the last segment with both speeds that precedes
 * the end marker; C and D are the tools' best compression and
 * decompression speeds in 10^6 bytes per second (both tools divide by
 * 10^6). *size and *csize receive the input and compressed sizes the
 * tool reports.
 * Returns 0, or -1 with what is missing in err. */
int calib_parse_codec_bench(const char *text, size_t len, uint64_t *size, uint64_t *csize,
                            double *compress_bps, double *decompress_bps,
                            char *err, size_t errlen);

/* xxhsum -b output: one final line per algorithm,
 * "<id>#<name> : <size> -> <N> it/s (<X> MB/s)". Finds the line of `id`,
 * checks its name is `name` (xxhsum 0.8's numbering: 3 XXH64, 5 XXH3_64b,
 * 11 XXH128), and returns the sample size and N * size bytes per second.
 * Returns 0 or -1 with a message. */
int calib_parse_xxhsum_bench(const char *text, size_t len, int id, const char *name,
                             uint64_t *size, double *bps, char *err, size_t errlen);

/* openssl speed -evp ALG -bytes SIZE output: a "type <SIZE> bytes" header
 * and a row "<alg> <V>k" (V in 1000s of bytes per second). Checks the
 * header's size is `size`; returns V * 1000 in *bps. 0 or -1. */
int calib_parse_openssl_speed(const char *text, size_t len, const char *alg, uint64_t size,
                              double *bps, char *err, size_t errlen);

/* ---- which library a tool runs ---------------------------------------------- */

/* Does the ELF executable at `path` load a shared library whose name starts
 * with `soname_prefix` (a DT_NEEDED entry, e.g. "libzstd.so")? 1 yes, 0 no
 * (the tool carries its own, statically linked copy), -1 when the file is
 * not a 64-bit little-endian ELF file calibrate can read. */
int calib_elf_needs(const char *path, const char *soname_prefix);

/* ---- measurements the matrix has no cell for ------------------------------ */

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

#endif
