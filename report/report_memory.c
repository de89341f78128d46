/* report_memory.c - section "Memory": the peak extra memory of a save per
 * payload and save variant (matrix.tsv's peak_bytes, bench/memory.h; the
 * Python path's from a run of infra/python_memory.py given as --python), a
 * plot of peak memory against payload size over the weights payloads of the
 * run, the streaming variant against sequential at 64 MB and more, and how
 * many tasks could save at once on an 8 GiB machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"

#define MIB (1024.0 * 1024.0)
/* Azure Standard_D2s_v5: 2 vCPUs, 8 GiB. What a task may use: the machine's
 * memory less a reserve for the OS, the Python interpreter, metaflow and
 * its imports (stated in the text). */
#define VM_NAME "Standard_D2s_v5"
#define VM_BYTES (8.0 * 1024 * MIB)
#define VM_RESERVE (1.0 * 1024 * MIB)
/* The bar: streaming under 5 % of sequential's peak, within 1.2x its time, from 64 MB. */
#define STREAM_FROM_BYTES 64e6
#define STREAM_PEAK_MAX 0.05
#define STREAM_TIME_MAX 1.2
/* C beside Python: sequential peaks within 20 % from 8 MB. */
#define PY_FROM_BYTES 8e6
#define PY_TOL 0.20

static const char *const variants[] = {SCHEMA_VARIANT_SEQUENTIAL, SCHEMA_VARIANT_FUSED, SCHEMA_VARIANT_OVERLAPPED,
                                       SCHEMA_VARIANT_STREAMING};
#define NVAR (sizeof variants / sizeof variants[0])

/* The save row of a variant with the key hash and its peak: the section's
 * allocation mode, else any (streaming's window is the same in both). */
static const rundir_row *save_row(const report_ctx *c, const char *pl, const char *var, const char *spec)
{
    const rundir_row *r = rpt_find_spec(c, pl, STAGE(SAVE), var, spec, BASE_HASH, NULL);
    return r && r->peak_bytes >= 0 ? r : NULL;
}

/* The Python run's row (python_memory.py: alloc fresh, protocol 4). */
static const rundir_row *py_row(const report_ctx *c, const char *pl, const char *var, const char *codec, int level)
{
    if (!c->python) return NULL;
    for (size_t i = 0; i < c->python->nrows; i++) {
        const rundir_row *r = &c->python->rows[i];
        if (r->ok && r->peak_bytes >= 0 && strcmp(r->stage, STAGE(SAVE)) == 0 && strcmp(r->payload, pl) == 0 &&
            strcmp(r->variant, var) == 0 && strcmp(r->codec, codec) == 0 && r->level == level)
            return r;
    }
    return NULL;
}

static int is_weights(const char *pl) { return strncmp(pl, "weights", 7) == 0 && (!pl[7] || pl[7] == ':'); }

/* Tasks that fit: each holds its input object (about its pickle's size) and the save's peak. */
static long tasks_fit(const rundir_row *r)
{
    double per = (double)r->pickled_bytes + (double)r->peak_bytes;
    return per > 0 ? (long)floor((VM_BYTES - VM_RESERVE) / per) : 0;
}

static void per_payload_table(report_ctx *c, const char *spec, FILE *md)
{
    char codec[64];
    int level;
    rpt_split_spec(spec, codec, sizeof codec, &level);
    fprintf(md, "**%s**, key `" BASE_HASH "`: peak extra memory of one save in MiB (x the pickle's size), "
            "`save` time in ms (the key and the stored bytes, no file)%s.\n\n| payload | pickle MiB |", spec,
            c->python ? "; Python: infra/python_memory.py" : "");
    for (size_t v = 0; v < NVAR; v++) fprintf(md, " %s |", variants[v]);
    if (c->python) fprintf(md, " Python sequential | Python streaming |");
    fprintf(md, "\n|---|---|");
    for (size_t v = 0; v < NVAR + (c->python ? 2 : 0); v++) fprintf(md, "---|");
    fprintf(md, "\n");
    for (size_t p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        const rundir_row *any = NULL;
        for (size_t v = 0; v < NVAR && !any; v++) any = save_row(c, pl, variants[v], spec);
        if (!any) continue;
        fprintf(md, "| %s | %s |", pl, NUM((double)any->pickled_bytes / MIB));
        for (size_t v = 0; v < NVAR; v++) {
            const rundir_row *r = save_row(c, pl, variants[v], spec);
            if (!r) fprintf(md, " - |");
            else fprintf(md, " %s (%sx), %s ms |", NUM((double)r->peak_bytes / MIB),
                         NUM((double)r->peak_bytes / (double)(r->pickled_bytes ? r->pickled_bytes : 1)),
                         NUM(ms(r->median_ns)));
        }
        for (int k = 0; c->python && k < 2; k++) {
            const rundir_row *r = py_row(c, pl, k ? SCHEMA_VARIANT_STREAMING : SCHEMA_VARIANT_SEQUENTIAL, codec, level);
            if (!r) fprintf(md, " - |");
            else fprintf(md, " %s, %s ms |", NUM((double)r->peak_bytes / MIB), NUM(ms(r->median_ns)));
        }
        fprintf(md, "\n");
    }
    fprintf(md, "\n");
}

/* plots/memory-weights.tsv: peak against pickle size, one block per variant. */
static void sweep_plot(report_ctx *c, const char *spec, FILE *md)
{
    cb_buf d = {0}, names = {0};
    size_t points = 0;
    for (size_t v = 0; v < NVAR; v++) {
        size_t here = 0;
        for (size_t p = 0; p < c->payloads.n; p++) {
            const rundir_row *r = is_weights(c->payloads.v[p]) ? save_row(c, c->payloads.v[p], variants[v], spec) : NULL;
            if (!r) continue;
            if (!here++) cb_buf_printf(&d, "%s# %s\npickle_mib\tpeak_mib\n", names.n ? "\n\n" : "", variants[v]);
            cb_buf_printf(&d, "%.6g\t%.6g\n", (double)r->pickled_bytes / MIB, (double)r->peak_bytes / MIB);
        }
        if (here) cb_buf_printf(&names, "%s%s", names.n ? " " : "", variants[v]);
        if (here > points) points = here;
    }
    for (int k = 0; c->python && k < 2; k++) {
        char codec[64];
        int level;
        size_t here = 0;
        const char *var = k ? SCHEMA_VARIANT_STREAMING : SCHEMA_VARIANT_SEQUENTIAL;
        rpt_split_spec(spec, codec, sizeof codec, &level);
        for (size_t p = 0; p < c->payloads.n; p++) {
            const rundir_row *r = is_weights(c->payloads.v[p]) ? py_row(c, c->payloads.v[p], var, codec, level) : NULL;
            if (!r) continue;
            if (!here++) cb_buf_printf(&d, "%s# python %s\npickle_mib\tpeak_mib\n", names.n ? "\n\n" : "", var);
            cb_buf_printf(&d, "%.6g\t%.6g\n", (double)r->pickled_bytes / MIB, (double)r->peak_bytes / MIB);
        }
        if (here) cb_buf_printf(&names, "%spython-%s", names.n ? " " : "", var);
    }
    if (d.oom || names.oom) rpt_oom();
    if (points < 2) {
        fprintf(md, "No size sweep of `weights` with %s save rows in this run (`make memory-sweep` runs "
                "one: `--payload weights:rows=125` to `weights:rows=64000`, 1 MB to 512 MB).\n\n", spec);
        cb_buf_free(&d);
        cb_buf_free(&names);
        return;
    }
    char *base = rpt_asprintf("memory-weights-%s", SLUG(spec));
    rpt_plot_named(c, "memory.gp", base, &d, &names, spec);
    fprintf(md, "![peak memory against payload size, weights, %s](plots/%s.png)\n\n", spec, base);
    free(base);
    cb_buf_free(&names);
}

/* The time of a stage's streaming row over its sequential row, into buf
 * ("-" when the run has not both); the ratio, or -1. */
static double time_ratio(const report_ctx *c, const char *pl, const char *stage, const char *spec, const char *alloc,
                         char *buf, size_t cap)
{
    const rundir_row *s = rpt_find_spec(c, pl, stage, SCHEMA_VARIANT_SEQUENTIAL, spec, BASE_HASH, alloc);
    const rundir_row *t = rpt_find_spec(c, pl, stage, SCHEMA_VARIANT_STREAMING, spec, BASE_HASH, alloc);
    snprintf(buf, cap, "-");
    if (!s || !t || !s->ok || !t->ok || s->median_ns <= 0) return -1;
    snprintf(buf, cap, "%sx", NUM(t->median_ns / s->median_ns));
    return t->median_ns / s->median_ns;
}

/* The bar for streaming, per weights size of 64 MB and more: each
 * stage's streaming row against sequential's row of the same stage, which
 * does the same work (streaming.h). */
static void streaming_bar(report_ctx *c, const char *spec, FILE *md)
{
    int any = 0;
    for (size_t p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        const rundir_row *s = save_row(c, pl, SCHEMA_VARIANT_SEQUENTIAL, spec);
        const rundir_row *t = save_row(c, pl, SCHEMA_VARIANT_STREAMING, spec);
        if (!is_weights(pl) || !s || !t || (double)s->pickled_bytes < STREAM_FROM_BYTES) continue;
        if (!any++)
            fprintf(md, "Streaming against sequential (%s, same run, interleaved rounds), each stage against the "
                    "same stage: `save` is the key and the stored bytes in both (no file written; sequential "
                    "holds the whole stream, streaming one ring of it at a time), `save+store` adds the stored "
                    "file (sequential writes it after the save, streaming as it goes). The bar: a peak under "
                    "%s %% of sequential's, a time within %sx in `save` and, where the run has it, in "
                    "`save+store`, the same key and stored size.\n\n| payload | peak streaming / sequential | "
                    "`save` time streaming / sequential | `save+store` time streaming / sequential | same key "
                    "and size | meets the bar |\n|---|---|---|---|---|---|\n",
                    spec, NUM(STREAM_PEAK_MAX * 100), NUM(STREAM_TIME_MAX));
        char save_t[32], store_t[32];
        double pr = (double)t->peak_bytes / (double)(s->peak_bytes ? s->peak_bytes : 1);
        double tr = time_ratio(c, pl, STAGE(SAVE), spec, s->alloc, save_t, sizeof save_t);
        double sr = time_ratio(c, pl, STAGE(SAVE_STORE), spec, s->alloc, store_t, sizeof store_t);
        int same = strcmp(s->key, t->key) == 0 && s->bytes_out == t->bytes_out;
        fprintf(md, "| %s | %s %% | %s | %s | %s | %s |\n", pl, NUM(pr * 100), save_t, store_t, same ? "yes" : "NO",
                pr < STREAM_PEAK_MAX && tr >= 0 && tr <= STREAM_TIME_MAX && sr <= STREAM_TIME_MAX && same ? "yes"
                                                                                                         : "no");
    }
    if (any) fprintf(md, "\n");
}

/* Python's sequential peaks against C's: the `cpython` allocation mode when
 * the run has it, else `fresh` (a bound: it maps every large output). */
static void python_agreement(report_ctx *c, const char *spec, FILE *md)
{
    char codec[64];
    int level, any = 0;
    rpt_split_spec(spec, codec, sizeof codec, &level);
    for (size_t p = 0; c->python && p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        const rundir_row *py = py_row(c, pl, SCHEMA_VARIANT_SEQUENTIAL, codec, level);
        const rundir_row *cr = rpt_find_spec(c, pl, STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, spec, BASE_HASH, "cpython");
        const char *mode = "cpython";
        if (!cr || cr->peak_bytes < 0) {
            cr = rpt_find_spec(c, pl, STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, spec, BASE_HASH, ALLOC(FRESH));
            mode = ALLOC(FRESH);
        }
        if (!py || !cr || cr->peak_bytes < 0 || (double)py->pickled_bytes < PY_FROM_BYTES) continue;
        if (!any++)
            fprintf(md, "Python's sequential save against casbench's (%s; the bar: within %s %% from %s MB):\n\n"
                    "| payload | C mode | C peak MiB | Python peak MiB | Python / C | within |\n|---|---|---|---|---|---|\n",
                    spec, NUM(PY_TOL * 100), NUM(PY_FROM_BYTES / 1e6));
        double r = (double)py->peak_bytes / (double)(cr->peak_bytes ? cr->peak_bytes : 1);
        fprintf(md, "| %s | %s | %s | %s | %s | %s |\n", pl, mode, NUM((double)cr->peak_bytes / MIB),
                NUM((double)py->peak_bytes / MIB), NUM(r), fabs(r - 1) <= PY_TOL ? "yes" : "no");
    }
    if (any)
        fprintf(md, "\n`fresh` maps every output and counts no copy Python makes (numpy's `tobytes()` in "
                "`__reduce__`, metaflow's `BytesIO`): Python above it is expected; `cpython` is the mode "
                "that models them.\n\n");
}

static void parallel_tasks(report_ctx *c, const char *spec, FILE *md)
{
    const char *big = NULL;
    uint64_t most = 0;
    for (size_t p = 0; p < c->payloads.n; p++) {
        const rundir_row *s = save_row(c, c->payloads.v[p], SCHEMA_VARIANT_SEQUENTIAL, spec);
        if (s && s->pickled_bytes > most) { most = s->pickled_bytes; big = c->payloads.v[p]; }
    }
    if (!big) return;
    fprintf(md, "Tasks that could save `%s` (%s MiB) with %s at once on a " VM_NAME " (8 GiB), assuming "
            "%s GiB for the OS, the interpreter and metaflow, and that each task holds its object "
            "(about its pickle's size) plus the save's measured peak (the stored file's pages are "
            "page cache, written back and reclaimable, and not counted):\n\n| variant | per task MiB | tasks |\n"
            "|---|---|---|\n", big, NUM((double)most / MIB), spec, NUM(VM_RESERVE / 1024 / MIB));
    for (size_t v = 0; v < NVAR; v++) {
        const rundir_row *r = save_row(c, big, variants[v], spec);
        if (r)
            fprintf(md, "| %s | %s | %ld |\n", variants[v], NUM((double)(r->pickled_bytes + (uint64_t)r->peak_bytes) / MIB),
                    tasks_fit(r));
    }
    for (int k = 0; c->python && k < 2; k++) {
        char codec[64];
        int level;
        rpt_split_spec(spec, codec, sizeof codec, &level);
        const rundir_row *r = py_row(c, big, k ? SCHEMA_VARIANT_STREAMING : SCHEMA_VARIANT_SEQUENTIAL, codec, level);
        if (r)
            fprintf(md, "| Python %s | %s | %ld |\n", r->variant,
                    NUM((double)(r->pickled_bytes + (uint64_t)r->peak_bytes) / MIB), tasks_fit(r));
    }
    fprintf(md, "\n");
}

void report_sec_memory(report_ctx *c, FILE *md)
{
    static const char *const specs[] = {PR_SPEC, BASE_SPEC};
    int shown = 0;
    fprintf(md, "Peak extra memory of one save beyond its input object (`peak_bytes`, results/README.md: "
            "the live bytes of the cell's outputs and mappings, checked against the process's VmHWM by "
            "tests/test_memory.sh). A `save` row is the key and the stored bytes, no file written; "
            "`save+store` adds the stored file. `streaming` pickles through a %s KiB window, hashing and "
            "compressing each piece as it is made (bench/streaming.h): its `save` keeps no piece, its "
            "`save+store` writes each to the store's file as it goes. It pays for it with a dedup check "
            "that comes only after the blob was compressed (and written), since the key is known only "
            "then.\n\n", NUM(256));
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        int has = 0;
        for (size_t p = 0; p < c->payloads.n && !has; p++)
            has = save_row(c, c->payloads.v[p], SCHEMA_VARIANT_SEQUENTIAL, specs[s]) != NULL;
        if (!has) continue;
        shown++;
        per_payload_table(c, specs[s], md);
        sweep_plot(c, specs[s], md);
        streaming_bar(c, specs[s], md);
        python_agreement(c, specs[s], md);
        parallel_tasks(c, specs[s], md);
    }
    if (!shown) fprintf(md, "No save row of this run has `peak_bytes` (runs made before it was counted).\n\n");
}
