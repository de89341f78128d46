/* cli_report.c - `casbench report RUN_DIR`: REPORT.md and plots of a run. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cliopt.h"
#include "report.h"
#include "util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: casbench report RUN_DIR [--readme README.md] [--published FILE]\n"
            "                       [--plots-dir DIR] [--gnuplot PATH] [--python PY_RUN_DIR]\n"
            "                       [--mix FILE] [--hit-rate F]\n"
            "\n"
            "Writes RUN_DIR/REPORT.md and RUN_DIR/plots/*.{tsv,png,svg} from RUN_DIR's\n"
            "matrix.tsv and env.tsv: environment, PR #3090 reproduction, where the time\n"
            "goes, codecs, the SHA-1 proposal, save + upload, a recommendation\n"
            "computed by the rules the report states, the fastest save path (fused and\n"
            "overlapped variants against sequential and their limits) and C and\n"
            "Python side by side (with --python). Plots are drawn by gnuplot\n"
            "(pngcairo and svg terminals) from the scripts in casbench's plots/.\n"
            "Every file is written to a temporary name and renamed; re-running\n"
            "replaces the outputs, and removes the .tsv/.png/.svg files in\n"
            "RUN_DIR/plots/ that it no longer writes. Prints the paths of REPORT.md\n"
            "(and README).\n"
            "\n"
            "  --readme FILE     also replace the block between\n"
            "                    " REPORT_README_BEGIN " and\n"
            "                    " REPORT_README_END " in FILE with the\n"
            "                    run's headline tables (appended when absent)\n"
            "  --published FILE  the published PR #3090 table (default:\n"
            "                    RUN_DIR/../reference/pr3090-published.tsv, then\n"
            "                    results/reference/pr3090-published.tsv)\n"
            "  --plots-dir DIR   the gnuplot scripts (default: $CASBENCH_PLOTS_DIR,\n"
            "                    ./plots, or plots/ beside the binary)\n"
            "  --gnuplot PATH    the gnuplot to run (default: gnuplot in PATH)\n"
            "  --python DIR      a run directory written by infra/python_path.py\n"
            "                    (env.tsv runtime = python): C and Python medians,\n"
            "                    their ratio and the +-10 %% rule, row by row, and\n"
            "                    predict.tsv (each Python row predicted as its C cell\n"
            "                    + measured per-call costs). Default: RUN_DIR/python\n"
            "                    when it exists (casbench run --python)\n"
            "  --mix FILE        the workload mix the recommendation prices a flow\n"
            "                    step with: a TSV with a header naming the columns\n"
            "                    payload and weight (artifacts of that payload a step\n"
            "                    saves and loads; the run's payloads, each once,\n"
            "                    weights >= 0; default: the mix the report states)\n"
            "  --hit-rate F      the share of saves (0..1) whose key is already\n"
            "                    stored, so that metaflow skips compression (default\n"
            "                    %.2g)\n"
            "\n"
            "exit status: 0 ok, 1 usage, 2 bad input (malformed or missing results\n"
            "files, --mix file or RUN_DIR/predict.tsv, a --hit-rate outside 0..1; the\n"
            "error names the file and line), 3 environment (gnuplot or its\n"
            "scripts missing, I/O error).\n", REPORT_HIT_RATE_DEFAULT);
}

int cli_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        CB_OPT_VALUE("readme", 'r'), CB_OPT_VALUE("published", 'p'),
        CB_OPT_VALUE("plots-dir", 'd'), CB_OPT_VALUE("gnuplot", 'g'),
        CB_OPT_VALUE("python", 'y'), CB_OPT_VALUE("mix", 'm'),
        CB_OPT_VALUE("hit-rate", 'H'), CB_OPT_HELP,
        CB_OPT_FLAG("version", 'V'), CB_OPT_END,
    };
    report_opts o = {0};
    char err[1024];
    int c, i, rc;
    cb_getopt_reset();
    while ((c = cb_getopt(argc, argv, "h", longopts, err, sizeof err)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return CB_EXIT_OK;
        case 'V': printf("casbench report %s (commit %s)\n", cb_version, cb_git_commit); return CB_EXIT_OK;
        case 'r': o.readme = optarg; break;
        case 'p': o.published = optarg; break;
        case 'd': o.scripts_dir = optarg; break;
        case 'g': o.gnuplot = optarg; break;
        case 'y': o.python_dir = optarg; break;
        case 'm': o.mix = optarg; break;
        case 'H': {
            char sub[128];
            if (cb_parse_double(optarg, 0, 1, &o.hit_rate, sub, sizeof sub) != 0)
                cb_fail(CB_EXIT_INPUT, "report: --hit-rate %s: %s (a share of saves, 0 to 1)", CB_Q(optarg), sub);
            o.has_hit_rate = 1;
            break;
        }
        default: cb_fail(CB_EXIT_USAGE, "report: %s (see casbench report --help)", err);
        }
    }
    for (i = optind; i < argc; i++) {
        if (o.run_dir)
            cb_fail(CB_EXIT_USAGE, "report: more than one RUN_DIR (%s and %s)", CB_Q(o.run_dir), CB_Q(argv[i]));
        o.run_dir = argv[i];
    }
    if (!o.run_dir) cb_fail(CB_EXIT_USAGE, "report: no RUN_DIR given (see casbench report --help)");
    rc = report_write(&o, err, sizeof err);
    if (rc != 0) cb_fail(rc, "%s", err);
    /* What was written, for a person or a script that goes on to open it. */
    printf("%s%sREPORT.md\n", o.run_dir, o.run_dir[strlen(o.run_dir) - 1] == '/' ? "" : "/");
    if (o.readme) printf("%s\n", o.readme);
    return CB_EXIT_OK;
}
