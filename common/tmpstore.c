/* tmpstore.c - see tmpstore.h. */
#include "tmpstore.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define TMPSTORE_PREFIX "casbench-store."

static char g_store[PATH_MAX];
static pid_t g_owner;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_at_exit(void)
{
    /* A child of a fork inherits atexit handlers: only the maker removes. */
    if (g_store[0] && getpid() == g_owner) remove_tree(g_store);
}

/* The pid in "casbench-store.<pid>.XXXXXX", or 0 when the name is not one. */
static pid_t name_pid(const char *name)
{
    const char *p = name + strlen(TMPSTORE_PREFIX);
    long pid = 0;
    size_t digits = 0;
    if (strncmp(name, TMPSTORE_PREFIX, strlen(TMPSTORE_PREFIX)) != 0) return 0;
    for (; *p >= '0' && *p <= '9' && digits < 10; p++, digits++) pid = pid * 10 + (*p - '0');
    if (digits == 0 || *p != '.' || strlen(p + 1) != 6) return 0;
    return (pid_t)pid;
}

static void remove_stale(const char *tmpdir)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    if (!d) return;
    while ((e = readdir(d))) {
        char path[PATH_MAX];
        struct stat st;
        pid_t pid = name_pid(e->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        if (snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name) >= (int)sizeof path) continue;
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
        /* ESRCH: no such process. EPERM means it exists (another user's). */
        if (kill(pid, 0) == 0 || errno != ESRCH) continue;
        remove_tree(path);
    }
    closedir(d);
}

int tmpstore_create(char *out, size_t cap, char *err, size_t errlen)
{
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
    remove_stale(tmpdir);
    g_owner = getpid();
    if (snprintf(g_store, sizeof g_store, "%s/" TMPSTORE_PREFIX "%ld.XXXXXX", tmpdir, (long)g_owner) >=
        (int)sizeof g_store) {
        g_store[0] = 0;
        return cb_err(err, errlen, "%s: path too long", tmpdir);
    }
    if (!mkdtemp(g_store)) {
        int e = errno;
        cb_err(err, errlen, "%s: %s", g_store, strerror(e));
        g_store[0] = 0;
        return -1;
    }
    atexit(remove_at_exit);
    if (snprintf(out, cap, "%s", g_store) >= (int)cap) return cb_err(err, errlen, "%s: path too long", g_store);
    return 0;
}
