/*
 * strbuf.h - a growable, always NUL-terminated string: the one string builder
 * of casbench (results rows, env.tsv, calibrate.tsv, reports).
 *
 * Out of memory is sticky: the first failed growth sets oom, every later call
 * does nothing, and the caller checks oom once, after building. A zeroed
 * cb_buf is an empty buffer (p may be NULL until the first add).
 */
#ifndef CASBENCH_STRBUF_H
#define CASBENCH_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *p;        /* the text, NUL-terminated once anything was added; malloc'd */
    size_t n;       /* its length, the NUL excluded */
    size_t cap;
    int oom;        /* a growth failed: the text is incomplete */
} cb_buf;

/* Append n bytes of s (which need not be NUL-terminated). */
void cb_buf_add(cb_buf *b, const char *s, size_t n);
/* Append the string s (NULL appends nothing). */
void cb_buf_puts(cb_buf *b, const char *s);
/* Append printf-formatted text, whatever its length. */
void cb_buf_printf(cb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cb_buf_vprintf(cb_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append s with every tab, '\n' and '\r' written as a space: a TSV field. */
void cb_buf_field(cb_buf *b, const char *s);
/* Release the text; b becomes an empty buffer again. */
void cb_buf_free(cb_buf *b);

#endif
