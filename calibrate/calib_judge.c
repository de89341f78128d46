/* calib_judge.c - the results table of calibration and the judgement of
 * each row: within its bounds or not, and why not (see calibrate.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib_impl.h"

void calib_table_free(calib_table *t)
{
    free(t->rows);
    memset(t, 0, sizeof *t);
}

calib_row *calib_add_row(calib_table *t, calib_kind kind, const calib_figure *h, double tool_bps,
                         const char *what_fmt, ...)
{
    va_list ap;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        calib_row *rows = realloc(t->rows, cap * sizeof *rows);
        if (!rows) return NULL;
        t->rows = rows;
        t->cap = cap;
    }
    calib_row *r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    va_start(ap, what_fmt);
    vsnprintf(r->what, sizeof r->what, what_fmt, ap);
    va_end(ap);
    r->kind = kind;
    r->harness_bps = h->bps;
    r->spread = h->spread;
    r->tool_bps = tool_bps;
    r->tool_cpu_share = NAN;
    return r;
}

void calib_row_harness(calib_row *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->harness_measures, sizeof r->harness_measures, fmt, ap);
    va_end(ap);
}

void calib_row_tool(calib_row *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->tool_measures, sizeof r->tool_measures, fmt, ap);
    va_end(ap);
}

double calib_row_ratio(const calib_row *r) { return r->harness_bps / r->tool_bps; }

const char *calib_row_bounds(const calib_row *r)
{
    double q = round(calib_row_ratio(r) * 1000.0) / 1000.0;
    switch (r->kind) {
    case CALIB_KIND_LIKE: return q >= CALIB_LIKE_LO && q <= CALIB_LIKE_HI ? "yes" : "no";
    case CALIB_KIND_FLOOR: return q >= CALIB_PICKLE_LO ? "yes" : "no";
    default: return "n/a";
    }
}

/* The 1-minute load average; NAN when the system cannot say. */
static double load_average(void)
{
    double la[1];
    return getloadavg(la, 1) == 1 ? la[0] : NAN;
}

void calib_explain(calib_row *r, const char *known)
{
    char noise[400] = "";
    if (strcmp(calib_row_bounds(r), "yes") == 0) return;
    if (r->spread > 0.05)
        snprintf(noise, sizeof noise, "%sthe harness's repetitions spread %.0f%% (median over fastest) and the load average was %.1f: a busy machine",
                 known ? "; " : "", 100 * r->spread, load_average());
    if (r->tool && r->tool_cpu_share < 0.9)
        snprintf(noise + strlen(noise), sizeof noise - strlen(noise),
                 "%s%s had %.0f%% of a CPU while it ran (it times itself in wall time; other processes took the rest)",
                 known || noise[0] ? "; " : "", r->tool, 100 * r->tool_cpu_share);
    snprintf(r->why, sizeof r->why, "%s%s", known ? known : "", noise);
    if (r->why[0]) return;
    double la = load_average();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (la >= 0.5 * (double)ncpu)
        snprintf(r->why, sizeof r->why,
                 "not explained by the work timed (both sides run the same library call on the same bytes); the load average was %.1f on %ld CPUs: other processes shared the caches and memory, rerun on an idle machine",
                 la, ncpu);
    else
        snprintf(r->why, sizeof r->why,
                 "not explained by the work timed (both sides run the same library call on the same bytes); rerun on an idle machine");
}
