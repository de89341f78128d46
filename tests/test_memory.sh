#!/usr/bin/env bash
# shellcheck disable=SC2016 # awk programs in single quotes (tsv_awk and check take them as arguments)
# The streaming save variant and peak_bytes (bench/streaming.h,
# bench/memory.h). tests/c/test_memory.c (the release build: ASan's shadow
# memory would count in VmHWM) verifies a streaming save and save+store per
# codec (save leaves no file, save+store the stored file), bounds their
# peak_bytes and checks the count against VmHWM; it leaves each codec's
# streamed file (save+store's) and key, which Debian's python3 checks here as an
# independent oracle: key = sha1(blob), the file equals what python-lz4,
# zstandard, gzip.GzipFile(mtime=0) and zlib write for the blob in one call
# (and decodes to it). Then a quick run writes peak_bytes on every save and
# load row and none elsewhere.
. "$(dirname "$0")/lib.sh"

out=$TMPD/stream
mkdir -p "$out"
rc=0
"${CASBENCH_RELEASE%/casbench}/tests/test_memory" "$out" >"$TMPD/c.out" 2>"$TMPD/c.err" || rc=$?
grep -E '^(PASS|FAIL): ' "$TMPD/c.out"
case $rc in 0|1) ;; *) fail "test_memory" "exit $rc: $(tail -n 5 "$TMPD/c.err" | tr '\n' ' ')" ;; esac

"$PY" - "$out" <<'PYEOF'
import gzip, hashlib, io, os, sys, zlib
import lz4.frame, zstandard
d = sys.argv[1]
blob = open(os.path.join(d, "blob"), "rb").read()
def gz(b, level):
    f = io.BytesIO()
    with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=level, mtime=0) as g:
        g.write(b)
    return f.getvalue()
oracle = {
    "none": (lambda b: b, lambda s: s),
    "gzip": (lambda b: gz(b, 3), gzip.decompress),
    "lz4": (lambda b: lz4.frame.compress(b), lz4.frame.decompress),
    "zstd": (lambda b: zstandard.ZstdCompressor(level=3).compress(b),
             lambda s: zstandard.ZstdDecompressor().decompress(s)),
    "zlib": (lambda b: zlib.compress(b, 6), zlib.decompress),
}
key = hashlib.sha1(blob).hexdigest()
seen = 0
for name, (comp, decomp) in oracle.items():
    p = os.path.join(d, name + ".stored")
    if not os.path.exists(p):
        continue
    seen += 1
    stored = open(p, "rb").read()
    k = open(os.path.join(d, name + ".key")).read()
    print(("PASS" if k == key else "FAIL") + ": %s streaming: key is hashlib.sha1 of the blob" % name)
    print(("PASS" if decomp(stored) == blob else "FAIL") + ": %s streaming: python decodes the stored file to the blob" % name)
    print(("PASS" if comp(blob) == stored else "FAIL") + ": %s streaming: the stored file is byte for byte python's one-call stream" % name)
print(("PASS" if seen >= 4 else "FAIL") + ": streamed files of at least 4 codecs checked (%d)" % seen)
PYEOF

# peak_bytes through a run: on save and load rows (ok), on no other stage.
r=$TMPD/run
rc=0
"$CASBENCH" run --quick --payload metrics --codec lz4:0 --hash sha1 --variant sequential --variant streaming \
  --rounds 2 --min-time 0.0005 --out "$r" >/dev/null 2>"$TMPD/run.err" || rc=$?
check_eq "run with --variant streaming: exit 0" "0" "$rc"
M=$r/matrix.tsv
tsv() { awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } '"$1" "$M"; }
check_eq "a streaming save row, ok" "ok" "$(tsv '$col["variant"] == "streaming" { print $col["status"] }')"
check_eq "peak_bytes is an integer on every ok save and load row" "" \
  "$(tsv '($col["stage"] == "save" || $col["stage"] == "load") && $col["status"] == "ok" && $col["peak_bytes"] !~ /^[0-9]+$/ { print NR }')"
check_eq "peak_bytes is empty on every other stage" "" \
  "$(tsv '$col["stage"] != "save" && $col["stage"] != "load" && $col["stage"] !~ /^(save\+store|load\+verify)$/ && $col["peak_bytes"] != "" { print NR }')"
check "the save and load rows are there to check" test "$(tsv '$col["stage"] ~ /^(save|load)$/ { n++ } END { print n + 0 }')" -ge 3
check_eq "streaming and sequential store the same key" "1" \
  "$(tsv '$col["stage"] == "save" { print $col["key"] }' | sort -u | wc -l | tr -d ' ')"

# Payload names as results write them: python_memory.py names its rows so
# (casbench pickle --name), or the report would not pair them with C's.
check_eq "casbench pickle --name: weights:rows=1000 is weights" "weights" "$("$CASBENCH" pickle --name weights:rows=1000)"

# The Python side (infra/python_memory.py): each streaming save verified
# against sequential's key and stored bytes by the script (a row with status
# error otherwise); its peak below sequential's on a 2 MB array, whose
# numpy tobytes() copy it still holds.
p=$TMPD/pymem
rc=0
"$PY" infra/python_memory.py --payload metrics,weights:rows=250 --codec lz4:0,gzip:3 --repetitions 1 \
  --casbench "$CASBENCH_RELEASE" --out "$p" >/dev/null 2>"$TMPD/py.err" || rc=$?
check_eq "python_memory.py: exit 0 (every cell verified)" "0" "$rc"
M=$p/matrix.tsv
check_eq "python_memory.py: 8 ok rows with an integer peak_bytes" "8" \
  "$(tsv '$col["status"] == "ok" && $col["peak_bytes"] ~ /^[0-9]+$/ { n++ } END { print n + 0 }')"
seq_peak=$(tsv '$col["payload"] ~ /^weights/ && $col["codec"] == "lz4" && $col["variant"] == "sequential" { print $col["peak_bytes"] }')
str_peak=$(tsv '$col["payload"] ~ /^weights/ && $col["codec"] == "lz4" && $col["variant"] == "streaming" { print $col["peak_bytes"] }')
check "python streaming holds less than sequential on weights ($str_peak < $seq_peak bytes)" \
  test "${str_peak:-0}" -gt 0 -a "${str_peak:-0}" -lt "${seq_peak:-0}"

# The cpython mode's count against CPython's own VmHWM (issue 16: within
# 20 %): sequential saves of the 2 MB array. gzip:3 is the case where counting
# a chunk's capacity instead of what is written into it is wrong by 1.6x
# (zlib's output blocks, 5.4 MiB of them for a 1.9 MB stream).
c=$TMPD/cpy
rc=0
"$CASBENCH_RELEASE" run --payload weights:rows=250 --codec lz4:0,gzip:3 --hash sha1 --variant sequential \
  --alloc cpython --rounds 2 --min-time 0.0005 --out "$c" >/dev/null 2>"$TMPD/cpy.err" || rc=$?
check_eq "cpython sequential saves of the 2 MB array: exit 0" "0" "$rc"
for codec in lz4 gzip; do
  py_peak=$(tsv '$col["payload"] ~ /^weights/ && $col["codec"] == "'$codec'" && $col["variant"] == "sequential" { print $col["peak_bytes"] }')
  c_peak=$(M=$c/matrix.tsv; tsv '$col["stage"] == "save" && $col["codec"] == "'$codec'" { print $col["peak_bytes"] }')
  check "$codec: python's peak within 20 % of the cpython count ($py_peak against $c_peak bytes)" \
    awk -v p="${py_peak:-0}" -v c="${c_peak:-0}" 'BEGIN { exit !(c > 0 && p >= 0.8 * c && p <= 1.2 * c) }'
done
