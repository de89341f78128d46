/* test_proc.c - common/proc.c: the PATH lookup and the subprocess runner
 * (cb_find_exe, cb_run), with sh, sleep and a name that is nowhere:
 *
 *   test_proc
 *
 * Prints "PASS: ..." / "FAIL: ..." lines (tests/lib.sh); exit 1 on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

static int failures;

static void check(const char *what, int ok, const char *detail)
{
    if (ok) printf("PASS: %s\n", what);
    else { printf("FAIL: %s: %s\n", what, detail); failures++; }
}

int main(void)
{
    char path[4096], err[256];
    char *out = NULL;
    size_t len;
    cb_run_result r;

    check("cb_find_exe finds sh on PATH", cb_find_exe("sh", path, sizeof path) == 0 && strchr(path, '/'), path);
    check("cb_find_exe: a name nowhere", cb_find_exe("casbench-no-such-tool", path, sizeof path) != 0, path);
    check("cb_find_exe: a path is taken as is", cb_find_exe("/bin/sh", path, sizeof path) == 0 &&
          strcmp(path, "/bin/sh") == 0, path);

    char *ok[] = {"sh", "-c", "echo out; echo err >&2", NULL};
    int rc = cb_run(ok, NULL, &out, &len, &r, err, sizeof err);
    check("cb_run: stdout and stderr in one buffer, status 0",
          rc == 0 && r.status == 0 && out && strcmp(out, "out\nerr\n") == 0 && len == 8, err);
    free(out);

    char *three[] = {"sh", "-c", "echo bye; exit 3", NULL};
    rc = cb_run(three, NULL, &out, &len, &r, err, sizeof err);
    check("cb_run: an exit status is an error, the output is kept",
          rc != 0 && r.status == 3 && strcmp(err, "exited with status 3") == 0 && out && strcmp(out, "bye\n") == 0, err);
    free(out);

    char *slow[] = {"sleep", "5", NULL};
    cb_run_opts o = {0.2, 0};
    rc = cb_run(slow, &o, &out, &len, &r, err, sizeof err);
    check("cb_run: a timeout kills the program", rc != 0 && r.timed_out && r.wall_s < 4 &&
          strncmp(err, "did not finish", 14) == 0, err);
    free(out);

    char *big[] = {"sh", "-c", "i=0; while [ $i -lt 100 ]; do echo 0123456789; i=$((i+1)); done", NULL};
    cb_run_opts cap = {0, 25};
    rc = cb_run(big, &cap, &out, &len, &r, err, sizeof err);
    check("cb_run: output beyond max_output is dropped", rc == 0 && len == 25 && out && strlen(out) == 25, err);
    free(out);

    char *none[] = {"casbench-no-such-tool", NULL};
    rc = cb_run(none, NULL, &out, &len, &r, err, sizeof err);
    check("cb_run: a program not on PATH", rc != 0 && strcmp(err, "not found on PATH") == 0, err);
    free(out);
    return failures ? 1 : 0;
}
