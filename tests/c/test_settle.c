/* test_settle.c - a cpython cell's settle (bench/cells_cpython.c py_settle)
 * takes the free memory below the heap's break, so that the cell meets the
 * same heap whatever ran before it. On the weights payload, with a
 * cpython save cell (lz4:0, sha1, sequential):
 *  - a hole left below the break before a batch (chunks freed under a chunk
 *    that stays, the fence) serves no request of the batch: after the
 *    settle a request that fits the hole is served above the fence
 *    (without the plug, glibc's best fit takes the hole);
 *  - the cell's minor faults per iteration are the same with that hole
 *    as without it (within a few faults).
 * Not under ASan: its malloc is not glibc's, and py_settle models glibc.
 * Prints "PASS: ..." / "FAIL: ..." lines (tests/lib.sh); exit 1 on failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cells.h"
#include "codec.h"
#include "hash.h"
#include "payload.h"
#include "pickle.h"
#include "util.h"

#define HOLE_PIECES 8                 /* of 1 MiB: a hole of 8 MiB */
#define PIECE ((size_t)1 << 20)
#define ITERS 4
#define SAME_FAULTS 8                 /* per iteration, hole or not */

static int failures;

static void check(const char *what, int ok, const char *detail)
{
    printf("%s: %s%s%s\n", ok ? "PASS" : "FAIL", what, ok ? "" : ": ", ok ? "" : detail);
    if (!ok) failures++;
}

static long minflt(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : 0;
}

/* One batch as the shim runs it: the settle, then ITERS timed iterations;
 * their faults per iteration, or -1 when an iteration failed. */
static double batch_faults(const gb_measurement *m)
{
    int bad = 0;
    if (m->prepare) m->prepare(m->ctx);
    long f0 = minflt();
    for (int i = 0; i < ITERS; i++) {
        bad |= m->run(m->ctx);
        if (m->between) m->between(m->ctx);
    }
    return bad ? -1 : (double)(minflt() - f0) / ITERS;
}

int main(void)
{
    char err[512], detail[256];
    const uint8_t *blob;
    size_t blob_len;
    uint8_t *owned = NULL;
    int status, level;
    const hash_desc *sha1 = hash_find("sha1", err, sizeof err);
    const codec_desc *lz4 = codec_find("lz4:0", &level, err, sizeof err);
    payload *p = payload_create("weights", 0, &status, err, sizeof err);
    pickle_options popt = PICKLE_OPTIONS_DEFAULT;
    if (!sha1 || !lz4 || !p || payload_blob(p, &popt, &blob, &blob_len, &owned, &status, err, sizeof err) != 0) {
        printf("FAIL: setup: %s\n", err);
        return 1;
    }
    cell_input in = {payload_object(p), popt, blob, blob_len};
    cell_spec spec = {CELL_SAVE, cell_save_variant_find("sequential"), lz4, level, sha1, CELL_ALLOC_CPYTHON, NULL, 0};
    cell *c = cell_create(&spec, &in, err, sizeof err);
    if (!c || cell_verify(c, err, sizeof err) != 0) {
        printf("FAIL: weights save lz4:0 sha1 cpython: %s\n", err);
        return 1;
    }
    gb_measurement m = cell_measurement(c, "settle");
    check("a cpython cell settles before each batch", m.prepare != NULL, "no prepare step");
    (void)batch_faults(&m);              /* the first settle measures the call */
    double clean = batch_faults(&m);

    /* The hole: pieces under the mmap threshold the batch left (the
     * pickle's, some 8 MB), a fence above them, the pieces freed. */
    uint8_t *piece[HOLE_PIECES], *fence;
    for (int i = 0; i < HOLE_PIECES; i++) piece[i] = cb_xmalloc(PIECE);
    fence = cb_xmalloc(4096);
    /* Not vacuous: the pieces came from the heap below the fence (at a
     * modelled threshold under their size they would be mapped, no hole). */
    snprintf(detail, sizeof detail, "first piece at %p, last at %p, fence at %p", (void *)piece[0],
             (void *)piece[HOLE_PIECES - 1], (void *)fence);
    check("the hole's pieces lie in the heap below the fence", piece[0] < fence && piece[HOLE_PIECES - 1] < fence,
          detail);
    for (int i = 0; i < HOLE_PIECES; i++) free(piece[i]);

    double holed = batch_faults(&m);
    uint8_t *probe = cb_xmalloc(PIECE);
    /* The fence stays, so the trimmed break is above it and so is all the
     * settle leaves free; the pieces lay below it. */
    snprintf(detail, sizeof detail, "a 1 MiB request served at %p, below the fence at %p", (void *)probe,
             (void *)fence);
    check("after the settle, a hole left below the break serves no request", probe > fence, detail);
    free(probe);
    snprintf(detail, sizeof detail, "%.1f faults per iteration without the hole, %.1f with it", clean, holed);
    check("the cell faults alike with and without a hole below the break",
          clean >= 0 && holed >= 0 && clean - holed <= SAME_FAULTS && holed - clean <= SAME_FAULTS, detail);
    snprintf(detail, sizeof detail, "%.1f faults per iteration for a %zu-byte pickle", clean, blob_len);
    check("the save faults in its pickle's pages every iteration (the pickler's growth is mapped)",
          clean >= 0.9 * (double)blob_len / 4096, detail);

    free(fence);
    cell_destroy(c);
    free(owned);
    payload_free(p);
    return failures ? 1 : 0;
}
