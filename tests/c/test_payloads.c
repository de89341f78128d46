/*
 * test_payloads.c - what `casbench pickle` cannot reach, for test_payloads.sh:
 *   names SPEC...    prints payload_name() of each spec, one per line
 *                    ("error STATUS" when payload_create refuses it)
 *   multi DIR        pickles graphs holding several ndarrays (shared dtypes,
 *                    one-byte and empty data, Fortran order) to DIR/multi-K.P.pkl
 *                    for the oracle's round trip
 *   list             payload_print_list(stdout, 0)
 *   refs SPEC...     pickles each payload, then again into half its length
 *                    (failing half-way), and prints "SPEC BYTES REFS": the pickle's length and
 *                    the sum of every node's refs afterwards (0: the pickler
 *                    gave back each reference it took), or "SPEC error"
 *   memo SPEC...     prints "SPEC BYTES": the heap bytes the pickler holds
 *                    beyond its input at its last write (its memo, then at
 *                    its largest), in whole 64s: CPython's table, 16 bytes an
 *                    entry, malloc'd above pymalloc's 512 bytes, else 0
 * Built by the test script from the sources (no Makefile rule).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SANITIZE_ADDRESS__)
/* ASan's allocator interface (sanitizer/allocator_interface.h, not
 * installed with Debian's gcc) */
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#include <malloc.h>
#endif

#include "payload.h"
#include "pickle.h"

static pyobj *arr(pyobj_arena *a, pyobj_dtype dt, size_t r, size_t c, int fortran, const void *data)
{
    size_t shape[2] = {r, c};
    return pyobj_ndarray(a, dt, 2, shape, fortran, data);
}

static int write_pickles(const char *dir, int k, const pyobj *o)
{
    for (int p = 2; p <= 5; p++) {
        pickle_options opt = {p, 1};
        char err[256], path[4096];
        size_t cap = pickle_bound(o, &opt);
        uint8_t *buf = malloc(cap);
        size_t n = buf ? pickle_dump(o, &opt, buf, cap, err, sizeof err) : 0;
        if (!n) {
            fprintf(stderr, "test_payloads: multi-%d P%d: %s\n", k, p, buf ? err : "out of memory");
            free(buf);
            return 1;
        }
        snprintf(path, sizeof path, "%s/multi-%d.%d.pkl", dir, k, p);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(buf, 1, n, f) != n || fclose(f)) {
            fprintf(stderr, "test_payloads: cannot write %s\n", path);
            free(buf);
            return 1;
        }
        free(buf);
    }
    return 0;
}

static int multi(const char *dir)
{
    static double d[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const uint8_t one[1] = {'b'}, two[1] = {'<'};
    pyobj_arena *a = pyobj_arena_new();
    int rc = 0;
    if (!a) return 1;
    /* a list of arrays: same dtype twice, Fortran order, one-byte data that
     * equals numpy's b'b' and '<', an empty array */
    pyobj *l = pyobj_list(a, 7);
    l->u.seq.items[0] = arr(a, PYOBJ_DT_FLOAT64, 3, 4, 0, d);
    l->u.seq.items[1] = arr(a, PYOBJ_DT_FLOAT64, 4, 3, 1, d);
    l->u.seq.items[2] = arr(a, PYOBJ_DT_UINT8, 1, 1, 0, one);
    l->u.seq.items[3] = arr(a, PYOBJ_DT_UINT8, 1, 1, 0, two);
    l->u.seq.items[4] = arr(a, PYOBJ_DT_FLOAT32, 0, 3, 0, d);
    l->u.seq.items[5] = l->u.seq.items[0];   /* the same array twice: a GET */
    l->u.seq.items[6] = arr(a, PYOBJ_DT_FLOAT64, 2, 6, 1, d);   /* a second 'F' */
    rc |= write_pickles(dir, 0, l);
    /* a dict of arrays next to ordinary values and a tuple */
    pyobj *t = pyobj_tuple(a, 2);
    t->u.seq.items[0] = pyobj_int(a, 1);
    t->u.seq.items[1] = arr(a, PYOBJ_DT_INT32, 2, 2, 0, d);
    pyobj *dd = pyobj_dict(a, 5);
    dd->u.dict.keys[0] = pyobj_str(a, "weights", 7);
    dd->u.dict.values[0] = arr(a, PYOBJ_DT_FLOAT64, 2, 6, 0, d);
    dd->u.dict.keys[1] = pyobj_str(a, "pair", 4);
    dd->u.dict.values[1] = t;
    dd->u.dict.keys[2] = pyobj_str(a, "raw", 3);
    dd->u.dict.values[2] = pyobj_bytes(a, "b", 1);
    /* str singletons numpy's reduce also uses: the byte order and order */
    dd->u.dict.keys[3] = pyobj_str(a, "order", 5);
    dd->u.dict.values[3] = pyobj_str(a, "C", 1);
    dd->u.dict.keys[4] = pyobj_str(a, "<", 1);
    dd->u.dict.values[4] = pyobj_bytes_ref(a, "", 0);
    rc |= write_pickles(dir, 1, dd);
    pyobj_arena_free(a);
    return rc;
}

/* The sum of refs over the graph (nodes reached twice count twice). */
static unsigned long refs_sum(const pyobj *o, int depth)
{
    unsigned long r = o->refs;
    if (depth > PYOBJ_MAX_DEPTH) return r;
    if (o->kind == PYOBJ_LIST || o->kind == PYOBJ_TUPLE)
        for (size_t i = 0; i < o->u.seq.n; i++) r += refs_sum(o->u.seq.items[i], depth + 1);
    if (o->kind == PYOBJ_DICT)
        for (size_t i = 0; i < o->u.dict.n; i++)
            r += refs_sum(o->u.dict.keys[i], depth + 1) + refs_sum(o->u.dict.values[i], depth + 1);
    return r;
}

static int refs(int n, char **specs)
{
    for (int i = 0; i < n; i++) {
        char err[512];
        int st;
        payload *p = payload_create(specs[i], 0, &st, err, sizeof err);
        const pyobj *o = p ? payload_object(p) : NULL;
        pickle_options opt = PICKLE_OPTIONS_DEFAULT;
        size_t cap = o ? pickle_bound(o, &opt) : 0, len = 0, small = 0;
        uint8_t *buf = cap ? malloc(cap) : NULL;
        if (buf) len = pickle_dump(o, &opt, buf, cap, err, sizeof err);
        if (len) small = pickle_dump(o, &opt, buf, len / 2, err, sizeof err);   /* fails half-way */
        if (!len || small) printf("%s error\n", specs[i]);
        else printf("%s %zu %lu\n", specs[i], len, refs_sum(o, 0));
        free(buf);
        payload_free(p);
    }
    return 0;
}

/* The bytes malloc has handed out and not had back (ASan's own count
 * under ASan, whose allocator glibc's mallinfo2 does not see). */
static size_t heap_live(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

static size_t memo_base, memo_seen;

/* The streaming pickler's sink: its last call comes after the last opcode,
 * with the memo still held. Allocates nothing. */
static int memo_sink(void *arg, const uint8_t *d, size_t n)
{
    (void)arg, (void)d, (void)n;
    size_t live = heap_live();
    if (live > memo_base && live - memo_base > memo_seen) memo_seen = live - memo_base;
    return 0;
}

static int memo(int n, char **specs)
{
    for (int i = 0; i < n; i++) {
        char err[512];
        int st;
        payload *p = payload_create(specs[i], 0, &st, err, sizeof err);
        uint8_t *window = malloc(PICKLE_WINDOW_MIN);
        pickle_options opt = PICKLE_OPTIONS_DEFAULT;
        memo_seen = 0;
        memo_base = heap_live();
        if (p && window && pickle_dump_stream(payload_object(p), &opt, window, PICKLE_WINDOW_MIN, memo_sink, NULL,
                                              err, sizeof err))
            printf("%s %zu\n", specs[i], memo_seen / 64 * 64);
        else
            printf("%s error\n", specs[i]);
        free(window);
        payload_free(p);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "memo") == 0) return memo(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "refs") == 0) return refs(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "names") == 0) {
        for (int i = 2; i < argc; i++) {
            char err[512];
            int st;
            payload *p = payload_create(argv[i], 0, &st, err, sizeof err);
            if (p) printf("%s\n", payload_name(p));
            else printf("error %d\n", st);
            payload_free(p);
        }
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "multi") == 0) return multi(argv[2]);
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        payload_print_list(stdout, 0);
        return 0;
    }
    fprintf(stderr, "test_payloads: usage: names SPEC... | multi DIR | list | refs SPEC... | memo SPEC...\n");
    return 1;
}
