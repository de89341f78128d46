/*
 * numpy_random.h - numpy's default_rng(seed) draw for draw.
 *
 * `npr_gen` is numpy's Generator(PCG64(SeedSequence(seed))): the same
 * 64-bit words, and from them the same doubles, integers and bytes as
 * numpy's Generator methods named below (numpy >= 1.17; checked against
 * Debian's numpy 1.24 by tests/test_numpy_rng.sh). Written from the
 * algorithms (O'Neill's PCG64 XSL-RR, numpy's SeedSequence hashing,
 * Marsaglia and Tsang's ziggurat with numpy's layer layout, Lemire's bounded
 * integers); the ziggurat tables are computed on first use (see
 * numpy_random.c for how, and the one place numpy's tables carry a rounding
 * of the machine that made them).
 *
 * A generator is a plain value: no allocation, no global state other than
 * the tables, which are computed once per process (thread-safe).
 */
#ifndef CASBENCH_NUMPY_RANDOM_H
#define CASBENCH_NUMPY_RANDOM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    unsigned __int128 state, inc;   /* the 128-bit LCG; inc is odd */
    int has_uint32;                 /* next_uint32's spare high half */
    uint32_t uinteger;
} npr_gen;

/* numpy.random.default_rng(seed) for a non-negative integer seed. */
void npr_seed(npr_gen *g, uint64_t seed);

/* bit_generator.random_raw(): the next 64-bit output. */
uint64_t npr_next_uint64(npr_gen *g);
/* The next 32-bit output: the low half of a 64-bit draw, then its high
 * half on the following call (numpy keeps the spare across all methods). */
uint32_t npr_next_uint32(npr_gen *g);
/* A double in [0, 1) from the top 53 bits of a 64-bit draw. */
double npr_next_double(npr_gen *g);

/* Generator.standard_normal() (ziggurat, 256 layers). */
double npr_standard_normal(npr_gen *g);
/* Generator.normal(loc, scale): loc + scale * standard_normal(). */
double npr_normal(npr_gen *g, double loc, double scale);
/* Generator.standard_exponential() (ziggurat, method='zig'). */
double npr_standard_exponential(npr_gen *g);
/* Generator.exponential(scale): scale * standard_exponential(). */
double npr_exponential(npr_gen *g, double scale);
/* Generator.integers(low, high) for int64 (high exclusive, low < high):
 * Lemire's method, on 32-bit draws when high - low - 1 fits in 32 bits. */
int64_t npr_integers(npr_gen *g, int64_t low, int64_t high);
/* Generator.bytes(n): ceil(n / 4) 32-bit draws, little-endian, cut to n;
 * bytes(0) draws one word, as numpy's does. */
void npr_bytes(npr_gen *g, uint8_t *dst, size_t n);

#endif
