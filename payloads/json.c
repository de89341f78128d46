#include "json.h"
#include "util.h"
int json_parse(pyobj_arena *a, const uint8_t *buf, size_t len, pyobj **out, char *err, size_t errlen)
{ (void)a;(void)buf;(void)len;(void)out; cb_err(err, errlen, "todo"); return 2; }
