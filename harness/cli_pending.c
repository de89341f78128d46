/* cli_pending.c - TEMPORARY during bring-up: weak placeholders so the binary
 * links while subcommands land one by one. A real cli_<name>.c overrides each.
 * This file is deleted once every subcommand exists. */
#include "cli.h"
#include "util.h"

#define PENDING(fn, name) \
    __attribute__((weak)) int fn(int argc, char **argv) \
    { (void)argc; (void)argv; cb_fail(CB_EXIT_INTERNAL, "%s: not built yet", name); }

PENDING(cli_pickle, "pickle")
PENDING(cli_list, "list")
PENDING(cli_compress, "compress")
PENDING(cli_decompress, "decompress")
PENDING(cli_hash, "hash")
PENDING(cli_run, "run")
PENDING(cli_report, "report")
PENDING(cli_compare, "compare")
PENDING(cli_calibrate, "calibrate")
