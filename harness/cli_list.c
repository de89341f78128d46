/* cli_list.c - `casbench list`: what a run can select, with defaults. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "codec.h"
#include "hash.h"
#include "payload.h"
#include "util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: casbench list [payloads|codecs|hashes]\n"
            "\n"
            "Prints the payloads (names, parameters, defaults and the spec grammar),\n"
            "the codecs (levels, default level, library and version) and the hashes\n"
            "(digest size, library, implementation) that `casbench run` accepts;\n"
            "all three sections without an argument.\n"
            "\n"
            "exit status: 0 done, 1 usage.\n");
}

int cli_list(int argc, char **argv)
{
    int want_payloads = 1, want_codecs = 1, want_hashes = 1, picked = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cb_is_help(a)) { usage(stdout); return CB_EXIT_OK; }
        if (cb_is_version(a)) { printf("casbench %s (commit %s)\n", cb_version, cb_git_commit); return CB_EXIT_OK; }
        if (!picked) { want_payloads = want_codecs = want_hashes = 0; picked = 1; }
        if (strcmp(a, "payloads") == 0) want_payloads = 1;
        else if (strcmp(a, "codecs") == 0) want_codecs = 1;
        else if (strcmp(a, "hashes") == 0) want_hashes = 1;
        else cb_fail(CB_EXIT_USAGE, "list '%s': unknown section (payloads, codecs or hashes)", a);
    }
    if (want_payloads) {
        printf("payloads:\n");
        payload_print_help(stdout);
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
