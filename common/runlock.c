/* runlock.c - see runlock.h. */
#include "runlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static char g_lock_path[PATH_MAX];
static int g_lock_fd = -1;
static pid_t g_lock_owner;

/* The file goes before the lock (close): a writer that opened the old file
 * and locks it after this sees, by its inode check, that it is stale. */
static void release_at_exit(void)
{
    if (g_lock_fd < 0 || getpid() != g_lock_owner) return;
    unlink(g_lock_path);
    close(g_lock_fd);
    g_lock_fd = -1;
}

/* Whether fd is still the file at path (the last holder may have removed it
 * between our open and our lock). */
static int still_linked(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int runlock_acquire(const char *dir, char *err, size_t errlen)
{
    char pid_text[32];
    if (snprintf(g_lock_path, sizeof g_lock_path, "%s/run.lock", dir) >= (int)sizeof g_lock_path) {
        cb_err(err, errlen, "%s: path too long", CB_QP(dir));
        return CB_EXIT_INPUT;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        struct flock fl;
        int fd = open(g_lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            cb_err(err, errlen, "%s: %s", CB_QP(g_lock_path), strerror(errno));
            return CB_EXIT_ENV;
        }
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        if (fcntl(fd, F_SETLK, &fl) != 0) {
            int e = errno;
            if (e != EACCES && e != EAGAIN) {
                close(fd);
                cb_err(err, errlen, "%s: cannot lock: %s", CB_QP(g_lock_path), strerror(e));
                return CB_EXIT_ENV;
            }
            /* Who holds it: the kernel knows (the file's text may lag). */
            memset(&fl, 0, sizeof fl);
            fl.l_type = F_WRLCK;
            fl.l_whence = SEEK_SET;
            if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK) {
                close(fd);   /* released meanwhile: try again */
                continue;
            }
            close(fd);
            if (fl.l_pid > 0)
                cb_err(err, errlen, "%s: in use by casbench pid %ld (another run or --resume is writing it)",
                       CB_QP(dir), (long)fl.l_pid);
            else
                cb_err(err, errlen, "%s: in use by another casbench run or --resume", CB_QP(dir));
            return CB_EXIT_ENV;
        }
        if (!still_linked(fd, g_lock_path)) {
            close(fd);
            continue;
        }
        g_lock_fd = fd;
        g_lock_owner = getpid();
        atexit(release_at_exit);
        snprintf(pid_text, sizeof pid_text, "%ld\n", (long)g_lock_owner);
        if (ftruncate(fd, 0) != 0 || cb_write_all(fd, pid_text, strlen(pid_text)) != 0) {
            cb_err(err, errlen, "%s: %s", CB_QP(g_lock_path), strerror(errno));
            return CB_EXIT_ENV;
        }
        return 0;
    }
    cb_err(err, errlen, "%s: the lock file keeps being replaced", CB_QP(g_lock_path));
    return CB_EXIT_ENV;
}
