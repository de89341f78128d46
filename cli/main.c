/* main.c - casbench's entry point: one table row per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static const cli_command commands[] = {
    {"list",       cli_list,       "list payloads, codecs and hashes with their defaults"},
    {"pickle",     cli_pickle,     "write a payload's pickle to stdout"},
    {"compress",   cli_compress,   "compress stdin to stdout with a codec"},
    {"decompress", cli_decompress, "decompress stdin to stdout with a codec"},
    {"hash",       cli_hash,       "print digests of files, as sha1sum does"},
    {"run",        cli_run,        "run the benchmark matrix into a results directory"},
    {"report",     cli_report,     "write REPORT.md and plots for a results directory"},
    {"compare",    cli_compare,    "compare two results directories"},
    {"calibrate",  cli_calibrate,  "compare the harness with the libraries' own tools"},
    {"store",      cli_store,      "put / get one artifact in a metaflow-layout store"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    size_t i;
    fprintf(out,
            "usage: casbench COMMAND [ARGS...]\n"
            "       casbench --help | --version\n"
            "\n"
            "Benchmarks metaflow's artifact save path: pickle (protocol 4) -> key\n"
            "(SHA-1 of the blob) -> compress (gzip level 3), against every candidate codec\n"
            "and hash. `casbench COMMAND --help` documents each command.\n"
            "\n"
            "commands:\n");
    for (i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "exit status:\n"
            "  0    success\n"
            "  1    usage error (unknown command or flag, missing argument)\n"
            "  2    bad input (name, level, size, file, JSON, TSV)\n"
            "  3    environment (I/O error, out of memory, missing tool, a results\n"
            "       directory another run is writing)\n"
            "  4    internal error\n"
            "  130  interrupted by SIGINT; 143 by SIGTERM (finished rows are kept)\n"
            "Errors are one line on stderr: \"casbench: INPUT: PROBLEM\".\n");
}

int main(int argc, char **argv)
{
    size_t i;
    if (argc < 2)
        cb_fail(CB_EXIT_USAGE, "no command given (see casbench --help)");
    if (cb_is_help(argv[1])) {
        usage(stdout);
        return CB_EXIT_OK;
    }
    if (cb_is_version(argv[1])) {
        printf("casbench %s (commit %s)\n", cb_version, cb_git_commit);
        return CB_EXIT_OK;
    }
    for (i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    cb_fail(CB_EXIT_USAGE, "unknown command %s (see casbench --help)", CB_Q(argv[1]));
}
