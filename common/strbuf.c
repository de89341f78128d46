/* strbuf.c - see strbuf.h. */
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL. */
static int grow(cb_buf *b, size_t n)
{
    if (b->oom) return -1;
    if (b->n + n + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

void cb_buf_add(cb_buf *b, const char *s, size_t n)
{
    if (grow(b, n) != 0) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void cb_buf_puts(cb_buf *b, const char *s)
{
    if (s) cb_buf_add(b, s, strlen(s));
}

void cb_buf_vprintf(cb_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int k = vsnprintf(NULL, 0, fmt, ap);
    if (k < 0 || grow(b, (size_t)k) != 0) { va_end(again); return; }
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, again);
    va_end(again);
    b->n += (size_t)k;
}

void cb_buf_printf(cb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cb_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void cb_buf_field(cb_buf *b, const char *s)
{
    if (!s) return;
    size_t start = b->n;
    cb_buf_puts(b, s);
    if (b->oom) return;
    for (size_t i = start; i < b->n; i++)
        if (b->p[i] == '\t' || b->p[i] == '\n' || b->p[i] == '\r') b->p[i] = ' ';
}

void cb_buf_free(cb_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
