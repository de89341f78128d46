/* cli_store.c - `casbench store put|get`: one artifact in a store laid out
 * as metaflow's local datastore lays it out (bench/store.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cliopt.h"
#include "codec.h"
#include "hash.h"
#include "roundtrip.h"
#include "store.h"
#include "util.h"

static void usage(FILE *out)
{
    fprintf(out,
"usage: casbench store put PAYLOAD --codec C[:L] [--hash H] --store DIR [--prefix P]\n"
"                          [--numpy 1|2]\n"
"       casbench store get KEY --store DIR [--prefix P]\n"
"\n"
"put  writes one artifact as metaflow would: the payload's protocol-4 pickle (or\n"
"     the bytes of file:PATH / pattern:SIZE) keyed by its hash (default sha1),\n"
"     packed and stored under DIR[/P]/<key[:2]>/<key> with <key>_meta, through a\n"
"     temporary file and a rename; prints the key. Nothing is written when the\n"
"     key exists. Codecs and the _meta they get:\n"
"       gzip, libdeflate, isal  {\"cas_raw\": false, \"cas_version\": 1} (metaflow\n"
"                               master; gzip:3 is its GzipFile(compresslevel=3))\n"
"       lz4                     {\"cas_raw\": false, \"cas_version\": 2} (PR #3090;\n"
"                               lz4:0 is its lz4.frame.compress)\n"
"       none                    {\"cas_raw\": true, \"cas_version\": 1} (raw=True)\n"
"get  writes the blob of KEY to stdout (not a terminal), reading what metaflow\n"
"     writes: cas_version 1 (gzip), 2 (lz4), cas_raw true, no _meta (version 1).\n"
"     An unknown version gets metaflow's own error.\n"
"  --prefix P   a directory between DIR and the key directories (the PR's\n"
"               scripts: cas; a flow's artifacts: <FlowName>/data under the\n"
"               datastore root)\n"
"  --numpy M    the ndarray pickles' module path: 1 (numpy.core, default) or 2\n"
"Exit status: 0 done, 1 usage, 2 bad input (unknown codec, hash, key or payload;\n"
"a missing or foreign artifact), 3 environment (I/O).\n");
}

typedef struct {
    const char *verb, *arg, *codec, *hash, *dir, *prefix;
    int numpy_major;
} store_args;

/* The options and operands of `store`; *done after --help / --version. */
static void parse(int argc, char **argv, store_args *a, int *done)
{
    static const struct option longopts[] = {
        CB_OPT_VALUE("codec", 'c'), CB_OPT_VALUE("hash", 'H'),
        CB_OPT_VALUE("store", 's'), CB_OPT_VALUE("prefix", 'p'),
        CB_OPT_VALUE("numpy", 'n'), CB_OPT_HELP,
        CB_OPT_FLAG("version", 'V'), CB_OPT_END,
    };
    char err[256];
    int c, i;
    int64_t m;
    memset(a, 0, sizeof *a);
    a->numpy_major = 1;
    *done = 0;
    cb_getopt_reset();
    while ((c = cb_getopt(argc, argv, "h", longopts, err, sizeof err)) != -1) {
        switch (c) {
        case 'c': a->codec = optarg; break;
        case 'H': a->hash = optarg; break;
        case 's': a->dir = optarg; break;
        case 'p': a->prefix = optarg; break;
        case 'n':
            if (cb_parse_i64(optarg, 1, 2, &m, err, sizeof err) != 0)
                cb_fail(CB_EXIT_INPUT, "--numpy %s: %s", CB_Q(optarg), err);
            a->numpy_major = (int)m;
            break;
        case 'h': usage(stdout); *done = 1; return;
        case 'V': printf("casbench %s (commit %s)\n", cb_version, cb_git_commit); *done = 1; return;
        default: cb_fail(CB_EXIT_USAGE, "store: %s (see casbench store --help)", err);
        }
    }
    for (i = optind; i < argc; i++) {
        if (!a->verb) a->verb = argv[i];
        else if (!a->arg) a->arg = argv[i];
        else cb_fail(CB_EXIT_USAGE, "store: unexpected argument %s (see casbench store --help)", CB_Q(argv[i]));
    }
    if (!a->verb) cb_fail(CB_EXIT_USAGE, "store: put or get? (see casbench store --help)");
    if (strcmp(a->verb, "put") != 0 && strcmp(a->verb, "get") != 0)
        cb_fail(CB_EXIT_USAGE, "store: %s: not put or get (see casbench store --help)", CB_Q(a->verb));
    if (!a->arg) cb_fail(CB_EXIT_USAGE, "store %s: no %s given", a->verb, *a->verb == 'p' ? "payload" : "key");
    if (!a->dir) cb_fail(CB_EXIT_USAGE, "store %s: --store DIR is required", a->verb);
    if (*a->verb == 'p' && !a->codec) cb_fail(CB_EXIT_USAGE, "store put: --codec is required");
    if (*a->verb == 'g' && (a->codec || a->hash))
        cb_fail(CB_EXIT_USAGE, "store get: --codec and --hash are read from the artifact, not given");
    if (a->prefix && (!*a->prefix || a->prefix[0] == '/' || strstr(a->prefix, "..")))
        cb_fail(CB_EXIT_INPUT, "--prefix %s: not a relative directory name", CB_Q(a->prefix));
}

/* The store's root must be a directory (get: an existing one). */
static void check_dir(const char *dir, int must_exist)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (must_exist || errno != ENOENT) cb_fail(CB_EXIT_INPUT, "--store %s: %s", CB_Q(dir), strerror(errno));
        return;
    }
    if (!S_ISDIR(st.st_mode)) cb_fail(CB_EXIT_INPUT, "--store %s: not a directory", CB_Q(dir));
}

static int put(const store_args *a)
{
    char err[512], key[STORE_KEY_MAX];
    int level, status;
    const codec_desc *codec = codec_find(a->codec, &level, err, sizeof err);
    if (!codec) cb_fail(CB_EXIT_INPUT, "--codec %s: %s", CB_Q(a->codec), err);
    const store_packing *pk = store_packing_for(codec->name);
    if (!pk || !pk->metaflow_reads)
        cb_fail(CB_EXIT_INPUT, "--codec %s: no metaflow reads it (gzip, libdeflate, isal: "
                "cas_version 1; lz4: 2, PR #3090; none: raw)", CB_Q(a->codec));
    const hash_desc *h = hash_find(a->hash ? a->hash : "sha1", err, sizeof err);
    if (!h) cb_fail(CB_EXIT_INPUT, "--hash %s: %s", CB_Q(a->hash), err);
    check_dir(a->dir, 0);
    uint8_t *blob;
    size_t len;
    if (rt_payload_blob(a->arg, a->numpy_major, 0, &blob, &len, &status, err, sizeof err) != 0)
        cb_fail(status, "%s", err);
    store *s = store_open(a->dir, a->prefix, codec, level, h, err, sizeof err);
    if (!s) cb_fail(CB_EXIT_ENV, "%s", err);
    if (store_save(s, blob, len, key, NULL, err, sizeof err) != 0) cb_fail(CB_EXIT_ENV, "%s", err);
    printf("%s\n", key);
    store_close(s);
    free(blob);
    return CB_EXIT_OK;
}

static int get(const store_args *a)
{
    char err[1024];
    int level;
    if (!store_key_valid(a->arg))
        cb_fail(CB_EXIT_INPUT, "key %s: not a key (2 to %d lowercase hex characters)", CB_Q(a->arg),
                STORE_KEY_MAX - 1);
    check_dir(a->dir, 1);
    if (isatty(STDOUT_FILENO))
        cb_fail(CB_EXIT_USAGE, "store get: refusing to write a blob to a terminal (redirect stdout)");
    /* The codec and hash only open the store: a load unpacks by the
     * artifact's own cas_version. */
    const codec_desc *codec = codec_find("gzip", &level, err, sizeof err);
    const hash_desc *h = hash_find("sha1", err, sizeof err);
    if (!codec || !h) cb_fail(CB_EXIT_INTERNAL, "%s", err);
    store *s = store_open(a->dir, a->prefix, codec, level, h, err, sizeof err);
    if (!s) cb_fail(CB_EXIT_ENV, "%s", err);
    uint8_t *blob;
    size_t len;
    int rc = store_load(s, a->arg, &blob, &len, err, sizeof err);
    if (rc != 0) cb_fail(rc, "%s", err);
    if (cb_write_all(STDOUT_FILENO, blob, len) != 0)
        cb_fail(CB_EXIT_ENV, "stdout: write failed: %s", strerror(errno));
    store_blob_free(blob, len);
    store_close(s);
    return CB_EXIT_OK;
}

int cli_store(int argc, char **argv)
{
    store_args a;
    int done;
    parse(argc, argv, &a, &done);
    if (done) return CB_EXIT_OK;
    return *a.verb == 'p' ? put(&a) : get(&a);
}
