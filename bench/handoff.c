/* handoff.c - see handoff.h. */
#include "handoff.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct handoff {
    handoff_mode mode;
    pthread_t thread;
    handoff_fn fn;
    void *arg;
    /* Jobs given and jobs finished: the worker runs job n when job_seq
     * reaches n; the caller's wait ends when done_seq catches up. */
    atomic_ulong job_seq, done_seq;
    atomic_int stop;
    atomic_int parked;          /* a spinning worker gave up and sleeps on job_cv */
    pthread_mutex_t mu;
    pthread_cond_t job_cv, done_cv;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* A spinning worker idle this long sleeps until the next job: a cell lives
 * for a whole run (bench/rounds.h) but is timed for milliseconds per round,
 * and a worker spinning in between would take a CPU from every other cell.
 * Inside a batch jobs follow each other far sooner. */
#define SPIN_IDLE_PARK_NS 50000000L

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Spin for the next job; after SPIN_IDLE_PARK_NS park on job_cv (the caller
 * signals a parked worker: both sides use sequentially consistent order on
 * job_seq and parked, so one of them sees the other). */
static unsigned long spin_for_job(handoff *h, unsigned long seen)
{
    unsigned long want;
    long start = now_ns();
    for (unsigned n = 1;; n++) {
        if ((want = atomic_load_explicit(&h->job_seq, memory_order_acquire)) != seen) return want;
        cpu_relax();
        if (n % 4096 == 0 && now_ns() - start > SPIN_IDLE_PARK_NS) break;
    }
    pthread_mutex_lock(&h->mu);
    atomic_store(&h->parked, 1);
    while ((want = atomic_load(&h->job_seq)) == seen) pthread_cond_wait(&h->job_cv, &h->mu);
    atomic_store(&h->parked, 0);
    pthread_mutex_unlock(&h->mu);
    return want;
}

static void *worker(void *p)
{
    handoff *h = p;
    unsigned long seen = 0;
    for (;;) {
        unsigned long want;
        if (h->mode == HANDOFF_SPIN) {
            want = spin_for_job(h, seen);
        } else {
            pthread_mutex_lock(&h->mu);
            while ((want = atomic_load_explicit(&h->job_seq, memory_order_relaxed)) == seen)
                pthread_cond_wait(&h->job_cv, &h->mu);
            pthread_mutex_unlock(&h->mu);
        }
        if (atomic_load_explicit(&h->stop, memory_order_relaxed)) return NULL;
        seen = want;
        h->fn(h->arg);
        if (h->mode == HANDOFF_SPIN) {
            atomic_store_explicit(&h->done_seq, seen, memory_order_release);
        } else {
            pthread_mutex_lock(&h->mu);
            atomic_store_explicit(&h->done_seq, seen, memory_order_relaxed);
            pthread_cond_signal(&h->done_cv);
            pthread_mutex_unlock(&h->mu);
        }
    }
}

handoff *handoff_create(handoff_mode mode, int cpu, char *err, size_t errlen)
{
    handoff *h = calloc(1, sizeof *h);
    pthread_attr_t attr;
    int rc;
    if (!h) { cb_err(err, errlen, "out of memory"); return NULL; }
    h->mode = mode;
    atomic_init(&h->job_seq, 0);
    atomic_init(&h->done_seq, 0);
    atomic_init(&h->stop, 0);
    atomic_init(&h->parked, 0);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->job_cv, NULL);
    pthread_cond_init(&h->done_cv, NULL);
    pthread_attr_init(&attr);
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        /* Set before the thread exists, so that it never runs elsewhere. */
        rc = pthread_attr_setaffinity_np(&attr, sizeof set, &set);
        if (rc != 0) {
            pthread_attr_destroy(&attr);
            cb_err(err, errlen, "cannot pin the worker thread to CPU %d: %s", cpu, strerror(rc));
            goto fail;
        }
    }
    rc = pthread_create(&h->thread, &attr, worker, h);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        cb_err(err, errlen, "cannot create the worker thread%s: %s",
               cpu >= 0 ? " (pinned)" : "", strerror(rc));
        goto fail;
    }
    return h;
fail:
    pthread_cond_destroy(&h->job_cv);
    pthread_cond_destroy(&h->done_cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
    return NULL;
}

void handoff_start(handoff *h, handoff_fn fn, void *arg)
{
    unsigned long next = atomic_load_explicit(&h->job_seq, memory_order_relaxed) + 1;
    h->fn = fn;
    h->arg = arg;
    if (h->mode == HANDOFF_SPIN) {
        atomic_store(&h->job_seq, next);
        if (atomic_load(&h->parked)) {   /* idle long enough to have gone to sleep */
            pthread_mutex_lock(&h->mu);
            pthread_cond_signal(&h->job_cv);
            pthread_mutex_unlock(&h->mu);
        }
        return;
    }
    pthread_mutex_lock(&h->mu);
    atomic_store_explicit(&h->job_seq, next, memory_order_relaxed);
    pthread_cond_signal(&h->job_cv);
    pthread_mutex_unlock(&h->mu);
}

void handoff_wait(handoff *h)
{
    unsigned long want = atomic_load_explicit(&h->job_seq, memory_order_relaxed);
    if (h->mode == HANDOFF_SPIN) {
        while (atomic_load_explicit(&h->done_seq, memory_order_acquire) != want) cpu_relax();
        return;
    }
    pthread_mutex_lock(&h->mu);
    while (atomic_load_explicit(&h->done_seq, memory_order_relaxed) != want)
        pthread_cond_wait(&h->done_cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

void handoff_destroy(handoff *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    atomic_store_explicit(&h->stop, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->job_seq, 1, memory_order_release);
    pthread_cond_signal(&h->job_cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->job_cv);
    pthread_cond_destroy(&h->done_cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

int handoff_worker_cpu(void)
{
    cpu_set_t set;
    long n = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
    int self = -1, i;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) != 1) return -1;
    for (i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set)) { self = i; break; }
    if (n < 2) return -2;
    if (conf < n) conf = n;
    /* The next CPU after ours that the kernel lets a thread run on. */
    for (i = 1; i < conf && i < CPU_SETSIZE; i++) {
        int cpu = (self + i) % (int)conf;
        char path[64];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/online", cpu);
        if (cpu == 0 || access(path, F_OK) != 0) return cpu;   /* cpu0 and non-hotpluggable CPUs have no file */
        {
            FILE *f = fopen(path, "r");
            int on = 1;
            if (f) {
                if (fscanf(f, "%d", &on) != 1) on = 1;
                fclose(f);
            }
            if (on) return cpu;
        }
    }
    return -2;
}
