/* report_env.c - section "Environment": the machine, the build, the libraries
 * and the run's rows (env.tsv, matrix.tsv). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"
#include "report_facts.h"

/* The first of several spellings of an env.tsv key that has a value (the
 * brief's names and the harness's may differ; both are read). */
static const char *env_any(const rundir *r, const char *const *keys)
{
    for (; *keys; keys++)
        if (strcmp(rundir_env(r, *keys), "unknown") != 0) return rundir_env(r, *keys);
    return "unknown";
}
#define ENV(...) env_any(r, (const char *const[]){__VA_ARGS__, NULL})

/* Every env.tsv row whose key starts with prefix (or contains it, when
 * contains is set), as "key value" pairs joined by ", "; the prefix is cut. */
static void env_list(FILE *md, const rundir *r, const char *prefix, int contains, int cut)
{
    size_t i, n = 0;
    for (i = 0; i < tsv_nrows(r->env); i++) {
        const char *k = tsv_str(r->env, i, 0), *v = tsv_str(r->env, i, 1);
        if (contains ? !strstr(k, prefix) : strncmp(k, prefix, strlen(prefix)) != 0) continue;
        fprintf(md, "%s%s %s", n++ ? ", " : "", cut ? k + strlen(prefix) : k, *v ? v : "unknown");
    }
    if (!n) fprintf(md, "unknown");
}

void report_sec_env(report_ctx *c, FILE *md)
{
    const rundir *r = c->run;
    size_t i, nerr = 0;
    fprintf(md, "Source: `%s` and `%s`.\n\n", r->env_path, r->matrix_path);
    fprintf(md, "| item | value |\n|---|---|\n");
    fprintf(md, "| run at (UTC) | %s |\n", ENV("utc_time"));
    fprintf(md, "| casbench | %s (commit %s) |\n", ENV("casbench_version"),
            ENV("git_commit", "casbench_commit"));
    fprintf(md, "| runtime | %s |\n", ENV("runtime"));
    fprintf(md, "| compiler, flags | %s, `%s` |\n", ENV("compiler", "compiler_c"), ENV("cflags"));
    fprintf(md, "| CPU | %s |\n", ENV("cpu_model"));
    fprintf(md, "| cores (logical / physical) | %s / %s |\n",
            ENV("logical_cores", "cpus_logical"), ENV("physical_cores", "cores_physical"));
    fprintf(md, "| caches | ");
    env_list(md, r, "cache", 1, 0);
    fprintf(md, " |\n| CPU flags | ");
    if (strcmp(ENV("flags"), "unknown") != 0) fprintf(md, "%s", ENV("flags"));
    else env_list(md, r, "cpu_flag_", 0, 1);
    fprintf(md, " |\n");
    fprintf(md, "| kernel | %s |\n", ENV("kernel"));
    fprintf(md, "| governor / boost | %s / %s |\n", ENV("governor", "cpu_governor"),
            ENV("boost", "cpu_boost"));
    fprintf(md, "| VM | %s %s |\n", ENV("hypervisor_vendor", "hypervisor_cpuid", "dmi_sys_vendor"),
            ENV("vm_size", "dmi_product_name"));
    fprintf(md, "| libraries | ");
    /* One lib_<library> key per library of the codec and hash rows (envinfo.c). */
    env_list(md, r, "lib_", 0, 1);
    fprintf(md, " |\n");
    for (i = 0; i < tsv_nrows(r->env); i++)
        if (strncmp(tsv_str(r->env, i, 0), "hash_impl_", 10) == 0) {
            fprintf(md, "| hash implementations | ");
            env_list(md, r, "hash_impl_", 0, 1);
            fprintf(md, " |\n");
            break;
        }
    for (i = 0; i < r->nrows; i++) nerr += !r->rows[i].ok;
    fprintf(md, "| rows | %zu (%zu ok, %zu error) |\n", r->nrows, r->nrows - nerr, nerr);
    fprintf(md, "| sections use | pickle protocol %d; `%s` allocation where a table does not "
            "say otherwise (a stage measured in the other mode only is taken from it) |\n\n",
            c->protocol, c->alloc);
    if (nerr) {
        fprintf(md, "Cells that failed (not used anywhere below):\n\n");
        for (i = 0; i < r->nrows; i++) {
            char id[512];
            if (r->rows[i].ok) continue;
            rundir_row_id(&r->rows[i], id, sizeof id);
            fprintf(md, "- line %zu `%s`: %s\n", r->rows[i].line, id,
                    *r->rows[i].message ? r->rows[i].message : "(no message)");
        }
        fprintf(md, "\n");
    }
}
