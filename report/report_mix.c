/* report_mix.c - the workload mix and predict.tsv (report_mix.h). */
#include "report_mix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report_ctx.h"
#include "util.h"

/* Artifacts per flow step. An assumption, not a measurement: most steps
 * carry a small configuration and a metrics dict; a minority save an
 * embedding table, model weights, or data that is already compressed. */
const rpt_mix_default rpt_mix_defaults[] = {
    {"config", 1.0, "every step carries its parameters"},
    {"metrics", 1.0, "every step records a metrics dict"},
    {"embeddings", 0.25, "one step in four saves an embedding table"},
    {"weights", 0.1, "one step in ten saves model weights"},
    {"random", 0.1, "one step in ten saves data already compressed"},
};
const size_t rpt_mix_ndefaults = sizeof rpt_mix_defaults / sizeof rpt_mix_defaults[0];

static int has(char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) return 1;
    return 0;
}

static void add(rpt_mix *m, const char *payload, double w)
{
    m->payload = realloc(m->payload, (m->n + 1) * sizeof *m->payload);
    m->weight = realloc(m->weight, (m->n + 1) * sizeof *m->weight);
    if (!m->payload || !m->weight || !(m->payload[m->n] = strdup(payload))) rpt_oom();
    m->weight[m->n++] = w;
}

void rpt_mix_free(rpt_mix *m)
{
    for (size_t i = 0; i < m->n; i++) free(m->payload[i]);
    for (size_t i = 0; i < m->ndropped; i++) free(m->dropped[i]);
    free(m->payload);
    free(m->weight);
    free(m->dropped);
    memset(m, 0, sizeof *m);
}

static int load_file(rpt_mix *m, const char *path, char *const *names, size_t n, char *err, size_t errlen)
{
    tsv_table *t = tsv_load(path, 1, err, errlen);
    int cp, cw;
    size_t r;
    if (!t) return -1;
    if ((cp = tsv_require_col(t, "payload", err, errlen)) < 0 ||
        (cw = tsv_require_col(t, "weight", err, errlen)) < 0)
        goto bad;
    for (r = 0; r < tsv_nrows(t); r++) {
        const char *p = tsv_str(t, r, cp), *ws = tsv_str(t, r, cw);
        char sub[128];
        double w;
        if (cb_parse_double(ws, 0, 1e12, &w, sub, sizeof sub) != 0) {
            cb_err(err, errlen, "%s:%zu: weight %s: %s (artifacts per step, >= 0)", CB_QP(path),
                   tsv_line(t, r), CB_Q(ws), sub);
            goto bad;
        }
        if (!has(names, n, p)) {
            cb_err(err, errlen, "%s:%zu: payload %s is not in this run", CB_QP(path), tsv_line(t, r), CB_Q(p));
            goto bad;
        }
        for (size_t k = 0; k < r; k++)
            if (strcmp(tsv_str(t, k, cp), p) == 0) {
                cb_err(err, errlen, "%s:%zu: payload %s given twice (first on line %zu)", CB_QP(path),
                       tsv_line(t, r), CB_Q(p), tsv_line(t, k));
                goto bad;
            }
        if (w > 0) add(m, p, w);
    }
    if (!m->n) {
        cb_err(err, errlen, "%s: no payload with a weight above 0", CB_QP(path));
        goto bad;
    }
    tsv_free(t);
    return 0;
bad:
    tsv_free(t);
    rpt_mix_free(m);
    return -1;
}

int rpt_mix_load(rpt_mix *m, const char *path, char *const *names, size_t n, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (path) return load_file(m, path, names, n, err, errlen);
    for (size_t i = 0; i < rpt_mix_ndefaults; i++) {
        if (has(names, n, rpt_mix_defaults[i].payload)) {
            add(m, rpt_mix_defaults[i].payload, rpt_mix_defaults[i].weight);
            continue;
        }
        m->dropped = realloc(m->dropped, (m->ndropped + 1) * sizeof *m->dropped);
        if (!m->dropped || !(m->dropped[m->ndropped] = strdup(rpt_mix_defaults[i].payload))) rpt_oom();
        m->ndropped++;
    }
    return 0;
}

tsv_table *rpt_predict_load(const char *run_dir, char *err, size_t errlen)
{
    static const char *const cols[] = {"payload", "stage", "variant", "codec", "level", "hash", "predicted_ms"};
    char *path = rpt_asprintf("%s/predict.tsv", run_dir);
    struct stat st;
    tsv_table *t = NULL;
    err[0] = 0;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        free(path);
        return NULL;
    }
    t = tsv_load(path, 1, err, errlen);
    for (size_t i = 0; t && i < sizeof cols / sizeof cols[0]; i++)
        if (tsv_require_col(t, cols[i], err, errlen) < 0) {
            tsv_free(t);
            t = NULL;
        }
    for (size_t r = 0; t && r < tsv_nrows(t); r++) {
        double v;
        if (tsv_double(t, r, tsv_col(t, "predicted_ms"), &v, err, errlen) != 0) {
            tsv_free(t);
            t = NULL;
        }
    }
    free(path);
    return t;
}
