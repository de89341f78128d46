/*
 * cli_getopt.h - the errors of subcommands that parse with libc's
 * getopt_long (`--flag=value`, `--flag value`, `--`), in casbench's form: one
 * line on stderr naming the option as the user wrote it, exit status 1.
 *
 * The caller sets opterr = 0 and gives an optstring that starts "+:" (stop
 * at the first non-option; ':' for a missing value), so that getopt_long
 * prints nothing itself.
 */
#ifndef CASBENCH_CLI_GETOPT_H
#define CASBENCH_CLI_GETOPT_H

#include <getopt.h>
#include <stddef.h>

/* "--name" of the option of opts whose val is `val` ("-c" for a short one). */
const char *cli_option_name(const struct option *opts, int val, char *buf, size_t cap);

/* getopt_long returned c, ':' (a missing value) or '?' (an unknown option or
 * a value given to an option that takes none): the one-line error, then exit
 * 1. help: what to read ("casbench run --help"). */
void cli_getopt_fail(int c, const struct option *opts, char **argv, const char *help)
    __attribute__((noreturn));

/* Exit 1 when arguments are left after the options (optind < argc): the
 * subcommand takes options only. */
void cli_getopt_no_operands(int argc, char **argv, const char *help);

#endif
