/* test_memory.c - the streaming save variant and the memory count
 * (bench/streaming.h, bench/memory.h), on a multi-MB weights payload:
 *  - for every codec with streaming members whose stream equals one-shot:
 *    a streaming save and save+store cell verify (same key as an
 *    independent hash, the same stored bytes as one-shot compress), save
 *    leaves no file and save+store the stored file, and their peak_bytes
 *    stays within a few windows, while sequential's holds the whole blob;
 *  - the count against the process: peak_bytes of a sequential and of a
 *    streaming cell against the VmHWM of one iteration in a forked child;
 *  - with OUTDIR given: the blob and each codec's streamed file and key
 *    are left in OUTDIR for an independent oracle (tests/test_memory.sh
 *    checks them with /usr/bin/python3's lz4, zstandard, gzip, hashlib).
 * Not under ASan: its shadow memory would count in VmHWM.
 * Prints "PASS: ..." / "FAIL: ..." lines (tests/lib.sh); exit 1 on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cells.h"
#include "codec.h"
#include "hash.h"
#include "memory.h"
#include "payload.h"
#include "pickle.h"
#include "streaming.h"
#include "util.h"

#define SPEC "weights"                /* 8 MB of float64 */
#define MIB (1024.0 * 1024.0)
/* The count against VmHWM: within 10 % of the count, plus 256 KiB for
 * what the count leaves out (the pickler's memo, stack, stdio buffers). */
#define HWM_REL 0.10
#define HWM_ABS (256u << 10)

static int failures;

static void check(const char *what, int ok, const char *fmt, double a, double b)
{
    char detail[256];
    if (ok) {
        printf("PASS: %s\n", what);
        return;
    }
    /* fmt is always one of this file's literals */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(detail, sizeof detail, fmt, a, b);
#pragma GCC diagnostic pop
    printf("FAIL: %s: %s\n", what, detail);
    failures++;
}

/* pickle_dump_stream's pieces, gathered. */
typedef struct { uint8_t *p; size_t n, cap, max_piece; } gather;

static int gather_piece(void *arg, const uint8_t *b, size_t n)
{
    gather *g = arg;
    if (n > g->max_piece) g->max_piece = n;
    if (g->n + n > g->cap) return -1;
    memcpy(g->p + g->n, b, n);
    g->n += n;
    return 0;
}

/* The streamed pickle is pickle_dump's, byte for byte, for every payload
 * kind and protocol, its size known beforehand by pickle_size, every piece
 * at most a window. */
static void streamed_pickles(void)
{
    static const char *const specs[] = {"config", "metrics", "metrics:columns=8000", "embeddings", "weights:rows=100", "random:size=300K",
                                        "tokens:count=50000", "sparse:rows=100"};
    char err[256] = "", name[256];
    uint8_t *window = malloc(PICKLE_WINDOW_MIN);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        int status, bad = 0;
        payload *p = payload_create(specs[i], 0, &status, err, sizeof err);
        for (int proto = 2; p && window && proto <= 5; proto++) {
            pickle_options o = {proto, 1};
            err[0] = 0;
            size_t cap = pickle_bound(payload_object(p), &o);
            uint8_t *want = malloc(cap);
            gather g = {malloc(cap), 0, cap, 0};
            size_t n = want ? pickle_dump(payload_object(p), &o, want, cap, err, sizeof err) : 0;
            uint64_t size = pickle_size(payload_object(p), &o, window, PICKLE_WINDOW_MIN, err, sizeof err);
            uint64_t sent = g.p ? pickle_dump_stream(payload_object(p), &o, window, PICKLE_WINDOW_MIN, gather_piece,
                                                     &g, err, sizeof err) : 0;
            if (!n || size != n || sent != n || g.n != n || memcmp(g.p, want, n) != 0 || g.max_piece > PICKLE_WINDOW_MIN)
                bad = printf("FAIL: streamed pickle of %s, protocol %d: %zu bytes one-shot, size %llu, streamed %zu "
                             "(largest piece %zu) %s\n", specs[i], proto, n, (unsigned long long)size, g.n,
                             g.max_piece, err);
            free(want);
            free(g.p);
        }
        snprintf(name, sizeof name, "%s: pickle_dump_stream's pieces are pickle_dump's bytes, protocols 2-5", specs[i]);
        if (!p) printf("FAIL: %s: %s\n", name, err);
        else if (!bad) printf("PASS: %s\n", name);
        if (!p || bad) failures++;
        payload_free(p);
    }
    free(window);
}

/* One timed iteration and the untimed cleanup after it, as the rounds run them. */
static int one_iteration(void *arg)
{
    gb_measurement *m = arg;
    int bad = m->run(m->ctx);
    if (m->between) m->between(m->ctx);
    return bad;
}

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) return -1;
    return 0;
}

/* peak_bytes of a cell against the VmHWM of one iteration; `held` is what
 * the cell holds before the iteration (resident already, so not in VmHWM). */
static void cross_check(const char *what, cell *c, uint64_t peak, uint64_t held)
{
    char name[256];
    uint64_t hwm = 0;
    gb_measurement m = cell_measurement(c, "memory");
    snprintf(name, sizeof name, "%s: peak_bytes - held matches VmHWM of a forked iteration", what);
    if (memory_hwm_peak(one_iteration, &m, &hwm) != 0) {
        check(name, 0, "VmHWM unavailable (%g %g)", 0, 0);
        return;
    }
    double counted = (double)(peak - held), diff = counted > (double)hwm ? counted - (double)hwm : (double)hwm - counted;
    check(name, diff <= HWM_REL * counted + HWM_ABS, "counted %.0f bytes, VmHWM says %.0f", counted, (double)hwm);
    printf("  %s: counted %.2f MiB (+%.2f MiB held), VmHWM %.2f MiB\n", what, counted / MIB, held / MIB,
           hwm / MIB);
}

int main(int argc, char **argv)
{
    char err[512], dir[] = "/tmp/casbench-test_memory.XXXXXX", name[256];
    const char *outdir = argc > 1 ? argv[1] : NULL;
    streamed_pickles();
    const uint8_t *blob;
    size_t blob_len;
    uint8_t *owned = NULL;
    int status;
    const hash_desc *sha1 = hash_find("sha1", err, sizeof err);
    payload *p = payload_create(SPEC, 0, &status, err, sizeof err);
    if (!p || !sha1 || !mkdtemp(dir)) {
        printf("FAIL: setup: %s\n", err);
        return 1;
    }
    pickle_options popt = PICKLE_OPTIONS_DEFAULT;
    if (payload_blob(p, &popt, &blob, &blob_len, &owned, &status, err, sizeof err) != 0) {
        printf("FAIL: pickle: %s\n", err);
        return 1;
    }
    cell_input in = {payload_object(p), popt, blob, blob_len};
    if (outdir && write_file(outdir, "blob", blob, blob_len) != 0) {
        printf("FAIL: cannot write %s/blob\n", outdir);
        failures++;
    }
    const cell_save_variant *seq = cell_save_variant_find("sequential");
    const cell_save_variant *str = cell_save_variant_find("streaming");
    check("streaming is a save variant", str != NULL, "%g%g", 0, 0);
    if (!str) return 1;

    for (size_t i = 0; i < codec_count; i++) {
        const codec_desc *k = &codec_table[i];
        int level = k->level_default;
        uint64_t peak = UINT64_MAX;   /* streaming save's; stays so when it fails */
        if (!k->stream_begin || !codec_stream_same(k, level)) continue;
        /* save: the key and the stored bytes, no file; save+store: the file too */
        static const cell_stage stages[] = {CELL_SAVE, CELL_SAVE_STORE};
        for (size_t si = 0; si < 2; si++) {
            cell_stage stage = stages[si];
            const char *sn = stage == CELL_SAVE ? "save" : "save+store";
            cell_spec spec = {stage, str, k, level, sha1, CELL_ALLOC_FRESH, dir, 0};
            cell *c = cell_create(&spec, &in, err, sizeof err);
            int ok = c && cell_verify(c, err, sizeof err) == 0;
            snprintf(name, sizeof name, "%s:%d streaming %s: verified (key, same bytes as one-shot compress%s)",
                     k->name, level, sn, stage == CELL_SAVE ? "" : ", the file holds them");
            if (!ok) printf("FAIL: %s: %s\n", name, err), failures++;
            else printf("PASS: %s\n", name);
            if (!ok) { cell_destroy(c); continue; }
            uint64_t p1 = cell_peak_bytes(c);
            if (stage == CELL_SAVE) peak = p1;
            snprintf(name, sizeof name, "%s:%d streaming %s: peak_bytes within 4 windows on a %.0f MB blob",
                     k->name, level, sn, blob_len / 1e6);
            check(name, p1 <= 4 * STREAMING_WINDOW, "%.0f bytes, bound %.0f", (double)p1, 4.0 * STREAMING_WINDOW);
            if (strcmp(k->name, "lz4") == 0) cross_check(name, c, p1, STREAMING_WINDOW);
            /* one more save: save leaves no file, save+store its file
             * (copied for the oracle) */
            gb_measurement m = cell_measurement(c, "memory");
            char fname[64], path[4096];
            uint8_t *data = NULL;
            size_t n = 0;
            const char *key = cell_key(c);
            snprintf(path, sizeof path, "%s/%.2s/%s", dir, key, key);
            int ran = m.run(m.ctx) == 0;
            int exists = access(path, F_OK) == 0;
            snprintf(name, sizeof name, "%s:%d streaming %s: %s", k->name, level, sn,
                     stage == CELL_SAVE ? "leaves no stored file" : "leaves the stored file at <key[:2]>/<key>");
            check(name, ran && exists == (stage == CELL_SAVE_STORE), "ran %g, file exists %g", ran, exists);
            if (stage == CELL_SAVE_STORE && outdir) {
                snprintf(fname, sizeof fname, "%s.stored", k->name);
                if (!exists || cb_read_file(path, SIZE_MAX / 2, &data, &n, err, sizeof err) != 0 ||
                    write_file(outdir, fname, data, n) != 0) {
                    printf("FAIL: %s: cannot leave the stored file for the oracle\n", k->name);
                    failures++;
                }
                free(data);
                snprintf(fname, sizeof fname, "%s.key", k->name);
                write_file(outdir, fname, key, strlen(key));
            }
            if (m.between) m.between(m.ctx);
            cell_destroy(c);
        }
        if (strcmp(k->name, "lz4") == 0) {
            /* sequential beside it: the whole pickle and the whole stream */
            cell_spec sspec = {CELL_SAVE, seq, k, level, sha1, CELL_ALLOC_FRESH, dir, 0};
            cell *sc = cell_create(&sspec, &in, err, sizeof err);
            if (!sc || cell_verify(sc, err, sizeof err) != 0) {
                printf("FAIL: lz4 sequential: %s\n", err);
                failures++;
            } else {
                uint64_t speak = cell_peak_bytes(sc);
                check("lz4 sequential: peak_bytes holds the pickle and the stream (>= 2x the blob)",
                      speak >= 2 * (uint64_t)blob_len, "%.0f bytes for a %.0f-byte blob", (double)speak,
                      (double)blob_len);
                check("lz4: streaming's peak_bytes is under 5 % of sequential's", peak != UINT64_MAX && peak * 20 < speak,
                      "%.0f against %.0f", (double)peak, (double)speak);
                cross_check("lz4 sequential", sc, speak, 0);
            }
            cell_destroy(sc);
        }
    }
    rmdir(dir);
    free(owned);
    payload_free(p);
    return failures ? 1 : 0;
}
