/*
 * envinfo.h - env.tsv: the machine, libraries and build behind a run.
 *
 * Keys are documented in results/README.md. Everything is read from local
 * sources (/proc, /sys, CPUID, the libraries' own version functions); nothing
 * goes over the network. A value that cannot be read is `unknown`.
 */
#ifndef CASBENCH_ENVINFO_H
#define CASBENCH_ENVINFO_H

#include <stddef.h>

/* Write DIR/env.tsv (temporary file + rename). extra: NULL-terminated
 * key, value, key, value, ... pairs describing the run's settings, written
 * after the machine's keys. 0, or -1 with a message in err. */
int env_write(const char *path, const char *const *extra, char *err, size_t errlen);

/* Append key<TAB>value rows to an existing env.tsv (e.g. resume_utc_time). */
int env_append(const char *path, const char *key, const char *value, char *err, size_t errlen);

/* The current UTC time as yyyymmddThhmmssZ (compact: 1) or
 * yyyy-mm-ddThh:mm:ssZ (compact: 0). */
void env_utc_now(char *out, size_t cap, int compact);

/* Look up a key in an env.tsv; returns a malloc'd value or NULL. */
char *env_lookup(const char *path, const char *key);

#endif
