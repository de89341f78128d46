/* plots.c - gnuplot: finding it and its scripts, running the queued jobs,
 * and keeping plots/ free of files an earlier report left (plots.h). */
#include "plots.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

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

/* gnuplot's message: the last line of its output with text on it. */
static void last_line(const char *out, char *line, size_t cap)
{
    const char *p = out;
    line[0] = 0;
    while (*p) {
        const char *nl = strchr(p, '\n'), *q = p;
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        while (q < p + l && (*q == ' ' || *q == '\t')) q++;
        if (q < p + l) {
            size_t m = (size_t)(p + l - q) < cap - 1 ? (size_t)(p + l - q) : cap - 1;
            memcpy(line, q, m);
            line[m] = 0;
        }
        p += l + (nl != NULL);
    }
}

/* Run `gnuplot -e EXPR SCRIPT`; its output is kept for the error message. */
static int run_gnuplot(const char *gnuplot, const char *script, const char *expr,
                       char *err, size_t errlen)
{
    char *const argv[] = {(char *)gnuplot, "-e", (char *)expr, (char *)script, NULL};
    /* Only the last line of a failure is shown: 4 KiB of output is plenty. */
    const cb_run_opts opts = {.timeout_s = 0, .max_output = 4096};
    cb_run_result res;
    char *out = NULL, why[256], line[512], how[sizeof why];
    size_t n;
    if (cb_run(argv, &opts, &out, &n, &res, why, sizeof why) == 0) {
        free(out);
        return 0;
    }
    if (!out) rpt_oom();
    last_line(out, line, sizeof line);
    free(out);
    if (res.signal) snprintf(how, sizeof how, "signal %d", res.signal);
    else if (res.status > 0) snprintf(how, sizeof how, "exit %d", res.status);
    else snprintf(how, sizeof how, "%s", why);
    return cb_err(err, errlen, "%s: gnuplot failed (%s): %s", script, how, line);
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
