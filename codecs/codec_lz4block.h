/*
 * codec_lz4block.h - "lz4-block": the LZ4 block API over the whole input in
 * one block, as `lz4 -b` times it (lz4 1.9.4's bench: LZ4_compress_fast,
 * acceleration 1 for levels up to 2, one block per file unless -B is given;
 * LZ4_decompress_safe). Compress writes a 4-byte little-endian input size,
 * then the block; decompress reads it back (four bytes beside megabytes:
 * nothing measurable). This is python-lz4's lz4.block.compress() format
 * with its defaults (store_size=True, mode 'default', acceleration 1).
 * Levels 0..2, all three acceleration 1, as in the lz4 CLI.
 *
 * A descriptor, not a row of codec_table: it is the like-with-like
 * counterpart of `lz4 -b` for `casbench calibrate` only. No casbench save
 * path writes it and metaflow (today's or PR #3090's LZ4 frame) cannot read
 * it: the block carries no magic, no checksum and no end mark, so a row
 * would put in `list` and in --codec a codec that is no candidate for the
 * question casbench answers. It follows every rule of codec.h except
 * streaming (the stream_* members are NULL: one block is one call).
 */
#ifndef CASBENCH_CODEC_LZ4BLOCK_H
#define CASBENCH_CODEC_LZ4BLOCK_H

#include "codec.h"

extern const codec_desc codec_lz4_block;

#endif
