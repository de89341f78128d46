/* report_hashes.c - section "The SHA-1 proposal": hash throughput by size, key
 * length, birthday bounds and the hash's share of the save path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baselines.h"
#include "report_ctx.h"
#include "report_facts.h"
#include "report_rounds.h"

/* Birthday bound for n keys of b bits: 1 - exp(-n(n-1)/2^(b+1)). expm1
 * keeps the tiny values that 1 - exp() would round to zero. */
static double birthday(double n, int bits)
{
    return -expm1(-ldexp(n * (n - 1.0), -(bits + 1)));
}

/* Throughput of `hash` near `target` bytes: the payload row if there is one,
 * else the sweep row of the nearest size (log distance). */
static double hash_tput(const report_ctx *c, const char *hash, const char *payload,
                        double target, char *src, size_t srcn)
{
    const rundir_row *w = rpt_find(c, payload, STAGE(HASH), "", "", -1, hash, NULL), *best = NULL;
    size_t i;
    if (w) {
        snprintf(src, srcn, "%s", payload);
        return mbps(w->bytes_in, w->median_ns);
    }
    for (i = 0; i < c->run->nrows; i++) {
        const rundir_row *s = &c->run->rows[i];
        if (!s->ok || strcmp(s->payload, SCHEMA_PAYLOAD_SWEEP) || strcmp(s->stage, STAGE(HASH)) ||
            strcmp(s->hash, hash) || !s->bytes_in)
            continue;
        if (!best || fabs(log((double)s->bytes_in / target)) < fabs(log((double)best->bytes_in / target)))
            best = s;
    }
    if (!best) { snprintf(src, srcn, "-"); return NAN; }
    snprintf(src, srcn, "sweep %llu B", (unsigned long long)best->bytes_in);
    return mbps(best->bytes_in, best->median_ns);
}

/* Throughput by input size of every hash with `sweep` rows:
 * plots/hash-sweep.tsv (one block per hash, by size) and its plot. */
static void sweep_plot(report_ctx *c, FILE *md)
{
    size_t h, i, nsweep = 0;
    cb_buf d = {0}, names = {0};

    for (h = 0; h < c->hashes.n; h++) {
        size_t before = nsweep;
        /* Rows in file order; gnuplot wants each line sorted by size. */
        uint64_t last = 0;
        for (;;) {
            const rundir_row *next = NULL;
            for (i = 0; i < c->run->nrows; i++) {
                const rundir_row *s = &c->run->rows[i];
                if (s->ok && !strcmp(s->payload, SCHEMA_PAYLOAD_SWEEP) && !strcmp(s->stage, STAGE(HASH)) &&
                    !strcmp(s->hash, c->hashes.v[h]) && s->bytes_in > last &&
                    (!next || s->bytes_in < next->bytes_in))
                    next = s;
            }
            if (!next) break;
            if (nsweep == before) cb_buf_printf(&d, "%s# %s\nbytes\tmb_per_s\n", before ? "\n\n" : "", c->hashes.v[h]);
            cb_buf_printf(&d, "%llu\t%.6g\n", (unsigned long long)next->bytes_in,
                    mbps(next->bytes_in, next->median_ns));
            last = next->bytes_in;
            nsweep++;
        }
        if (nsweep > before) {
            cb_buf_printf(&names, "%s%s", names.n ? " " : "", c->hashes.v[h]);
        }
    }
    if (d.oom) rpt_oom();
    if (names.oom) rpt_oom();
    if (nsweep) {
        char *path = rpt_write_data(c, "hash-sweep.tsv", d.p, d.n), *qd = rpt_gq(path), *qn = rpt_gq(names.p);
        rpt_add_job(c, "hashsweep.gp", "hash-sweep", rpt_asprintf("data=%s; names=%s", qd, qn));
        fprintf(md, "Hash throughput against input size (`sweep` rows, stage `hash`):\n\n"
                "![hash throughput](plots/hash-sweep.png)\n\n");
        free(path);
        free(qd);
        free(qn);
    } else {
        cb_buf_free(&d);
        fprintf(md, "No `sweep` rows in this run: no throughput-by-size plot.\n\n");
    }
    cb_buf_free(&names);
}

/* Where each hash's throughput at a published size comes from. */
typedef struct {
    double mbps;
    char src[64];     /* the payload, "sweep N B", or "-" */
} hash_tput_at;

/* The key table: digest bits, crypto status (env.tsv), key length against
 * today's key hash, throughput at the published sizes. */
static void key_table(report_ctx *c, FILE *md)
{
    static const struct { const char *payload; double bytes; const char *label; } at[] = {
        {"config", 233, "233 B"}, {"metrics", 52e3, "52 KB"}, {"weights", 8e6, "8 MB"},
    };
    int base_hex = 2 * rpt_digest_bytes(c, BASE_HASH);
    size_t h, k;
    fprintf(md, "Throughput in MB/s (10^6 B/s) at the sizes of the published payloads, from "
            "the payload's own `hash` row, or the nearest `sweep` size where the payload was "
            "not measured (named in the cell). Digest bits from the rows' digest size; "
            "\"cryptographic\" is a fact about the algorithm (env.tsv), not a measurement.\n\n");
    fprintf(md, "| hash | digest bits | cryptographic | hex key chars (" BASE_HASH ": %d) |", base_hex);
    for (k = 0; k < 3; k++) fprintf(md, " MB/s at %s |", at[k].label);
    fprintf(md, "\n|---|---|---|---|---|---|---|\n");
    for (h = 0; h < c->hashes.n; h++) {
        int db = rpt_digest_bytes(c, c->hashes.v[h]);
        hash_tput_at tp[3];
        for (k = 0; k < 3; k++)
            tp[k].mbps = hash_tput(c, c->hashes.v[h], at[k].payload, at[k].bytes, tp[k].src, sizeof tp[k].src);
        fprintf(md, "| %s | %d | %s | %d (%+d) |", c->hashes.v[h], 8 * db,
                report_hash_crypto(c->run, c->hashes.v[h]), 2 * db, 2 * db - base_hex);
        for (k = 0; k < 3; k++) {
            if (strcmp(tp[k].src, at[k].payload) == 0) fprintf(md, " %s |", NUM(tp[k].mbps));
            else fprintf(md, " %s (%s) |", NUM(tp[k].mbps), tp[k].src);
        }
        fprintf(md, "\n");
    }
}

/* Key length, the birthday bound and the hash's share of the save path. */
static void key_consequences(report_ctx *c, FILE *md)
{
    static const double ns[] = {1e6, 1e9, 1e12};
    size_t h, i, k;
    fprintf(md, "\nKey length and metaflow's layout `<root>/<Flow>/data/<key[:2]>/<key>`: the "
            "two-character fan-out (256 directories) stays for any key of at least 2 hex "
            "characters; what changes is the file name's length (the column above) and, for "
            "keys shorter than 40, the odds of two different artifacts sharing a key. Keys of "
            "a new length never equal an old SHA-1 key, so old and new artifacts coexist but "
            "stop deduplicating against each other.\n\n");
    fprintf(md, "Birthday bound: probability that at least two of n stored artifacts share a "
            "key, p = 1 - exp(-n(n-1) / 2^(b+1)) (computed with expm1).\n\n"
            "| hash | bits | n = 10^6 | n = 10^9 | n = 10^12 |\n|---|---|---|---|---|\n");
    for (h = 0; h < c->hashes.n; h++) {
        int bits = 8 * rpt_digest_bytes(c, c->hashes.v[h]);
        fprintf(md, "| %s | %d |", c->hashes.v[h], bits);
        for (k = 0; k < 3; k++) fprintf(md, " %.2e |", birthday(ns[k], bits));
        fprintf(md, "\n");
    }
    fprintf(md, "\nShare of the `" PR_SPEC "` save path (stage `save`, `sequential`) that the hash "
            "costs: the hash stage median / the save median with that hash, with its 95 %% interval "
            "from the rounds (results/README.md, \"Rounds\").\n\n| hash |");
    for (i = 0; i < c->payloads.n; i++) fprintf(md, " %s |", c->payloads.v[i]);
    fprintf(md, "\n|---|");
    for (i = 0; i < c->payloads.n; i++) fprintf(md, "---|");
    fprintf(md, "\n");
    for (h = 0; h < c->hashes.n; h++) {
        fprintf(md, "| %s |", c->hashes.v[h]);
        for (i = 0; i < c->payloads.n; i++) {
            const rundir_row *hr = rpt_find(c, c->payloads.v[i], STAGE(HASH), "", "", -1, c->hashes.v[h], NULL);
            const rundir_row *sv = rpt_find(c, c->payloads.v[i], STAGE(SAVE), SCHEMA_VARIANT_SEQUENTIAL, PR_CODEC,
                                            PR_LEVEL, c->hashes.v[h], NULL);
            char cell[128];
            if (hr && sv) report_ratio_cell(report_ratio_of(hr, sv), 0, 100, " %", cell, sizeof cell);
            fprintf(md, " %s |", hr && sv ? cell : "-");
        }
        fprintf(md, "\n");
    }
    fprintf(md, "\n");
}

void report_sec_hashes(report_ctx *c, FILE *md)
{
    sweep_plot(c, md);
    key_table(c, md);
    key_consequences(c, md);
}
