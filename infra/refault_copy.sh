#!/bin/sh
# refault_copy.sh - why the copy-bound cpython cells were slower than CPython:
# an 8 MB malloc + memcpy + free (what memoryview(blob).tobytes() does), timed
# in batches of 3 after W untimed ones, the heap pages either kept between
# batches (a CPython process) or trimmed (malloc_trim(0)) and faulted in again
# before each batch (casbench's py_settle before 2026-12-02). Beside it, the
# same call in /usr/bin/python3. Prints medians over 200 batches per mode,
# the two modes interleaved. No arguments; takes about 10 s. A finding, not a
# test: the figures depend on the machine (see infra/README.md).
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/refault.c" <<'C'
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
enum { BATCHES = 200, ITERS = 3 };
static size_t n = 8000178;            /* the weights pickle and its bytes header */
static unsigned char *src;
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
static void call(void)
{
    unsigned char *d = malloc(n);
    memcpy(d, src, n);
    __asm__ volatile("" : : "r"(d) : "memory");
    free(d);
}
static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
int main(int argc, char **argv)
{
    int warm = argc > 1 ? atoi(argv[1]) : 1;
    static double t[2][BATCHES];
    void *pin = NULL;
    src = malloc(n);
    for (size_t i = 0; i < n; i++) src[i] = (unsigned char)(i * 7);
    /* CPython's dynamic threshold after it freed the 8 MB blob once */
    mallopt(M_MMAP_THRESHOLD, 8 << 20 | 65536);
    mallopt(M_TRIM_THRESHOLD, 2 * (8 << 20 | 65536));
    for (int r = 0; r < 2 * BATCHES; r++) {
        int trim = r & 1;
        free(pin);
        if (trim) malloc_trim(0);
        unsigned char *d = malloc(n);
        pin = malloc(65536);          /* the objects above the hole */
        free(d);
        for (int w = 0; w < warm; w++) call();
        double t0 = now();
        for (int i = 0; i < ITERS; i++) call();
        t[trim][r / 2] = (now() - t0) / ITERS;
    }
    for (int m = 0; m < 2; m++) {
        qsort(t[m], BATCHES, sizeof t[m][0], cmp);
        printf("C  %-26s warm %2d: median %.3f ms  min %.3f ms\n", m ? "pages trimmed each batch," : "pages kept,", warm,
               t[m][BATCHES / 2] * 1e3, t[m][0] * 1e3);
    }
    return 0;
}
C
cc -O2 -o "$dir/refault" "$dir/refault.c"
for w in 1 5 20; do "$dir/refault" $w; done
/usr/bin/python3 - <<'PY'
import statistics, time
b = bytes(range(256)) * (8000178 // 256)
t = []
for _ in range(200):
    t0 = time.perf_counter()
    for _ in range(3):
        memoryview(b).tobytes()
    t.append((time.perf_counter() - t0) / 3)
print("CPython memoryview(b).tobytes(), %d bytes: median %.3f ms  min %.3f ms"
      % (len(b), statistics.median(t) * 1e3, min(t) * 1e3))
PY
