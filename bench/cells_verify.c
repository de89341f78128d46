/* cells_verify.c - a cell's checks before timing (cells.h cell_verify; cell_impl.h). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cell_impl.h"
#include "memory.h"
#include "util.h"

/* ---- verification ------------------------------------------------------ */

/* The key again, by another route: a new state, fed in uneven pieces. */
static int check_key(cell *c, const uint8_t *blob, size_t n, char *err, size_t errlen)
{
    static const size_t pieces[] = {1, 63, 64, 1000, 4096, 65537};
    uint8_t d[HASH_MAX_DIGEST];
    char hex[2 * HASH_MAX_DIGEST + 1];
    size_t off = 0, i = 0;
    void *st = c->spec.hash->create();
    if (!st) return cb_err(err, errlen, "%s: cannot create a second hash state", c->spec.hash->name);
    c->spec.hash->reset(st);
    while (off < n) {
        size_t k = i < sizeof pieces / sizeof pieces[0] ? pieces[i++] : n - off;
        if (k > n - off) k = n - off;
        c->spec.hash->update(st, blob + off, k);
        off += k;
    }
    c->spec.hash->final(st, d);
    c->spec.hash->destroy(st);
    hash_hex(d, c->spec.hash->digest_bytes, hex);
    if (strcmp(hex, c->key) != 0)
        return cb_err(err, errlen, "key %s differs from an independent %s computation (%s)",
                      c->key, c->spec.hash->name, hex);
    return 0;
}

static size_t first_difference(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t i;
    for (i = 0; i < n && a[i] == b[i]; i++) {}
    return i;
}

static int check_plain(const cell *c, const uint8_t *p, size_t n, const char *what,
                       char *err, size_t errlen)
{
    if (n != c->in.blob_len)
        return cb_err(err, errlen, "%s gives %zu bytes, the blob has %zu", what, n, c->in.blob_len);
    if (n && memcmp(p, c->in.blob, n) != 0)
        return cb_err(err, errlen, "%s differs from the blob at byte %zu", what,
                      first_difference(p, c->in.blob, n));
    return 0;
}

/* decompress(stored) == blob, with a context of its own. */
static int check_roundtrip(const cell *c, const uint8_t *stored, size_t n, char *err, size_t errlen)
{
    const codec_desc *k = c->spec.codec;
    void *ctx = k->create(c->spec.level);
    uint8_t *dst = malloc(c->in.blob_len ? c->in.blob_len : 1);
    int rc;
    if (!ctx || !dst) {
        if (ctx) k->destroy(ctx);
        free(dst);
        return cb_err(err, errlen, "out of memory");
    }
    size_t r = k->decompress(ctx, stored, n, dst, c->in.blob_len);
    if (codec_is_error(r))
        rc = cb_err(err, errlen, "decompress(compress(blob)) fails: %s", codec_error_name(r));
    else
        rc = check_plain(c, dst, r, "decompress(compress(blob))", err, errlen);
    k->destroy(ctx);
    free(dst);
    return rc;
}

/* A save variant other than sequential must store what sequential stores:
 * the same bytes as one compress() of the blob, with a context of its own. */
static int check_same_bytes(const cell *c, const uint8_t *stored, size_t n, char *err, size_t errlen)
{
    const codec_desc *k = c->spec.codec;
    size_t cap = k->bound(c->in.blob_len, c->spec.level), r;
    int rc = 0;
    /* Only where the row says streamed output equals one-shot (codec.h). */
    if (!codec_stream_same(k, c->spec.level) || c->spec.variant == &cell_save_variants[0]) return 0;
    void *ctx = k->create(c->spec.level);
    uint8_t *dst = malloc(cap ? cap : 1);
    if (!ctx || !dst) {
        if (ctx) k->destroy(ctx);
        free(dst);
        return cb_err(err, errlen, "out of memory");
    }
    r = k->compress(ctx, c->in.blob, c->in.blob_len, dst, cap);
    if (codec_is_error(r))
        rc = cb_err(err, errlen, "one-shot compress fails: %s", codec_error_name(r));
    else if (r != n || memcmp(dst, stored, n) != 0)
        rc = cb_err(err, errlen, "variant %s stores %zu bytes that differ from one-shot compress (%zu bytes) at byte %zu",
                    c->spec.variant->name, n, r, first_difference(dst, stored, r < n ? r : n));
    k->destroy(ctx);
    free(dst);
    return rc;
}

/* The file at path, which should hold `want` bytes: *n is what it holds
 * (up to want + 1 bytes are read, so that a longer file shows). */
static int read_exact(const char *path, size_t want, uint8_t **data, size_t *n, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t r = 0;
    *n = 0;
    if (fd < 0) return cb_err(err, errlen, "%s", strerror(errno));
    if (!(*data = malloc(want + 1))) { close(fd); return cb_err(err, errlen, "out of memory"); }
    while (*n < want + 1 && (r = read(fd, *data + *n, want + 1 - *n)) > 0) *n += (size_t)r;
    if (r < 0) {
        int e = errno;
        close(fd);
        free(*data);
        return cb_err(err, errlen, "%s", strerror(e));
    }
    close(fd);
    return 0;
}

static int check_stored_file(cell *c, char *err, size_t errlen)
{
    uint8_t *data;
    size_t n;
    char sub[256];
    int rc = 0;
    /* Read into a buffer of the expected size, not a growing one: freeing
     * a grown buffer would raise glibc's mmap threshold past what CPython
     * reaches, and cpython cells depend on it (cells.h). */
    if (read_exact(c->path, c->out[SLOT_STORED].n, &data, &n, sub, sizeof sub) != 0)
        return cb_err(err, errlen, "stored blob %s: %s", c->path, sub);
    if (n != c->out[SLOT_STORED].n || memcmp(data, c->out[SLOT_STORED].p, n) != 0)
        rc = cb_err(err, errlen, "stored blob %s differs from the compressed bytes", c->path);
    free(data);
    if (rc) return rc;
    if (cb_read_file(c->meta, 1 << 16, &data, &n, sub, sizeof sub) != 0)
        return cb_err(err, errlen, "metadata %s: %s", c->meta, sub);
    if (strcmp((char *)data, meta_json(c)) != 0)
        rc = cb_err(err, errlen, "metadata %s is not %s", c->meta, meta_json(c));
    free(data);
    return rc;
}

/* Prepare the input of decompress/load: the blob compressed once. */
static int prepare_stored(cell *c, char *err, size_t errlen)
{
    size_t cap = c->spec.codec->bound(c->in.blob_len, c->spec.level);
    c->stored_in = malloc(cap ? cap : 1);
    if (!c->stored_in) return cb_err(err, errlen, "out of memory");
    size_t r = c->spec.codec->compress(c->cctx, c->in.blob, c->in.blob_len, c->stored_in, cap);
    if (codec_is_error(r)) return cb_err(err, errlen, "compress fails: %s", codec_error_name(r));
    c->stored_len = r;
    if (check_roundtrip(c, c->stored_in, r, err, errlen) != 0) return -1;
    if (c->spec.stage == CELL_LOAD_VERIFY) {
        hash_oneshot(c->spec.hash, c->hstate, c->in.blob, c->in.blob_len, c->want);
        hash_hex(c->want, c->spec.hash->digest_bytes, c->key);
        if (check_key(c, c->in.blob, c->in.blob_len, err, errlen) != 0) return -1;
    }
    return 0;
}

static int run_failure(cell *c, char *err, size_t errlen)
{
    const char *stage = cell_stage_names[c->spec.stage];
    if (c->store_err)
        return cb_err(err, errlen, "%s: cannot %s under %s: %s", stage, c->store_what,
                      c->spec.store_dir, strerror(c->store_err));
    if (c->last_codec_err)
        return cb_err(err, errlen, "%s: %s %s", stage, c->spec.codec->name, codec_error_name(c->last_codec_err));
    if (c->spec.stage == CELL_LOAD_VERIFY)
        return cb_err(err, errlen, "load+verify: the re-hash does not match the key");
    if (c->errbuf[0]) return cb_err(err, errlen, "%s: pickle: %s", stage, c->errbuf);
    return cb_err(err, errlen, "%s: the iteration failed (out of memory?)", stage);
}

int cell_verify(cell *c, char *err, size_t errlen)
{
    int rc = 0;
    if (stage_is_load(c->spec.stage) && prepare_stored(c, err, errlen) != 0) return -1;
    c->verifying = 1;
    c->errbuf[0] = 0;
    c->last_codec_err = 0;
    c->store_err = 0;
    int64_t t0 = mono_ns();
    int failed = iteration_of(c)(c);
    if (c->spec.alloc == CELL_ALLOC_CPYTHON && (c->spec.stage == CELL_SAVE || c->spec.stage == CELL_SAVE_STORE))
        c->cold_ns = (double)(mono_ns() - t0);
    c->verifying = 0;
    if (failed) {
        rc = run_failure(c, err, errlen);
        if (cell_stores(c)) store_remove(c);
        return rc;
    }
    switch (c->spec.stage) {
    case CELL_PICKLE:
        rc = check_plain(c, c->out[SLOT_PICKLE].p, c->out[SLOT_PICKLE].n, "the pickle", err, errlen);
        break;
    case CELL_HASH:
        rc = check_key(c, c->in.blob, c->in.blob_len, err, errlen);
        break;
    case CELL_COMPRESS:
        rc = check_roundtrip(c, c->out[SLOT_STORED].p, c->out[SLOT_STORED].n, err, errlen);
        break;
    case CELL_DECOMPRESS: case CELL_LOAD: case CELL_LOAD_VERIFY:
        rc = check_plain(c, c->out[SLOT_PLAIN].p, c->out[SLOT_PLAIN].n, cell_stage_names[c->spec.stage],
                         err, errlen);
        break;
    case CELL_SAVE: case CELL_SAVE_STORE:
        if (c->in.obj && !c->st)   /* streaming has no whole pickle: the round trip checks it */
            rc = check_plain(c, c->out[SLOT_PICKLE].p, c->out[SLOT_PICKLE].n, "the pickle", err, errlen);
        if (!rc) rc = check_key(c, c->in.blob, c->in.blob_len, err, errlen);
        if (!rc) rc = check_roundtrip(c, c->out[SLOT_STORED].p, c->out[SLOT_STORED].n, err, errlen);
        if (!rc) rc = check_same_bytes(c, c->out[SLOT_STORED].p, c->out[SLOT_STORED].n, err, errlen);
        if (!rc && c->spec.stage == CELL_SAVE_STORE) rc = check_stored_file(c, err, errlen);
        if (cell_stores(c)) store_remove(c);
        break;
    case CELL_HANDOFF:
        if (!c->ov_ns[2]) rc = cb_err(err, errlen, "thread-handoff: the worker did not run the job");
        break;
    default:
        rc = cb_err(err, errlen, "unknown stage");
    }
    /* Fresh outputs are not needed any more: keep their sizes, free the memory
     * before timing so that it does not count against the peak. */
    for (int s = 0; s < SLOT_COUNT; s++)
        if (c->out[s].owned) out_free(c, s);
    return rc;
}

