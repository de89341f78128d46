/* test_handoff.c - bench/handoff.c under ThreadSanitizer (built by
 * tests/test_fastsave.sh with -fsanitize=thread): every job sees what the
 * caller wrote before handoff_start, and the caller sees everything the job
 * wrote after handoff_wait, in both hand-off modes, with plain (non-atomic)
 * memory on both sides - a missing happens-before edge is a TSan report.
 * Prints "ok MODE JOBS" per mode; exits 1 on a wrong value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff.h"

#define JOBS 20000
#define WORDS 64

typedef struct {
    uint64_t in[WORDS];   /* written by the caller, read by the job */
    uint64_t out[WORDS];  /* written by the job, read by the caller */
    uint64_t calls;       /* plain counter, only the job touches it */
} job;

static void work(void *p)
{
    job *j = p;
    for (int i = 0; i < WORDS; i++) j->out[i] = j->in[i] * 3 + 1;
    j->calls++;
}

static int run(handoff_mode mode, int cpu)
{
    char err[256];
    job *j = calloc(1, sizeof *j);
    handoff *h = handoff_create(mode, cpu, err, sizeof err);
    if (!h || !j) {
        fprintf(stderr, "test_handoff: %s\n", h ? "out of memory" : err);
        return 1;
    }
    for (uint64_t n = 1; n <= JOBS; n++) {
        for (int i = 0; i < WORDS; i++) j->in[i] = n * 1000 + (uint64_t)i;
        handoff_start(h, work, j);
        handoff_wait(h);
        for (int i = 0; i < WORDS; i++)
            if (j->out[i] != j->in[i] * 3 + 1) {
                fprintf(stderr, "test_handoff: job %llu word %d: %llu\n", (unsigned long long)n, i,
                        (unsigned long long)j->out[i]);
                return 1;
            }
        if (j->calls != n) {
            fprintf(stderr, "test_handoff: %llu calls after job %llu\n", (unsigned long long)j->calls,
                    (unsigned long long)n);
            return 1;
        }
    }
    handoff_destroy(h);
    printf("ok %s%s %d\n", mode == HANDOFF_SPIN ? "spin" : "condvar", cpu >= 0 ? " pinned" : "", JOBS);
    free(j);
    return 0;
}

int main(void)
{
    int rc = run(HANDOFF_CONDVAR, -1) | run(HANDOFF_SPIN, -1);
    /* Pinned to a CPU other than the caller's, as run --cpu N does. */
    rc |= run(HANDOFF_CONDVAR, 0) | run(HANDOFF_SPIN, 0);
    /* A job-free create/destroy must not hang or race either. */
    for (int i = 0; i < 50; i++) {
        char err[256];
        handoff *h = handoff_create(i % 2 ? HANDOFF_SPIN : HANDOFF_CONDVAR, -1, err, sizeof err);
        if (!h) { fprintf(stderr, "test_handoff: %s\n", err); return 1; }
        handoff_destroy(h);
    }
    printf("ok create-destroy 50\n");
    return rc;
}
