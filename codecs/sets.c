/* sets.c - the names of the named sets (sets.h). */
#include <stddef.h>

#include "sets.h"

const cb_set_name cb_set_names[] = {
    {CB_SET_DEFAULT, "default"},
    {CB_SET_QUICK, "quick"},
    {0, NULL},
};
