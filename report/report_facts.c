/* report_facts.c - see report_facts.h. */
#include "report_facts.h"

#include <stdio.h>
#include <string.h>

#include "schema.h"

/* env.tsv's value of "<prefix><name>", where name is spec up to its ':'. */
static const char *fact(const rundir *run, const char *prefix, const char *spec)
{
    char key[160];
    const char *colon = strrchr(spec, ':');
    int len = colon ? (int)(colon - spec) : (int)strlen(spec);
    if (snprintf(key, sizeof key, "%s%.*s", prefix, len, spec) >= (int)sizeof key) return "unknown";
    return rundir_env(run, key);
}

codec_kind report_codec_kind(const rundir *run, const char *spec)
{
    const char *ceiling = fact(run, "codec_ceiling_", spec);
    const char *readable = fact(run, "codec_metaflow_readable_", spec);
    if (strcmp(ceiling, "yes") == 0) return CODEC_KIND_CEILING;
    if (strcmp(ceiling, "no") != 0) return CODEC_KIND_UNKNOWN;
    if (strcmp(readable, "yes") == 0) return CODEC_KIND_READABLE;
    if (strcmp(readable, "no") == 0) return CODEC_KIND_NEWVERSION;
    return CODEC_KIND_UNKNOWN;
}

const char *report_codec_kind_text(codec_kind k)
{
    switch (k) {
    case CODEC_KIND_CEILING: return "ceiling (stores the blob as is)";
    case CODEC_KIND_READABLE: return "yes (gzip stream, cas_version 1)";
    case CODEC_KIND_NEWVERSION: return "no (needs a new cas_version)";
    default: return "unknown";
    }
}

const char *report_codec_stream(const rundir *run, const char *spec)
{
    return fact(run, "codec_stream_same_", spec);
}

const char *report_codec_library(const rundir *run, const char *spec)
{
    return fact(run, "codec_library_", spec);
}

const char *report_codec_python(const rundir *run, const char *spec)
{
    return fact(run, "codec_python_", spec);
}

const char *report_hash_crypto(const rundir *run, const char *hash)
{
    return fact(run, "hash_cryptographic_", hash);
}

int report_hash_sound(const rundir *run, const char *hash)
{
    return strcmp(report_hash_crypto(run, hash), "yes") == 0;
}

/* The Python call of a codec or hash: 1 there is one, 0 none (*why: the
 * row's note, else `none_why`), -1 env.tsv does not say. */
static int python_call(const rundir *run, const char *prefix, const char *name,
                       const char *none_why, const char **why)
{
    char note_prefix[64];
    const char *call = fact(run, prefix, name), *note;
    if (strcmp(call, "unknown") == 0) return -1;
    if (strcmp(call, "-") != 0) return 1;
    snprintf(note_prefix, sizeof note_prefix, "%snote_", prefix);
    note = fact(run, note_prefix, name);
    *why = strcmp(note, "-") != 0 && strcmp(note, "unknown") != 0 ? note : none_why;
    return 0;
}

int report_python_same(const rundir *c_run, const rundir_row *w, const char **why)
{
    int same = 1;
    *why = "same library";
    if (strcmp(w->stage, schema_stage_names[SCHEMA_STAGE_PICKLE]) == 0 ||
        strcmp(w->stage, schema_stage_names[SCHEMA_STAGE_SAVE]) == 0) {
        *why = "pickler differs (CPython's _pickle vs casbench's)";
        return 0;
    }
    if (*w->hash) {
        int r = python_call(c_run, "hash_python_", w->hash, "hash not in both programs", why);
        if (r < 0) *why = "unknown hash (env.tsv has no hash_python_ fact)";
        same = r > 0;
    }
    if (*w->codec) {
        const char *cwhy = *why;
        int r = python_call(c_run, "codec_python_", w->codec, "codec not in both programs", &cwhy);
        if (r < 0) cwhy = "unknown codec (env.tsv has no codec_python_ fact)";
        if (r <= 0) *why = cwhy;
        same = same && r > 0;
    }
    return same;
}
