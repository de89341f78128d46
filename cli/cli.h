/*
 * cli.h - the subcommands of build/casbench.
 *
 * Each subcommand is one row of the table in main.c; its function receives
 * argv with argv[0] = the subcommand name, parses its own flags, handles
 * --help and --version, and returns an exit status from util.h (or calls
 * cb_fail). Subcommands live in cli/cli_<name>.c.
 */
#ifndef CASBENCH_CLI_H
#define CASBENCH_CLI_H

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;   /* one line for `casbench --help` */
} cli_command;

int cli_pickle(int argc, char **argv);     /* payloads: blob to stdout */
int cli_list(int argc, char **argv);       /* payloads, codecs, hashes */
int cli_compress(int argc, char **argv);   /* codec filter stdin -> stdout */
int cli_decompress(int argc, char **argv);
int cli_hash(int argc, char **argv);       /* sha1sum-style digests */
int cli_run(int argc, char **argv);        /* the benchmark matrix */
int cli_run_suite(int argc, char **argv);  /* run --suite pr3090 (cli_run_suite.c) */
int cli_store(int argc, char **argv);      /* a metaflow-layout store: put / get */
int cli_report(int argc, char **argv);     /* REPORT.md + plots of a run */
int cli_compare(int argc, char **argv);    /* two runs side by side */
int cli_calibrate(int argc, char **argv);  /* harness vs the libraries' tools */

#endif
