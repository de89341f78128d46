/* report_python.c - section "C and Python side by side": the rows of a run
 * of infra/python_path.py beside the C run's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"
#include "report_facts.h"

#define PY_RULE_BYTES 800000   /* "payloads >= 800 KB" */
#define PY_RULE_TOL 0.10

void report_sec_python(report_ctx *c, FILE *md)
{
    const rundir *py = c->python;
    size_t i, napplied = 0, npass = 0, nrows = 0;
    strlist differ = {0};   /* why rows run different code, each once */
    if (!py) {
        fprintf(md, "No Python run given. `casbench report RUN_DIR --python PY_RUN_DIR`, with a run "
                "directory written by `infra/python_path.py` (env.tsv `runtime` = `python`), puts "
                "the C and Python medians side by side here.\n\n");
        return;
    }
    fprintf(md, "Python run: `%s` (%s %s, %s). Rows are matched on payload, protocol, stage, "
            "variant, codec, level and hash; the C row with the Python row's allocation mode "
            "(Python allocates every result: `fresh`) is used when the C run has it, else the "
            "other mode (the C alloc column says which). Python - C is the interpreter's cost "
            "per call where the library code is the same.\n\n", py->dir,
            rundir_env(py, "python_implementation"), rundir_env(py, "python_version"),
            rundir_env(py, "utc_time"));
    fprintf(md, "Rule: for payloads of at least %d bytes whose row runs the same library code in "
            "both programs with the same allocation mode, expect the C median within +-%d %% of "
            "Python's. Rows below that size show the interpreter's per-call overhead instead "
            "(Python - C); rows whose code or allocation mode differs say why and are not "
            "judged. On a machine shared with other work the medians of both runs move by more "
            "than the rule's band: a failed row there is a fact about the machine as much as "
            "about the two programs (see the cv of the rows in matrix.tsv).\n\n", PY_RULE_BYTES,
            (int)(PY_RULE_TOL * 100));
    fprintf(md, "| payload | bytes | stage | variant | codec | hash | C alloc | C ms | Python ms | "
            "Python / C | Python - C us | code | C within +-10 %% |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (i = 0; i < py->nrows; i++) {
        const rundir_row *w = &py->rows[i];
        const rundir_row *cr;
        const char *why, *other;
        char verdict[96], codec[80] = "";
        int same;
        if (!w->ok || w->protocol != c->protocol) continue;
        other = strcmp(w->alloc, ALLOC(FRESH)) == 0 ? ALLOC(REUSE) : ALLOC(FRESH);
        cr = rpt_find(c, w->payload, w->stage, w->variant, w->codec, w->level, w->hash, w->alloc);
        if (!cr) cr = rpt_find(c, w->payload, w->stage, w->variant, w->codec, w->level, w->hash, other);
        if (!cr) continue;
        nrows++;
        same = report_python_same(c->run, w, &why);
        if (!same) rpt_sl_add(&differ, why);
        if (*w->codec) snprintf(codec, sizeof codec, "%s:%d", w->codec, w->level);
        if (!same) {
            snprintf(verdict, sizeof verdict, "not judged");
        } else if (strcmp(cr->alloc, w->alloc) != 0) {
            /* Page faults of fresh buffers would be counted on one side only. */
            snprintf(verdict, sizeof verdict, "not judged (alloc differs)");
        } else if (w->pickled_bytes < PY_RULE_BYTES) {
            snprintf(verdict, sizeof verdict, "not judged (< %d B)", PY_RULE_BYTES);
        } else {
            int ok = fabs(cr->median_ns / w->median_ns - 1.0) <= PY_RULE_TOL;
            napplied++;
            npass += ok;
            snprintf(verdict, sizeof verdict, "%s", ok ? "yes" : "**no**");
        }
        fprintf(md, "| %s | %llu | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                w->payload, (unsigned long long)w->pickled_bytes, w->stage, *w->variant ? w->variant : "-",
                *codec ? codec : "-", *w->hash ? w->hash : "-", cr->alloc, NUM(ms(cr->median_ns)),
                NUM(ms(w->median_ns)), NUM(w->median_ns / cr->median_ns),
                NUM((w->median_ns - cr->median_ns) / 1e3), why, verdict);
    }
    if (!nrows) {
        fprintf(md, "\nNo row of the Python run has a C counterpart in this run (same payload "
                "names, protocol %d?).\n\n", c->protocol);
        rpt_sl_free(&differ);
        return;
    }
    fprintf(md, "\n%zu rows side by side; the rule applies to %zu of them and holds for %zu.\n\n",
            nrows, napplied, npass);
    fprintf(md, "Where the code differs (the facts of the C run's env.tsv: `codec_python_*`, "
            "`hash_python_*` and their notes), a row is not judged:");
    for (i = 0; i < differ.n; i++) fprintf(md, "%s %s", i ? ";" : "", differ.v[i]);
    fprintf(md, "%s\n\n", differ.n ? "." : " none.");
    rpt_sl_free(&differ);
}
