#!/usr/bin/env bash
# tests/run.sh [FILTER] - runs every tests/test_*.sh (or those whose name
# contains FILTER), counts their PASS/FAIL lines, and ends with the line
# "N passed, N failed". A script that exits non-zero counts as one failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 3
filter=${1:-}
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in tests/test_*.sh; do
  [ -n "$filter" ] && [[ "$t" != *"$filter"* ]] && continue
  start=$(date +%s)
  bash "$t" >"$log" 2>&1
  rc=$?
  p=$(grep -c '^PASS: ' "$log")
  f=$(grep -c '^FAIL: ' "$log")
  grep '^FAIL: ' "$log"
  if [ "$rc" -ne 0 ]; then
    echo "FAIL: $t exited $rc"; tail -n 20 "$log" | sed 's/^/    /'
    f=$((f + 1))
  fi
  [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && { echo "FAIL: $t ran no check"; f=1; }
  echo "== $t: $p passed, $f failed ($(( $(date +%s) - start ))s)"
  passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
