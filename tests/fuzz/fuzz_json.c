/* fuzz_json.c - json_parse on arbitrary bytes; a document that parses is
 * pickled (protocol 4 and 2) as `casbench pickle json:PATH` would
 * (fuzz_pickle.h). */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_pickle.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int protocols[] = {2, 4};
    fuzz_read_and_pickle(json_parse, data, size, protocols, sizeof protocols / sizeof protocols[0]);
    return 0;
}
