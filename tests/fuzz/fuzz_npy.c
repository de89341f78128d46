/* fuzz_npy.c - npy_parse on arbitrary bytes; an array that parses is
 * pickled (its data points into the input, so every element is read). */
#include <stdint.h>
#include <stdlib.h>

#include "npy.h"
#include "pickle.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    pyobj *obj = NULL;
    pyobj_arena *a = pyobj_arena_new();
    if (!a) abort();
    int rc = npy_parse(a, data, size, &obj, err, sizeof err);
    if (rc == 0) {
        pickle_options opt = PICKLE_OPTIONS_DEFAULT;
        size_t cap = pickle_bound(obj, &opt);
        uint8_t *buf = cap <= ((size_t)64 << 20) ? malloc(cap ? cap : 1) : NULL;
        if (buf) {
            size_t n = pickle_dump(obj, &opt, buf, cap, err, sizeof err);
            if (n > cap) abort();
            free(buf);
        }
    } else if ((rc != CB_EXIT_INPUT && rc != CB_EXIT_ENV) || !err[0]) {
        abort();
    }
    pyobj_arena_free(a);
    return 0;
}
