/* store.c - see store.h. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "pyobj.h"
#include "util.h"

/* One row per codec a store packs with. The decoder is what metaflow runs
 * for that version on load (GzipFile for 1, lz4.frame.decompress for 2),
 * except that a store packing with a gzip-compatible codec of its own
 * (libdeflate, isal) unpacks version 1 with that codec: the round trip then
 * times "metaflow with this library" on both sides. */
static const store_packing packings[] = {
    {"gzip",       1, 0, "gzip", "master"},
    {"libdeflate", 1, 0, "gzip", "master"},
    {"isal",       1, 0, "gzip", "master"},
    {"lz4",        2, 0, "lz4",  "PR #3090"},
    {"zstd",       3, 0, "zstd", NULL},
    {"none",       1, 1, NULL,   "master"},
};
#define N_PACKINGS (sizeof packings / sizeof packings[0])

const store_packing *store_packing_for(const char *codec_name)
{
    size_t i;
    for (i = 0; i < N_PACKINGS; i++)
        if (strcmp(packings[i].codec, codec_name) == 0) return &packings[i];
    return NULL;
}

#define N_VERSIONS 4   /* cas_version 0..3; 0 is never written */

struct store {
    char *root;                    /* ROOT[/PREFIX], no trailing '/' */
    char *prefix;                  /* "" or "PREFIX/", for metaflow's path_key in messages */
    const codec_desc *codec;
    int level;
    const hash_desc *hash;
    const store_packing *packing;
    void *cctx, *hstate;
    const codec_desc *decoder[N_VERSIONS];
    void *dctx[N_VERSIONS];
    size_t last_packed;
    char dir[PATH_MAX], path[PATH_MAX], meta[PATH_MAX + 8], tmpl[PATH_MAX + 16];
};

/* ---- buffers ----------------------------------------------------------- */

/* CPython allocates every bytes object above 512 bytes with malloc; so do
 * these, so that glibc's own policy (its dynamic mmap threshold: a large
 * block is new pages until the first one is freed, heap memory after) acts
 * on the C round trip as it does on the Python one. */
static uint8_t *fresh_alloc(size_t n) { return malloc(n ? n : 1); }
static void fresh_free(uint8_t *p, size_t n) { (void)n; free(p); }

void store_blob_free(uint8_t *blob, size_t len) { fresh_free(blob, len); }

/* ---- open / close ------------------------------------------------------ */

static int open_decoder(store *s, int version, char *err, size_t errlen)
{
    const store_packing *p = NULL;
    size_t i;
    int lvl;
    for (i = 0; i < N_PACKINGS && !p; i++)
        if (packings[i].cas_version == version && !packings[i].raw) p = &packings[i];
    if (!p) return 0;
    const char *name = s->packing->cas_version == version && !s->packing->raw ? s->codec->name
                                                                               : p->decoder;
    const codec_desc *d = codec_find(name, &lvl, err, errlen);
    if (!d) return -1;
    if (d == s->codec) lvl = s->level;
    s->decoder[version] = d;
    s->dctx[version] = d->create(lvl);
    if (!s->dctx[version]) return cb_err(err, errlen, "%s: cannot create a decompression context", d->name);
    return 0;
}

store *store_open(const char *root, const char *prefix, const codec_desc *codec, int level,
                  const hash_desc *hash, char *err, size_t errlen)
{
    store *s = calloc(1, sizeof *s);
    size_t n = strlen(root);
    if (!s) { cb_err(err, errlen, "out of memory"); return NULL; }
    while (n > 1 && root[n - 1] == '/') n--;
    s->packing = store_packing_for(codec->name);
    if (!s->packing) {
        cb_err(err, errlen, "codec %s: no store packs with it (gzip, libdeflate, isal: "
               "cas_version 1; lz4: 2; zstd: 3, casbench's own; none: raw)", codec->name);
        goto fail;
    }
    if (prefix && *prefix) {
        if (asprintf(&s->root, "%.*s/%s", (int)n, root, prefix) < 0) s->root = NULL;
        if (asprintf(&s->prefix, "%s/", prefix) < 0) s->prefix = NULL;
    } else {
        s->root = strndup(root, n);
        s->prefix = strdup("");
    }
    if (!s->root || !s->prefix) { cb_err(err, errlen, "out of memory"); goto fail; }
    s->codec = codec;
    s->level = level;
    s->hash = hash;
    s->cctx = codec->create(level);
    s->hstate = hash->create();
    if (!s->cctx || !s->hstate) {
        cb_err(err, errlen, "%s / %s: cannot create a context", codec->name, hash->name);
        goto fail;
    }
    for (int v = 1; v < N_VERSIONS; v++)
        if (open_decoder(s, v, err, errlen) != 0) goto fail;
    return s;
fail:
    store_close(s);
    return NULL;
}

void store_close(store *s)
{
    if (!s) return;
    if (s->cctx) s->codec->destroy(s->cctx);
    if (s->hstate) s->hash->destroy(s->hstate);
    for (int v = 0; v < N_VERSIONS; v++)
        if (s->dctx[v]) s->decoder[v]->destroy(s->dctx[v]);
    free(s->root);
    free(s->prefix);
    free(s);
}

size_t store_last_packed_bytes(const store *s) { return s->last_packed; }
const store_packing *store_packing_of(const store *s) { return s->packing; }

int store_key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n < 2 || n >= STORE_KEY_MAX) return 0;
    return strspn(key, "0123456789abcdef") == n;
}

/* ---- save -------------------------------------------------------------- */

static int set_paths(store *s, const char *key, char *err, size_t errlen)
{
    if (snprintf(s->dir, sizeof s->dir, "%s/%.2s", s->root, key) >= (int)sizeof s->dir ||
        snprintf(s->path, sizeof s->path, "%s/%s", s->dir, key) >= (int)sizeof s->path) {
        return cb_err(err, errlen, "%s: path too long", s->root);
    }
    snprintf(s->meta, sizeof s->meta, "%s_meta", s->path);
    return 0;
}

/* os.makedirs: the directory, creating missing parents first; an existing
 * one is fine. */
static int makedirs(char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) return 0;
    if (errno != ENOENT) return -1;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return -1;
    *slash = 0;
    int r = makedirs(dir);
    *slash = '/';
    if (r != 0) return -1;
    return mkdir(dir, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

/* LocalStorage._atomic_write: mkstemp in the target directory, write,
 * close, rename; the temporary file is removed on failure. */
static int atomic_write(store *s, const char *dst, const void *data, size_t n, char *err, size_t errlen)
{
    snprintf(s->tmpl, sizeof s->tmpl, "%s/tmpXXXXXX", s->dir);
    int fd = mkstemp(s->tmpl);
    if (fd < 0) return cb_err(err, errlen, "%s: cannot create a temporary file: %s", s->dir, strerror(errno));
    if (cb_write_all(fd, data, n) != 0) {
        int e = errno;
        close(fd);
        unlink(s->tmpl);
        return cb_err(err, errlen, "%s: write failed: %s", s->tmpl, strerror(e));
    }
    if (close(fd) != 0 || rename(s->tmpl, dst) != 0) {
        int e = errno;
        unlink(s->tmpl);
        return cb_err(err, errlen, "%s: cannot store: %s", dst, strerror(e));
    }
    return 0;
}

/* GzipFile writes int(time.time()) as the header's mtime (bytes 4..7,
 * little-endian); the header is outside the CRC. */
static void stamp_gzip_mtime(uint8_t *g, size_t n)
{
    uint32_t t = (uint32_t)time(NULL);
    if (n < 10 || g[0] != 0x1f || g[1] != 0x8b) return;
    g[4] = (uint8_t)t;
    g[5] = (uint8_t)(t >> 8);
    g[6] = (uint8_t)(t >> 16);
    g[7] = (uint8_t)(t >> 24);
}

int store_save(store *s, const uint8_t *blob, size_t n, char *key, int *written,
               char *err, size_t errlen)
{
    uint8_t digest[HASH_MAX_DIGEST];
    struct stat st;
    char meta[64];
    if (written) *written = 0;
    hash_oneshot(s->hash, s->hstate, blob, n, digest);
    hash_hex(digest, s->hash->digest_bytes, key);
    if (set_paths(s, key, err, errlen) != 0) return -1;
    if (stat(s->path, &st) == 0 && S_ISREG(st.st_mode)) return 0;

    const uint8_t *packed = blob;
    uint8_t *out = NULL;
    size_t cap = 0, len = n;
    if (!s->packing->raw) {
        cap = s->codec->bound(n, s->level);
        out = fresh_alloc(cap);
        if (!out) return cb_err(err, errlen, "out of memory for a %zu-byte stream", cap);
        len = s->codec->compress(s->cctx, blob, n, out, cap);
        if (codec_is_error(len)) {
            fresh_free(out, cap);
            return cb_err(err, errlen, "%s: compress: %s", s->codec->name, codec_error_name(len));
        }
        if (s->packing->cas_version == 1) stamp_gzip_mtime(out, len);
        packed = out;
    }
    int r = -1;
    if (makedirs(s->dir) != 0) {
        cb_err(err, errlen, "%s: cannot create the directory: %s", s->dir, strerror(errno));
    } else if (atomic_write(s, s->path, packed, len, err, errlen) == 0) {
        int m = snprintf(meta, sizeof meta, "{\"cas_raw\": %s, \"cas_version\": %d}",
                         s->packing->raw ? "true" : "false", s->packing->cas_version);
        r = atomic_write(s, s->meta, meta, (size_t)m, err, errlen);
    }
    fresh_free(out, cap);
    if (r == 0) {
        s->last_packed = len;
        if (written) *written = 1;
    }
    return r;
}

/* ---- load -------------------------------------------------------------- */

/* Python truthiness of a JSON value (meta.get("cas_raw", False)). */
static int truthy(const pyobj *o)
{
    switch (o->kind) {
    case PYOBJ_NONE: return 0;
    case PYOBJ_BOOL: return o->u.boolean;
    case PYOBJ_INT: return o->u.i != 0;
    case PYOBJ_FLOAT: return o->u.f != 0;
    case PYOBJ_STR: case PYOBJ_BYTES: return o->u.s.len != 0;
    case PYOBJ_LIST: case PYOBJ_TUPLE: return o->u.seq.n != 0;
    case PYOBJ_DICT: return o->u.dict.n != 0;
    default: return 1;
    }
}

static const pyobj *dict_get(const pyobj *d, const char *k)
{
    size_t i, n = strlen(k);
    for (i = 0; i < d->u.dict.n; i++) {
        const pyobj *key = d->u.dict.keys[i];
        if (key->kind == PYOBJ_STR && key->u.s.len == n && memcmp(key->u.s.data, k, n) == 0)
            return d->u.dict.values[i];
    }
    return NULL;
}

/* Read a whole file into a fresh buffer. 0, or -1 with errno set. */
static int read_whole(const char *path, uint8_t **out, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (!errno || S_ISDIR(st.st_mode)) errno = EISDIR;
        close(fd);
        return -1;
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *b = fresh_alloc(n);
    if (!b) { close(fd); errno = ENOMEM; return -1; }
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            fresh_free(b, n);
            close(fd);
            errno = e;
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    *out = b;
    *len = n;
    return 0;
}

/* The _meta's cas_raw and cas_version (-1 when absent; no _meta: not raw,
 * version 1, metaflow's backward-compatible path). */
static int read_meta(store *s, const char *path_key, int *raw, long long *version,
                     char *err, size_t errlen)
{
    struct stat st;
    uint8_t *buf;
    size_t len;
    pyobj *root;
    *raw = 0;
    *version = 1;
    if (stat(s->meta, &st) != 0) return 0;
    if (read_whole(s->meta, &buf, &len) != 0)
        return cb_err(err, errlen, "%s: cannot read: %s", s->meta, strerror(errno)), CB_EXIT_ENV;
    pyobj_arena *a = pyobj_arena_new();
    if (!a) { fresh_free(buf, len); return cb_err(err, errlen, "out of memory"), CB_EXIT_ENV; }
    char jerr[256];
    int rc = json_parse(a, buf, len, &root, jerr, sizeof jerr);
    fresh_free(buf, len);
    if (rc != 0) {
        cb_err(err, errlen, "%s: not metaflow's _meta JSON: %s", s->meta, jerr);
    } else if (root->kind != PYOBJ_DICT) {
        rc = CB_EXIT_INPUT;
        cb_err(err, errlen, "%s: not metaflow's _meta (a JSON object is expected)", s->meta);
    } else {
        const pyobj *r = dict_get(root, "cas_raw"), *v = dict_get(root, "cas_version");
        *raw = r && truthy(r);
        if (!v) {
            *version = -1;
        } else if (v->kind == PYOBJ_INT || v->kind == PYOBJ_BOOL) {
            *version = v->kind == PYOBJ_INT ? v->u.i : v->u.boolean;
        } else if (!*raw) {
            rc = CB_EXIT_INPUT;
            cb_err(err, errlen, "Could not extract encoding version for '%s' (cas_version is "
                   "not an integer)", path_key);
        }
    }
    pyobj_arena_free(a);
    return rc;
}

/* Unpack with the version's decoder; the declared size is a hint, the
 * buffer grows when a stream holds more. */
static int unpack(store *s, int version, const char *path_key, const uint8_t *src, size_t n,
                  uint8_t **blob, size_t *len, char *err, size_t errlen)
{
    const codec_desc *d = s->decoder[version];
    size_t cap = d->content_size ? d->content_size(src, n) : CODEC_SIZE_UNKNOWN;
    if (cap == CODEC_SIZE_UNKNOWN) cap = n * 4 + 64;
    for (;;) {
        uint8_t *out = fresh_alloc(cap);
        if (!out) return cb_err(err, errlen, "out of memory for a %zu-byte blob", cap), CB_EXIT_ENV;
        size_t r = d->decompress(s->dctx[version], src, n, out, cap);
        if (!codec_is_error(r)) {
            if (r == cap) { *blob = out; *len = r; return 0; }
            /* The blob's own size, so that store_blob_free() unmaps what was mapped. */
            uint8_t *fit = fresh_alloc(r);
            if (!fit) { fresh_free(out, cap); return cb_err(err, errlen, "out of memory"), CB_EXIT_ENV; }
            memcpy(fit, out, r);
            fresh_free(out, cap);
            *blob = fit;
            *len = r;
            return 0;
        }
        fresh_free(out, cap);
        if (r != CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL) || cap > ((size_t)1 << 40)) {
            return cb_err(err, errlen, "Could not unpack artifact '%s': %s (%s)", path_key,
                          codec_error_name(r), d->name), CB_EXIT_INPUT;
        }
        cap *= 2;
    }
}

int store_load(store *s, const char *key, uint8_t **blob, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    char path_key[STORE_KEY_MAX * 2 + 256];
    int raw, rc;
    long long version;
    uint8_t *data;
    size_t n;

    if (!store_key_valid(key))
        return cb_err(err, errlen, "key %s: not a key (2 to %d lowercase hex characters)", CB_Q(key),
                      STORE_KEY_MAX - 1), CB_EXIT_INPUT;
    if (set_paths(s, key, err, errlen) != 0) return CB_EXIT_INPUT;
    snprintf(path_key, sizeof path_key, "%s%.2s/%s", s->prefix, key, key);
    if (stat(s->path, &st) != 0)
        return cb_err(err, errlen, "key %s: no artifact at %s", key, s->path), CB_EXIT_INPUT;
    rc = read_meta(s, path_key, &raw, &version, err, errlen);
    if (rc != 0) return rc;
    if (!raw) {
        if (version == -1)
            return cb_err(err, errlen, "Could not extract encoding version for '%s'", path_key),
                   CB_EXIT_INPUT;
        /* A version this casbench packs but no metaflow reads (zstd: 3) is
         * known only to a store that writes it. */
        int known = version > 0 && version < N_VERSIONS && s->decoder[version] &&
                    (version <= 2 || (s->packing->cas_version == version && !s->packing->raw));
        if (!known)
            return cb_err(err, errlen, "Unknown encoding version %lld for '%s' -- the artifact "
                          "is either corrupt or you need to update Metaflow to the latest "
                          "version", version, path_key), CB_EXIT_INPUT;
    }
    if (read_whole(s->path, &data, &n) != 0)
        return cb_err(err, errlen, "%s: cannot read: %s", s->path, strerror(errno)), CB_EXIT_ENV;
    if (raw) {
        *blob = data;
        *len = n;
        return 0;
    }
    rc = unpack(s, (int)version, path_key, data, n, blob, len, err, errlen);
    fresh_free(data, n);
    return rc;
}
