/* fuzz_pickle.h - what the reader targets (fuzz_json, fuzz_npy) share: a
 * reader on arbitrary bytes, then, when the bytes parse, the object pickled
 * at each protocol asked for, as `casbench pickle` would, into a buffer of
 * pickle_bound's size, which pickle_dump must not exceed. A reader's failure
 * must be an input or environment error that explains itself. */
#ifndef CASBENCH_FUZZ_PICKLE_H
#define CASBENCH_FUZZ_PICKLE_H

#include <stdint.h>
#include <stdlib.h>

#include "pickle.h"
#include "pyobj.h"
#include "util.h"

typedef int (*fuzz_reader)(pyobj_arena *a, const uint8_t *buf, size_t len, pyobj **out,
                           char *err, size_t errlen);

static inline void fuzz_read_and_pickle(fuzz_reader read, const uint8_t *data, size_t size,
                                        const int *protocols, size_t nprotocols)
{
    char err[256];
    pyobj *obj = NULL;
    pyobj_arena *a = pyobj_arena_new();
    if (!a) abort();
    int rc = read(a, data, size, &obj, err, sizeof err);
    if (rc != 0) {
        if ((rc != CB_EXIT_INPUT && rc != CB_EXIT_ENV) || !err[0]) abort();
        pyobj_arena_free(a);
        return;
    }
    for (size_t i = 0; i < nprotocols; i++) {
        pickle_options opt = PICKLE_OPTIONS_DEFAULT;
        opt.protocol = protocols[i];
        size_t cap = pickle_bound(obj, &opt);
        if (cap > ((size_t)64 << 20)) break;   /* the fuzzer's memory budget */
        uint8_t *buf = malloc(cap ? cap : 1);
        if (!buf) abort();
        size_t n = pickle_dump(obj, &opt, buf, cap, err, sizeof err);
        if (n > cap) abort();
        free(buf);
    }
    pyobj_arena_free(a);
}

#endif
