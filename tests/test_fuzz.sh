#!/usr/bin/env bash
# libFuzzer targets (tests/fuzz/fuzz_*.c): every decompressor, the JSON and
# .npy readers, the payload spec parser, the TSV / run-directory reader
# of report and compare, and run --resume's reader of matrix.tsv against
# report's (both must accept or both refuse). Each runs CASBENCH_FUZZ_SECONDS (default 30) on a
# temporary corpus seeded from tests/fuzz/corpus/ (never written here), one
# per CPU (one at a time beside the other scripts of tests/run.sh); the committed seeds include every input
# that once crashed a target (regress-*), so each run is also a regression
# test. `make fuzz FUZZ_SECONDS=N` runs the same for longer.
. "$(dirname "$0")/lib.sh"
secs=${CASBENCH_FUZZ_SECONDS:-30}
targets="decompress json npy payload_spec tsv resume"
if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
  fail "fuzz build" "clang not found (Debian: clang-14, libclang-rt-14-dev)"; exit 0
fi
if ! make --no-print-directory -s fuzz-build >"$TMPD/build.log" 2>&1; then
  fail "fuzz build" "$(tail -n 5 "$TMPD/build.log" | tr '\n' ' ')"; exit 0
fi
pass "fuzz targets build (clang -fsanitize=fuzzer,address,undefined)"
# The committed corpus must come out of the runs as it went in.
before=$(find tests/fuzz/corpus -type f | sort | md5sum)
# shellcheck disable=SC2086 # one word per target
tests/fuzz/run.sh "$secs" $targets
check_eq "the committed corpus is not written by a run" "$before" "$(find tests/fuzz/corpus -type f | sort | md5sum)"
