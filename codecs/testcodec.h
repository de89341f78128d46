/*
 * testcodec.h - a deliberately broken codec, for testing that the harness
 * reports a cell that fails verification as an error and never times it.
 *
 * Enabled only when the environment has CASBENCH_TEST_BROKEN_CODEC=1; it is
 * then the codec `broken` (level 0): the `none` codec (or the first codec of
 * the table) with one byte of every compressed stream flipped (one-shot and streamed).
 */
#ifndef CASBENCH_TESTCODEC_H
#define CASBENCH_TESTCODEC_H

#include <stddef.h>

#include "codec.h"

/* The broken codec when spec is "broken" or "broken:0" and the variable is
 * set; NULL otherwise (err is then left alone: look the spec up with
 * codec_find). */
const codec_desc *testcodec_find(const char *spec, int *level, char *err, size_t errlen);

#endif
