/*
 * streaming.h - the `streaming` save variant: a save that never holds the
 * whole pickle or the whole compressed stream.
 *
 * One save: the pickler writes into a fixed window of STREAMING_WINDOW
 * bytes (pickle_dump_stream: protocol-4 frames through the window, large
 * bytes/ndarray payloads handed over in window-sized pieces straight from
 * the object); each piece is hashed and fed to the codec's streaming
 * members (codec.h), which write into an output of the bound's size made of
 * one small ring of pages (a memfd of STREAMING_RING bytes) mapped over and
 * over; after every window of input, its whole pages up to the one the codec
 * is writing (the first that still begins with a mark written into the
 * pages ahead of it) are handed to the sink and moved a ring ahead (mremap:
 * their page table entries go with them) for the next stretch, and marked,
 * so that only the window and the ring are resident and mapped, and no page
 * is allocated, zeroed or faulted one by one.
 *
 * The sink is what tells the two rows apart, so that each means what
 * sequential's row of the same stage means:
 *  - `save` (no root): the key and the stored bytes, nothing written: each
 *    piece of the stream was made in the ring, as sequential's save makes
 *    the whole stream in its buffer, and is dropped by the ring's next lap;
 *  - `save+store` (a root): each piece is also written to the store's
 *    temporary file (ROOT/.tmpXXXXXX: the page cache) as it goes; at the end
 *    the key is known and the file is renamed to ROOT/<key[:2]>/<key>,
 *    metaflow's layout (store.h).
 * What the ring replaced, at 64 MB, lz4:0, streaming's time over
 * sequential's (reuse, interleaved rounds, busy 2-vCPU machine), when the
 * save wrote the file: a shared mapping of the file as the output, 2.5x
 * (every first write of a page faults into the file system); fresh
 * anonymous pages written out with pwrite, 1.4-1.6x; the ring found by
 * /proc/self/pagemap, its pages faulted in one by one, 1.5x; the ring's
 * pages unmapped behind the codec and mapped in again ahead of it
 * (MADV_DONTNEED, MADV_POPULATE_WRITE), 1.3x (a sixth of it in
 * faultin_page_range). Moved with mremap: `save` 0.88x, `save+store` 0.95x.
 *
 * The stream's header carries the pickle's size (LZ4 and zstd frames do, so
 * that the bytes equal one-shot compress()'s): it is found first by a pass
 * of the pickler that counts and copies nothing (pickle_size).
 *
 * What it costs metaflow to adopt: the existence check (deduplication) can
 * only come after the key, that is after the whole blob was compressed and
 * written; a hit removes the temporary file, having paid for compression
 * and the write. A miss costs what a save costs.
 */
#ifndef CASBENCH_STREAMING_H
#define CASBENCH_STREAMING_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "hash.h"
#include "pickle.h"

/* The pickle window, and the input fed between two drops of the output's
 * pages. */
#define STREAMING_WINDOW ((size_t)PICKLE_WINDOW_MIN)
/* The output ring: twice the window, so that the output of a window of
 * input (at most its bound, plus what a codec held back: LZ4F under 64 KiB,
 * zstd a 128 KiB block) fits in it. */
#define STREAMING_RING ((size_t)2 * STREAMING_WINDOW)

typedef struct streaming streaming;

/* A saver for one cell: the codec context (at `level`) and hash state are
 * the caller's, used by one save at a time; root: NULL for the `save` stage
 * (no file), else an existing, writable directory, the store of
 * `save+store`; fsync: each file is fsync'd before its rename. NULL with a
 * message in err when the codec has no streaming members or memory cannot
 * be had. */
streaming *streaming_create(const codec_desc *codec, void *cctx, int level, const hash_desc *hash,
                            void *hstate, const char *root, int fsync, char *err, size_t errlen);
void streaming_destroy(streaming *s);   /* accepts NULL; removes the last saved file */

/* One save of obj (or, when obj is NULL, of the given blob, as file
 * payloads are saved): digest receives the key's digest; with a root, the
 * file ROOT/<key[:2]>/<key> holds the stored bytes, unless it existed
 * already (a deduplication hit: the new file is removed). 0, or -1 with a
 * one-line message in err. Its window and ring are held from
 * streaming_create on (streaming_held); it allocates no other memory,
 * unless streaming_keep is on, and reserves address space of the output's
 * bound, in which only the ring's pages are mapped at a time. */
int streaming_save(streaming *s, const pyobj *obj, const pickle_options *popt, const uint8_t *blob,
                   size_t blob_len, uint8_t *digest, char *err, size_t errlen);

/* With on, the saves that follow also keep a copy of the stored bytes,
 * read with streaming_kept (valid until the next save): O(blob) memory,
 * for verification only, never while timed or counted. Off frees it. */
void streaming_keep(streaming *s, int on);
const uint8_t *streaming_kept(const streaming *s, size_t *n);

/* Bytes the saver holds between saves (its window and ring). */
uint64_t streaming_held(const streaming *s);
/* Removes the last saved file and its key directory when empty (between
 * timed iterations, untimed: the next save must be a miss). */
void streaming_remove(streaming *s);

#endif
