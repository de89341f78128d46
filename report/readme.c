/* readme.c - the README block `casbench report --readme` writes (readme.h). */
#include "readme.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The relative path from directory `from` to `to` (both absolute, as
 * realpath() gives them). */
static char *relpath(const char *from, const char *to)
{
    size_t i = 0, common = 0, ups = 0, len;
    char *out;
    FILE *f;
    /* The longest common prefix that ends at a component boundary. */
    while (from[i] && from[i] == to[i]) i++;
    if ((!from[i] || from[i] == '/') && (!to[i] || to[i] == '/')) common = i;
    else {
        while (i > 0 && from[i - 1] != '/') i--;
        common = i ? i - 1 : 0;
    }
    if (common == 0 && from[0] == '/' && from[1] == 0) common = 0;
    for (i = common; from[i]; i++)
        if (from[i] == '/' && from[i + 1]) ups++;
    f = open_memstream(&out, &len);
    if (!f) cb_fail(CB_EXIT_ENV, "out of memory");
    for (i = 0; i < ups; i++) fprintf(f, "%s..", i ? "/" : "");
    if (to[common] == '/' && to[common + 1]) fprintf(f, "%s%s", ups ? "/" : "", to + common + 1);
    else if (to[common] && to[common] != '/') fprintf(f, "%s%s", ups ? "/" : "", to + common);
    if (len == 0 && ftell(f) == 0) fprintf(f, ".");
    fclose(f);
    return out;
}

int readme_update(const char *readme, const char *run_dir, const char *md_excerpt,
                  const plot_job *jobs, size_t njobs, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len, i;
    char sub[256], *dir_abs, *run_abs, *rd, *slash, *rel, *body, *out;
    size_t blen, olen;
    const char *b, *e;
    FILE *f;
    int rc = 0;

    if (cb_read_file(readme, 64u << 20, &data, &len, sub, sizeof sub) != 0)
        return cb_err(err, errlen, "%s: %s", readme, sub);
    rd = realpath(readme, NULL);
    run_abs = realpath(run_dir, NULL);
    if (!rd || !run_abs) {
        free(data);
        free(rd);
        free(run_abs);
        return cb_err(err, errlen, "%s: %s", readme, strerror(errno));
    }
    dir_abs = rd;
    slash = strrchr(dir_abs, '/');
    if (slash == dir_abs) slash[1] = 0; else *slash = 0;
    rel = relpath(dir_abs, run_abs);

    /* The excerpt's links are relative to the run directory; move them. */
    f = open_memstream(&body, &blen);
    if (!f) cb_fail(CB_EXIT_ENV, "out of memory");
    fprintf(f, "%s\n<!-- written by `casbench report %s --readme`; edits here are replaced -->\n\n",
            REPORT_README_BEGIN, rel);
    fprintf(f, "Results of [`%s`](%s/REPORT.md) (full report there).\n\n", rel, rel);
    for (i = 0; md_excerpt[i]; i++) {
        if (strncmp(md_excerpt + i, "](plots/", 8) == 0) {
            fprintf(f, "](%s/plots/", rel);
            i += 7;
        } else {
            fputc(md_excerpt[i], f);
        }
    }
    fprintf(f, "Plots:");
    for (i = 0; i < njobs; i++) {
        const char *base = strrchr(jobs[i].out, '/') + 1;
        fprintf(f, " [%s](%s/plots/%s.png)", base, rel, base);
    }
    fprintf(f, "\n%s\n", REPORT_README_END);
    fclose(f);

    b = strstr((char *)data, REPORT_README_BEGIN);
    e = strstr((char *)data, REPORT_README_END);
    /* report_write() checked the markers before writing anything. */
    f = open_memstream(&out, &olen);
    if (!f) cb_fail(CB_EXIT_ENV, "out of memory");
    if (!b && !e) {
        /* No block yet: append it at the end, after the lead's prose. */
        fwrite(data, 1, len, f);
        if (len && data[len - 1] != '\n') fputc('\n', f);
        fprintf(f, "\n%s", body);
    } else if (!b || !e || e < b) {
        rc = cb_err(err, errlen, "%s: the markers %s and %s must both be present, in "
                    "that order", readme, CB_Q(REPORT_README_BEGIN), CB_Q(REPORT_README_END));
    } else {
        const char *after = e + strlen(REPORT_README_END);
        if (*after == '\n') after++;
        fwrite(data, 1, (size_t)(b - (char *)data), f);
        fputs(body, f);
        fputs(after, f);
    }
    fclose(f);
    if (rc == 0) rc = rpt_write_atomic(readme, out, olen, err, errlen);
    free(out);
    free(body);
    free(rel);
    free(rd);
    free(run_abs);
    free(data);
    return rc;
}

int readme_check(const char *readme, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len;
    char sub[256];
    const char *b, *e;
    int bad;
    if (cb_read_file(readme, 64u << 20, &data, &len, sub, sizeof sub) != 0)
        return cb_err(err, errlen, "%s: %s", readme, sub);
    b = strstr((char *)data, REPORT_README_BEGIN);
    e = strstr((char *)data, REPORT_README_END);
    bad = (b || e) && (!b || !e || e < b);
    free(data);
    if (bad)
        return cb_err(err, errlen, "%s: the markers %s and %s must both be present, in "
                      "that order", readme, CB_Q(REPORT_README_BEGIN), CB_Q(REPORT_README_END));
    return 0;
}
