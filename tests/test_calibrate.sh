#!/usr/bin/env bash
# casbench calibrate: the table and calibrate.tsv of a quick run (release
# build), one run under the sanitizers on the smallest payload, the tool
# output parsers on outputs captured now from the real tools (Python reads
# the same numbers as the oracle) and on malformed lines, and fake tools on
# PATH (garbage, failure, absence). No timing is asserted: the ratios are
# benchmark figures, not test results.
. "$(dirname "$0")/lib.sh"
REL=$CASBENCH_RELEASE
export TMPDIR=$TMPD/tmp
mkdir -p "$TMPDIR"

# ---- a quick run, release build ---------------------------------------------
out=$TMPD/run
rc=0
"$REL" calibrate --quick --payload embeddings --out "$out" >"$TMPD/table.md" 2>"$TMPD/table.err" || rc=$?
check_eq "calibrate --quick exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 3 "$TMPD/table.err"
size=$("$REL" pickle embeddings | wc -c)
# Every comparison of the default tools on one payload, in order.
expected="lz4 -b1 compress embeddings ($size B)
lz4 -b1 decompress embeddings ($size B)
lz4:0 frame (matrix) vs lz4 -b1 compress embeddings
lz4:0 frame (matrix) vs lz4 -b1 decompress embeddings
zstd -b1 compress embeddings ($size B)
zstd -b1 decompress embeddings ($size B)
zstd -b3 compress embeddings ($size B)
zstd -b3 decompress embeddings ($size B)
xxhsum -b3 XXH64 vs xxh64 (102400 B)
xxhsum -b5 XXH3_64b vs xxh3-64 (102400 B)
xxhsum -b11 XXH128 vs xxh3-128 (102400 B)
openssl speed -evp sha1 vs sha1 (8192 B)
EVP_Digest per block (as openssl speed) vs openssl speed -evp sha1 (8192 B)
openssl speed -evp sha1 vs sha1 (16384 B)
EVP_Digest per block (as openssl speed) vs openssl speed -evp sha1 (16384 B)
openssl speed -evp sha256 vs sha256 (8192 B)
EVP_Digest per block (as openssl speed) vs openssl speed -evp sha256 (8192 B)
openssl speed -evp sha256 vs sha256 (16384 B)
EVP_Digest per block (as openssl speed) vs openssl speed -evp sha256 (16384 B)
openssl speed -evp blake2b512 vs blake2b (8192 B)
EVP_Digest per block (as openssl speed) vs openssl speed -evp blake2b512 (8192 B)
openssl speed -evp blake2b512 vs blake2b (16384 B)
EVP_Digest per block (as openssl speed) vs openssl speed -evp blake2b512 (16384 B)
pickle embeddings vs memcpy of the blob, reuse ($size B)
pickle embeddings vs memcpy of the blob, fresh ($size B)"
md_whats=$(grep '^| ' "$TMPD/table.md" | tail -n +2 | awk -F ' \\| ' '{sub(/^\| /, "", $1); print $1}')
check_eq "markdown table: every expected row, in order" "$expected" "$md_whats"
tsv=$out/calibrate.tsv
check_eq "calibrate.tsv header" "$(printf 'what\tharness_mb_per_s\ttool_mb_per_s\tratio\twithin_bounds\tharness_measures\ttool_measures\twhy')" "$(head -n 1 "$tsv" 2>/dev/null)"
check_eq "calibrate.tsv: the same rows as the table" "$expected" "$(col "$tsv" what 2>/dev/null)"
# Columns, numbers, and the bounds each row claims against its own ratio.
bad=$(tsv_awk '
  function num(x) { return x ~ /^[0-9]+(\.[0-9]+)?$/ }
  FNR == 1 { next }
  NF != 8 { print NR - 1": "NF" columns"; next }
  !num($col["harness_mb_per_s"]) || !num($col["tool_mb_per_s"]) || !num($col["ratio"]) || $col["harness_mb_per_s"] <= 0 || $col["tool_mb_per_s"] <= 0 { print NR - 1": not numbers: "$col["harness_mb_per_s"]" "$col["tool_mb_per_s"]" "$col["ratio"]; next }
  { r = $col["harness_mb_per_s"] / $col["tool_mb_per_s"]; if (r / $col["ratio"] > 1.01 || r / $col["ratio"] < 0.99) print NR - 1": ratio "$col["ratio"]" is not "$col["harness_mb_per_s"]"/"$col["tool_mb_per_s"] }
  $col["what"] ~ /^lz4:0 frame/ { if ($col["within_bounds"] != "n/a") print NR - 1": context row is "$col["within_bounds"]; next }
  $col["what"] ~ /^pickle/ { want = ($col["ratio"] >= 0.8) ? "yes" : "no"; if ($col["within_bounds"] != want) print NR - 1": "$col["ratio"]" -> "$col["within_bounds"]; next }
  { want = ($col["ratio"] >= 0.95 && $col["ratio"] <= 1.05) ? "yes" : "no"; if ($col["within_bounds"] != want) print NR - 1": "$col["ratio"]" -> "$col["within_bounds"] }
  $col["within_bounds"] != "yes" && $col["why"] == "" { print NR - 1": out of bounds without a why" }
  $col["harness_measures"] == "" || $col["tool_measures"] == "" { print NR - 1": empty measures" }' "$tsv")
check_eq "calibrate.tsv: 8 columns, numeric MB/s and ratios, bounds that match the ratios, a why for each row out of bounds" "" "$bad"
check_eq "no temporary file left (TMPDIR, --out)" "calibrate.tsv" "$(find "$TMPDIR" "$out" -mindepth 1 -printf '%f\n')"
# Which library each codec tool runs, against ldd as the oracle.
for t in lz4:liblz4 zstd:libzstd; do
  exe=${t%%:*} lib=${t#*:}
  if ldd "$(command -v "$exe")" 2>/dev/null | grep -q "$lib\.so"; then want="links $lib.so"; else want="own statically linked copy of $lib"; fi
  got=$(tsv_awk -v e="$exe -b1 compress" 'index($col["what"], e) == 1 { print $col["tool_measures"] }' "$tsv")
  case $got in *"$want"*) pass "the $exe rows say the tool $want (ldd agrees)" ;; *) fail "the $exe rows say which library the tool runs" "want '$want' in '$got'" ;; esac
done

# ---- the sanitizer build on the smallest payload ------------------------------------
check "calibrate --quick (asan) on the smallest payload" "$CASBENCH" calibrate --quick --payload config --out "$TMPD/asan"
check_eq "asan run: one row per comparison" 25 "$(tail -n +2 "$TMPD/asan/calibrate.tsv" 2>/dev/null | wc -l)"

# ---- the parsers, on real outputs captured now ------------------------------------------
C=$TMPD/cap
mkdir -p "$C"
"$REL" pickle config >"$C/in.pkl"
lz4 -b1 -i0 "$C/in.pkl" >"$C/lz4.txt" 2>&1
zstd -b3 -i0 "$C/in.pkl" >"$C/zstd.txt" 2>&1
xxhsum -b3,5,11 -i0 >"$C/xxhsum.txt" 2>&1
openssl speed -evp sha256 -bytes 64 -seconds 1 >"$C/openssl.txt" 2>&1
# The oracle: the last progress segment that has both speeds, read by Python.
cat >"$C/oracle.py" <<'EOF'
import re, sys
kind, path = sys.argv[1], sys.argv[2]
segs = [s for s in re.split(r'[\r\n]', open(path, encoding='latin-1').read()) if s.strip()]
if kind in ('lz4', 'zstd'):
    res = [s for s in segs if re.search(r'->\s*\d+\s*\(', s) and s.count('MB/s') == 2]
    m = re.search(r':\s*(\d+)\s*->\s*(\d+)\s*\(x?[\d.]+\),\s*([\d.]+) MB/s\s*,\s*([\d.]+) MB/s', res[-1])
    print('size\t%s\ncompressed_size\t%s' % (m.group(1), m.group(2)))
    print('compress_bytes_per_s\t%r\ndecompress_bytes_per_s\t%r' % (float(m.group(3)) * 1e6, float(m.group(4)) * 1e6))
elif kind == 'xxhsum':
    for s in segs:
        m = re.match(r'\s*(\d+)#(\S+)\s*:\s*(\d+)\s*->\s*(\d+)\s*it/s', s)
        if m:
            print('%s\t%s\t%s\t%r' % (m.group(1), m.group(2), m.group(3), float(m.group(4)) * int(m.group(3))))
else:
    row = [s for s in segs if s.startswith(kind + ' ')][-1]
    print('bytes_per_s\t%r' % (float(row.split()[1].rstrip('k')) * 1000))
EOF
# same_numbers A B: the same lines, numbers equal to 1e-9.
same_numbers() {
  "$PY" - "$1" "$2" <<'EOF'
import sys
a = [l.split('\t') for l in open(sys.argv[1]).read().split('\n') if l]
b = [l.split('\t') for l in open(sys.argv[2]).read().split('\n') if l]
ok = len(a) == len(b) > 0 and all(len(x) == len(y) and all(
    p == q or (abs(float(p) - float(q)) <= 1e-9 * abs(float(q))) for p, q in zip(x, y)) for x, y in zip(a, b))
sys.exit(0 if ok else 1)
EOF
}
for k in lz4 zstd xxhsum openssl:sha256:64; do
  f=${k%%:*}
  okind=$f; [ "$f" = openssl ] && okind=sha256
  "$CASBENCH" calibrate --parse "$k" "$C/$f.txt" >"$C/$f.got" 2>"$C/$f.err"
  "$PY" "$C/oracle.py" "$okind" "$C/$f.txt" >"$C/$f.want" 2>/dev/null
  if same_numbers "$C/$f.got" "$C/$f.want"; then pass "parse $k: real output, numbers as Python reads them"
  else fail "parse $k" "casbench: $(tr '\n' ' ' <"$C/$f.got") $(cat "$C/$f.err"); python: $(tr '\n' ' ' <"$C/$f.want")"; fi
done

# ---- malformed outputs: one line, exit 3 ------------------------------------------------
M=$TMPD/bad
mkdir -p "$M"
printf 'garbage\n' >"$M/garbage"
printf '\r |-in.pkl : 233 ->\r |-in.pkl : 233 -> 222 (x1.050), 41.2 MB/s \r' >"$M/cut-short"
printf ' |-in.pkl : 233 -> 222 (x1.050), 41.2 MB/s, 27.5 MB/s\r' >"$M/no-end-marker"
printf ' |-in.pkl : 233 -> 222 (x1.050), nan MB/s, 27.5 MB/s\r 1#\n' >"$M/nan-speed"
printf ' 5#XXH64                         :     102400 ->   369009 it/s (36036.0 MB/s) \n' >"$M/xxh-renumbered"
printf 'type             16 bytes\nsha256           79617.79k\n' >"$M/openssl-size"
printf 'type             64 bytes\nsha1             79617.79k\n' >"$M/openssl-row"
check_error "parse lz4: garbage" 3 "$CASBENCH" calibrate --parse lz4 "$M/garbage"
check_error "parse zstd: progress without speeds" 3 "$CASBENCH" calibrate --parse zstd "$M/cut-short"
check_error "parse lz4: a result with no end marker" 3 "$CASBENCH" calibrate --parse lz4 "$M/no-end-marker"
check_error "parse zstd: a speed that is not a number" 3 "$CASBENCH" calibrate --parse zstd "$M/nan-speed"
check_error "parse xxhsum: an algorithm number with another name" 3 "$CASBENCH" calibrate --parse xxhsum "$M/xxh-renumbered"
check_error "parse xxhsum: garbage" 3 "$CASBENCH" calibrate --parse xxhsum "$M/garbage"
check_error "parse openssl: another block size" 3 "$CASBENCH" calibrate --parse openssl:sha256:64 "$M/openssl-size"
check_error "parse openssl: no row for the algorithm" 3 "$CASBENCH" calibrate --parse openssl:sha256:64 "$M/openssl-row"
check_error "parse: unknown kind" 1 "$CASBENCH" calibrate --parse brotli "$M/garbage"

# ---- fake tools on PATH: one line naming the tool, exit 3, nothing written ----------------------
F=$TMPD/fake
mkdir -p "$F/garbage" "$F/fails" "$F/none" "$F/wrong-size"
printf '#!/bin/sh\nprintf "hello\\rworld\\n"\n' >"$F/garbage/lz4"
printf '#!/bin/sh\necho "Error 12 : not enough memory" >&2\nexit 1\n' >"$F/fails/lz4"
printf '#!/bin/sh\nprintf " |-x : 5 -> 4 (1.250),  10.0 MB/s , 20.0 MB/s\\r 1#\\n"\n' >"$F/wrong-size/lz4"
chmod +x "$F"/*/lz4
for k in garbage fails none wrong-size; do
  o=$TMPD/fake-out-$k
  check_error "fake lz4 ($k): one line, exit 3" 3 env PATH="$F/$k" "$REL" calibrate --quick --tool lz4 --payload config --out "$o"
  case $k in none) want="not found on PATH" ;; fails) want="exited with status 1" ;; garbage) want="no result line" ;; *) want="benchmarked 5 bytes" ;; esac
  if grep -q "^casbench: lz4: .*$want" "$TMPD/err.err"; then pass "fake lz4 ($k): names lz4 and the problem"
  else fail "fake lz4 ($k): message" "$(cat "$TMPD/err.err")"; fi
  if [ ! -e "$o" ]; then pass "fake lz4 ($k): no --out directory written"; else fail "fake lz4 ($k): --out" "$(ls -A "$o")"; fi
done
check_eq "fake tools: no temporary file left" "" "$(ls -A "$TMPDIR")"

# ---- the command line ------------------------------------------------------------------------
check "calibrate --help" "$CASBENCH" calibrate --help
check_eq "calibrate --version" "casbench" "$("$CASBENCH" calibrate --version | cut -d' ' -f1)"
check_error "unknown option" 1 "$CASBENCH" calibrate --bogus
check_error "unknown --tool" 2 "$CASBENCH" calibrate --tool brotli
check_error "unknown --payload" 2 "$CASBENCH" calibrate --tool pickle --payload nosuch
: >"$TMPD/file"
check_error "--out is a file" 2 "$CASBENCH" calibrate --tool pickle --payload config --out "$TMPD/file"

# ---- getopt_long: --flag=value, --flag value, prefixes, -- ----------------------------------------
o=$TMPD/eq-form
check "--quick --tool=pickle --payload=config --out=DIR (and a prefix, --qu)" "$REL" calibrate --qu --tool=pickle --payload=config --out="$o"
check_eq "--flag=value: the pickle rows only, in DIR" "pickle config vs memcpy of the blob, reuse ($("$REL" pickle config | wc -c) B)
pickle config vs memcpy of the blob, fresh ($("$REL" pickle config | wc -c) B)" "$(col "$o/calibrate.tsv" what 2>/dev/null)"
"$CASBENCH" calibrate --parse=lz4 "$C/lz4.txt" >"$C/lz4-eq.got" 2>&1
check_eq "--parse=KIND FILE reads as --parse KIND FILE" "$(cat "$C/lz4.got")" "$(cat "$C/lz4-eq.got")"
check_error "-- then an argument" 1 "$CASBENCH" calibrate --tool pickle -- extra
if grep -q "extra" "$TMPD/err.err"; then pass "-- then an argument: names it"; else fail "-- then an argument: names it" "$(cat "$TMPD/err.err")"; fi
check_error "--out without its value" 1 "$CASBENCH" calibrate --tool pickle --out
if grep -q -- "--out: missing value" "$TMPD/err.err"; then pass "--out without its value: says so"; else fail "--out without its value: says so" "$(cat "$TMPD/err.err")"; fi
check_error "--parse without KIND and FILE" 1 "$CASBENCH" calibrate --parse
check_error "a value given to --quick" 1 "$CASBENCH" calibrate --quick=1
check_error "an ambiguous prefix (--p: --payload or --parse)" 1 "$CASBENCH" calibrate --p config

# ---- lz4-block (codecs/codec_lz4block.c) against python-lz4's lz4.block --------------------------
# The codec lz4 -b is compared with is no codec_table row (no subcommand runs
# it), so a small driver links its object: stdin compressed to stdout, then
# decompressed and checked. Oracle: lz4.block.compress() with its defaults
# writes the same bytes, and lz4.block.decompress() reads ours back.
L=$TMPD/lzb
mkdir -p "$L"
cat >"$L/drv.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "codec_lz4block.h"
int main(void)
{
    size_t cap = 1 << 26, n = 0, r;
    unsigned char *in = malloc(cap), *out, *back;
    while ((r = fread(in + n, 1, cap - n, stdin)) > 0) n += r;
    size_t ocap = codec_lz4_block.bound(n, 1);
    out = malloc(ocap);
    back = malloc(n + 1);
    void *c = codec_lz4_block.create(1);
    size_t m = codec_lz4_block.compress(c, in, n, out, ocap);
    if (m > ocap || codec_lz4_block.content_size(out, m) != n) return 2;
    if (codec_lz4_block.decompress(c, out, m, back, n) != n || memcmp(in, back, n) != 0) return 3;
    if (m > 4 && codec_lz4_block.decompress(c, out, m - 1, back, n) == n) return 4;   /* truncated: refused */
    codec_lz4_block.destroy(c);
    fwrite(out, 1, m, stdout);
    return 0;
}
CEOF
if cc -std=c11 -Icodecs -Icommon -o "$L/drv" "$L/drv.c" build/codecs/codec_lz4block.o -llz4 2>"$L/cc.err"; then
  for p in config embeddings random; do
    "$REL" pickle "$p" >"$L/$p.pkl"
    rc=0; "$L/drv" <"$L/$p.pkl" >"$L/$p.lzb" || rc=$?
    if [ "$rc" = 0 ] && "$PY" -c '
import lz4.block, sys
d = open(sys.argv[1], "rb").read(); c = open(sys.argv[2], "rb").read()
sys.exit(0 if c == lz4.block.compress(d) and lz4.block.decompress(c) == d else 1)' "$L/$p.pkl" "$L/$p.lzb"
    then pass "lz4-block on $p: the bytes lz4.block.compress writes, round trip, truncation refused"
    else fail "lz4-block on $p" "driver exit $rc, or not python-lz4's bytes"; fi
  done
else
  fail "lz4-block driver builds" "$(head -c 300 "$L/cc.err")"
fi
