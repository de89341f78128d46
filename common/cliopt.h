/*
 * cliopt.h - the one flag parser of casbench's subcommands: libc's
 * getopt_long, with messages in casbench's form.
 *
 * What users get: "--flag=value" and "--flag value"; options and operands
 * in any order; "--" ends the options (an operand may then start with '-');
 * an unambiguous prefix of a long option is that option (GNU getopt_long).
 * A shortopts that starts with '+' stops at the first operand instead
 * (options only before operands).
 */
#ifndef CASBENCH_CLIOPT_H
#define CASBENCH_CLIOPT_H

#include <getopt.h>
#include <stddef.h>

/* The rows of a longopts table (flag is always NULL: cb_getopt returns the
 * id): an option that takes a value ("--out DIR" or "--out=DIR"), one that
 * takes none, one whose value is optional (then only "--flag=value" gives
 * it), --help (returned as 'h'), and the row that ends the table. */
#define CB_OPT_VALUE(name, id)    {(name), required_argument, NULL, (id)}
#define CB_OPT_FLAG(name, id)     {(name), no_argument, NULL, (id)}
#define CB_OPT_OPTIONAL(name, id) {(name), optional_argument, NULL, (id)}
#define CB_OPT_HELP               CB_OPT_FLAG("help", 'h')
#define CB_OPT_END                {NULL, 0, NULL, 0}

/* Start parsing a new argv (getopt_long keeps state between calls). */
void cb_getopt_reset(void);

/* The next option of argv: its `val` from longopts (or its letter from
 * shortopts), its value in optarg; -1 after the last option (the operands
 * are then argv[optind..argc), in their order). getopt_long itself prints
 * nothing: an unknown option, an option given a value it does not take, or
 * a missing value returns '?' with "unknown option '--x'" or "--flag:
 * missing value" in err (the caller adds "CMD: " and the hint). */
int cb_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
              char *err, size_t errlen);

#endif
