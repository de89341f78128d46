/* report_rounds.c - the ratio with its interval and the row finder shared by
 * the report's rounds sections (report_rounds.h). */
#include "report_rounds.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "roundstats.h"
#include "schema.h"
#include "util.h"

report_ratio report_ratio_of(const rundir_row *num, const rundir_row *den)
{
    report_ratio r = {num->median_ns / den->median_ns, NAN, NAN, 0};
    char id[1100], a[512], b[512];
    rundir_row_id(num, a, sizeof a);
    rundir_row_id(den, b, sizeof b);
    snprintf(id, sizeof id, "%s / %s", a, b);
    int same_rounds = num->nsamples == den->nsamples && num->nsamples > 0;
    if (same_rounds && *num->round_group && strcmp(num->round_group, den->round_group) == 0) {
        rs_estimate e = rs_estimate_paired(num->samples_ns, den->samples_ns, num->nsamples, rs_seed(id));
        r.value = rs_value(e, &r.lo, &r.hi);
        r.paired = 1;
        return r;
    }
    if (num->nsamples == 0 || den->nsamples == 0) return r;
    rs_estimate en = rs_estimate_median(num->samples_ns, num->nsamples, rs_seed(a));
    rs_estimate ed = rs_estimate_median(den->samples_ns, den->nsamples, rs_seed(b));
    rs_value(rs_ratio_of(en, ed), &r.lo, &r.hi);
    return r;
}

void report_ratio_text(report_ratio r, char *buf, size_t n)
{
    if (isnan(r.lo)) {
        snprintf(buf, n, "%sx (no interval: fewer than 3 rounds)", CB_FMT3(r.value));
        return;
    }
    snprintf(buf, n, "%s%sx (95 %% CI %s-%s%s)", r.lo <= 1 && r.hi >= 1 ? "no difference: " : "",
             CB_FMT3(r.value), CB_FMT3(r.lo), CB_FMT3(r.hi), r.paired ? ", paired" : "");
}

void report_ratio_cell(report_ratio r, int judge_one, double scale, const char *unit, char *buf, size_t n)
{
    if (isnan(r.lo)) {
        snprintf(buf, n, "%s%s", CB_FMT3(scale * r.value), unit);
        return;
    }
    snprintf(buf, n, "%s%s%s (%s-%s%s)", judge_one && r.lo <= 1 && r.hi >= 1 ? "no difference: " : "",
             CB_FMT3(scale * r.value), unit, CB_FMT3(scale * r.lo), CB_FMT3(scale * r.hi), unit);
}

report_ratio report_share_of(const rundir_row *const *parts, size_t n, size_t which)
{
    rs_estimate e[8];
    double sum = 0, var = 0;
    report_ratio r = {NAN, NAN, NAN, 0};
    if (n > 8 || which >= n) return r;
    for (size_t i = 0; i < n; i++) {
        char id[512];
        rundir_row_id(parts[i], id, sizeof id);
        e[i] = rs_estimate_median(parts[i]->samples_ns, parts[i]->nsamples, rs_seed(id));
        sum += parts[i]->median_ns;
    }
    r.value = parts[which]->median_ns / sum;
    /* d log(share) = (1 - s) d log(part) - sum over the others of s_i d log(other_i). */
    for (size_t i = 0; i < n; i++) {
        double w = i == which ? 1 - r.value : parts[i]->median_ns / sum;
        var += w * w * e[i].log_se * e[i].log_se;
    }
    if (!isnan(var)) {
        r.lo = r.value * exp(-RS_Z95 * sqrt(var));
        r.hi = r.value * exp(RS_Z95 * sqrt(var));
    }
    return r;
}

static int same(const char *field, const char *want) { return strcmp(field, want ? want : "") == 0; }

const rundir_row *report_find_row(const rundir *run, int protocol, const char *payload, const char *stage,
                                  const char *variant, const char *codec, int level, const char *hash,
                                  const char *alloc)
{
    for (size_t i = 0; i < run->nrows; i++) {
        const rundir_row *w = &run->rows[i];
        if (!w->ok || !same(w->payload, payload) || !same(w->stage, stage) || !same(w->variant, variant)) continue;
        if (strcmp(payload, SCHEMA_PAYLOAD_SWEEP) != 0 && w->protocol != protocol) continue;
        if (!same(w->codec, codec) || (codec && *codec && w->level != level) || !same(w->hash, hash)) continue;
        if (alloc && !same(w->alloc, alloc)) continue;
        return w;
    }
    return NULL;
}
