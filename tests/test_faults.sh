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

# ---- zero counts fail on a missing file -------------------------------------------
check_eq "a zero-count check fails on a missing file (tsv_awk prints a line)" 1 \
  "$(tsv_awk 'NR > 1' "$TMPD/no-such-run/matrix.tsv" | wc -l)"

# ---- the store's unlink is untimed ------------------------------------------------
# tests/c/test_plan.c checks that a save+store iteration leaves its file and
# only the step between iterations removes it; here, that the shim runs that
# step with the timer paused: between PauseTiming and ResumeTiming, and
# nowhere else.
SHIM=bench/gbench_shim.cc
check_eq "the shim runs the step between iterations only with the timer paused" "1 PauseTiming between ResumeTiming" \
  "$(grep -c 'mm\.between(' "$SHIM") $(grep -oE 'PauseTiming|mm\.between\(|ResumeTiming' "$SHIM" | sed 's/mm\.between(/between/' | paste -sd' ')"

# ---- cpython: a cell's faults do not depend on what ran before it ----------------
# tests/c/test_settle.c (the release build: py_settle models glibc's malloc,
# not ASan's): a hole left below the heap's break before a batch serves none
# of its requests, and the weights save faults alike with and without it
# (without the settle's plugging: 0 faults an iteration instead of 1954).
rc=0
"${CASBENCH_RELEASE%/casbench}/tests/test_settle" >"$TMPD/settle.out" 2>"$TMPD/settle.err" || rc=$?
grep -E '^(PASS|FAIL): ' "$TMPD/settle.out"
case $rc in 0|1) ;; *) fail "test_settle" "exit $rc: $(tail -n 5 "$TMPD/settle.err" | tr '\n' ' ')" ;; esac

# ---- cpython: casbench's faults per stage are CPython's --------------------------
# The same payloads through casbench (--alloc cpython) and CPython
# (python_path.py), one process per codec on each side, as a metaflow task
# process repeats one kind of call: CPython's own counts depend on what the
# process did before (glibc's mmap threshold only rises; whether the heap top
# is trimmed depends on what else the heap holds), so each side runs the
# same sequence of calls. Both count in steady state: casbench after its
# warm-up batch (and bench/cells_cpython.c's py_settle before every batch),
# python_path.py after its calibration loop.
# Payloads of 800 KB and more: per stage within 20 %, or within 16 faults
# (64 KiB) of each other, the floor report_predict's FAULTS_MIN puts under a
# fault difference before it calls it a cause. Under that floor the counts are
# the interpreter's own housekeeping, not the stage's buffers: CPython's gzip
# load of the 8 MB weights faults a few times a call where casbench does not
# (an 8 MB buffer is 1,954 pages), and by how many varies from run to run.
# Smaller payloads (metrics, 52 KB): neither faults (under 2 per iteration):
# glibc serves them from its heap once the threshold has risen. Each side's
# count is the median of three (casbench's rounds, python_path.py's
# repetitions): an 8 MB cell's batch is about one call, and one housekeeping
# burst in one batch would otherwise count whole.
for k in gzip:3 lz4:0 zstd:3; do
  "$CASBENCH_RELEASE" run --payload weights,embeddings,metrics --codec "$k" --hash sha1 --alloc cpython \
    --variant sequential --rounds 3 --min-time 0.001 --out "$TMPD/cc-$k" >/dev/null 2>"$TMPD/cc.err" ||
    fail "casbench run --alloc cpython $k" "$(tail -n 3 "$TMPD/cc.err")"
  /usr/bin/python3 "$PP" --casbench "$CASBENCH_RELEASE" --payload weights,embeddings,metrics --codec "$k" \
    --hash sha1 --repetitions 3 --min-time 0.005 --out "$TMPD/cp-$k" >/dev/null 2>"$TMPD/cp.err" ||
    fail "python_path.py $k" "$(tail -n 3 "$TMPD/cp.err")"
done
# One line per (codec run, payload, stage): bytes, C faults, Python faults.
tsv_awk 'FNR > 1 && $col["status"] == "ok" && $col["stage"] ~ /^(pickle|compress|decompress|load|load\+verify|save)$/ &&
         ($col["variant"] == "" || $col["variant"] == "sequential") && $col["alloc"] != "reuse" {
           run = FILENAME; sub(/\/matrix\.tsv$/, "", run); sub(/.*\/c[cp]-/, "", run)
           k = run " " $col["payload"] " " $col["stage"]
           if (FILENAME ~ /\/cc-/) { c[k] = $col["minflt_per_iter"]; b[k] = $col["pickled_bytes"] } else p[k] = $col["minflt_per_iter"] }
         END { for (k in c) print k, b[k], c[k], (k in p) ? p[k] : "missing" }' \
  "$TMPD"/cc-*/matrix.tsv "$TMPD"/cp-*/matrix.tsv | sort >"$TMPD/cpy.cmp"
check_eq "cpython vs CPython: every stage of every payload and codec paired (3 codecs x 3 payloads x 6 stages)" \
  "54 0" "$(wc -l <"$TMPD/cpy.cmp") $(grep -c missing "$TMPD/cpy.cmp")"
check_eq "cpython vs CPython: payloads of 800 KB and more fault alike per stage (within 20 % or 16 faults)" "" \
  "$(awk '$4 >= 800000 { c = $5; p = $6; d = c > p ? c - p : p - c; m = c > p ? c : p
          if (!(d <= 0.2 * m || d <= 16)) print $1, $2, $3, "C", c, "Python", p }' "$TMPD/cpy.cmp")"
check_eq "cpython vs CPython: smaller payloads fault in neither" "" \
  "$(awk '$4 < 800000 && ($5 >= 2 || $6 >= 2) { print $1, $2, $3, "C", $5, "Python", $6 }' "$TMPD/cpy.cmp")"
# Not only zeros agreeing: the 8 MB pickle faults in its pages on every call.
# shellcheck disable=SC2016 # an awk program in single quotes, an argument of check
check "cpython vs CPython: the 8 MB pickle faults in its pages every call on both sides" \
  awk '$2 == "weights" && $3 == "pickle" { n++; if ($5 < 0.9 * $4 / 4096 || $6 < 0.9 * $4 / 4096) bad++ }
       END { exit !(n == 3 && !bad) }' "$TMPD/cpy.cmp"
if [ -n "${CASBENCH_FAULTS_TABLE:-}" ]; then cp "$TMPD/cpy.cmp" "$CASBENCH_FAULTS_TABLE"; fi
