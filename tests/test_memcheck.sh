#!/usr/bin/env bash
# `casbench run --quick` on small payloads under valgrind memcheck: no
# invalid access, no use of uninitialised memory, no definite leak. The
# release build (valgrind cannot run an ASan binary); valgrind emulates no
# AVX-512 or SHA-NI, so the libraries take their other code paths - which is
# what memcheck is for here. "Still reachable" blocks (Google Benchmark's and
# OpenSSL's process-lifetime state) are not errors; no suppression is needed
# today - if a library ever needs one, add a documented file here and pass it
# with --suppressions.
. "$(dirname "$0")/lib.sh"
REL=$(realpath "$CASBENCH_RELEASE")
cd "$TMPD" || exit 3
if ! command -v valgrind >/dev/null; then fail "valgrind" "not installed (infra/provision.sh)"; exit 0; fi
VG=(valgrind --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --track-origins=yes --log-file=vg.log)
# shellcheck disable=SC2054 # commas separate casbench's list values
QUICK=(run --quick --payload config,metrics:columns=20,embeddings:rows=16,cols=8,json:doc.json --out vg)
printf '{"a": [1, 2.5, "x", null, true], "b": {"c": 12345678901234567890123}}' >doc.json
rc=0
"${VG[@]}" "$REL" "${QUICK[@]}" >vg.out 2>vg.err || rc=$?
check_eq "run --quick under memcheck exits 0 (97: memcheck found errors)" "0" "$rc"
check_eq "memcheck: no error" "0" "$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' vg.log | tail -n 1)"
check_eq "memcheck: no definitely lost block" "" "$(grep -E 'definitely lost: [1-9]' vg.log)"
check_eq "every cell ran and verified under memcheck" "0" "$(tsv_awk 'NR > 1 && $col["status"] != "ok"' vg/matrix.tsv | wc -l)"
check_eq "the run has rows for every payload" "4" "$(tsv_awk 'NR > 1 { print $col["payload"] }' vg/matrix.tsv | sort -u | wc -l)"
# The bad-input paths free what they allocated too.
rc=0
"${VG[@]}" "$REL" pickle json:"$TMPD/nope.json" >/dev/null 2>&1 || rc=$?
check_eq "memcheck: a refused payload exits 2 with no error" "2" "$rc"
rc=0
printf 'not gzip' | "${VG[@]}" "$REL" decompress gzip >/dev/null 2>&1 || rc=$?
check_eq "memcheck: a refused stream exits 2 with no error" "2" "$rc"
