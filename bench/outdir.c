/*
 * outdir.c - see outdir.h.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envinfo.h"
#include "outdir.h"
#include "util.h"

void outdir_mkdir_parents(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0777);
            *p = '/';
        }
}

/* 1: empty, 0: not, -1: unreadable. */
static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;
    if (!d) return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) { empty = 0; break; }
    closedir(d);
    return empty;
}

int outdir_make(const char *out, const char *nonempty_hint, char *dir, size_t cap, char *err, size_t errlen)
{
    if (out) {
        struct stat sb;
        snprintf(dir, cap, "%s", out);
        if (stat(dir, &sb) != 0) {
            outdir_mkdir_parents(dir);
            if (mkdir(dir, 0777) == 0) return 0;
            cb_err(err, errlen, "--out %s: %s", CB_Q(dir), strerror(errno));
            return CB_EXIT_ENV;
        }
        if (!S_ISDIR(sb.st_mode)) {
            cb_err(err, errlen, "--out %s: exists and is not a directory", CB_Q(dir));
            return CB_EXIT_INPUT;
        }
        if (dir_is_empty(dir) != 1) {
            cb_err(err, errlen, "--out %s: exists and is not empty (a results directory is never overwritten%s)",
                   CB_Q(dir), nonempty_hint);
            return CB_EXIT_INPUT;
        }
        if (access(dir, W_OK) != 0) {
            cb_err(err, errlen, "--out %s: %s", CB_Q(dir), strerror(errno));
            return CB_EXIT_ENV;
        }
        return 0;
    }
    char host[256], t[32];
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = 0;
    for (char *p = host; *p; p++)
        if (*p == '/') *p = '_';
    env_utc_now(t, sizeof t, 1);
    mkdir("results", 0777);
    /* Two runs started in the same second get their own directories:
     * mkdir is the atomic claim, the first free suffix wins. */
    for (int n = 1;; n++) {
        if (n == 1) snprintf(dir, cap, "results/%s-%s", host, t);
        else snprintf(dir, cap, "results/%s-%s-%d", host, t, n);
        if (mkdir(dir, 0777) == 0) return 0;
        if (errno != EEXIST || n == 1000) {
            cb_err(err, errlen, "%s: %s", dir, strerror(errno));
            return CB_EXIT_ENV;
        }
    }
}
