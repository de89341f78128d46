/* memory.c - see memory.h. */
#include "memory.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static struct { int on; uint64_t live, peak; } count;

void memory_count_begin(uint64_t held)
{
    count.on = 1;
    count.live = count.peak = held;
}

void memory_count_add(uint64_t n)
{
    if (!count.on) return;
    count.live += n;
    if (count.live > count.peak) count.peak = count.live;
}

void memory_count_sub(uint64_t n)
{
    if (!count.on) return;
    count.live = n > count.live ? 0 : count.live - n;
}

uint64_t memory_count_end(void)
{
    count.on = 0;
    return count.peak;
}

/* A "Vm...:   N kB" line of /proc/self/status, in bytes; 0 when missing. */
static uint64_t status_kb(const char *key)
{
    char line[256];
    unsigned long long kb = 0;
    size_t k = strlen(key);
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0 && line[k] == ':') {
            sscanf(line + k + 1, "%llu", &kb);
            break;
        }
    fclose(f);
    return (uint64_t)kb * 1024;
}

static int reset_hwm(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    int ok = fd >= 0 && write(fd, "5", 1) == 1;
    if (fd >= 0) close(fd);
    return ok ? 0 : -1;
}

int memory_hwm_peak(int (*fn)(void *arg), void *arg, uint64_t *peak)
{
    return memory_hwm_peak_after(NULL, fn, arg, peak);
}

int memory_hwm_peak_after(int (*prep)(void *arg), int (*fn)(void *arg), void *arg, uint64_t *peak)
{
    int fds[2], status;
    uint64_t v = 0;
    pid_t pid;
    if (pipe(fds) != 0) return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        uint64_t before, out = UINT64_MAX;
        close(fds[0]);
        /* A first call maps in the code and data pages that a fork does not
         * copy (file-backed: the child faults them in on use); only the
         * second call's pages are the call's. */
        if ((!prep || prep(arg) == 0) && fn(arg) == 0 && (!prep || prep(arg) == 0) &&
            (malloc_trim(0), reset_hwm() == 0)) {
            before = status_kb("VmRSS");
            if (fn(arg) == 0) {
                uint64_t hwm = status_kb("VmHWM");
                out = hwm > before ? hwm - before : 0;
            }
        }
        if (write(fds[1], &out, sizeof out) != (ssize_t)sizeof out) _exit(1);
        _exit(0);
    }
    close(fds[1]);
    ssize_t r = read(fds[0], &v, sizeof v);
    close(fds[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    if (r != (ssize_t)sizeof v || v == UINT64_MAX) return -1;
    *peak = v;
    return 0;
}
