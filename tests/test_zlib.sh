#!/usr/bin/env bash
# The zlib codec (RFC 1950; codecs/codec_zlibfmt.c) with CPython's zlib as
# the oracle: zlib:L is zlib.compress(blob, L) byte for byte at every level,
# zlib.decompress reads ours, we read CPython's other zlib streams, and bad
# streams get exit 2 with one line. (Round trips, streaming and fuzzing at
# every level are tests/c/test_codecs.c, run by test_codecs.sh.)
. "$(dirname "$0")/lib.sh"
B=$TMPD/blobs R=$TMPD/ref
mkdir -p "$B" "$R"
# PR #3090's realistic payloads but the 8 MB one, the micro suite's pattern
# blob, and an empty and a one-byte blob.
: >"$B/empty"
printf 'x' >"$B/one"
for p in pr3090-config pr3090-metrics pr3090-embeddings pr3090-random pattern:1000000; do
  "$CASBENCH_RELEASE" pickle "$p" >"$B/${p/:/-}" || { fail "casbench pickle $p" "exit $?"; exit 1; }
done
BLOBS=$(ls "$B")
# shellcheck disable=SC2046 # one argument per blob
"$PY" tests/zlib_oracle.py compress "$R" $(for b in $BLOBS; do echo "$B/$b"; done) ||
  { fail "zlib oracle" "python failed"; exit 1; }

for b in $BLOBS; do
  f=$B/$b
  for L in 0 1 2 3 4 5 6 7 8 9; do
    # the release build for the 5 MB blob at the slow levels, for time
    cb=$CASBENCH; [ "$b" = pr3090-random ] && cb=$CASBENCH_RELEASE
    "$cb" compress "zlib:$L" <"$f" >"$TMPD/ours" 2>"$TMPD/err" || fail "compress zlib:$L $b" "$(cat "$TMPD/err")"
    check "zlib:$L $b = zlib.compress(blob, $L) ($(wc -c <"$R/$b.$L") bytes)" cmp "$TMPD/ours" "$R/$b.$L"
  done
  check_eq "zlib.decompress reads our zlib:3 $b" ok "$("$PY" tests/zlib_oracle.py decompress "$R/$b.3" "$f")"
  check "zlib $b (default level) = zlib.compress(blob) (level 6)" \
    bash -c "'$CASBENCH' compress zlib <'$f' | cmp - '$R/$b.6'"
  check "decompress zlib of zlib.compress(blob, 9) $b" bash -c "'$CASBENCH' decompress zlib <'$R/$b.9' | cmp - '$f'"
done

# Streams written with other parameters: sync flushes, memLevel 9, Z_FILTERED.
f=$B/pr3090-metrics
"$PY" tests/zlib_oracle.py others "$R" "$f" || fail "zlib oracle others" "python failed"
check "decompress zlib of a compressobj stream with sync flushes" \
  bash -c "'$CASBENCH' decompress zlib <'$R/pr3090-metrics.sync' | cmp - '$f'"

# Bad streams: exit 2, one line naming the error.
z=$R/pr3090-metrics.3
n=$(wc -c <"$z")
for cut in 1 2 100 $((n / 2)) $((n - 4)) $((n - 1)); do
  head -c "$cut" "$z" >"$TMPD/cut"
  check_error "truncated at $cut of $n bytes: exit 2" 2 bash -c "'$CASBENCH' decompress zlib <'$TMPD/cut'"
done
head -c $((n - 1)) "$z" >"$TMPD/cut"
check_eq "truncated stream names the error" "casbench: stdin: zlib: truncated stream" \
  "$("$CASBENCH" decompress zlib <"$TMPD/cut" 2>&1 >/dev/null)"
# The Adler-32 is the last 4 bytes: change its last one.
"$PY" -c 'import sys; d=bytearray(open(sys.argv[1],"rb").read()); d[-1]^=1; open(sys.argv[2],"wb").write(d)' "$z" "$TMPD/adler"
check_eq "a wrong Adler-32 is a checksum error" "casbench: stdin: zlib: checksum or length mismatch" \
  "$("$CASBENCH" decompress zlib <"$TMPD/adler" 2>&1 >/dev/null)"
check_error "a wrong Adler-32: exit 2" 2 bash -c "'$CASBENCH' decompress zlib <'$TMPD/adler'"
# A changed header byte (FCHECK no longer a multiple of 31).
"$PY" -c 'import sys; d=bytearray(open(sys.argv[1],"rb").read()); d[1]^=1; open(sys.argv[2],"wb").write(d)' "$z" "$TMPD/head"
check_error "a bad header: exit 2" 2 bash -c "'$CASBENCH' decompress zlib <'$TMPD/head'"
cat "$z" >"$TMPD/junk"; printf 'junk' >>"$TMPD/junk"
check_error "trailing bytes after the stream: exit 2" 2 bash -c "'$CASBENCH' decompress zlib <'$TMPD/junk'"
check_error "a preset-dictionary stream: exit 2" 2 bash -c "'$CASBENCH' decompress zlib <'$R/pr3090-metrics.dict'"
check_error "a gzip stream is not zlib: exit 2" 2 bash -c "'$CASBENCH' compress gzip <'$f' | '$CASBENCH' decompress zlib"
check_error "a zlib stream is not gzip: exit 2" 2 bash -c "'$CASBENCH' decompress gzip <'$z'"
check_error "empty input: exit 2" 2 "$CASBENCH" decompress zlib
check_error "level 10: exit 2" 2 "$CASBENCH" compress zlib:10
check_error "level -1: exit 2" 2 "$CASBENCH" compress zlib:-1

# What casbench says about it: not readable by today's metaflow.
check "list: zlib 0..9, default 6, not gzip-compatible" \
  bash -c "'$CASBENCH' list codecs | grep -qE '^zlib +0\.\.9 +6 +zlib +[0-9.]+ +no +yes'"
