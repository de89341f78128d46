/* fuzz_resume.c - `run --resume`'s reader of matrix.tsv (results_open) and
 * report's (rundir_load) on the same bytes: they must agree.
 *
 * Input: a flag byte, then the file. Flag bit 0 set: the file is the header
 * casbench writes followed by the input (most inputs then reach the rows);
 * clear: the input is the whole file.
 *
 * The rule checked, B being the file and B' being B cut after its last '\n'
 * (the torn last line a killed run leaves, which --resume drops and report
 * by design does not):
 *  - when B' starts with the header casbench writes, --resume accepts B
 *    exactly when report accepts B', except when B' has no row (empty, or the
 *    header alone: a run killed before its first row), which --resume accepts
 *    when B is a prefix of that header line and report refuses ("no
 *    measurement rows");
 *  - with any other header --resume refuses (it appends rows in its own
 *    column order), whatever report, which takes extra and reordered
 *    columns, says;
 *  - an accepting --resume leaves B' (the header, when B' was empty) and
 *    knows as many rows as report loads; a refusing one leaves B untouched.
 * Both directories are private temporary ones (on tmpfs when there is one),
 * with a valid env.tsv. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"
#include "rundir.h"
#include "schema.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_resume_dir[64], g_report_dir[64];

static void path_in(char *out, size_t cap, const char *dir, const char *file)
{
    snprintf(out, cap, "%s/%s", dir, file);
}

static void remove_dirs(void)
{
    const char *dirs[] = {g_resume_dir, g_report_dir};
    for (int i = 0; i < 2; i++) {
        char p[128];
        path_in(p, sizeof p, dirs[i], "matrix.tsv");
        unlink(p);
        path_in(p, sizeof p, dirs[i], "env.tsv");
        unlink(p);
        rmdir(dirs[i]);
    }
}

static void write_file(const char *dir, const char *file, const void *data, size_t n)
{
    char p[128];
    FILE *f;
    path_in(p, sizeof p, dir, file);
    if (!(f = fopen(p, "wb"))) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    if (fclose(f) != 0) abort();
}

static uint8_t *read_back(const char *dir, size_t *n)
{
    char p[128], err[256];
    uint8_t *d;
    path_in(p, sizeof p, dir, "matrix.tsv");
    if (cb_read_file(p, (size_t)1 << 30, &d, n, err, sizeof err) != 0) abort();
    return d;
}

static void setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    static const char env[] = "utc_time\t2026-01-01T00:00:00Z\nhost\tfuzz\n";
    snprintf(g_resume_dir, sizeof g_resume_dir, "%s/casbench-fuzz-resume.XXXXXX", base);
    snprintf(g_report_dir, sizeof g_report_dir, "%s/casbench-fuzz-report.XXXXXX", base);
    if (!mkdtemp(g_resume_dir) || !mkdtemp(g_report_dir)) abort();
    atexit(remove_dirs);
    write_file(g_resume_dir, "env.tsv", env, sizeof env - 1);
    write_file(g_report_dir, "env.tsv", env, sizeof env - 1);
}

/* The header line results.c writes, with its '\n'. */
static size_t header_line(char *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < SCHEMA_NCOLS; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "\t" : "", schema_columns[i].name);
    n += (size_t)snprintf(out + n, cap - n, "\n");
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char header[512], err[1024];
    size_t hlen = header_line(header, sizeof header), blen, cut, i, after_len;
    uint8_t *b, *after;
    int status, report_ok, resume_ok, rows_in_cut = 0;
    rundir r;

    if (size < 1) return 0;
    if (!g_resume_dir[0]) setup();
    blen = (data[0] & 1) ? hlen + size - 1 : size - 1;
    b = malloc(blen + 1);
    if (!b) abort();
    if (data[0] & 1) memcpy(b, header, hlen);
    memcpy(b + blen - (size - 1), data + 1, size - 1);
    for (cut = blen; cut > 0 && b[cut - 1] != '\n'; cut--) {}

    write_file(g_report_dir, "matrix.tsv", b, cut);
    report_ok = rundir_load(g_report_dir, &r, err, sizeof err) == 0;

    write_file(g_resume_dir, "matrix.tsv", b, blen);
    err[0] = 0;
    results_file *f = results_open(g_resume_dir, 1, &status, err, sizeof err);
    resume_ok = f != NULL;
    if (!resume_ok && !err[0]) abort();   /* a refusal always says why */

    /* Rows in B': lines after the first. */
    for (i = 0; i < cut; i++)
        if (b[i] == '\n' && i + 1 < cut) rows_in_cut = 1;
    if (rows_in_cut && (cut < hlen || memcmp(b, header, hlen) != 0)) {
        if (resume_ok) abort();                /* not its header: never appended to */
    } else if (rows_in_cut) {
        if (resume_ok != report_ok) abort();   /* the property this target exists for */
    } else {
        int header_prefix = blen <= hlen ? memcmp(b, header, blen) == 0
                                         : cut == hlen && memcmp(b, header, hlen) == 0;
        if (report_ok) abort();                /* report never takes a file without rows */
        if (resume_ok != header_prefix) abort();
    }

    after = read_back(g_resume_dir, &after_len);
    if (resume_ok) {
        if (cut == 0) {
            if (after_len != hlen || memcmp(after, header, hlen) != 0) abort();
        } else if (after_len != cut || memcmp(after, b, cut) != 0) {
            abort();
        }
        if (report_ok && results_count(f) != r.nrows) abort();
        results_close(f);
    } else if (after_len != blen || memcmp(after, b, blen) != 0) {
        abort();
    }
    if (report_ok) rundir_free(&r);
    free(after);
    free(b);
    return 0;
}
