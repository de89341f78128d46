/* atomic.c - see atomic.h. */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int cb_sync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) >= sizeof dir) { errno = ENAMETOOLONG; return -1; }
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int cb_write_atomic(const char *path, const void *data, size_t n, int durability, int *keep_fd,
                    char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return cb_err(err, errlen, "%s: path too long", CB_QP(path));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return cb_err(err, errlen, "%s: %s", CB_QP(tmp), strerror(errno));
    if (cb_write_all(fd, data, n) != 0 || (durability == CB_DURABLE && fsync(fd) != 0)) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return cb_err(err, errlen, "%s: %s", CB_QP(tmp), strerror(e));
    }
    if (!keep_fd && close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return cb_err(err, errlen, "%s: %s", CB_QP(tmp), strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        if (keep_fd) close(fd);
        unlink(tmp);
        return cb_err(err, errlen, "%s: %s", CB_QP(path), strerror(e));
    }
    if (durability == CB_DURABLE && cb_sync_parent(path) != 0) {
        int e = errno;
        if (keep_fd) close(fd);
        return cb_err(err, errlen, "%s: directory: %s", CB_QP(path), strerror(e));
    }
    if (keep_fd) *keep_fd = fd;
    return 0;
}
