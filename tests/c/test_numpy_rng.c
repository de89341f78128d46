/* test_numpy_rng.c - dump payloads/numpy_random.c's draws for comparison with
 * numpy (tests/numpy_rng_oracle.py prints the same lines from numpy itself):
 *
 *   test_numpy_rng SEED[,SEED...] CMD...
 *
 * For each seed: a line "seed S", then for a fresh default_rng(S) the draws
 * of each CMD in order, one value a line, on one generator (so the spare
 * 32-bit half and every method's consumption carry over as in numpy):
 *   u64:N           random_raw: decimal          u32:N   next_uint32: decimal
 *   double:N        random(): IEEE bits, hex     snormal:N  standard_normal()
 *   normal:N:L:S    normal(L, S)                 exp:N:S    exponential(S)
 *   int:N:LOW:HIGH  integers(LOW, HIGH) int64    bytes:N    bytes(N): one hex line
 * Exit 1 with a one-line message on a malformed argument. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numpy_random.h"

static void print_double(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    printf("%016" PRIx64 "\n", bits);
}

static int run(npr_gen *g, const char *cmd)
{
    char kind[16];
    unsigned long long n = 0;
    double a = 0, b = 0;
    long long lo = 0, hi = 0;
    int k = 0;
    if (sscanf(cmd, "%15[a-z0-9]:%llu%n", kind, &n, &k) < 2) return -1;
    const char *rest = cmd + k;
    if (!strcmp(kind, "normal") && sscanf(rest, ":%lf:%lf", &a, &b) != 2) return -1;
    if (!strcmp(kind, "exp") && sscanf(rest, ":%lf", &a) != 1) return -1;
    if (!strcmp(kind, "int") && (sscanf(rest, ":%lld:%lld", &lo, &hi) != 2 || lo >= hi)) return -1;
    if (!strcmp(kind, "bytes")) {
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf) return -1;
        npr_bytes(g, buf, n);
        for (size_t i = 0; i < n; i++) printf("%02x", buf[i]);
        printf("\n");
        free(buf);
        return 0;
    }
    for (unsigned long long i = 0; i < n; i++) {
        if (!strcmp(kind, "u64")) printf("%" PRIu64 "\n", npr_next_uint64(g));
        else if (!strcmp(kind, "u32")) printf("%" PRIu32 "\n", npr_next_uint32(g));
        else if (!strcmp(kind, "double")) print_double(npr_next_double(g));
        else if (!strcmp(kind, "snormal")) print_double(npr_standard_normal(g));
        else if (!strcmp(kind, "normal")) print_double(npr_normal(g, a, b));
        else if (!strcmp(kind, "exp")) print_double(npr_exponential(g, a));
        else if (!strcmp(kind, "int")) printf("%" PRId64 "\n", npr_integers(g, lo, hi));
        else return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "test_numpy_rng: usage: test_numpy_rng SEED[,SEED...] CMD...\n");
        return 1;
    }
    char *seeds = strdup(argv[1]);
    for (char *save = NULL, *s = strtok_r(seeds, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        char *end;
        uint64_t seed = strtoull(s, &end, 10);
        if (*end || *s == '-') {
            fprintf(stderr, "test_numpy_rng: bad seed '%s'\n", s);
            return 1;
        }
        npr_gen g;
        npr_seed(&g, seed);
        printf("seed %" PRIu64 "\n", seed);
        for (int i = 2; i < argc; i++)
            if (run(&g, argv[i])) {
                fprintf(stderr, "test_numpy_rng: bad command '%s'\n", argv[i]);
                return 1;
            }
    }
    free(seeds);
    return 0;
}
