/*
 * sets.h - named sets of codecs and hashes (`run`'s default matrix, `--quick`).
 *
 * A set is data in the descriptor rows (codec_desc.in_sets, hash_desc.sets):
 * a row says which named sets it belongs to, at which levels, and the
 * planner, `--help` and env.tsv read the sets from there. Adding a codec to
 * the default matrix is editing its row, nothing else.
 */
#ifndef CASBENCH_SETS_H
#define CASBENCH_SETS_H

enum {
    CB_SET_DEFAULT = 1u << 0,  /* `casbench run` with no --codec / --hash */
    CB_SET_QUICK = 1u << 1,    /* `casbench run --quick` */
};

/* The sets by name, for env.tsv keys and `--help`: {CB_SET_DEFAULT,
 * "default"}, ... ended by {0, NULL}. */
typedef struct { unsigned bit; const char *name; } cb_set_name;
extern const cb_set_name cb_set_names[];

#endif
