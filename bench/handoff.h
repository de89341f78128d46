/*
 * handoff.h - one persistent worker thread that runs a job on request, for
 * the `overlapped` save variant (hash on one core while the caller
 * compresses on the other).
 *
 * The thread is created once, outside any timed region, and then handed one
 * job at a time: handoff_start() gives it fn(arg) and returns at once;
 * handoff_wait() returns when fn has returned. Two hand-off mechanisms, so
 * that their cost can be measured against each other:
 *  - HANDOFF_CONDVAR: a mutex and two condition variables; an idle worker
 *    sleeps in the kernel (costs a futex wake-up per job, burns no CPU).
 *  - HANDOFF_SPIN: sequence numbers in atomics; the idle worker and the
 *    waiting caller spin (with the CPU's pause hint). No system call per
 *    job while jobs keep coming, but the worker keeps one CPU busy while it
 *    waits: only sensible when a second CPU is free. After 50 ms without a
 *    job it sleeps on the condition variable (the next start wakes it, once)
 *    so that a handoff kept for a whole run (rounds.h) does not take a CPU
 *    from everything else between its batches.
 * Everything fn writes is visible to the caller after handoff_wait returns,
 * and everything the caller wrote before handoff_start is visible to fn
 * (release/acquire in both mechanisms).
 *
 * Rules a caller MUST follow:
 *  - start and wait alternate strictly: start, wait, start, wait, ...; one
 *    caller thread.
 *  - fn MUST NOT call back into the handoff.
 *  - handoff_destroy only when no job is outstanding (after wait).
 */
#ifndef CASBENCH_HANDOFF_H
#define CASBENCH_HANDOFF_H

#include <stddef.h>

typedef enum { HANDOFF_CONDVAR, HANDOFF_SPIN } handoff_mode;

typedef struct handoff handoff;
typedef void (*handoff_fn)(void *arg);

/* Start the worker. cpu >= 0 pins the worker to that logical CPU
 * (pthread_setaffinity_np); -1 leaves it with the caller's affinity mask.
 * NULL with a one-line message in err when the thread, its memory or the
 * pinning cannot be had. */
handoff *handoff_create(handoff_mode mode, int cpu, char *err, size_t errlen);

/* Give the worker fn(arg); returns without waiting for it. */
void handoff_start(handoff *h, handoff_fn fn, void *arg);

/* Wait until the job given by the last handoff_start has returned. */
void handoff_wait(handoff *h);

/* Stop and join the worker. Accepts NULL. */
void handoff_destroy(handoff *h);

/* The CPU an overlapped worker should use when the calling thread is pinned
 * to exactly one CPU (casbench run --cpu N): the next online CPU after N
 * (wrapping), so that the two threads never share one CPU. -1 when the
 * caller is not pinned to a single CPU (the worker then inherits the
 * caller's mask and the scheduler places both), -2 when the machine has no
 * second online CPU. */
int handoff_worker_cpu(void);

#endif
