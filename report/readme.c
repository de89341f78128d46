/* readme.c - the README block `casbench report --readme` writes (readme.h). */
#include "readme.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "strbuf.h"

/* The relative path from directory `from` to `to` (both absolute, as
 * realpath() gives them). */
static char *relpath(const char *from, const char *to)
{
    size_t i = 0, common = 0, ups = 0;
    cb_buf out = {0};
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
    for (i = 0; i < ups; i++) cb_buf_printf(&out, "%s..", i ? "/" : "");
    if (to[common] == '/' && to[common + 1]) cb_buf_printf(&out, "%s%s", ups ? "/" : "", to + common + 1);
    else if (to[common] && to[common] != '/') cb_buf_printf(&out, "%s%s", ups ? "/" : "", to + common);
    if (out.n == 0) cb_buf_puts(&out, ".");
    if (out.oom) rpt_oom();
    return out.p;
}

int readme_update(const char *readme, const char *run_dir, const char *md_excerpt,
                  const plot_job *jobs, size_t njobs, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len, i;
    char sub[256], *dir_abs, *run_abs, *rd, *slash, *rel;
    cb_buf body = {0}, out = {0};
    const char *b, *e;
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
    cb_buf_printf(&body, "%s\n<!-- written by `casbench report %s --readme`; edits here are replaced -->\n\n",
            REPORT_README_BEGIN, rel);
    cb_buf_printf(&body, "Results of [`%s`](%s/REPORT.md) (full report there).\n\n", rel, rel);
    for (i = 0; md_excerpt[i]; i++) {
        if (strncmp(md_excerpt + i, README_OMIT_BEGIN, strlen(README_OMIT_BEGIN)) == 0) {
            const char *end = strstr(md_excerpt + i, README_OMIT_END);
            if (end) {
                i = (size_t)(end - md_excerpt) + strlen(README_OMIT_END) - 1;
                continue;
            }
        }
        if (strncmp(md_excerpt + i, "](plots/", 8) == 0) {
            cb_buf_printf(&body, "](%s/plots/", rel);
            i += 7;
        } else {
            cb_buf_add(&body, md_excerpt + i, 1);
        }
    }
    cb_buf_puts(&body, "Plots:");
    for (i = 0; i < njobs; i++) {
        const char *base = strrchr(jobs[i].out, '/') + 1;
        cb_buf_printf(&body, " [%s](%s/plots/%s.png)", base, rel, base);
    }
    cb_buf_printf(&body, "\n%s\n", REPORT_README_END);

    b = strstr((char *)data, REPORT_README_BEGIN);
    e = strstr((char *)data, REPORT_README_END);
    /* report_write() checked the markers before writing anything. */
    if (!b && !e) {
        /* No block yet: append it at the end, after the lead's prose. */
        cb_buf_add(&out, (const char *)data, len);
        if (len && data[len - 1] != '\n') cb_buf_puts(&out, "\n");
        cb_buf_printf(&out, "\n%s", body.p);
    } else if (!b || !e || e < b) {
        rc = cb_err(err, errlen, "%s: the markers %s and %s must both be present, in "
                    "that order", readme, CB_Q(REPORT_README_BEGIN), CB_Q(REPORT_README_END));
    } else {
        const char *after = e + strlen(REPORT_README_END);
        if (*after == '\n') after++;
        cb_buf_add(&out, (const char *)data, (size_t)(b - (char *)data));
        cb_buf_puts(&out, body.p);
        cb_buf_puts(&out, after);
    }
    if (body.oom || out.oom) rpt_oom();
    /* Durable: README.md is the user's document, not regenerated from a run;
     * after a power loss it must be the old one or the new one, not empty. */
    if (rc == 0) rc = cb_write_atomic(readme, out.p, out.n, CB_DURABLE, NULL, err, errlen);
    cb_buf_free(&out);
    cb_buf_free(&body);
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
