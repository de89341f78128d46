/* schema.c - see schema.h. */
#include "schema.h"

#include <stdio.h>
#include <string.h>

const schema_column schema_columns[SCHEMA_NCOLS] = {
    {"payload", "text", 0, "payload spec; `sweep` for --hash-sweep rows"},
    {"protocol", "int", 0, "pickle protocol; empty for sweep rows"},
    {"pickled_bytes", "int", 0, "size of the uncompressed blob"},
    {"stage", "text", 0, "the measured step (schema_stage_names, roundtrip-*)"},
    {"variant", "text", 0, "save variant or PR #3090 suite; empty otherwise"},
    {"codec", "text", 0, "codec name; empty where the row has no codec"},
    {"level", "int", 0, "codec level; empty where no codec"},
    {"hash", "text", 0, "hash name; empty where the row has no hash"},
    {"alloc", "text", 0, "fresh, reuse or cpython"},
    {"bytes_in", "int", 0, "bytes the measured step reads"},
    {"bytes_out", "int", 0, "bytes it produces; empty on error rows"},
    {"ratio", "float", 0, "pickled_bytes / compressed bytes; empty without a codec"},
    {"repetitions", "int", 0, "rounds the row was timed in"},
    {"iterations", "int", 0, "iterations in the batch that gives a round's sample"},
    {"median_ns", "float", 0, "median time per iteration over the rounds: the row's figure"},
    {"mean_ns", "float", 0, "mean time per iteration"},
    {"stddev_ns", "float", 0, "standard deviation of the time per iteration"},
    {"min_ns", "float", 0, "fastest round"},
    {"max_ns", "float", 0, "slowest round"},
    {"cv", "float", 0, "stddev / mean"},
    {"mb_per_s", "float", 0, "bytes_in / median, 10^6 bytes per second"},
    {"samples_ns", "text", 0, "per-round times, comma-separated, in round order"},
    {"key", "text", 0, "hex digest of the blob by the row's hash"},
    {"status", "text", 0, "ok or error"},
    {"message", "text", 0, "the one-line error of an error row"},
    {"round_group", "text", 1, "the group the row was timed in"},
    {"spread", "float", 1, "interquartile range / median of samples_ns"},
    {"drift", "float", 1, "median of the second half of rounds / first half - 1"},
    {"flag", "text", 1, "steady, spread, drift, spread+drift or few"},
    {"minflt_per_iter", "float", 1, "minor page faults per iteration (getrusage), median over rounds"},
    {"peak_bytes", "int", 1, "peak extra memory of one iteration beyond its input (bench/memory.h)"},
    {"cold_ns", "float", 1, "cpython save and save+store: the cell's first iteration, before any warm-up"},
};

const char *const schema_stage_names[SCHEMA_STAGE_COUNT] = {
    "pickle", "hash", "compress", "decompress", "save", "load", "load+verify", "save+store", "thread-handoff",
};

const char *const schema_alloc_names[SCHEMA_ALLOC_COUNT] = {"fresh", "reuse", "cpython"};
const schema_alloc schema_alloc_predicted_from[SCHEMA_ALLOC_COUNT] = {SCHEMA_ALLOC_CPYTHON, SCHEMA_ALLOC_FRESH,
                                                                      SCHEMA_ALLOC_REUSE};

void schema_overhead_twin(const char *call, const char **stage, const char **variant)
{
    *stage = call;
    *variant = strcmp(call, schema_stage_names[SCHEMA_STAGE_HANDOFF]) == 0 ? SCHEMA_VARIANT_OVERLAPPED : "";
}

int schema_col_find(const char *name)
{
    for (int i = 0; i < SCHEMA_NCOLS; i++)
        if (strcmp(schema_columns[i].name, name) == 0) return i;
    return -1;
}

/* A text field as matrix.tsv holds it: no tab or line break inside, "" for
 * NULL; "-" in place of "" when dash. */
static const char *field(const char *s, int dash, char *buf, size_t cap)
{
    size_t n = 0;
    if (!s || !*s) return dash ? "-" : "";
    for (; *s && n + 1 < cap; s++)
        buf[n++] = (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s;
    buf[n] = 0;
    return buf;
}

static int is_sweep(const schema_key *k)
{
    return k->payload && strcmp(k->payload, SCHEMA_PAYLOAD_SWEEP) == 0;
}

/* The eight parts of an identity (and bytes_in), each in its own buffer. */
typedef struct { char b[6][1024]; char proto[16], level[16], bytes[24]; const char *f[6]; } parts;

static void split(const schema_key *k, int dash, parts *p)
{
    const char *text[6] = {k->payload, k->stage, k->variant, k->codec, k->hash, k->alloc};
    for (int i = 0; i < 6; i++) p->f[i] = field(text[i], dash, p->b[i], sizeof p->b[i]);
    snprintf(p->proto, sizeof p->proto, "%s", dash ? "-" : "");
    snprintf(p->level, sizeof p->level, "%s", dash ? "-" : "");
    if (k->protocol != SCHEMA_NO_PROTOCOL) snprintf(p->proto, sizeof p->proto, "%d", k->protocol);
    if (k->level != SCHEMA_NO_LEVEL) snprintf(p->level, sizeof p->level, "%d", k->level);
    snprintf(p->bytes, sizeof p->bytes, "%llu", (unsigned long long)k->bytes_in);
}

void schema_key_id(const schema_key *k, char *out, size_t cap)
{
    parts p;
    split(k, 0, &p);
    snprintf(out, cap, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s%s", p.f[0], p.proto, p.f[1], p.f[2],
             p.f[3], p.level, p.f[4], p.f[5], is_sweep(k) ? "\t" : "", is_sweep(k) ? p.bytes : "");
}

void schema_key_text(const schema_key *k, char *out, size_t cap)
{
    parts p;
    split(k, 1, &p);
    snprintf(out, cap, "%s %s %s %s %s %s %s %s%s%s", p.f[0], p.proto, p.f[1], p.f[2], p.f[3],
             p.level, p.f[4], p.f[5], is_sweep(k) ? " bytes_in=" : "", is_sweep(k) ? p.bytes : "");
}

void schema_key_bench_name(const schema_key *k, char *out, size_t cap)
{
    parts p;
    char codec[1100] = "-";
    split(k, 1, &p);
    if (k->codec && *k->codec) snprintf(codec, sizeof codec, "%s:%s", p.f[3], p.level);
    if (is_sweep(k))
        snprintf(out, cap, "%s/%s/%s/-/-/%s/%s", p.f[0], p.bytes, p.f[1], p.f[4], p.f[5]);
    else
        snprintf(out, cap, "%s/p%s/%s/%s/%s/%s/%s", p.f[0], k->protocol != SCHEMA_NO_PROTOCOL ? p.proto : "",
                 p.f[1], p.f[2], codec, p.f[4], p.f[5]);
    for (char *q = out; *q; q++)
        if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20 || *q == 0x7f) *q = '_';
}
