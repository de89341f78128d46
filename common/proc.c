/* proc.c - see proc.h. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

static int is_exe(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int cb_find_exe(const char *name, char *out, size_t cap)
{
    const char *p = getenv("PATH");
    if (strchr(name, '/'))
        return is_exe(name) && snprintf(out, cap, "%s", name) < (int)cap ? 0 : -1;
    if (!p || !*p) return -1;
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        int w = snprintf(out, cap, "%.*s/%s", (int)(n ? n : 1), n ? p : ".", name);
        if (w > 0 && (size_t)w < cap && is_exe(out)) return 0;
        if (!colon) return -1;
        p = colon + 1;
    }
}

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Read fd to its end (or the deadline) into *buf. 1 when the deadline passed. */
static int drain(int fd, double deadline, size_t max, char **buf, size_t *len, size_t *cap)
{
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int wait_ms = -1;
        if (deadline > 0) {
            double left = deadline - mono_s();
            if (left <= 0) return 1;
            wait_ms = (int)(left * 1000) + 1;
        }
        int r = poll(&p, 1, wait_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return 0;
        if (r == 0) continue;
        char tmp[4096];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;
        size_t take = (size_t)n;
        if (max && *len + take > max) take = *len < max ? max - *len : 0;
        if (*len + take + 1 > *cap) {
            size_t ncap = *cap ? *cap * 2 : 16384;
            while (ncap < *len + take + 1) ncap *= 2;
            char *nb = realloc(*buf, ncap);
            if (!nb) return 0;
            *buf = nb;
            *cap = ncap;
        }
        memcpy(*buf + *len, tmp, take);
        *len += take;
    }
}

int cb_run(char *const argv[], const cb_run_opts *opts, char **out, size_t *outlen,
           cb_run_result *res, char *err, size_t errlen)
{
    static const cb_run_opts none = {0, 0};
    cb_run_result r = {-1, 0, 0, 0, 0};
    int fds[2], status = 0;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    size_t len = 0, cap = 0;
    struct rusage ru;

    if (!opts) opts = &none;
    *out = NULL;
    *outlen = 0;
    if (res) *res = r;
    if (pipe2(fds, O_CLOEXEC) != 0) return cb_err(err, errlen, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    fflush(NULL);
    /* glibc's posix_spawnp reports a failed exec as its return value. */
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (e != 0) {
        close(fds[0]);
        *out = calloc(1, 1);
        if (e == ENOENT) return cb_err(err, errlen, "not found on PATH");
        return cb_err(err, errlen, "cannot run: %s", strerror(e));
    }
    double start = mono_s();
    r.timed_out = drain(fds[0], opts->timeout_s > 0 ? start + opts->timeout_s : 0, opts->max_output,
                        out, &len, &cap);
    close(fds[0]);
    if (r.timed_out) kill(pid, SIGKILL);
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {}
    r.wall_s = mono_s() - start;
    r.cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    if (WIFEXITED(status)) r.status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    if (res) *res = r;
    if (!*out) *out = malloc(1);
    if (!*out) return cb_err(err, errlen, "out of memory");
    (*out)[len] = 0;
    *outlen = len;
    if (r.timed_out) return cb_err(err, errlen, "did not finish in %.0f s (killed)", opts->timeout_s);
    if (r.signal) return cb_err(err, errlen, "killed by signal %d", r.signal);
    if (r.status != 0) return cb_err(err, errlen, "exited with status %d", r.status);
    return 0;
}
