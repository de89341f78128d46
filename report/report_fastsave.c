/* report_fastsave.c - section "The fastest save path": the save variants
 * (fused, overlapped) against sequential and against the limits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"
#include "report_facts.h"
#include "report_rounds.h"

/* Save variants other than sequential in the order bench/cells.c lists
 * them; a run may hold any subset. */
static const char *const fast_variants[] = {SCHEMA_VARIANT_FUSED, SCHEMA_VARIANT_OVERLAPPED,
                                            SCHEMA_VARIANT_OVERLAPPED_SPIN};
#define N_FAST (sizeof fast_variants / sizeof fast_variants[0])

/* The allocation mode the fast-save comparison uses for a payload and codec:
 * reuse when the run has a reuse sequential row (the CPU work alone, to set
 * against the codec and hash stages, which are reuse rows), else fresh. */
static const char *fast_alloc(const report_ctx *c, const char *pl, const char *spec, const char *hash)
{
    if (rpt_find_spec(c, pl, STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, spec, hash, ALLOC(REUSE))) return ALLOC(REUSE);
    return ALLOC(FRESH);
}

/* The first codec of the run that env.tsv calls a ceiling (it stores the
 * blob as is: its compress row is a copy of the blob), or NULL. */
static const char *ceiling_spec(const report_ctx *c)
{
    size_t k;
    for (k = 0; k < c->codecs.n; k++)
        if (report_codec_kind(c->run, c->codecs.v[k]) == CODEC_KIND_CEILING) return c->codecs.v[k];
    return NULL;
}

/* num / den as a table cell with its interval, "no difference" where that
 * includes 1; "-" without den. */
static const char *ratio_cell(const rundir_row *num, const rundir_row *den, char *buf, size_t n)
{
    if (!den) snprintf(buf, n, "-");
    else report_ratio_cell(report_ratio_of(num, den), 1, 1, "", buf, n);
    return buf;
}

/* One codec and hash with non-sequential save rows: its table rows on md,
 * its plot data and plot (its base name added to plots). ceil: the ceiling
 * codec's spec (the memcpy limit), or NULL. */
static void fast_pair(report_ctx *c, const char *spec, const char *hash, const char *ceil, FILE *md,
                      strlist *plots)
{
    char *base;
    cb_buf d = {0};
    size_t npts = 0, p, v;
    int have[N_FAST] = {0}, have_slow = 0, have_mc = 0;
    size_t nvar = 0;
    /* Only the variants this pair has rows of become plot columns. */
    for (v = 0; v < N_FAST; v++)
        for (p = 0; p < c->payloads.n && !have[v]; p++)
            have[v] = rpt_find_spec(c, c->payloads.v[p], STAGE(SAVE), fast_variants[v], spec, hash,
                                fast_alloc(c, c->payloads.v[p], spec, hash)) != NULL;
    /* Likewise the limits (a run without the `none` codec has no memcpy). */
    for (p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        if (!rpt_find_spec(c, pl, STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, spec, hash, fast_alloc(c, pl, spec, hash)))
            continue;
        have_slow |= rpt_find_spec(c, pl, STAGE(COMPRESS), "", spec, "", NULL) != NULL ||
                     rpt_find(c, pl, STAGE(HASH), "", "", -1, hash, NULL) != NULL;
        have_mc |= (ceil ? rpt_find_spec(c, pl, STAGE(COMPRESS), "", ceil, "", NULL) : NULL) != NULL;
    }
    cb_buf_printf(&d, "payload");
    for (v = 0; v < N_FAST; v++)
        if (have[v]) { cb_buf_printf(&d, "\t%s", fast_variants[v]); nvar++; }
    cb_buf_printf(&d, "%s%s\n", have_slow ? "\tslowest stage alone" : "", have_mc ? "\tmemcpy of the blob" : "");
    for (p = 0; p < c->payloads.n; p++) {
        const char *pl = c->payloads.v[p];
        const char *al = fast_alloc(c, pl, spec, hash);
        const rundir_row *seq = rpt_find_spec(c, pl, STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, spec, hash, al);
        const rundir_row *cp = rpt_find_spec(c, pl, STAGE(COMPRESS), "", spec, "", NULL);
        const rundir_row *st[3] = {rpt_find(c, pl, STAGE(PICKLE), "", "", -1, "", al),
                                   rpt_find(c, pl, STAGE(HASH), "", "", -1, hash, NULL), cp};
        const char *const stn[3] = {STAGE(PICKLE), STAGE(HASH), STAGE(COMPRESS)};
        const rundir_row *mc = (ceil ? rpt_find_spec(c, pl, STAGE(COMPRESS), "", ceil, "", NULL) : NULL);
        const rundir_row *slow = NULL;
        const char *slow_name = "-";
        int j, any = 0;
        if (!seq) continue;
        for (j = 0; j < 3; j++)
            if (st[j] && (!slow || st[j]->median_ns > slow->median_ns)) {
                slow = st[j];
                slow_name = stn[j];
            }
        cb_buf_printf(&d, "%s", pl);
        for (v = 0; v < N_FAST; v++) {
            const rundir_row *r = rpt_find_spec(c, pl, STAGE(SAVE), fast_variants[v], spec, hash, al);
            if (!have[v]) continue;
            if (r) cb_buf_printf(&d, "\t%.6g", r->median_ns / seq->median_ns);
            else cb_buf_printf(&d, "\tNaN");
        }
        if (have_slow) cb_buf_printf(&d, "\t%.6g", slow ? slow->median_ns / seq->median_ns : NAN);
        if (have_mc) cb_buf_printf(&d, "\t%.6g", mc ? mc->median_ns / seq->median_ns : NAN);
        cb_buf_printf(&d, "\n");
        for (v = 0; v <= N_FAST; v++) {
            const char *vn = v == 0 ? SCHEMA_VARIANT_SEQUENTIAL : fast_variants[v - 1];
            const rundir_row *r = v == 0 ? seq : rpt_find_spec(c, pl, STAGE(SAVE), vn, spec, hash, al);
            char xs[96], xc[96], xsl[128], xm[96];
            if (!r) continue;
            any = 1;
            if (r == seq) snprintf(xs, sizeof xs, "1 (reference)");
            else ratio_cell(r, seq, xs, sizeof xs);
            ratio_cell(r, slow, xsl, sizeof xsl);
            snprintf(xsl + strlen(xsl), sizeof xsl - strlen(xsl), ", %s", slow_name);
            fprintf(md, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", pl, spec, hash, al, vn,
                    NUM(ms(r->median_ns)), xs, ratio_cell(r, cp, xc, sizeof xc), slow ? xsl : "-",
                    ratio_cell(r, mc, xm, sizeof xm));
        }
        npts += any;
    }
    if (d.oom) rpt_oom();
    if (!npts) { cb_buf_free(&d); return; }
    {
        char *sp = rpt_asprintf("%s-%s", spec, hash);
        base = rpt_asprintf("fastsave-%s", SLUG(sp));
        free(sp);
    }
    {
        char *qd = rpt_plot_data(c, base, d.p, d.n), *t = rpt_asprintf("%s + %s", spec, hash);
        char *qt = rpt_gq(t);
        rpt_add_job(c, "fastsave.gp", base, rpt_asprintf("data=%s; title=%s; nvar=%zu; nlim=%d", qd, qt, nvar,
                                                   have_slow + have_mc));
        free(qd);
        free(qt);
        free(t);
    }
    rpt_sl_add(plots, base);
    free(base);
}

/* The codecs of the run (names, ", "-joined into same / none) whose streamed
 * output env.tsv says equals one-shot, and those without a streaming API. */
static void stream_facts(const report_ctx *c, char *same, char *none, size_t cap)
{
    strlist s = {0}, n = {0};
    size_t k;
    for (k = 0; k < c->codecs.n; k++) {
        const char *v = report_codec_stream(c->run, c->codecs.v[k]);
        char codec[64];
        int level;
        rpt_split_spec(c->codecs.v[k], codec, sizeof codec, &level);
        if (strncmp(v, "levels ", 7) == 0) rpt_sl_add(&s, codec);
        else if (strcmp(v, "no streaming API") == 0) rpt_sl_add(&n, codec);
    }
    *same = *none = 0;
    for (k = 0; k < s.n; k++) snprintf(same + strlen(same), cap - strlen(same), "%s%s", k ? ", " : "", s.v[k]);
    for (k = 0; k < n.n; k++) snprintf(none + strlen(none), cap - strlen(none), "%s%s", k ? ", " : "", n.v[k]);
    if (!*same) snprintf(same, cap, "none of this run's codecs");
    if (!*none) snprintf(none, cap, "none");
    rpt_sl_free(&s);
    rpt_sl_free(&n);
}

void report_sec_fastsave(report_ctx *c, FILE *md)
{
    strlist pairs = {0}, plots = {0};   /* "codec:level hash" with a non-sequential save row */
    const char *ceil = ceiling_spec(c);
    size_t i, k, v;
    char same[512], none[512];
    stream_facts(c, same, none, sizeof same);
    fprintf(md, "Save variants (stage `save`, bench/cells.c): `sequential` is metaflow's order "
            "(pickle, hash the whole blob, compress the whole blob); `fused` pickles, then makes "
            "one pass over 128 KiB chunks, hashing each chunk and compressing it while it is in "
            "cache (the codecs' streaming APIs, which write the same bytes as one-shot compression "
            "for %s (env.tsv `codec_stream_same_*`); without a streaming API, and so without a "
            "fused row: %s); "
            "`overlapped` pickles, then a persistent worker thread (created outside timing) "
            "hashes the blob while the calling thread compresses it, the iteration ending when "
            "both are done (hand-off by a condition variable); `overlapped-spin` is the same with "
            "a spinning hand-off. Every row was verified before timing: key equal to an "
            "independent computation, stored bytes decoding to the blob and, for %s, equal to "
            "sequential's.\n\n", same, none, same);
    fprintf(md, "Limits, per payload: *compress alone* is the codec's `compress` row, *slowest "
            "stage* the largest of the `pickle`, `hash` and `compress` medians (no schedule of "
            "the three can beat it on one core per stage), *memcpy* the `compress` row of "
            "the ceiling codec (`%s`: a copy of the blob). Allocation: `reuse` rows where the run has "
            "them (the stages are timed with reuse), else `fresh`. x/y columns are ratios with their "
            "95 %% interval from the rounds: the median of per-round ratios where the two rows ran "
            "back-to-back in every round, else the ratio of their medians (results/README.md, "
            "\"Rounds\"); \"no difference\" where the "
            "interval includes 1: at this precision neither is faster. Below 1 is faster than the "
            "reference.\n\n", ceil ? ceil : "none in this run");
    for (i = 0; i < c->run->nrows; i++) {
        const rundir_row *w = &c->run->rows[i];
        char *key;
        if (!w->ok || strcmp(w->stage, STAGE(SAVE)) != 0 || w->protocol != c->protocol) continue;
        for (v = 0; v < N_FAST && strcmp(w->variant, fast_variants[v]) != 0; v++) {}
        if (v == N_FAST) continue;
        key = rpt_asprintf("%s:%d %s", w->codec, w->level, w->hash);
        rpt_sl_add(&pairs, key);
        free(key);
    }
    if (!pairs.n) {
        fprintf(md, "No `fused` or `overlapped` save rows in this run (`casbench run` plans "
                "them for " PR_SPEC " and " BASE_SPEC " with " BASE_HASH "; `--variant` selects others).\n\n");
        rpt_sl_free(&pairs);
        return;
    }
    fprintf(md, "| payload | codec | hash | alloc | variant | median ms | x sequential | "
            "x compress alone | x slowest stage, which | x memcpy |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n");
    for (k = 0; k < pairs.n; k++) {
        char spec[64], hash[64];
        if (sscanf(pairs.v[k], "%63s %63s", spec, hash) == 2) fast_pair(c, spec, hash, ceil, md, &plots);
    }
    fprintf(md, "\n");
    for (k = 0; k < plots.n; k++)
        fprintf(md, "![fast save variants, %s](plots/%s.png) ", plots.v[k], plots.v[k]);
    fprintf(md, "\n\nThe plots show each variant's median and the two limits as multiples of "
            "`sequential` (log scale; below 1 is faster).\n\n");
    fprintf(md, "Machine load when the run started (env.tsv `loadavg_1m`): %s on %s logical CPUs. "
            "The overlapped variants gain only when the second CPU is free; with other work "
            "running they time-slice with it, and the spinning hand-off loses most.\n\n",
            rundir_env(c->run, "loadavg_1m"), rundir_env(c->run, "cpus_logical"));
    fprintf(md, "Hand-off cost: on the small payloads the `overlapped` rows minus `sequential` "
            "show what one hand-off costs (a futex wake-up and wait for the condition variable, "
            "none for the spinning one, which instead keeps the worker's CPU busy and loses badly "
            "when that CPU is shared with other work). A production save path would hash inline "
            "below some blob size and overlap only above it.\n\n");
    fprintf(md, "The Python equivalent of `overlapped`: hashlib and python-lz4 (and zlib) release "
            "the GIL on large buffers, so\n\n```python\nexecutor = ThreadPoolExecutor(1)  # "
            "once, outside the save\nblob = pickle.dumps(obj, protocol=4)\nkey = executor.submit("
            "lambda: hashlib." BASE_HASH "(blob).hexdigest())\nstored = lz4.frame.compress(blob)\nkey = "
            "key.result()\n```\n\noverlaps the two in CPython too (`infra/python_path.py` times it "
            "as its `save` variant `overlapped`; see the C-and-Python section when a Python run is "
            "given). `fused` has no cheap Python equivalent: chunking through `hashlib.update` and "
            "`lz4.frame.LZ4FrameCompressor` costs an interpreter round trip per chunk.\n\n");
    rpt_sl_free(&pairs);
    rpt_sl_free(&plots);
}
