/* fuzz_npy.c - npy_parse on arbitrary bytes; an array that parses is
 * pickled (its data points into the input, so every element is read;
 * fuzz_pickle.h). */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_pickle.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int protocols[] = {4};
    fuzz_read_and_pickle(npy_parse, data, size, protocols, sizeof protocols / sizeof protocols[0]);
    return 0;
}
