/* cliopt.c - see cliopt.h. */
#include "cliopt.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

void cb_getopt_reset(void)
{
    optind = 0;   /* glibc: a full re-initialisation */
}

/* The name of the option val in longopts, or NULL. */
static const char *long_name(const struct option *o, int val)
{
    for (; o && o->name; o++)
        if (!o->flag && o->val == val) return o->name;
    return NULL;
}

int cb_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
              char *err, size_t errlen)
{
    char spec[64];
    const char *so = shortopts ? shortopts : "";
    /* ':' first (after a '+', which glibc reads only in front): a missing
     * value returns ':' instead of a message on stderr. */
    if (*so == '+') snprintf(spec, sizeof spec, "+:%s", so + 1);
    else snprintf(spec, sizeof spec, ":%s", so);
    opterr = 0;
    int c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c != '?' && c != ':') return c;
    const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
    if (c == ':') {
        const char *name = long_name(longopts, optopt);
        if (strncmp(arg, "--", 2) == 0 || !name) cb_err(err, errlen, "%s: missing value", arg);
        else cb_err(err, errlen, "--%s: missing value", name);
    } else if (strncmp(arg, "--", 2) != 0 && !(arg[0] == '-' && (unsigned char)arg[1] == (unsigned char)optopt &&
               !arg[2]) && optind < argc && argv[optind][0] == '-' &&
               (unsigned char)argv[optind][1] == (unsigned char)optopt && argv[optind][2]) {
        /* An unknown letter that is not the last of its word leaves optind on
         * that word; name the whole word, as the user typed it. */
        cb_err(err, errlen, "unknown option %s", CB_Q(argv[optind]));
    } else {
        cb_err(err, errlen, "unknown option %s", CB_Q(arg));
    }
    return '?';
}
