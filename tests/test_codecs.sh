#!/usr/bin/env bash
# The codecs: round trips at every level (tests/c/test_codecs.c), byte
# identity with CPython's gzip and python-lz4, interop both ways with gzip,
# lz4, zstd and the Python modules, corrupt-input handling, CLI errors.
. "$(dirname "$0")/lib.sh"
B=$TMPD/blobs R=$TMPD/ref
mkdir -p "$B" "$R"
# The payloads' default pickles (a small dict, a 52 KB dict, 800 KB and 8 MB
# float64 arrays, 5 MB of random bytes) and an empty blob.
BLOBS="empty config metrics embeddings weights random"
: >"$B/empty"
for p in config metrics embeddings weights random; do
  "$CASBENCH" pickle "$p" >"$B/$p" || { fail "casbench pickle $p" "exit $?"; exit 1; }
done
paths=(); for b in $BLOBS; do paths+=("$B/$b"); done
"$PY" tests/ref_streams.py "$R" "${paths[@]}" ||
  { fail "make reference streams" "python failed"; exit 1; }

# run_c NAME CMD...: a tests/c program prints its own PASS/FAIL lines; a
# crash or sanitizer report (any exit but 0 or 1) is one more failure.
run_c() {
  local name=$1 rc=0; shift
  "$@" >"$TMPD/c.out" 2>"$TMPD/c.err" || rc=$?
  cat "$TMPD/c.out"
  case $rc in
    0|1) ;;
    *) fail "$name" "exit $rc: $(tail -n 5 "$TMPD/c.err" | tr '\n' ' ')" ;;
  esac
}
ASAN_TEST=${CASBENCH%/casbench}/tests/test_codecs
REL_TEST=${CASBENCH_RELEASE%/casbench}/tests/test_codecs
# Under the sanitizers: every level on the small blobs, and the changed-byte
# and truncation checks on every blob at each codec's default level.
run_c "test_codecs (asan, all levels, small blobs)" "$ASAN_TEST" --levels all --fuzz "$B/empty" "$B/config" "$B/metrics"
run_c "test_codecs (asan, default levels, large blobs)" "$ASAN_TEST" --fuzz "$B/embeddings" "$B/weights" "$B/random"
# Release build, for time: every level on 800 KB; lowest, default and highest
# on the 8 MB and 5 MB blobs (zstd:19 and LZ4HC:12 are slow under ASan).
run_c "test_codecs (release, all levels, 800 KB)" "$REL_TEST" --levels all "$B/embeddings"
run_c "test_codecs (release, level ends, large blobs)" "$REL_TEST" --levels ends "$B/weights" "$B/random"

pydec() {  # pydec gzip|zstd FILE: decompress FILE with the Python module
  "$PY" -c '
import sys
data = open(sys.argv[2], "rb").read()
if sys.argv[1] == "gzip":
    import gzip; out = gzip.decompress(data)
else:
    import zstandard; out = zstandard.ZstdDecompressor().decompressobj().decompress(data)
sys.stdout.buffer.write(out)' "$1" "$2"
}

# compresses_to CODEC INPUT EXPECTED: casbench's stream equals the oracle's, byte for byte
# (a failed compress fails the check instead of skipping it).
compresses_to() { "$CASBENCH" compress "$1" <"$2" | cmp - "$3"; }

for b in $BLOBS; do
  f=$B/$b
  # metaflow's gzip (CPython GzipFile, mtime 0) byte for byte, every level.
  for L in 1 2 3 4 5 6 7 8 9; do
    check "gzip:$L $b = CPython GzipFile(compresslevel=$L, mtime=0)" \
      compresses_to "gzip:$L" "$f" "$R/$b.gzip.$L"
  done
  # PR #3090's lz4.frame.compress byte for byte, and the levels it passes on.
  for L in -8 -4 0 1 2 3 9 12; do
    check "lz4:$L $b = lz4.frame.compress(compression_level=$L)" \
      compresses_to "lz4:$L" "$f" "$R/$b.lz4.$L"
  done
  check "lz4:12 $b = python-lz4 level 16 (LZ4F clamps to 12)" cmp "$R/$b.lz4.12" "$R/$b.lz4.16"
  "$CASBENCH" compress lz4:0 <"$f" >"$TMPD/s.lz4"
  check "lz4:0 $b decoded by lz4 -dc" bash -c "lz4 -dc <'$TMPD/s.lz4' | cmp - '$f'"

  # Our gzip streams through gzip(1) and Python's gzip module.
  for c in gzip libdeflate isal; do
    "$CASBENCH" compress "$c" <"$f" >"$TMPD/s.gz"
    check "$c $b decoded by gzip -dc" bash -c "gzip -dc <'$TMPD/s.gz' | cmp - '$f'"
    check "$c $b decoded by Python gzip" bash -c "$(declare -f pydec); PY=$PY; pydec gzip '$TMPD/s.gz' | cmp - '$f'"
    # ... and theirs through each of our gzip decoders.
    for d in gzip libdeflate isal; do
      check "$d decodes $c's $b" bash -c "'$CASBENCH' decompress $d <'$TMPD/s.gz' | cmp - '$f'"
    done
  done
  for d in gzip libdeflate isal; do
    check "$d decodes gzip -c <$b" bash -c "gzip -c <'$f' | '$CASBENCH' decompress $d | cmp - '$f'"
    # A file name in the header (FNAME), as gzip(1) writes for a named file.
    check "$d decodes gzip -1 -c $b (FNAME header)" bash -c "gzip -1 -c '$f' | '$CASBENCH' decompress $d | cmp - '$f'"
    check "$d decodes Python gzip.compress($b)" bash -c "'$CASBENCH' decompress $d <'$R/$b.pygz' | cmp - '$f'"
    check "$d decodes CPython GzipFile level 3 $b" bash -c "'$CASBENCH' decompress $d <'$R/$b.gzip.3' | cmp - '$f'"
  done

  # zstd both ways.
  "$CASBENCH" compress zstd <"$f" >"$TMPD/s.zst"
  check "zstd $b decoded by zstd -dc" bash -c "zstd -dc <'$TMPD/s.zst' | cmp - '$f'"
  check "zstd $b decoded by python-zstandard" bash -c "$(declare -f pydec); PY=$PY; pydec zstd '$TMPD/s.zst' | cmp - '$f'"
  check "zstd $b declares its size (zstd -lv)" bash -c "zstd -lv '$TMPD/s.zst' 2>&1 | grep -q 'Decompressed Size: .*($(wc -c <"$f") B)'"
  check "zstd decodes zstd -c <$b (no size, checksum)" bash -c "zstd -q -c <'$f' | '$CASBENCH' decompress zstd | cmp - '$f'"
  check "zstd decodes zstd -19 -c $b (size)" bash -c "zstd -q -19 -c '$f' | '$CASBENCH' decompress zstd | cmp - '$f'"
  check "zstd decodes python-zstandard $b" bash -c "'$CASBENCH' decompress zstd <'$R/$b.pyzst' | cmp - '$f'"

  # lz4 streams by the tool and by python-lz4 with other options.
  check "lz4 decodes lz4 -c <$b (no size, checksum)" bash -c "lz4 -q -c <'$f' | '$CASBENCH' decompress lz4 | cmp - '$f'"
  check "lz4 decodes lz4 -9 --content-size -BD $b" bash -c "lz4 -q -9 --content-size -BD -c '$f' | '$CASBENCH' decompress lz4 | cmp - '$f'"
  check "lz4 decodes python-lz4 4 MB blocks + checksums $b" bash -c "'$CASBENCH' decompress lz4 <'$R/$b.pylz4x' | cmp - '$f'"
done

# gzip containers: concatenated members and zero padding as gzip(1) and
# GzipFile read them; other trailing bytes are an error.
f=$B/metrics
cat "$R/metrics.gzip.3" "$R/metrics.pygz" >"$TMPD/two.gz"
cat "$f" "$f" >"$TMPD/two"
cp "$R/metrics.gzip.3" "$TMPD/pad.gz"; head -c 100 /dev/zero >>"$TMPD/pad.gz"
cp "$R/metrics.gzip.3" "$TMPD/junk.gz"; printf 'junk' >>"$TMPD/junk.gz"
check "gzip -dc reads two members (oracle)" bash -c "gzip -dc <'$TMPD/two.gz' | cmp - '$TMPD/two'"
for d in gzip libdeflate isal; do
  check "$d reads two members as gzip -dc does" bash -c "'$CASBENCH' decompress $d <'$TMPD/two.gz' | cmp - '$TMPD/two'"
  check "$d ignores zero padding as gzip -dc does" bash -c "'$CASBENCH' decompress $d <'$TMPD/pad.gz' | cmp - '$f'"
  check_error "$d rejects trailing junk" 2 bash -c "'$CASBENCH' decompress $d <'$TMPD/junk.gz'"
done

# Bad streams: exit 2, one line naming the codec's error.
head -c 1000 "$R/metrics.gzip.3" >"$TMPD/cut.gz"
for d in gzip libdeflate isal; do
  check_error "$d: truncated stream is exit 2" 2 bash -c "'$CASBENCH' decompress $d <'$TMPD/cut.gz'"
  check_error "$d: not gzip is exit 2" 2 bash -c "'$CASBENCH' decompress $d <'$f'"
  check_error "$d: empty input is exit 2" 2 "$CASBENCH" decompress $d
done
"$CASBENCH" compress lz4 <"$f" | head -c 1000 >"$TMPD/cut.lz4"
"$CASBENCH" compress zstd <"$f" | head -c 1000 >"$TMPD/cut.zst"
check_error "lz4: truncated stream is exit 2" 2 bash -c "'$CASBENCH' decompress lz4 <'$TMPD/cut.lz4'"
check_error "zstd: truncated stream is exit 2" 2 bash -c "'$CASBENCH' decompress zstd <'$TMPD/cut.zst'"
check_error "lz4: not lz4 is exit 2" 2 bash -c "'$CASBENCH' decompress lz4 <'$f'"
check_error "zstd: not zstd is exit 2" 2 bash -c "'$CASBENCH' decompress zstd <'$f'"
check_error "zstd: empty input is exit 2" 2 "$CASBENCH" decompress zstd
check_eq "truncated gzip names the error" "casbench: stdin: gzip: truncated stream" \
  "$("$CASBENCH" decompress gzip <"$TMPD/cut.gz" 2>&1 >/dev/null)"

# Command line.
check "compress --help" "$CASBENCH" compress --help
check "decompress --help" "$CASBENCH" decompress --help
check "compress --version" "$CASBENCH" compress --version
check_eq "compress --help lists every codec" 7 \
  "$("$CASBENCH" compress --help | grep -cE '^(none|gzip|zlib|libdeflate|isal|lz4|zstd) ')"
check_error "no codec" 1 "$CASBENCH" compress
check_error "unknown option" 1 "$CASBENCH" compress --frob
check_error "extra argument" 1 "$CASBENCH" compress gzip extra
check_error "unknown codec" 2 "$CASBENCH" compress brotli
check_error "level not a number" 2 "$CASBENCH" compress gzip:x
check_error "level out of range" 2 "$CASBENCH" compress gzip:10
check_eq "level out of range names the range" "casbench: codec 'zstd:20': level 20 out of range -7..19" \
  "$("$CASBENCH" compress zstd:20 2>&1 </dev/null)"
check_error "stdout is /dev/full: exit 3" 3 bash -c "'$CASBENCH' compress gzip <'$f' >/dev/full"
check_error "decompress to /dev/full: exit 3" 3 bash -c "'$CASBENCH' decompress gzip <'$R/metrics.gzip.3' >/dev/full"
if command -v script >/dev/null; then
  check "binary output to a terminal is refused" bash -c \
    "script -qec '$CASBENCH compress none </dev/null' /dev/null | grep -q 'is a terminal'"
fi

# The PR #3090 pipeline through the real lz4 tool: the key survives.
check_eq "pickle weights | compress lz4:0 | lz4 -dc | hash sha1 = pickle weights | sha1sum" \
  "$("$CASBENCH" pickle weights | sha1sum)" \
  "$("$CASBENCH" pickle weights | "$CASBENCH" compress lz4:0 | lz4 -dc | "$CASBENCH" hash sha1)"
