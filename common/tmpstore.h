/*
 * tmpstore.h - the temporary directory save+store writes into when no
 * --store-dir is given: $TMPDIR/casbench-store.<pid>.XXXXXX (TMPDIR unset or
 * empty: /tmp).
 *
 * It is removed when the process exits, whichever way it exits (a normal end,
 * a signal the run handles, an error's exit status). A process killed by
 * SIGKILL cannot clean up; its directory carries its pid, so the next
 * tmpstore_create removes it once that pid is gone. Nothing else is touched:
 * only directories of this name pattern, owned by this user, whose pid no
 * longer exists (seen from this pid namespace).
 */
#ifndef CASBENCH_TMPSTORE_H
#define CASBENCH_TMPSTORE_H

#include <stddef.h>

/* Remove stale store directories (see above), make a fresh one, write its
 * path into out (cap bytes) and arrange its removal at exit. 0, or -1 with
 * "<path>: <problem>" in err (an environment error: exit status 3). Call it
 * at most once per process. */
int tmpstore_create(char *out, size_t cap, char *err, size_t errlen);

#endif
