/*
 * util.h - exit statuses, one-line errors and strict number parsing shared by
 * every casbench subcommand.
 *
 * Exit statuses (documented in `casbench --help` and README.md):
 *   0  success
 *   1  usage: unknown subcommand or flag, missing argument
 *   2  bad input: a name, level, size, file or document that casbench rejects
 *   3  environment: I/O failure, out of memory, a missing tool or library
 *   4  internal: a verification failure inside casbench (a cell that does not
 *      round-trip is reported in results, not by this status)
 *   130 / 143  interrupted by SIGINT / SIGTERM (128 + signal number); what was
 *      measured before the signal is kept.
 */
#ifndef CASBENCH_UTIL_H
#define CASBENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

enum {
    CB_EXIT_OK = 0,
    CB_EXIT_USAGE = 1,
    CB_EXIT_INPUT = 2,
    CB_EXIT_ENV = 3,
    CB_EXIT_INTERNAL = 4,
};

/* Print "casbench: <message>\n" on stderr and exit with `status`.
 * The message names the input (quoted with CB_Q / CB_QP) and the problem, on
 * one line: a control byte left in it is written as a \ooo escape. */
void cb_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Print "casbench: <message>\n" on stderr, one line as cb_fail (a warning;
 * the run goes on). */
void cb_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Format into a caller's error buffer (always NUL-terminated, truncated to fit).
 * Returns -1 so that `return cb_err(...)` reads naturally. */
int cb_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A user's string (a name, a path, an option value) for a message, quoted
 * as GNU ls --quoting-style=shell-escape-always shows it in the C locale
 * (always = 1), or as --quoting-style=shell-escape (always = 0: bare when
 * nothing needs quoting, for "PATH: problem" and "FILE:LINE:" positions):
 * 'a b', "it's", 'a'$'\n''b', ''$'\033''[31m'. Bytes outside printable
 * ASCII become $'...' escapes, so the result is one line, never reaches the
 * terminal as a control sequence, and pastes back into a shell as the same
 * bytes. A result that would not fit in cap is cut after whole characters
 * and ends in "..." (outside the quotes). Returns out. */
const char *cb_quote(const char *s, int always, char *out, size_t cap);
#define CB_QUOTE_CAP 320
/* For printf arguments: "--seed %s: ...", CB_Q(value). */
#define CB_Q(s) cb_quote((s), 1, (char[CB_QUOTE_CAP]){0}, CB_QUOTE_CAP)
#define CB_QP(s) cb_quote((s), 0, (char[CB_QUOTE_CAP]){0}, CB_QUOTE_CAP)

/* Strict parsers: the whole string must be consumed; no sign on unsigned
 * values; overflow, empty strings and trailing garbage are errors.
 * Return 0 on success, -1 with a message in err (which names neither the
 * input nor its value's owner: the caller adds "--flag 'x': " in front). */
int cb_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                 char *err, size_t errlen);
int cb_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out,
                 char *err, size_t errlen);
/* A byte count with an optional suffix: B, K/KB (1000), KiB (1024), M/MB,
 * MiB, G/GB, GiB (case-sensitive as written here; "k" is accepted for K).
 * "1e30" and fractional values are rejected. */
int cb_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                  char *err, size_t errlen);
/* A finite double in decimal notation, the whole string: [+-]digits[.digits]
 * [e[+-]digits] (no hexadecimal, "inf", "nan" or blanks: every numeric option
 * and results field goes through this one parser). */
int cb_parse_double(const char *s, double min, double max, double *out,
                    char *err, size_t errlen);

/* Whole-file reading with clear errors: missing, unreadable, a directory, a
 * special file, or over max_bytes. "-" reads stdin. The buffer is malloc'd and
 * owned by the caller; *len excludes the NUL that is always appended. */
int cb_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len,
                 char *err, size_t errlen);

/* Write all of buf to fd, retrying on EINTR and short writes. 0 or -1 (errno). */
int cb_write_all(int fd, const void *buf, size_t len);

/* v with 3 significant digits in plain notation ("0.0123", "456", "7891"),
 * "0" for zero and "-" for a non-finite value; returns buf. */
const char *cb_fmt3(double v, char *buf, size_t n);
#define CB_FMT3(v) cb_fmt3((v), (char[32]){0}, 32)

/* Fill b with n reproducible bytes: the splitmix64 sequence from `seed`,
 * little-endian. Same seed, same bytes, on every machine. */
void cb_fill_random(uint8_t *b, size_t n, uint64_t seed);
/* The next value of the splitmix64 sequence whose state is *state (advanced). */
uint64_t cb_splitmix64(uint64_t *state);

/* True when `arg` is "-h" or "--help" / "--version". */
int cb_is_help(const char *arg);
int cb_is_version(const char *arg);

/* malloc, calloc, realloc and strdup that never return NULL: out of memory
 * prints "casbench: out of memory" and exits CB_EXIT_ENV. The one exception
 * to "only cli/ exits" (ARCHITECTURE.md, Errors): for the small bookkeeping
 * allocations of any layer, where no caller could do better. A buffer whose
 * size comes from the input (a payload, a file) uses malloc and returns
 * its error instead. cb_xstrdup(NULL) is "". */
void *cb_xmalloc(size_t n);
void *cb_xcalloc(size_t count, size_t size);
void *cb_xrealloc(void *p, size_t n);
char *cb_xstrdup(const char *s);
/* Their exit, for a small allocation of the same kind that is not one of
 * them: a cb_buf whose oom is set, open_memstream, vasprintf. */
void cb_oom(void) __attribute__((noreturn));
/* An array p of *cap items of `size` bytes, n of them used, made to hold
 * one more: doubled (from 256 items) when full. Returns the array, maybe
 * moved; exits as cb_xmalloc when out of memory. */
void *cb_xgrow(void *p, size_t *cap, size_t n, size_t size);

/* The version string of casbench itself ("0.1.0") and the git commit it was
 * built from ("unknown" outside a checkout). */
extern const char cb_version[];
extern const char cb_git_commit[];

#endif
