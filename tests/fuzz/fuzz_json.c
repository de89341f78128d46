/* fuzz_json.c - json_parse on arbitrary bytes; a document that parses is
 * pickled (protocol 4 and 2) as `casbench pickle json:PATH` would, into a
 * buffer of pickle_bound's size, which pickle_dump must not exceed. */
#include <stdint.h>
#include <stdlib.h>

#include "json.h"
#include "pickle.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    pyobj *obj = NULL;
    pyobj_arena *a = pyobj_arena_new();
    if (!a) abort();
    int rc = json_parse(a, data, size, &obj, err, sizeof err);
    if (rc == 0) {
        for (int proto = 2; proto <= 4; proto += 2) {
            pickle_options opt = PICKLE_OPTIONS_DEFAULT;
            opt.protocol = proto;
            size_t cap = pickle_bound(obj, &opt);
            if (cap > ((size_t)64 << 20)) break;   /* the fuzzer's memory budget */
            uint8_t *buf = malloc(cap ? cap : 1);
            if (!buf) abort();
            size_t n = pickle_dump(obj, &opt, buf, cap, err, sizeof err);
            if (n > cap) abort();
            free(buf);
        }
    } else if (rc != CB_EXIT_INPUT && rc != CB_EXIT_ENV) {
        abort();
    } else if (!err[0]) {
        abort();   /* every failure explains itself */
    }
    pyobj_arena_free(a);
    return 0;
}
