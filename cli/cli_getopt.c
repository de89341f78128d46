/* cli_getopt.c - see cli_getopt.h. */
#include "cli_getopt.h"

#include <stdio.h>

#include "util.h"

const char *cli_option_name(const struct option *opts, int val, char *buf, size_t cap)
{
    for (const struct option *p = opts; p->name; p++)
        if (p->val == val) {
            snprintf(buf, cap, "--%s", p->name);
            return buf;
        }
    snprintf(buf, cap, "-%c", val > 0 && val < 128 ? val : '?');
    return buf;
}

void cli_getopt_fail(int c, const struct option *opts, char **argv, const char *help)
{
    char name[64];
    if (c == ':') cb_fail(CB_EXIT_USAGE, "%s: missing value (see %s)", cli_option_name(opts, optopt, name, sizeof name), help);
    /* A long option leaves optopt 0 (unknown) or its val (a value it does
     * not take): argv[optind - 1] is the word as written. */
    const char *bad = optopt > 0 && optopt < 128 ? cli_option_name(opts, optopt, name, sizeof name) : argv[optind - 1];
    cb_fail(CB_EXIT_USAGE, "%s: unknown option (see %s)", CB_Q(bad), help);
}

void cli_getopt_no_operands(int argc, char **argv, const char *help)
{
    if (optind < argc)
        cb_fail(CB_EXIT_USAGE, "%s: unexpected argument (options only; see %s)", CB_Q(argv[optind]), help);
}
