/* cli_list.c - `casbench list`: what a run can select, with defaults. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cliopt.h"
#include "codec.h"
#include "hash.h"
#include "payload.h"
#include "util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: casbench list [payloads|codecs|hashes]... [--seed N]\n"
            "\n"
            "Prints the payloads (names, parameters with their defaults, and the\n"
            "protocol-4 pickled size of each default payload at --seed, default 0),\n"
            "the codecs (levels, default level, library and version) and the hashes\n"
            "(digest size, library, implementation) that `casbench run` accepts;\n"
            "all three sections without a section name.\n"
            "\n"
            "exit status: 0 done, 1 usage, 2 bad --seed, 3 output error.\n");
}

int cli_list(int argc, char **argv)
{
    int want_payloads = 1, want_codecs = 1, want_hashes = 1, picked = 0;
    uint64_t seed = 0;
    char err[128];
    static const struct option longopts[] = {
        CB_OPT_VALUE("seed", 's'), CB_OPT_HELP,
        CB_OPT_FLAG("version", 'V'), CB_OPT_END,
    };
    int c;
    cb_getopt_reset();
    while ((c = cb_getopt(argc, argv, "h", longopts, err, sizeof err)) != -1) {
        switch (c) {
        case 's':
            if (cb_parse_u64(optarg, 0, UINT64_MAX, &seed, err, sizeof err) != 0)
                cb_fail(CB_EXIT_INPUT, "--seed %s: %s", CB_Q(optarg), err);
            break;
        case 'h': usage(stdout); return CB_EXIT_OK;
        case 'V': printf("casbench %s (commit %s)\n", cb_version, cb_git_commit); return CB_EXIT_OK;
        default: cb_fail(CB_EXIT_USAGE, "list: %s (see casbench list --help)", err);
        }
    }
    for (int i = optind; i < argc; i++) {
        const char *a = argv[i];
        if (!picked) { want_payloads = want_codecs = want_hashes = 0; picked = 1; }
        if (strcmp(a, "payloads") == 0) want_payloads = 1;
        else if (strcmp(a, "codecs") == 0) want_codecs = 1;
        else if (strcmp(a, "hashes") == 0) want_hashes = 1;
        else cb_fail(CB_EXIT_USAGE, "list %s: unknown section (payloads, codecs or hashes)", CB_Q(a));
    }
    if (want_payloads) {
        printf("payloads:\n");
        payload_print_list(stdout, seed);
    }
    if (want_codecs) {
        if (want_payloads) printf("\n");
        printf("codecs:\n");
        codec_print_list(stdout);
    }
    if (want_hashes) {
        if (want_payloads || want_codecs) printf("\n");
        printf("hashes:\n");
        hash_print_list(stdout);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) cb_fail(CB_EXIT_ENV, "standard output: write error");
    return CB_EXIT_OK;
}
