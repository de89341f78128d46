/* test_schema.c - rundata/schema.c against the strings runs already hold:
 *
 *   test_schema
 *
 * A row's identity, its text in messages and its gbench.json name must not
 * change, or `run --resume` of an older run would time its rows again and
 * drop their gbench.json entries; the columns must be results/README.md's,
 * in its order. Prints "PASS: ..." / "FAIL: ..." lines (tests/lib.sh); exit
 * 1 on failure. */
#include <stdio.h>
#include <string.h>

#include "schema.h"

static int failures;

static void expect(const char *what, const char *want, const char *got)
{
    if (strcmp(want, got) == 0) {
        printf("PASS: %s\n", what);
    } else {
        printf("FAIL: %s: expected '%s', got '%s'\n", what, want, got);
        failures++;
    }
}

int main(void)
{
    char buf[2048], header[1024] = "";
    schema_key save = {"weights", "save", "sequential", "gzip", "sha1", "fresh", 4, 3, 123};
    schema_key hash = {"metrics", "hash", "", "", "blake3", "reuse", 5, SCHEMA_NO_LEVEL, 9};
    schema_key sweep = {"sweep", "hash", NULL, NULL, "sha1", "reuse", SCHEMA_NO_PROTOCOL,
                        SCHEMA_NO_LEVEL, 65536};
    schema_key tabbed = {"a\tb", "compress", "", "lz4", "", "fresh", 4, -8, 1};

    schema_key q = save;
    q.payload = "json:\"x\\y\".json";
    /* Each key through one of the three formats, and the string it must give. */
    const struct {
        void (*format)(const schema_key *k, char *out, size_t cap);
        const schema_key *key;
        const char *what, *want;
    } cases[] = {
        {schema_key_id, &save, "identity of a save row", "weights\t4\tsave\tsequential\tgzip\t3\tsha1\tfresh"},
        {schema_key_id, &sweep, "identity of a sweep row carries bytes_in", "sweep\t\thash\t\t\t\tsha1\treuse\t65536"},
        {schema_key_id, &tabbed, "identity: a tab in a field as the writer writes it",
         "a b\t4\tcompress\t\tlz4\t-8\t\tfresh"},
        {schema_key_text, &hash, "text of a hash row", "metrics 5 hash - - - blake3 reuse"},
        {schema_key_text, &sweep, "text of a sweep row", "sweep - hash - - - sha1 reuse bytes_in=65536"},
        {schema_key_bench_name, &save, "gbench name of a save row", "weights/p4/save/sequential/gzip:3/sha1/fresh"},
        {schema_key_bench_name, &hash, "gbench name of a hash row", "metrics/p5/hash/-/-/blake3/reuse"},
        {schema_key_bench_name, &sweep, "gbench name of a sweep row", "sweep/65536/hash/-/-/sha1/reuse"},
        {schema_key_bench_name, &q, "gbench name is JSON-safe", "json:_x_y_.json/p4/save/sequential/gzip:3/sha1/fresh"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cases[i].format(cases[i].key, buf, sizeof buf);
        expect(cases[i].what, cases[i].want, buf);
    }

    for (int i = 0; i < SCHEMA_NCOLS; i++) {
        strcat(header, i ? " " : "");
        strcat(header, schema_columns[i].name);
        if (schema_col_find(schema_columns[i].name) != i) {
            printf("FAIL: schema_col_find(%s)\n", schema_columns[i].name);
            failures++;
        }
    }
    expect("the columns of results/README.md, in order",
           "payload protocol pickled_bytes stage variant codec level hash alloc bytes_in bytes_out "
           "ratio repetitions iterations median_ns mean_ns stddev_ns min_ns max_ns cv mb_per_s "
           "samples_ns key status message round_group spread drift flag minflt_per_iter peak_bytes cold_ns", header);
    expect("stage names", "load+verify", schema_stage_names[SCHEMA_STAGE_LOAD_VERIFY]);
    expect("alloc names", "fresh", schema_alloc_names[SCHEMA_ALLOC_FRESH]);
    expect("alloc names", "cpython", schema_alloc_names[SCHEMA_ALLOC_CPYTHON]);
    return failures ? 1 : 0;
}
