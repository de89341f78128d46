/*
 * json.h - a JSON document as the Python objects json.loads() makes of it.
 *
 * Ints become Python ints of any size (up to CPython 3.11's 4300-digit
 * conversion limit, which json.loads also enforces); numbers with a fraction
 * or exponent become floats rounded as float() does (strtod, correctly
 * rounded; out of range gives +-inf as in Python); NaN, Infinity and
 * -Infinity are accepted as Python's json does. Strings are decoded with
 * \uXXXX escapes and surrogate pairs joined; a lone surrogate escape is kept
 * as CPython keeps it. Object identity follows CPython's C decoder: equal
 * object keys are one str object across the whole document, string values
 * are distinct objects except CPython's singletons ("" and one character
 * below U+0100). A repeated key keeps its first position and last value.
 *
 * The parser keeps an explicit stack, so nesting costs heap, not C stack;
 * nesting deeper than PYOBJ_MAX_DEPTH is an error.
 */
#ifndef CASBENCH_JSON_H
#define CASBENCH_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "pyobj.h"

/* Parse buf[0..len) (UTF-8, no BOM; need not be NUL-terminated) into nodes of
 * arena a. Returns 0 and the root in *out, or a util.h status with a
 * one-line message in err: CB_EXIT_INPUT for a malformed document ("line L
 * column C: problem", columns counted in characters from 1), CB_EXIT_ENV when
 * out of memory. */
int json_parse(pyobj_arena *a, const uint8_t *buf, size_t len, pyobj **out,
               char *err, size_t errlen);

/* The first len bytes of a document: 0 when they can begin one (or are all
 * white space), else json_parse's status and message for the byte where no
 * value can start, so that a large file that is not JSON is refused before
 * it is read whole. */
int json_sniff(pyobj_arena *a, const uint8_t *buf, size_t len, char *err, size_t errlen);

#endif
