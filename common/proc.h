/*
 * proc.h - other programs: the one PATH lookup and the one subprocess runner
 * of casbench (gnuplot for report's plots, the reference tools of calibrate).
 */
#ifndef CASBENCH_PROC_H
#define CASBENCH_PROC_H

#include <stddef.h>

/* The path of the executable `name`: name itself when it holds a '/', else
 * the first directory of $PATH (an empty entry is ".") holding a regular,
 * executable file of that name. 0 with the path in out, or -1 (not found,
 * no PATH, or the path does not fit cap). */
int cb_find_exe(const char *name, char *out, size_t cap);

typedef struct {
    double timeout_s;      /* > 0: the program is killed (SIGKILL) after this long */
    size_t max_output;     /* > 0: output beyond this many bytes is read and dropped */
} cb_run_opts;

typedef struct {
    int status;            /* exit status, or -1 when killed by a signal */
    int signal;            /* the signal that ended it, or 0 */
    int timed_out;         /* killed for exceeding timeout_s */
    double wall_s, cpu_s;  /* elapsed time; user + system CPU time of the program */
} cb_run_result;

/* Run argv[0] (found by PATH as execvp does) with argv, stdin from
 * /dev/null, stdout and stderr together into one buffer. Waits for it,
 * retrying on EINTR; the caller's signal handlers are left alone.
 * *out (malloc'd, NUL-terminated, *outlen bytes without the NUL) holds what
 * it printed, also on failure; the caller frees it (NULL only when out of
 * memory). res may be NULL. Returns 0 when the program ran and exited with
 * status 0; else -1 with err: "not found on PATH", "cannot run: <why>",
 * "did not finish in N s (killed)", "killed by signal N", "exited with
 * status N". */
int cb_run(char *const argv[], const cb_run_opts *opts, char **out, size_t *outlen,
           cb_run_result *res, char *err, size_t errlen);

#endif
