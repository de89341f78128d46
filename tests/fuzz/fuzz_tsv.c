/* fuzz_tsv.c - the TSV reader of report and compare on arbitrary bytes:
 * tsv_parse with and without a header, every typed getter on every field,
 * and (the first byte odd) rundir_load of a run directory whose matrix.tsv
 * is the input (written to a private temporary directory). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rundir.h"
#include "tsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_dir[64];

static void remove_dir(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/matrix.tsv", g_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/env.tsv", g_dir);
    unlink(path);
    rmdir(g_dir);
}

static void walk(const tsv_table *t)
{
    char err[256];
    for (size_t r = 0; r < tsv_nrows(t); r++)
        for (size_t c = 0; c < tsv_ncols(t); c++) {
            double d, *v;
            int64_t i;
            size_t n;
            (void)tsv_str(t, r, (int)c);
            (void)tsv_double(t, r, (int)c, &d, err, sizeof err);
            (void)tsv_i64(t, r, (int)c, -1000, INT64_MAX, &i, err, sizeof err);
            if (tsv_double_list(t, r, (int)c, &v, &n, err, sizeof err) == 0) free(v);
        }
}

static void load_dir(const uint8_t *data, size_t size)
{
    char path[128], err[1024];
    rundir r;
    FILE *f;
    if (!g_dir[0]) {
        /* tmpfs when there is one: a disk-backed /tmp costs most of the
         * executions this target gets. */
        snprintf(g_dir, sizeof g_dir, "%s/casbench-fuzz-tsv.XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(g_dir)) abort();
        atexit(remove_dir);
        snprintf(path, sizeof path, "%s/env.tsv", g_dir);
        if (!(f = fopen(path, "w"))) abort();
        fputs("utc_time\t2026-01-01T00:00:00Z\nhost\tfuzz\n", f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/matrix.tsv", g_dir);
    if (!(f = fopen(path, "w"))) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    if (rundir_load(g_dir, &r, err, sizeof err) == 0) {
        char id[512];
        for (size_t i = 0; i < r.nrows; i++) rundir_row_id(&r.rows[i], id, sizeof id);
        (void)rundir_env(&r, "host");
        rundir_free(&r);
    } else if (!err[0]) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (size < 1) return 0;
    for (int header = 0; header <= 1; header++) {
        err[0] = 0;
        tsv_table *t = tsv_parse("fuzz.tsv", (const char *)data + 1, size - 1, header, err, sizeof err);
        if (t) {
            walk(t);
            (void)tsv_col(t, "median_ns");
            tsv_free(t);
        } else if (strncmp(err, "fuzz.tsv:", 9) != 0) {
            abort();
        }
    }
    if (data[0] & 1) load_dir(data + 1, size - 1);
    return 0;
}
