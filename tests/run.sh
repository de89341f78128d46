#!/usr/bin/env bash
# tests/run.sh [FILTER] - runs every tests/test_*.sh (or those whose name
# contains FILTER), counts their PASS/FAIL lines, and ends with the line
# "N passed, N failed". A script that exits non-zero counts as one failure.
#
# Scripts run CASBENCH_TEST_JOBS at a time (default: 2, or 1 on a one-CPU
# machine), the longest first, each to its own log; the "== script" lines
# come in name order as before. No test
# asserts on timing, so running beside another one changes only its time.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 3
filter=${1:-}
ncpu=$(nproc 2>/dev/null || echo 1)
njobs=${CASBENCH_TEST_JOBS:-$((ncpu >= 2 ? 2 : 1))}
passed=0 failed=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

scripts=()
for t in tests/test_*.sh; do
  [ -n "$filter" ] && [[ "$t" != *"$filter"* ]] && continue
  scripts+=("$t")
done
# Start order: the longest scripts of the last CI first, so that no long one
# starts last and runs alone (the fuzzers run for a fixed time, one target at
# a time when beside other scripts: CASBENCH_FUZZ_SLOTS); then the rest by name.
slow=" test_fuzz test_run test_codecs test_fastsave test_infra test_calibrate test_report "
order=()
for s in $slow; do
  for t in "${scripts[@]}"; do [ "$(basename "$t" .sh)" = "$s" ] && order+=("$t"); done
done
for t in "${scripts[@]}"; do [[ "$slow" == *" $(basename "$t" .sh) "* ]] || order+=("$t"); done
slots=$((njobs > 1 ? ncpu - njobs + 1 : ncpu))
[ "$slots" -ge 1 ] || slots=1

one() {  # one SCRIPT: its output to $logs/NAME.log, exit status and seconds beside it
  local t=$1 n start rc=0
  n=$(basename "$t" .sh)
  start=$(date +%s)
  CASBENCH_FUZZ_SLOTS=${CASBENCH_FUZZ_SLOTS:-$slots} bash "$t" >"$logs/$n.log" 2>&1 || rc=$?
  echo "$(( $(date +%s) - start ))" >"$logs/$n.secs"
  echo "$rc" >"$logs/$n.rc"   # written last: the script is done
}

report() {  # report SCRIPT: its FAIL lines and its "==" line; adds to the totals
  local t=$1 n p f rc
  n=$(basename "$t" .sh)
  rc=$(cat "$logs/$n.rc")
  p=$(grep -c '^PASS: ' "$logs/$n.log")
  f=$(grep -c '^FAIL: ' "$logs/$n.log")
  grep '^FAIL: ' "$logs/$n.log"
  if [ "$rc" -ne 0 ]; then
    echo "FAIL: $t exited $rc"; tail -n 20 "$logs/$n.log" | sed 's/^/    /'
    f=$((f + 1))
  fi
  [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && { echo "FAIL: $t ran no check"; f=1; }
  echo "== $t: $p passed, $f failed ($(cat "$logs/$n.secs")s)"
  passed=$((passed + p)); failed=$((failed + f))
}

# Report, in name order, every script that is done and has no undone one before it.
next=0
report_done() {
  while [ "$next" -lt "${#scripts[@]}" ] && [ -f "$logs/$(basename "${scripts[$next]}" .sh).rc" ]; do
    report "${scripts[$next]}"
    next=$((next + 1))
  done
}
for t in "${order[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$njobs" ]; do wait -n; report_done; done
  one "$t" &
done
wait
report_done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
