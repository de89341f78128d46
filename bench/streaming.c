/* streaming.c - see streaming.h. */
#include "streaming.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "memory.h"
#include "util.h"

struct streaming {
    const codec_desc *codec;
    void *cctx;
    int level;
    const hash_desc *hash;
    void *hstate;
    int fsync;
    int to_file;              /* save+store: the output goes to a file under root */
    uint8_t *window;
    uint8_t *kept;            /* streaming_keep: the stored bytes of the last save */
    size_t kept_len, kept_cap;
    int keep;
    char root[PATH_MAX], tmp[PATH_MAX], dir[PATH_MAX], path[PATH_MAX];
    int ring_fd;              /* the output's pages (a memfd of STREAMING_RING bytes) */
    uint64_t seed;            /* of the marks */
    /* one save */
    uint8_t *map;             /* the codec's output: the ring mapped over and over, the bound's size */
    size_t map_len, map_span, since_drop;
    size_t mapped_from, mapped_to;   /* the span whose pages are mapped in (map_ahead) */
    size_t flushed;           /* bytes of it handed on: to the file in save+store (whole pages until the end) */
    int fd;                   /* the temporary file */
    uint64_t mark[2];         /* unwritten pages begin with it (mark_pages) */
    size_t codec_err;
    int write_errno;          /* a flush failed */
    long page;
};

streaming *streaming_create(const codec_desc *codec, void *cctx, int level, const hash_desc *hash,
                            void *hstate, const char *root, int fsync, char *err, size_t errlen)
{
    streaming *s;
    if (!codec->stream_begin) {
        cb_err(err, errlen, "%s has no streaming compression", codec->name);
        return NULL;
    }
    if (root && strlen(root) + 2 * HASH_MAX_DIGEST + 16 >= PATH_MAX) {
        cb_err(err, errlen, "store directory name too long");
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s) s->window = malloc(STREAMING_WINDOW);
    if (!s || !s->window) {
        if (s) free(s);
        cb_err(err, errlen, "out of memory");
        return NULL;
    }
    /* Touched now, as every buffer a cell holds across iterations. */
    memset(s->window, 0, STREAMING_WINDOW);
    s->ring_fd = memfd_create("casbench-streaming", MFD_CLOEXEC);
    void *r = MAP_FAILED;
    if (s->ring_fd >= 0 && ftruncate(s->ring_fd, (off_t)STREAMING_RING) == 0)
        r = mmap(NULL, STREAMING_RING, PROT_READ | PROT_WRITE, MAP_SHARED, s->ring_fd, 0);
    if (r == MAP_FAILED) {
        cb_err(err, errlen, "streaming: cannot make an output ring: %s", strerror(errno));
        if (s->ring_fd >= 0) close(s->ring_fd);
        free(s->window);
        free(s);
        return NULL;
    }
    memset(r, 0, STREAMING_RING);
    munmap(r, STREAMING_RING);
    s->seed = (uint64_t)(uintptr_t)s ^ (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
    s->codec = codec;
    s->cctx = cctx;
    s->level = level;
    s->hash = hash;
    s->hstate = hstate;
    s->fsync = fsync;
    s->page = sysconf(_SC_PAGESIZE);
    s->to_file = root != NULL;
    s->fd = -1;
    if (root) snprintf(s->root, sizeof s->root, "%s", root);
    return s;
}

void streaming_remove(streaming *s)
{
    if (!s || !s->path[0]) return;
    unlink(s->path);
    rmdir(s->dir);   /* only when nothing else is in it */
    s->path[0] = 0;
}

void streaming_destroy(streaming *s)
{
    if (!s) return;
    streaming_remove(s);
    close(s->ring_fd);
    free(s->window);
    free(s->kept);
    free(s);
}

void streaming_keep(streaming *s, int on)
{
    s->keep = on;
    if (!on) {
        free(s->kept);
        s->kept = NULL;
        s->kept_len = s->kept_cap = 0;
    }
}

const uint8_t *streaming_kept(const streaming *s, size_t *n)
{
    *n = s->kept_len;
    return s->kept;
}

uint64_t streaming_held(const streaming *s) { (void)s; return STREAMING_WINDOW + STREAMING_RING; }

/* The output's pages the codec has not reached carry a mark in their first
 * 16 bytes, a pair of words drawn per save, unlike anything a codec writes;
 * the codec writes its output in order, a page from its start on. Marked:
 * the pages from `from` to `to` (only pages whose bytes of the ring's last
 * lap were handed to the sink already). */
static void mark_pages(streaming *s, size_t from, size_t to)
{
    size_t pg = (size_t)s->page, npages = s->map_span / pg;
    for (size_t i = from; i < to && i < npages; i++) memcpy(s->map + i * pg, s->mark, sizeof s->mark);
}

/* The output's pages in [from, to) mapped in ahead of the codec (no fault
 * on its first write), those before `from` out: a ring's worth of pages is
 * mapped at once, which the process's RSS counts once (a page of the ring
 * mapped at two places would count twice there, though it is one page).
 * The first call maps the ring in (MADV_POPULATE_WRITE; before Linux 5.14
 * its pages fault in as they are marked); the next ones move the pages
 * behind `from` a ring ahead with mremap, which carries their page table
 * entries over instead of unmapping them and faulting them in again (that
 * was a sixth of a 64 MB save's time). A move never crosses a lap of the
 * ring (one mapping each); where one fails, the pages are unmapped and
 * mapped in anew. 0, or -1 (errno) when the hole a move leaves could not
 * be reserved again: something else could then be mapped inside the
 * output, which is unmapped whole at the end, so the save stops. */
static int map_ahead(streaming *s, size_t from, size_t to)
{
    int populate = s->mapped_to == 0;   /* the first lap */
    to = to < s->map_span ? to : s->map_span;
    while (s->mapped_from < from) {
        size_t a = s->mapped_from, lap_end = (a / STREAMING_RING + 1) * STREAMING_RING;
        size_t b = from < lap_end ? from : lap_end;
        if (b + STREAMING_RING > s->map_span) {
            madvise(s->map + a, b - a, MADV_DONTNEED);   /* the last lap: nothing ahead */
        } else if (mremap(s->map + a, b - a, b - a, MREMAP_MAYMOVE | MREMAP_FIXED, s->map + a + STREAMING_RING) ==
                   MAP_FAILED) {
            madvise(s->map + a, b - a, MADV_DONTNEED);
            populate = 1;
        } else {
            /* the hole stays reserved: nothing else may be mapped inside
             * the output, which is unmapped whole at the end */
            if (mmap(s->map + a, b - a, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
                     0) == MAP_FAILED)
                return -1;
        }
        s->mapped_from = b;
    }
    /* the moves brought [mapped_to, to) in, unless one failed */
    if (to > s->mapped_to) {
        if (populate) madvise(s->map + s->mapped_to, to - s->mapped_to, MADV_POPULATE_WRITE);
        s->mapped_to = to;
    }
    return 0;
}

/* The first page from `from` on, within a ring, that still has its mark:
 * the first the codec has not written (a page it wrote that happened to
 * begin with the mark would only be flushed a drop later); SIZE_MAX when
 * every page of the ring was written (the output overran it). */
static size_t output_end_page(const streaming *s, size_t from)
{
    size_t pg = (size_t)s->page, npages = s->map_span / pg, last = from + STREAMING_RING / pg;
    for (size_t i = from; i < last && i < npages; i++)
        if (memcmp(s->map + i * pg, s->mark, sizeof s->mark) == 0) return i;
    return SIZE_MAX;
}

/* Keeps a copy of the output's bytes [from, upto) (streaming_keep); 0 or
 * -1 (errno ENOMEM). */
static int keep_to(streaming *s, size_t from, size_t upto)
{
    size_t n = upto - from;
    if (s->kept_len + n > s->kept_cap) {
        size_t cap = s->kept_cap ? s->kept_cap : STREAMING_RING;
        while (cap < s->kept_len + n) cap *= 2;
        uint8_t *p = realloc(s->kept, cap);
        if (!p) {
            errno = ENOMEM;
            return -1;
        }
        s->kept = p;
        s->kept_cap = cap;
    }
    memcpy(s->kept + s->kept_len, s->map + from, n);
    s->kept_len += n;
    return 0;
}

/* The output up to byte `upto` handed to the sink: the file (save+store),
 * or nothing (save: the stored bytes were made, in the ring, as
 * sequential's save makes them in its buffer; they are dropped with the
 * ring's next lap); kept too while streaming_keep is on. 0 or -1 (errno). */
static int flush_to(streaming *s, size_t upto)
{
    if (s->keep && upto > s->flushed && keep_to(s, s->flushed, upto) != 0) return -1;
    if (!s->to_file) {
        if (upto > s->flushed) s->flushed = upto;
        return 0;
    }
    while (s->flushed < upto) {
        ssize_t w = pwrite(s->fd, s->map + s->flushed, upto - s->flushed, (off_t)s->flushed);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        s->flushed += (size_t)w;
    }
    return 0;
}

/* The output's whole pages up to the one the codec is writing go to the
 * sink (flush_to); the ring's pages behind them are then free for the next
 * lap, moved there and marked. The page being written stays. A ring's
 * worth of output since the last drop would have overwritten itself: an
 * error (EOVERFLOW), never met by the codecs' output for one window of
 * input (streaming.h). */
static int drop_output(streaming *s)
{
    size_t pg = (size_t)s->page, end;
    s->since_drop = 0;
    end = output_end_page(s, s->flushed / pg);
    if (end == SIZE_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    if (end > 0 && (end - 1) * pg > s->flushed) {
        if (flush_to(s, (end - 1) * pg) != 0 || map_ahead(s, s->flushed, s->flushed + STREAMING_RING) != 0)
            return -1;
        mark_pages(s, end, s->flushed / pg + STREAMING_RING / pg);
    }
    return 0;
}

/* Every piece of the pickle: hashed, then compressed while in cache. */
static int feed(void *arg, const uint8_t *p, size_t n)
{
    streaming *s = arg;
    size_t r;
    /* at most a window of input between two drops */
    if (s->since_drop > 0 && s->since_drop + n > STREAMING_WINDOW && drop_output(s) != 0) {
        s->write_errno = errno ? errno : EIO;
        return -1;
    }
    s->hash->update(s->hstate, p, n);
    r = s->codec->stream_update(s->cctx, p, n);
    if (codec_is_error(r)) {
        s->codec_err = r;
        return -1;
    }
    s->since_drop += n;
    if (s->since_drop >= STREAMING_WINDOW && drop_output(s) != 0) {
        s->write_errno = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

static int fail_errno(char *err, size_t errlen, const char *what, const char *path)
{
    return cb_err(err, errlen, "streaming: cannot %s %s: %s", what, path, strerror(errno));
}

/* Pickles (or reads the blob) through feed(); 0 or -1. */
static int produce(streaming *s, const pyobj *obj, const pickle_options *popt, const uint8_t *blob,
                   size_t blob_len, char *err, size_t errlen)
{
    char sub[256] = "";
    if (!obj) {
        for (size_t off = 0; off < blob_len; off += STREAMING_WINDOW)
            if (feed(s, blob + off, blob_len - off < STREAMING_WINDOW ? blob_len - off : STREAMING_WINDOW))
                break;
    } else if (pickle_dump_stream(obj, popt, s->window, STREAMING_WINDOW, feed, s, sub, sizeof sub) == 0 &&
               !s->codec_err && !s->write_errno) {
        return cb_err(err, errlen, "streaming: pickle: %s", sub);
    }
    if (s->codec_err)
        return cb_err(err, errlen, "streaming: %s %s", s->codec->name, codec_error_name(s->codec_err));
    if (s->write_errno)
        return cb_err(err, errlen, "streaming: cannot write %s: %s", s->to_file ? s->tmp : "the stored bytes",
                      strerror(s->write_errno));
    return 0;
}

/* The stream's file in place, once the key is known: the existence check
 * (a hit removes the file), then the rename to ROOT/<key[:2]>/<key>. */
static int store_file(streaming *s, const uint8_t *digest, char *err, size_t errlen)
{
    char key[2 * HASH_MAX_DIGEST + 1];
    struct stat st;
    if (s->fsync && fsync(s->fd) != 0) return fail_errno(err, errlen, "fsync", s->tmp);
    hash_hex(digest, s->hash->digest_bytes, key);
    if (snprintf(s->dir, sizeof s->dir, "%s/%.2s", s->root, key) >= (int)sizeof s->dir ||
        snprintf(s->path, sizeof s->path, "%s/%s", s->dir, key) >= (int)sizeof s->path) {
        s->path[0] = 0;
        return cb_err(err, errlen, "streaming: store directory name too long");
    }
    if (stat(s->path, &st) == 0) {
        unlink(s->tmp);   /* a hit: compressed and written for nothing */
        s->tmp[0] = s->path[0] = 0;
        return 0;
    }
    if (mkdir(s->dir, 0777) != 0 && errno != EEXIST) {
        s->path[0] = 0;
        return fail_errno(err, errlen, "create", s->dir);
    }
    if (rename(s->tmp, s->path) != 0) {
        s->path[0] = 0;
        return fail_errno(err, errlen, "rename to", s->path);
    }
    s->tmp[0] = 0;
    return 0;
}

int streaming_save(streaming *s, const pyobj *obj, const pickle_options *popt, const uint8_t *blob,
                   size_t blob_len, uint8_t *digest, char *err, size_t errlen)
{
    char sub[256];
    uint64_t total = blob_len;
    size_t r;
    int rc = -1;

    s->codec_err = 0;
    s->write_errno = 0;
    s->flushed = 0;
    s->kept_len = 0;
    s->tmp[0] = 0;
    if (obj) {
        total = pickle_size(obj, popt, s->window, STREAMING_WINDOW, sub, sizeof sub);
        if (total == 0) return cb_err(err, errlen, "streaming: pickle: %s", sub);
    }
    s->map_len = s->codec->bound((size_t)total, s->level);
    if (s->to_file) {
        if (snprintf(s->tmp, sizeof s->tmp, "%s/.tmpXXXXXX", s->root) >= (int)sizeof s->tmp)
            return cb_err(err, errlen, "streaming: store directory name too long");
        s->fd = mkstemp(s->tmp);
        if (s->fd < 0) {
            s->tmp[0] = 0;
            return fail_errno(err, errlen, "create a temporary file in", s->root);
        }
    }
    /* The output: address space of the bound's size, the ring mapped over
     * it lap after lap. */
    s->map_span = ((s->map_len + (size_t)s->page) / STREAMING_RING + 1) * STREAMING_RING;   /* a page past the bound */
    s->map = mmap(NULL, s->map_span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s->map == MAP_FAILED) {
        s->map = NULL;
        cb_err(err, errlen, "streaming: cannot map an output of %zu bytes: %s", s->map_len, strerror(errno));
        goto out;
    }
    for (size_t off = 0; off < s->map_span; off += STREAMING_RING)
        if (mmap(s->map + off, STREAMING_RING, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, s->ring_fd, 0) ==
            MAP_FAILED) {
            cb_err(err, errlen, "streaming: cannot map an output of %zu bytes: %s", s->map_len, strerror(errno));
            goto out;
        }
    s->mark[0] = cb_splitmix64(&s->seed);
    s->mark[1] = cb_splitmix64(&s->seed);
    s->mapped_from = s->mapped_to = 0;
    (void)map_ahead(s, 0, STREAMING_RING);   /* moves nothing: cannot fail */
    mark_pages(s, 0, STREAMING_RING / (size_t)s->page);
    r = s->codec->stream_begin(s->cctx, (size_t)total, s->map, s->map_len);
    if (codec_is_error(r)) {
        cb_err(err, errlen, "streaming: %s %s", s->codec->name, codec_error_name(r));
        goto out;
    }
    s->hash->reset(s->hstate);
    s->since_drop = 0;
    int produced = produce(s, obj, popt, blob, blob_len, err, errlen);
    s->hash->final(s->hstate, digest);
    if (produced != 0) goto out;
    r = s->codec->stream_end(s->cctx);
    if (codec_is_error(r)) {
        cb_err(err, errlen, "streaming: %s %s", s->codec->name, codec_error_name(r));
        goto out;
    }
    if (drop_output(s) != 0 || flush_to(s, r) != 0) {
        if (s->to_file) fail_errno(err, errlen, "write", s->tmp);
        else cb_err(err, errlen, "streaming: cannot keep the stored bytes: %s", strerror(errno));
        goto out;
    }
    munmap(s->map, s->map_span);
    s->map = NULL;
    /* Only now is the key known: the existence check comes after the work. */
    rc = s->to_file ? store_file(s, digest, err, errlen) : 0;
out:
    if (s->map) munmap(s->map, s->map_span);
    s->map = NULL;
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    if (s->tmp[0]) unlink(s->tmp);
    s->tmp[0] = 0;
    return rc;
}
