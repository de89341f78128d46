#!/usr/bin/env bash
# test_faults.sh - minor page faults per iteration (matrix.tsv
# minflt_per_iter), counted by casbench for every cell and by
# infra/python_path.py per CPython call.
# Oracles: the kernel's page size and the bytes a cell writes (a `fresh`
# output is new pages every iteration: one fault per page written), and
# CPython itself for the Python side.
. "$(dirname "$0")/lib.sh"
PP=infra/python_path.py
PAGE=$(getconf PAGESIZE)

# ---- casbench: fresh faults, reuse does not ---------------------------------
# weights: an 8 MB pickle, well above every mmap threshold.
"$CASBENCH_RELEASE" run --payload weights --codec lz4:0 --hash sha1 --alloc both --rounds 2 --min-time 0.001 \
  --out "$TMPD/c" >/dev/null 2>"$TMPD/c.err" || fail "casbench run" "$(cat "$TMPD/c.err")"
M=$TMPD/c/matrix.tsv
check_eq "every ok row has a fault count" "" \
  "$(tsv_awk 'NR > 1 && $col["status"] == "ok" && $col["minflt_per_iter"] !~ /^[0-9]+\.[0-9]+$/ {print NR}' "$M")"
# faults STAGE ALLOC: the row's faults per iteration and the pages its output covers.
faults() {
  tsv_awk -v s="$1" -v a="$2" -v pg="$PAGE" '
    $col["stage"] == s && $col["alloc"] == a && ($col["variant"] == "" || $col["variant"] == "sequential") {
      print $col["minflt_per_iter"], int(($col["bytes_out"] + pg - 1) / pg); exit }' "$M"
}
for stage in pickle compress decompress load; do
  read -r f pages <<<"$(faults "$stage" fresh)"
  check "$stage fresh: faults in its output every iteration ($f per iteration, $pages pages)" \
    awk -v f="${f:-0}" -v p="${pages:-1}" 'BEGIN { exit !(f >= 0.98 * p && f <= 1.05 * p + 4) }'
  read -r f pages <<<"$(faults "$stage" reuse)"
  check "$stage reuse: faults nothing ($f per iteration)" awk -v f="${f:-99}" 'BEGIN { exit !(f < 1) }'
done
# save fresh: the pickle and the compressed output, both new pages.
read -r f pages <<<"$(faults save fresh)"
pickle_pages=$(tsv_awk -v pg="$PAGE" '$col["stage"] == "pickle" { print int(($col["pickled_bytes"] + pg - 1) / pg); exit }' "$M")
check "save fresh: the pickle's pages and the output's ($f per iteration)" \
  awk -v f="${f:-0}" -v p="$((pages + pickle_pages))" 'BEGIN { exit !(f >= 0.98 * p && f <= 1.05 * p + 8) }'

# ---- CPython: faults per call -------------------------------------------------
# The column is filled for every ok row, and it sees what CPython does: its
# pickler's output is faulted in on every call of an 8 MB pickle.dumps (its
# growth and final shrink defeat glibc's dynamic mmap threshold).
/usr/bin/python3 "$PP" --casbench "$CASBENCH_RELEASE" --payload weights --codec lz4 --hash sha1 --repetitions 2 \
  --out "$TMPD/py" >/dev/null 2>"$TMPD/py.err" || fail "python_path.py" "$(cat "$TMPD/py.err")"
P=$TMPD/py/matrix.tsv
check_eq "python: every ok row has a fault count" "" \
  "$(tsv_awk 'NR > 1 && $col["status"] == "ok" && $col["minflt_per_iter"] !~ /^[0-9]+\.[0-9]+$/ {print NR}' "$P")"
read -r f pages <<<"$(tsv_awk -v pg="$PAGE" '$col["stage"] == "pickle" {
  print $col["minflt_per_iter"], int(($col["pickled_bytes"] + pg - 1) / pg); exit }' "$P")"
check "python: pickle.dumps of weights faults in its output every call ($f per call, $pages pages)" \
  awk -v f="${f:-0}" -v p="${pages:-1}" 'BEGIN { exit !(f >= 0.9 * p) }'
