/* cli_codec.c - `casbench compress`, `casbench decompress` and `casbench
 * hash`: the codec and hash tables as command-line filters, so that the
 * real tools (gzip, lz4, zstd, sha1sum, xxhsum, b3sum) can check them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cliopt.h"
#include "codec.h"
#include "hash.h"
#include "util.h"

/* The largest stream compress/decompress read, and the largest output
 * decompress makes: a filter for tests and spot checks, not an archiver. */
#define CLI_CODEC_LIMIT ((size_t)1 << 30)
#define CLI_CODEC_LIMIT_TEXT "1 GiB"

enum { READ_OK = 0, READ_ERRNO = -1, READ_TOO_LARGE = -2 };

/* Read all of fd into a malloc'd buffer (up to limit bytes). */
static int cli_read_all(int fd, size_t limit, uint8_t **data, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return errno = ENOMEM, READ_ERRNO;
    for (;;) {
        ssize_t r;
        if (n == cap) {
            uint8_t *nb;
            /* One byte past the limit is enough to know it is exceeded: an
             * endless stream (/dev/zero) costs limit + 1 bytes, no more. */
            size_t ncap = cap > limit / 2 ? limit + 1 : cap * 2;
            if (n > limit) {
                free(buf);
                return READ_TOO_LARGE;
            }
            nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return errno = ENOMEM, READ_ERRNO;
            }
            buf = nb;
            cap = ncap;
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            errno = e;
            return READ_ERRNO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > limit) {
        free(buf);
        return READ_TOO_LARGE;
    }
    *data = buf;
    *len = n;
    return READ_OK;
}

static uint8_t *cli_read_stdin(size_t *len)
{
    uint8_t *data = NULL;
    int r = cli_read_all(0, CLI_CODEC_LIMIT, &data, len);
    if (r == READ_TOO_LARGE)
        cb_fail(CB_EXIT_INPUT, "stdin: larger than the %s limit", CLI_CODEC_LIMIT_TEXT);
    /* A directory on stdin is bad input (2), as for `hash` and json:-. */
    if (r != READ_OK && errno == EISDIR)
        cb_fail(CB_EXIT_INPUT, "stdin: is a directory");
    if (r != READ_OK)
        cb_fail(CB_EXIT_ENV, "stdin: %s", strerror(errno));
    return data;
}

static void cli_codec_version(const char *cmd)
{
    printf("casbench %s %s (commit %s)\n", cmd, cb_version, cb_git_commit);
}

static void compress_usage(FILE *out, const char *cmd)
{
    int comp = strcmp(cmd, "compress") == 0;
    fprintf(out,
            "usage: casbench %s CODEC%s\n"
            "\n"
            "%s standard input to standard output with one codec of the\n"
            "benchmark (see `casbench list`), through the same code the benchmark times.\n"
            "Input and output are limited to %s. Binary output is never written to a\n"
            "terminal.\n",
            cmd, comp ? "[:LEVEL]" : "", comp ? "Compresses" : "Decompresses",
            CLI_CODEC_LIMIT_TEXT);
    if (comp)
        fprintf(out, "\nLEVEL defaults to the codec's default level.\n");
    else
        fprintf(out,
                "\ngzip-family codecs read concatenated members (trailing zero bytes are\n"
                "ignored, other trailing bytes are an error); lz4 reads one frame; zstd\n"
                "reads every frame.\n");
    fprintf(out,
            "\ncodecs:\n");
    codec_print_list(out);
    fprintf(out,
            "\nexit status: 0 success, 1 usage, 2 bad input (unknown codec, level out of\n"
            "range, a stream the codec rejects), 3 I/O error or out of memory.\n");
}

/* The options of compress, decompress and hash (--help, --version): the
 * index of the first operand (argv is permuted: operands last, in order),
 * -1 after --help, 0 after --version. */
static int operands(int argc, char **argv, const char *cmd)
{
    static const struct option longopts[] = {
        CB_OPT_HELP, CB_OPT_FLAG("version", 'V'), CB_OPT_END,
    };
    char err[512];
    int c;
    cb_getopt_reset();
    while ((c = cb_getopt(argc, argv, "h", longopts, err, sizeof err)) != -1) {
        if (c == 'h') return -1;
        if (c == 'V') return 0;
        cb_fail(CB_EXIT_USAGE, "%s: %s", cmd, err);
    }
    return optind;
}

static const codec_desc *cli_codec_args(int argc, char **argv, int *level)
{
    char err[256];
    const codec_desc *c;
    int first = operands(argc, argv, argv[0]);
    if (first < 0) {
        compress_usage(stdout, argv[0]);
        exit(CB_EXIT_OK);
    }
    if (first == 0) {
        cli_codec_version(argv[0]);
        exit(CB_EXIT_OK);
    }
    if (argc - first < 1)
        cb_fail(CB_EXIT_USAGE, "%s: no codec given (see casbench %s --help)", argv[0], argv[0]);
    if (argc - first > 1)
        cb_fail(CB_EXIT_USAGE, "%s: unexpected argument %s", argv[0], CB_Q(argv[first + 1]));
    c = codec_find(argv[first], level, err, sizeof err);
    if (!c)
        cb_fail(CB_EXIT_INPUT, "%s", err);
    if (isatty(1))
        cb_fail(CB_EXIT_USAGE, "stdout: is a terminal; redirect the binary output");
    return c;
}

/* The filters' last step: the whole output to stdout, then the buffer freed. */
static int write_and_free(uint8_t *dst, size_t n)
{
    if (cb_write_all(1, dst, n) != 0) {
        int e = errno;
        free(dst);
        cb_fail(CB_EXIT_ENV, "stdout: %s", strerror(e));
    }
    free(dst);
    return CB_EXIT_OK;
}

int cli_compress(int argc, char **argv)
{
    int level;
    const codec_desc *c = cli_codec_args(argc, argv, &level);
    size_t n, cap, r;
    uint8_t *src, *dst;
    void *ctx;

    src = cli_read_stdin(&n);
    ctx = c->create(level);
    cap = c->bound(n, level);
    dst = malloc(cap ? cap : 1);
    if (!ctx || !dst) {
        c->destroy(ctx);
        free(src);
        free(dst);
        cb_fail(CB_EXIT_ENV, "%s:%d: out of memory", c->name, level);
    }
    r = c->compress(ctx, src, n, dst, cap);
    c->destroy(ctx);
    free(src);
    if (codec_is_error(r)) {
        free(dst);
        cb_fail(CB_EXIT_INTERNAL, "stdin: %s:%d: %s", c->name, level, codec_error_name(r));
    }
    return write_and_free(dst, r);
}

int cli_decompress(int argc, char **argv)
{
    int level;
    const codec_desc *c = cli_codec_args(argc, argv, &level);
    size_t n, cap, hint, r;
    uint8_t *src, *dst = NULL;
    void *ctx;

    src = cli_read_stdin(&n);
    ctx = c->create(level);
    if (!ctx) {
        free(src);
        cb_fail(CB_EXIT_ENV, "%s: out of memory", c->name);
    }
    /* Start from the size the stream declares; grow when it was wrong or
     * absent, up to the limit. */
    hint = c->content_size(src, n);
    if (hint != CODEC_SIZE_UNKNOWN)
        cap = hint < CLI_CODEC_LIMIT ? hint : CLI_CODEC_LIMIT;
    else
        cap = n < CLI_CODEC_LIMIT / 4 ? 4 * n + 4096 : CLI_CODEC_LIMIT;
    for (;;) {
        free(dst);
        dst = malloc(cap ? cap : 1);
        if (!dst) {
            r = CODEC_ERROR(CODEC_ERR_ALLOC);
            break;
        }
        r = c->decompress(ctx, src, n, dst, cap);
        if (r != CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL) || cap >= CLI_CODEC_LIMIT)
            break;
        cap = cap < CLI_CODEC_LIMIT / 2 ? 2 * cap + 4096 : CLI_CODEC_LIMIT;
    }
    c->destroy(ctx);
    free(src);
    /* Free before failing, so that the sanitizer build's leak check stays
     * quiet on the error paths. */
    if (r == CODEC_ERROR(CODEC_ERR_DST_TOO_SMALL)) {
        free(dst);
        cb_fail(CB_EXIT_INPUT, "stdin: %s: output larger than the %s limit", c->name,
                CLI_CODEC_LIMIT_TEXT);
    }
    if (r == CODEC_ERROR(CODEC_ERR_ALLOC)) {
        free(dst);
        cb_fail(CB_EXIT_ENV, "%s: out of memory for %zu bytes of output", c->name, cap);
    }
    if (codec_is_error(r)) {
        free(dst);
        cb_fail(CB_EXIT_INPUT, "stdin: %s: %s", c->name, codec_error_name(r));
    }
    return write_and_free(dst, r);
}

static void hash_usage(FILE *out)
{
    fprintf(out,
            "usage: casbench hash HASH [FILE...]\n"
            "\n"
            "Prints \"<hex digest>  <file>\" for each FILE, as sha1sum does (no FILE or\n"
            "\"-\": standard input), through the same code the benchmark times. The hex\n"
            "equals sha1sum, sha256sum, b2sum, xxhsum -H1/-H3/-H2 (xxh64/xxh3-64/\n"
            "xxh3-128), b3sum and b3sum --length 20 (blake3-160). Nothing is printed\n"
            "unless every file is read. File names are printed as given (sha1sum's\n"
            "escaping of names with a newline or backslash is not done). FILE must be a\n"
            "regular file; a stream on standard input is limited to " CLI_CODEC_LIMIT_TEXT ".\n"
            "\nhashes:\n");
    hash_print_list(out);
    fprintf(out,
            "\nexit status: 0 success, 1 usage, 2 unknown hash or unreadable file,\n"
            "3 I/O error on output or out of memory.\n");
}

/* Hash one file in pieces through the state; "-" is stdin. 0, or -1 with
 * the problem in err. */
static int hash_file(const hash_desc *h, void *state, const char *path, uint8_t *buf,
                     size_t buflen, uint8_t *digest, char *err, size_t errlen)
{
    int fd = 0;
    struct stat st;
    uint64_t total = 0;
    /* O_NONBLOCK: opening a FIFO with no writer must not hang; anything but
     * a regular file is refused before it is read (stdin is the way to hash
     * a stream, and an endless one stops at the limit). */
    if (strcmp(path, "-") != 0 && (fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
        return cb_err(err, errlen, "%s: %s", CB_QP(path), strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        if (fd) close(fd);
        return cb_err(err, errlen, "%s: %s", CB_QP(path), strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        if (fd) close(fd);
        return cb_err(err, errlen, "%s: is a directory", fd ? CB_QP(path) : "stdin");
    }
    if (fd && !S_ISREG(st.st_mode)) {
        close(fd);
        return cb_err(err, errlen, "%s: not a regular file (pipe a stream to stdin instead)", CB_QP(path));
    }
    if (fd) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    h->reset(state);
    for (;;) {
        if (!S_ISREG(st.st_mode) && total > CLI_CODEC_LIMIT) {
            if (fd) close(fd);
            return cb_err(err, errlen, "%s: a stream larger than the %s limit",
                          fd ? CB_QP(path) : "stdin", CLI_CODEC_LIMIT_TEXT);
        }
        ssize_t r = read(fd, buf, buflen);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            if (fd)
                close(fd);
            return cb_err(err, errlen, "%s: %s", CB_QP(path), strerror(e));
        }
        if (r == 0)
            break;
        total += (size_t)r;
        h->update(state, buf, (size_t)r);
    }
    if (fd)
        close(fd);
    h->final(state, digest);
    return 0;
}

/* One output line as sha1sum writes it: "HEX  NAME\n", and a name holding a
 * backslash, a newline or a carriage return written as \\, \n, \r after
 * a leading backslash, so that every file is one line `sha1sum -c` reads
 * back. out has room for strlen(hex) + 2 * strlen(name) + 5 bytes. */
static size_t format_line(char *out, const char *hex, const char *name)
{
    size_t n = 0;
    int escaped = strpbrk(name, "\\\n\r") != NULL;
    if (escaped) out[n++] = '\\';
    n += (size_t)sprintf(out + n, "%s  ", hex);
    for (const char *p = name; *p; p++) {
        if (escaped && (*p == '\\' || *p == '\n' || *p == '\r')) {
            out[n++] = '\\';
            out[n++] = *p == '\\' ? '\\' : *p == '\n' ? 'n' : 'r';
        } else {
            out[n++] = *p;
        }
    }
    out[n++] = '\n';
    out[n] = 0;
    return n;
}

int cli_hash(int argc, char **argv)
{
    static const char *const stdin_only[] = {"-"};
    const char *const *files;
    const hash_desc *h;
    char err[512];
    size_t buflen = (size_t)1 << 20, outlen = 0, outcap = 0;
    uint8_t *buf;
    char *outbuf = NULL;
    void *state;
    int i, nfiles, status = CB_EXIT_OK;

    int first = operands(argc, argv, "hash");
    if (first < 0) {
        hash_usage(stdout);
        return CB_EXIT_OK;
    }
    if (first == 0) {
        cli_codec_version(argv[0]);
        return CB_EXIT_OK;
    }
    if (argc - first < 1)
        cb_fail(CB_EXIT_USAGE, "hash: no hash given (see casbench hash --help)");
    h = hash_find(argv[first], err, sizeof err);
    if (!h)
        cb_fail(CB_EXIT_INPUT, "%s", err);
    if (argc - first > 1) {
        files = (const char *const *)argv + first + 1;
        nfiles = argc - first - 1;
    } else {
        files = stdin_only;
        nfiles = 1;
    }
    state = h->create();
    buf = malloc(buflen);
    if (!state || !buf) {
        status = CB_EXIT_ENV;
        cb_err(err, sizeof err, "hash: out of memory");
    }
    for (i = 0; i < nfiles && status == CB_EXIT_OK; i++) {
        uint8_t digest[HASH_MAX_DIGEST];
        char hex[2 * HASH_MAX_DIGEST + 1];
        size_t need;
        if (hash_file(h, state, files[i], buf, buflen, digest, err, sizeof err) != 0) {
            status = CB_EXIT_INPUT;
            break;
        }
        hash_hex(digest, h->digest_bytes, hex);
        need = strlen(hex) + 2 + 2 * strlen(files[i]) + 3;
        if (outlen + need > outcap) {
            char *nb = realloc(outbuf, 2 * (outlen + need));
            if (!nb) {
                status = CB_EXIT_ENV;
                cb_err(err, sizeof err, "hash: out of memory");
                break;
            }
            outbuf = nb;
            outcap = 2 * (outlen + need);
        }
        outlen += format_line(outbuf + outlen, hex, files[i]);
    }
    /* Nothing reaches stdout unless every file was read. */
    if (status == CB_EXIT_OK && cb_write_all(1, outbuf, outlen) != 0) {
        status = CB_EXIT_ENV;
        cb_err(err, sizeof err, "stdout: %s", strerror(errno));
    }
    if (state)
        h->destroy(state);
    free(buf);
    free(outbuf);
    if (status != CB_EXIT_OK)
        cb_fail(status, "%s", err);
    return CB_EXIT_OK;
}
