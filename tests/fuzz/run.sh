#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS TARGET... - run each libFuzzer target
# build/fuzz/fuzz_TARGET for SECONDS on a temporary corpus seeded from
# tests/fuzz/corpus/TARGET (read only: new inputs go to the temporary
# directory, which is removed). Targets run side by side, one per online CPU
# (CASBENCH_FUZZ_SLOTS at a time if set: tests/run.sh runs other scripts beside).
# Prints "PASS: fuzz TARGET: N executions in S s" or a FAIL line naming the
# crashing input, which is kept in build/fuzz/crashes/ (add it to the corpus
# as a regression once fixed). Exit 0 when every target ran clean.
set -u
cd "$(dirname "$0")/../.." || exit 3
secs=${1:?usage: tests/fuzz/run.sh SECONDS TARGET...}; shift
crashes=build/fuzz/crashes
mkdir -p "$crashes"
work=$(mktemp -d "${TMPDIR:-/tmp}/casbench-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
slots=${CASBENCH_FUZZ_SLOTS:-$(nproc 2>/dev/null || echo 1)}

one() {  # one TARGET: run it, print its verdict line
  local t=$1 bin=build/fuzz/fuzz_$1 log=$work/$1.log rc=0
  mkdir -p "$work/$t"
  # -timeout: an input that takes 10 s is a hang; -rss_limit_mb: a leak or
  # an unbounded allocation shows up as a failure, not as swapping.
  ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/$t-" "$work/$t" "tests/fuzz/corpus/$t" \
    >"$log" 2>&1 || rc=$?
  local runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
    echo "PASS: fuzz $t: $runs executions in $secs s ($(find "tests/fuzz/corpus/$t" -type f | wc -l) seeds)"
  else
    local art
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "FAIL: fuzz $t: exit $rc; input ${art:-none}: $(grep -m 1 -E 'ERROR|runtime error|deadly signal|timeout|out-of-memory' "$log")"
  fi
}

status=0
for t in "$@"; do
  if [ ! -x "build/fuzz/fuzz_$t" ]; then
    echo "FAIL: fuzz $t: build/fuzz/fuzz_$t is not built (make fuzz-build)"; status=1; continue
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$slots" ]; do wait -n; done
  one "$t" >"$work/$t.verdict" &
done
wait
for t in "$@"; do
  [ -f "$work/$t.verdict" ] || continue
  cat "$work/$t.verdict"
  grep -q '^FAIL' "$work/$t.verdict" && status=1
done
exit $status
