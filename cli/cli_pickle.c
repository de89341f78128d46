/* cli_pickle.c - `casbench pickle`: a payload's pickle to stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include "cli.h"
#include "cliopt.h"
#include "payload.h"
#include "pickle.h"
#include "util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: casbench pickle PAYLOAD [--protocol P] [--seed N] [--numpy 1|2] [--name]\n"
            "\n"
            "Writes the bytes CPython 3.11's pickle.dumps(obj, protocol=P) writes for the\n"
            "payload's object to standard output (which must not be a terminal).\n"
            "  --protocol P   2, 3, 4 or 5 (default 4, as metaflow since 2.13.10)\n"
            "  --seed N       generator seed, 0..2^64-1 (default 0)\n"
            "  --numpy M      ndarray reduce of numpy 1.x (numpy.core, default) or 2.x (numpy._core)\n"
            "  --name         print the payload's name as results name it (matrix.tsv's payload\n"
            "                 column: `weights` for weights:rows=1000) instead of the pickle\n"
            "\n");
    payload_print_help(out);
}

int cli_pickle(int argc, char **argv)
{
    pickle_options opt = PICKLE_OPTIONS_DEFAULT;
    uint64_t seed = 0;
    const char *spec = NULL, *v;
    char err[512];
    int i, name_only = 0;

    static const struct option longopts[] = {
        CB_OPT_VALUE("protocol", 'p'), CB_OPT_VALUE("seed", 's'),
        CB_OPT_VALUE("numpy", 'n'), CB_OPT_FLAG("name", 'N'), CB_OPT_HELP,
        CB_OPT_FLAG("version", 'V'), CB_OPT_END,
    };
    int c;
    cb_getopt_reset();
    while ((c = cb_getopt(argc, argv, "h", longopts, err, sizeof err)) != -1) {
        int64_t iv;
        v = optarg;
        switch (c) {
        case 'h': usage(stdout); return CB_EXIT_OK;
        case 'V': printf("casbench %s (commit %s)\n", cb_version, cb_git_commit); return CB_EXIT_OK;
        case 'p':
            if (cb_parse_i64(v, 2, 5, &iv, err, sizeof err))
                cb_fail(CB_EXIT_INPUT, "--protocol %s: %s", CB_Q(v), err);
            opt.protocol = (int)iv;
            break;
        case 's':
            if (cb_parse_u64(v, 0, UINT64_MAX, &seed, err, sizeof err))
                cb_fail(CB_EXIT_INPUT, "--seed %s: %s", CB_Q(v), err);
            break;
        case 'n':
            if (cb_parse_i64(v, 1, 2, &iv, err, sizeof err))
                cb_fail(CB_EXIT_INPUT, "--numpy %s: %s", CB_Q(v), err);
            opt.numpy_major = (int)iv;
            break;
        case 'N': name_only = 1; break;
        default: cb_fail(CB_EXIT_USAGE, "pickle: %s (see casbench pickle --help)", err);
        }
    }
    for (i = optind; i < argc; i++) {
        if (spec) cb_fail(CB_EXIT_USAGE, "pickle: more than one payload (%s and %s)", CB_Q(spec), CB_Q(argv[i]));
        spec = argv[i];
    }
    if (!spec) cb_fail(CB_EXIT_USAGE, "pickle: no payload given (see casbench pickle --help)");
    if (!name_only && isatty(STDOUT_FILENO))
        cb_fail(CB_EXIT_USAGE, "pickle: refusing to write a binary pickle to a terminal (redirect stdout)");

    int status;
    payload *pl = payload_create(spec, seed, &status, err, sizeof err);
    if (!pl) cb_fail(status, "%s", err);
    if (name_only) {
        if (printf("%s\n", payload_name(pl)) < 0 || fflush(stdout) != 0)
            cb_fail(CB_EXIT_ENV, "stdout: write failed: %s", strerror(errno));
        payload_free(pl);
        return CB_EXIT_OK;
    }
    size_t len;
    const uint8_t *blob;
    uint8_t *buf;
    if (payload_blob(pl, &opt, &blob, &len, &buf, &status, err, sizeof err) != 0)
        cb_fail(status, "%s: %s", spec, err);
    if (cb_write_all(STDOUT_FILENO, blob, len) != 0)
        cb_fail(CB_EXIT_ENV, "stdout: write failed: %s", strerror(errno));
    free(buf);
    payload_free(pl);
    return CB_EXIT_OK;
}
