/*
 * sets.h - named sets of codecs and hashes (`run`'s default matrix, `--quick`).
 *
 * A set is data in the descriptor rows (codec_desc.in_sets, hash_desc.sets):
 * a row says which named sets it belongs to, at which levels, and the
 * planner, `--help` and env.tsv read the sets from there. Adding a codec to
 * the default matrix is editing its row, nothing else.
 */
#ifndef CASBENCH_SETS_H
#define CASBENCH_SETS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

enum {
    CB_SET_DEFAULT = 1u << 0,  /* `casbench run` with no --codec / --hash */
    CB_SET_QUICK = 1u << 1,    /* `casbench run --quick` */
};

/* The sets by name, for env.tsv keys and `--help`: {CB_SET_DEFAULT,
 * "default"}, ... ended by {0, NULL}. */
typedef struct { unsigned bit; const char *name; } cb_set_name;
extern const cb_set_name cb_set_names[];

/* Appends one member, formatted as printf(fmt, ...) would, to the
 * comma-joined list in out (cap bytes, *len of them used; a list starts
 * with *len = 0): the list is cut at cap and stays NUL-terminated. The
 * writer of codec_set_specs() and hash_set_names(). */
static inline void cb_set_list_add(char *out, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline void cb_set_list_add(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int w;
    if (*len > 0 && *len + 1 < cap) {
        out[(*len)++] = ',';
        out[*len] = 0;
    }
    va_start(ap, fmt);
    w = vsnprintf(out + *len, cap > *len ? cap - *len : 0, fmt, ap);
    va_end(ap);
    if (w > 0) *len += (size_t)w;
    if (*len >= cap) *len = cap ? cap - 1 : 0;
}

#endif
