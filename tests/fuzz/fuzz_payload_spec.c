/* fuzz_payload_spec.c - payload_parse_spec on arbitrary strings (the input
 * up to its first NUL). Nothing is built: the parser alone must accept or
 * reject with a message, and an accepted spec must name a path only for
 * the json, npy and file generators. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    payload_spec ps;
    char *spec = malloc(size + 1);
    if (!spec) abort();
    memcpy(spec, data, size);
    spec[size] = 0;
    err[0] = 0;
    if (payload_parse_spec(spec, &ps, err, sizeof err) == 0) {
        if (ps.path && (ps.path < spec || ps.path > spec + size)) abort();
    } else if (strncmp(err, "payload ", 8) != 0 || (err[8] != '\'' && err[8] != '"')) {
        /* the spec is quoted as the shell would: 'x', or "it's" */
        abort();
    }
    free(spec);
    return 0;
}
