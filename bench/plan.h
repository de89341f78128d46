/*
 * plan.h - which cells `casbench run` times: a pure function from a plan
 * request (the selected codecs and hashes, the profile, --alloc, --variant)
 * and, for the save and load rows, one measured fact (the fastest
 * gzip-compatible codec of the payload) to a list of cell specs.
 *
 * The rules (`casbench run --help` states them for users), per payload and
 * protocol:
 *   stage rows   pickle (fresh, reuse, cpython), hash of every hash (reuse:
 *                it allocates nothing; also cpython for a hash whose Python
 *                binding runs other code, hash.h py_update), compress and
 *                decompress of every codec (reuse, cpython)
 *   save rows    variant sequential: every codec with the key hash (sha1, or
 *                the first hash when sha1 is not selected), reuse and
 *                cpython; every hash with lz4 and with the fastest
 *                gzip-compatible codec, cpython. Also, with the key hash:
 *                lz4:0 with fused, overlapped and overlapped-spin (cpython
 *                and reuse) and gzip:3 with fused and overlapped (reuse)
 *   load rows    every codec, cpython
 *   load+verify  the save pairings, cpython
 *   save+store   every codec with the key hash, cpython
 * PLAN_FULL: every codec x every hash for save, load+verify and save+store,
 * every row in all three modes, every variant. PLAN_QUICK: pickle, save and
 * load cpython only, compress and decompress reuse; no load+verify or
 * save+store. A request's alloc_mask
 * replaces the profile's allocation policy; its variant_mask runs the named
 * variants with every save pairing. A variant that cannot run with a codec
 * (fused needs streaming) is never planned.
 *
 * Nothing here reads or writes a global or measures anything: the same
 * request and facts give the same cells in the same order.
 */
#ifndef CASBENCH_PLAN_H
#define CASBENCH_PLAN_H

#include <stddef.h>

#include "cells.h"
#include "codec.h"
#include "hash.h"

typedef enum { PLAN_DEFAULT, PLAN_QUICK, PLAN_FULL, PLAN_PROFILE_COUNT } plan_profile;
/* "default", "quick", "full": env.tsv's `profile`. */
extern const char *const plan_profile_names[PLAN_PROFILE_COUNT];

enum { PLAN_ALLOC_FRESH = 1, PLAN_ALLOC_REUSE = 2, PLAN_ALLOC_CPYTHON = 4 };

typedef struct {
    const codec_desc *desc;
    int level;
} plan_codec;

typedef struct {
    const plan_codec *codecs;      /* distinct (desc, level) pairs */
    size_t ncodecs;
    const hash_desc *const *hashes;  /* distinct */
    size_t nhashes;
    plan_profile profile;
    int alloc_mask;                /* PLAN_ALLOC_* bits; 0: the profile's policy */
    unsigned variant_mask;         /* bit i: cell_save_variants[i] with every save
                                    * pairing; 0: the profile's policy */
} plan_request;

/* A growing array of cell specs; zero-initialise it, free it with
 * plan_cells_free. The specs' store_dir and store_fsync are left 0: they
 * are the executor's. */
typedef struct {
    cell_spec *v;
    size_t n, cap;
} plan_cells;

void plan_cells_free(plan_cells *p);

/* The named set a profile's default codecs and hashes come from (sets.h). */
unsigned plan_profile_set(plan_profile profile);

/* The index in r->hashes of the key hash: sha1, or 0 when sha1 is not
 * selected. r->nhashes MUST be at least 1. */
size_t plan_key_hash(const plan_request *r);

/* 1 when a codec can be "the fastest gzip-compatible codec": today's
 * metaflow reads its stream and it is not a ceiling (`none`). */
int plan_gzip_candidate(const codec_desc *d);

/* The stage rows of one payload and protocol, appended to *out.
 * have_object: 0 for a payload that is a blob already (no pickle row).
 * 0, or -1 when memory ran out (*out keeps what was appended). */
int plan_stages(const plan_request *r, int have_object, plan_cells *out);

/* The save, load, load+verify and save+store rows of one payload and
 * protocol, appended to *out. fastest: the index in r->codecs of the
 * payload's fastest gzip-compatible codec (the measured fact), -1 when
 * there is none. 0, or -1 when memory ran out. */
int plan_paths(const plan_request *r, int fastest, plan_cells *out);

/* The C twins of infra/python_path.py's `overhead` rows (a run with
 * --python): the calls those rows time on their own tiny inputs, made by
 * the C code a prediction starts from, so that the report can take out of
 * each Python per-call cost the library's fixed work that the C cell pays
 * already (report_predict.c). Under payload SCHEMA_PAYLOAD_OVERHEAD, in
 * this order: pickle (of the int 0, at PLAN_OVERHEAD_PROTOCOL: the row's
 * own, whatever the run's), the hash of every hash, then compress,
 * decompress and load of every codec (of that 5-byte pickle and of its
 * stream), then thread-handoff (a trivial job to the worker of variant
 * overlapped, waited for: Python's EXECUTOR.submit(...).result()). Each in
 * the allocation mode a prediction of its stage starts from among the
 * request's (cpython, else fresh, else reuse; a hash: reuse, or cpython when
 * the hash has its binding's own code). 0, or -1 when memory ran out. */
#define PLAN_OVERHEAD_PROTOCOL 4
int plan_overhead(const plan_request *r, plan_cells *out);

/* The number of cells plan_stages + plan_paths give with some candidate
 * codec as the fastest (any gives the same count): for a progress total
 * planned before anything is measured. (size_t)-1 when memory ran out. */
size_t plan_count(const plan_request *r, int have_object);

#endif
