/* plots.c - gnuplot: finding it and its scripts, running the queued jobs,
 * and keeping plots/ free of files an earlier report left (plots.h). */
#include "plots.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The path of an executable named `name` (a path when it holds a '/'),
 * searched in PATH. Malloc'd, or NULL. */
char *plots_find_exe(const char *name)
{
    const char *path = getenv("PATH"), *p;
    if (strchr(name, '/')) return access(name, X_OK) == 0 ? strdup(name) : NULL;
    if (!path) return NULL;
    for (p = path;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        char *cand = rpt_asprintf("%.*s/%s", (int)len, len ? p : ".", name);
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) return cand;
        free(cand);
        if (!colon) return NULL;
        p = colon + 1;
    }
}

const char *report_find_scripts(void)
{
    static char found[2 * PATH_MAX + 64];
    char exe[PATH_MAX], *slash;
    const char *env = getenv("CASBENCH_PLOTS_DIR");
    static const char *const rel[] = {"/../plots", "/../../plots", "/../share/casbench/plots"};
    ssize_t n;
    size_t i;
    struct stat st;
#define HAS_SCRIPTS(d) (snprintf(found, sizeof found, "%s/stages.gp", (d)) < (int)sizeof found && \
                        stat(found, &st) == 0)
    if (env && *env) {
        if (!HAS_SCRIPTS(env)) return NULL;
        snprintf(found, sizeof found, "%s", env);
        return found;
    }
    if (HAS_SCRIPTS("plots")) { snprintf(found, sizeof found, "plots"); return found; }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    if (!(slash = strrchr(exe, '/'))) return NULL;
    *slash = 0;
    for (i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char dir[PATH_MAX + 32];
        snprintf(dir, sizeof dir, "%s%s", exe, rel[i]);
        if (HAS_SCRIPTS(dir)) { snprintf(found, sizeof found, "%s", dir); return found; }
    }
#undef HAS_SCRIPTS
    return NULL;
}

/* Run `gnuplot -e EXPR SCRIPT`; its output is kept for the error message. */
static int run_gnuplot(const char *gnuplot, const char *script, const char *expr,
                       char *err, size_t errlen)
{
    int fds[2], status;
    pid_t pid;
    char out[4096];
    size_t n = 0;
    if (pipe(fds) != 0) return cb_err(err, errlen, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return cb_err(err, errlen, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execl(gnuplot, "gnuplot", "-e", expr, script, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        char tmp[1024];
        ssize_t r = read(fds[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (n < sizeof out - 1) {
            size_t take = (size_t)r < sizeof out - 1 - n ? (size_t)r : sizeof out - 1 - n;
            memcpy(out + n, tmp, take);
            n += take;
        }
    }
    close(fds[0]);
    out[n] = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return cb_err(err, errlen, "waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char line[512] = "";
        const char *p = out;
        /* gnuplot's message: its last line with text on it. */
        while (*p) {
            const char *nl = strchr(p, '\n'), *q = p;
            size_t l = nl ? (size_t)(nl - p) : strlen(p);
            while (q < p + l && (*q == ' ' || *q == '\t')) q++;
            if (q < p + l) {
                size_t m = (size_t)(p + l - q) < sizeof line - 1 ? (size_t)(p + l - q) : sizeof line - 1;
                memcpy(line, q, m);
                line[m] = 0;
            }
            p += l + (nl != NULL);
        }
        return cb_err(err, errlen, "%s: gnuplot failed (%s %d): %s", script,
                      WIFEXITED(status) ? "exit" : "signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), line);
    }
    return 0;
}


int plots_run(const char *gnuplot, const char *scripts, const plot_job *jobs, size_t njobs,
              strlist *written, char *err, size_t errlen)
{
    size_t i;
    for (i = 0; i < njobs; i++) {
        char *script = rpt_asprintf("%s/%s", scripts, jobs[i].script);
        char *qo = rpt_gq(jobs[i].out), *qs = rpt_gq(scripts);
        /* loadpath: the scripts `load "common.gp"` from their own directory. */
        char *expr = rpt_asprintf("set loadpath %s; %s; out=%s", qs, jobs[i].expr, qo);
        int r = run_gnuplot(gnuplot, script, expr, err, errlen);
        size_t k;
        free(qs);
        free(qo);
        free(expr);
        free(script);
        for (k = 0; k < 2 && r == 0; k++) {
            static const char *const ext[] = {"png", "svg"};
            char *tmp = rpt_asprintf("%s.%s.tmp", jobs[i].out, ext[k]);
            char *fin = rpt_asprintf("%s.%s", jobs[i].out, ext[k]);
            if (rename(tmp, fin) != 0) {
                cb_err(err, errlen, "%s: %s", tmp, strerror(errno));
                r = -1;
            }
            rpt_sl_add(written, strrchr(fin, '/') + 1);
            free(tmp);
            free(fin);
        }
        if (r != 0) return -1;
    }
    return 0;
}

void plots_remove_stale(const char *plots_dir, const strlist *written)
{
    DIR *d = opendir(plots_dir);
    struct dirent *e;
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        if (!dot || (strcmp(dot, ".tsv") && strcmp(dot, ".png") && strcmp(dot, ".svg"))) continue;
        if (rpt_sl_has(written, e->d_name)) continue;
        {
            char *path = rpt_asprintf("%s/%s", plots_dir, e->d_name);
            unlink(path);
            free(path);
        }
    }
    closedir(d);
}
