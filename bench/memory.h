/*
 * memory.h - what a cell's path holds in memory: a count of live bytes
 * through the cell's own allocation functions, and the process's resident
 * high-water mark to check it against.
 *
 * The count: between memory_count_begin() and memory_count_end(), every
 * allocation and mapping a cell makes for its outputs (cells.c's fresh
 * outputs, the cpython mode's allocations) reports itself with
 * memory_count_add/sub, with the bytes
 * written into it (what becomes resident; the cpython mode's buffers that are
 * allocated ahead of their contents count what is written); the peak of the
 * running total is the cell's `peak_bytes` (matrix.tsv). Buffers the cell
 * holds across iterations (reuse mode, the streaming window and output
 * ring) are `held`:
 * counted from the start. Library contexts (codec and hash states, made once
 * per cell) and the input object are not counted. One counter per process,
 * not thread-safe: only the calling thread of a cell allocates outputs.
 *
 * The high-water mark (Linux): memory_hwm_peak() runs a function once in a
 * forked child whose VmHWM is reset (5 written to /proc/self/clear_refs)
 * and reports VmHWM minus the VmRSS before the call: every page the call
 * made resident at once, whoever allocated it.
 */
#ifndef CASBENCH_MEMORY_H
#define CASBENCH_MEMORY_H

#include <stdint.h>

/* Start counting, with `held` bytes live already. */
void memory_count_begin(uint64_t held);
/* Bytes allocated / freed by the path; nothing outside begin..end. */
void memory_count_add(uint64_t n);
void memory_count_sub(uint64_t n);
/* Stop counting; the peak of live bytes since begin. */
uint64_t memory_count_end(void);

/* Runs fn(arg) twice in a forked child and stores in *peak the child's
 * VmHWM during the second call minus its VmRSS before it (bytes); the
 * first call faults in the code and data pages a fork leaves unmapped.
 * fn MUST NOT need another thread (a child has only the calling one).
 * 0, or -1 when fork, /proc or a call failed (fn returns non-zero). */
int memory_hwm_peak(int (*fn)(void *arg), void *arg, uint64_t *peak);

/* The same with prep(arg) run before each call of fn, outside what is
 * measured (the stored file a load reads); prep may be NULL. Between the
 * calls, glibc's free heap memory goes back to the kernel (malloc_trim),
 * so that what the measured call allocates are new pages. */
int memory_hwm_peak_after(int (*prep)(void *arg), int (*fn)(void *arg), void *arg, uint64_t *peak);

#endif
