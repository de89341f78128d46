#!/usr/bin/env bash
# The fast save variants (fused, overlapped, overlapped-spin) under the
# sanitizer build: every cell is verified and timed (status ok), its key is
# the digest of the pickled blob by the reference tools (sha1sum, b3sum), its
# stored size is what the reference libraries write for one-shot compression
# (CPython gzip level 3, python-lz4 lz4.frame.compress, python-zstandard
# level 3 with the content size); a broken codec makes fused and overlapped
# cells error rows, never timed; the hand-off itself under ThreadSanitizer.
# shellcheck disable=SC2016 # python programs in single quotes
. "$(dirname "$0")/lib.sh"
ROOT=$(pwd)
ASAN=$(realpath "$CASBENCH")
export CASBENCH_PLOTS_DIR=$ROOT/plots
cd "$TMPD" || exit 3

FAST=(--min-time 0.001 --repetitions 2)
VARIANTS=sequential,fused,overlapped,overlapped-spin
PAYLOADS=(config embeddings)     # 233 B and 800 KB (7 fused chunks)

for p in "${PAYLOADS[@]}"; do
  "$ASAN" pickle "$p" >"$p.pickle"
done
head -c 1100000 /dev/urandom >file.bin   # a given blob (no pickling), tail chunk of odd size

# ---- keys and stored bytes, every codec with streaming -------------------------
rc=0
"$ASAN" run --payload config,embeddings,"file:$TMPD/file.bin" --codec gzip:3,lz4:0,zstd:3,isal:1 \
  --hash sha1,blake3 --variant "$VARIANTS" --alloc both "${FAST[@]}" --out fs >fs.out 2>fs.err || rc=$?
check_eq "asan run of the fast variants exits 0, nothing on stderr" "0|" "$rc|$(cat fs.err)"
M=fs/matrix.tsv
# stage save, per payload, variant and alloc: the 4 codecs with sha1 (the key
# hash), and blake3 with lz4 and the fastest gzip-compatible codec: 3 x 4 x 2 x 6
check_eq "144 save rows, all ok" "144 ok" \
  "$(tsv_awk '$col["stage"] == "save"' "$M" | wc -l) $(tsv_awk '$col["stage"] == "save" {print $col["status"]}' "$M" | sort -u | paste -sd' ')"
check_eq "every variant with every codec" "$(printf '%s\n' {gzip,isal,lz4,zstd}/{fused,overlapped,overlapped-spin,sequential} | sort | paste -sd' ')" \
  "$(tsv_awk '$col["stage"] == "save" {print $col["codec"] "/" $col["variant"]}' "$M" | sort -u | paste -sd' ')"

key_of() {  # key_of PAYLOAD-COLUMN HASH FILE
  case "$2" in
    sha1) sha1sum "$3" | cut -d' ' -f1 ;;
    blake3) b3sum "$3" | cut -d' ' -f1 ;;
  esac
}
for p in config embeddings "file:$TMPD/file.bin"; do
  f=$p.pickle
  [ "${p#file:}" != "$p" ] && f=file.bin
  short=${p##*/}
  for h in sha1 blake3; do
    want=$(key_of "$p" "$h" "$f")
    for v in fused overlapped overlapped-spin; do
      check_eq "$short $h $v: every key equals the tool's digest of the blob" "$want" \
        "$(tsv_awk -v p="$p" -v h="$h" -v v="$v" '$col["payload"] == p && $col["stage"] == "save" && $col["hash"] == h && $col["variant"] == v {print $col["key"]}' "$M" | sort -u | paste -sd' ')"
    done
  done
  # The reference libraries' one-shot stream sizes for the same blob.
  ref=$("$PY" - "$f" <<'PYEOF'
import gzip, io, sys
import lz4.frame, zstandard
b = open(sys.argv[1], "rb").read()
buf = io.BytesIO()
with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=3, mtime=0) as g:
    g.write(b)
print("gzip=%d lz4=%d zstd=%d" % (len(buf.getvalue()), len(lz4.frame.compress(b)),
      len(zstandard.ZstdCompressor(level=3, write_content_size=True).compress(b))))
PYEOF
)
  for c in gzip lz4 zstd; do
    want=$(tr ' ' '\n' <<<"$ref" | sed -n "s/^$c=//p")
    check_eq "$short $c: every variant stores the reference library's stream size" "$want" \
      "$(tsv_awk -v p="$p" -v c="$c" '$col["payload"] == p && $col["stage"] == "save" && $col["codec"] == c {print $col["bytes_out"]}' "$M" | sort -u | paste -sd' ')"
  done
done
# isal: its streaming output may differ from one-shot (ISA-L ends a block where
# a call ends); the harness then checks only that it decodes to the blob.
check_eq "isal fused rows ok (a valid stream, verified by decoding)" "ok" \
  "$(tsv_awk '$col["stage"] == "save" && $col["codec"] == "isal" && $col["variant"] == "fused" {print $col["status"]}' "$M" | sort -u)"

# ---- the default plan: fast variants for lz4:0 and gzip:3 with sha1 only ----------
rc=0
"$ASAN" run --quick --payload config --codec gzip:3,lz4:0,zstd:1,libdeflate:6 --hash sha1,xxh3-64 \
  "${FAST[@]}" --out plan >/dev/null 2>plan.err || rc=$?
check_eq "default-plan run exits 0" "0|" "$rc|$(cat plan.err)"
check_eq "--quick: fast variants for lz4:0 (all three) and gzip:3 (overlapped) with sha1 only, cpython" \
  "gzip:3:sha1:cpython:overlapped lz4:0:sha1:cpython:fused lz4:0:sha1:cpython:overlapped lz4:0:sha1:cpython:overlapped-spin" \
  "$(tsv_awk '$col["stage"] == "save" && $col["variant"] != "sequential" {print $col["codec"] ":" $col["level"] ":" $col["hash"] ":" $col["alloc"] ":" $col["variant"]}' plan/matrix.tsv | sort -u | paste -sd' ')"
rc=0
"$ASAN" run --payload config --codec gzip:3,lz4:0,zstd:1 --hash sha1,xxh3-64 "${FAST[@]}" --out plan2 >/dev/null 2>plan2.err || rc=$?
check_eq "default profile: lz4:0 variants cpython and reuse, gzip:3 reuse only, no save+store variants" \
  "$rc|gzip:3:sha1:reuse:fused gzip:3:sha1:reuse:overlapped lz4:0:sha1:cpython:fused lz4:0:sha1:cpython:overlapped lz4:0:sha1:cpython:overlapped-spin lz4:0:sha1:reuse:fused lz4:0:sha1:reuse:overlapped lz4:0:sha1:reuse:overlapped-spin|sequential" \
  "0|$(tsv_awk '$col["stage"] == "save" && $col["variant"] != "sequential" {print $col["codec"] ":" $col["level"] ":" $col["hash"] ":" $col["alloc"] ":" $col["variant"]}' plan2/matrix.tsv | sort -u | paste -sd' ')|$(tsv_awk '$col["stage"] == "save+store" {print $col["variant"]}' plan2/matrix.tsv | sort -u)"
rc=0
"$ASAN" run --payload config --codec libdeflate:6,lz4:0 --hash sha1 --variant fused "${FAST[@]}" \
  --out nostream >/dev/null 2>&1 || rc=$?
check_eq "--variant fused: libdeflate (no streaming) gets no fused cell, lz4 does" "0 lz4" \
  "$rc $(tsv_awk '$col["stage"] == "save" {print $col["codec"]}' nostream/matrix.tsv | sort -u | paste -sd' ')"

# ---- --cpu N: the worker goes to another CPU -------------------------------------
if [ "$(nproc)" -ge 2 ]; then
  rc=0
  "$ASAN" run --cpu 0 --payload embeddings --codec lz4:0 --hash sha1 --variant overlapped,overlapped-spin \
    --alloc reuse "${FAST[@]}" --out pinned >/dev/null 2>&1 || rc=$?
  check_eq "--cpu 0: overlapped rows ok" "0 ok" "$rc $(tsv_awk '$col["stage"] == "save" {print $col["status"]}' pinned/matrix.tsv | sort -u)"
  wcpu=$(awk -F'\t' '$1 == "overlapped_worker_cpu" {print $2}' pinned/env.tsv)
  if [ -n "$wcpu" ] && [ "$wcpu" != 0 ] && [ "$wcpu" -lt "$(nproc --all)" ]; then
    pass "--cpu 0: env.tsv names another CPU for the worker ($wcpu)"
  else
    fail "--cpu 0: env.tsv names another CPU for the worker" "'$wcpu'"
  fi
  check_eq "unpinned: env.tsv says the worker is not pinned" "unpinned" \
    "$(awk -F'\t' '$1 == "overlapped_worker_cpu" {print $2}' fs/env.tsv)"
  # The worker thread's own affinity, read from /proc while a pinned cell
  # lives (cells live from their set-up to the end of the rounds; the set-up
  # of the cells before it can take a while on a loaded machine, so the
  # polling lasts as long as the run does, not a fixed count).
  "$ASAN" run --cpu 0 --payload embeddings --codec gzip:9 --hash sha1 --variant overlapped --alloc reuse \
    --repetitions 2 --min-time 0.3 --out pinned2 >/dev/null 2>&1 &
  bg=$!
  seen=""
  while :; do
    case $(awk '/^State:/ {print $2}' "/proc/$bg/status" 2>/dev/null) in ""|Z) break ;; esac
    for t in "/proc/$bg"/task/*; do
      l=$(awk '/^Cpus_allowed_list/ {print $2}' "$t/status" 2>/dev/null)
      [ "$l" = "$wcpu" ] && seen=$l
    done
    [ -n "$seen" ] && break
    sleep 0.05
  done
  wait "$bg"
  check_eq "--cpu 0: a thread of the run is pinned to the worker CPU (from /proc)" "$wcpu" "$seen"
fi

# ---- a broken codec: fused and overlapped cells are error rows, untimed ------------
rc=0
CASBENCH_TEST_BROKEN_CODEC=1 "$ASAN" run --payload config,embeddings --codec broken --hash sha1 \
  --variant fused,overlapped,overlapped-spin --alloc fresh "${FAST[@]}" --out broken >/dev/null 2>&1 || rc=$?
check_eq "broken codec run exits 0 (failed cells are rows)" "0" "$rc"
check_eq "broken codec: every save row is an error with no timing" "6 error" \
  "$(tsv_awk '$col["stage"] == "save"' broken/matrix.tsv | wc -l) $(tsv_awk '$col["stage"] == "save" {print $col["status"] ($col["median_ns"] == "" && $col["samples_ns"] == "" ? "" : "+timed")}' broken/matrix.tsv | sort -u | paste -sd' ')"
check_eq "broken codec: the message names the round trip" "6" \
  "$(tsv_awk '$col["stage"] == "save" && $col["message"] ~ /decompress\(compress\(blob\)\)/' broken/matrix.tsv | wc -l)"
check_eq "broken codec: no save cell in gbench.json" "0" \
  "$("$PY" -c 'import json, sys; print(sum("/save/" in b["name"] for b in json.load(open(sys.argv[1]))["benchmarks"]))' broken/gbench.json)"

# ---- C beside Python: the row identities line up -------------------------------
# A real small run of each: casbench --quick and infra/python_path.py --quick on
# the same payload, codecs and hashes (python_path.py takes its objects from
# casbench pickle), the C run in fresh (python_path.py labels its rows fresh).
# Rows that must pair up by identity (results/README.md): pickle fresh, hash
# reuse (x2), compress and decompress fresh (x2 each), load fresh (x2), save
# sequential fresh (2 codecs x 2 hashes), save overlapped fresh (lz4:0, gzip:3
# with sha1) = 15.
rc=0
"$ASAN" run --quick --alloc fresh --payload config --codec gzip:3,lz4:0 --hash sha1,xxh3-64 "${FAST[@]}" --out cq >/dev/null 2>&1 || rc=$?
"$ROOT/infra/python_path.py" --quick --casbench "$ROOT/build/casbench" --payload config --codec gzip:3,lz4:0 \
  --hash sha1,xxh3-64 --repetitions 3 --min-time 0.001 --out pq >/dev/null 2>pq.err || rc=$?
check_eq "C and Python quick runs exit 0" "0|" "$rc|$(cat pq.err)"
"$ASAN" compare cq pq >cmp.md 2>cmp.err
check_eq "compare C_RUN PY_RUN: 15 rows line up" "15 rows compared" \
  "$(grep -o '^[0-9]* rows compared' cmp.md)"
check_eq "compare names both runtimes" "c python" \
  "$(sed -n 's/^- [AB]: .* runtime \([a-z]*\), commit .*/\1/p' cmp.md | paste -sd' ')"
check_eq "the overlapped save rows pair up" 2 "$(grep -c '^| config 4 save overlapped \(gzip 3\|lz4 0\) sha1 fresh |' cmp.md)"
keyed_pairs=$(join -t "$(printf '\t')" <(tsv_awk 'NR > 1 && $col["key"] != "" {print $col["payload"] "/" $col["stage"] "/" $col["variant"] "/" $col["codec"] $col["level"] "/" $col["hash"] "/" $col["alloc"] "\t" $col["key"]}' cq/matrix.tsv | sort) \
                            <(tsv_awk 'NR > 1 && $col["key"] != "" {print $col["payload"] "/" $col["stage"] "/" $col["variant"] "/" $col["codec"] $col["level"] "/" $col["hash"] "/" $col["alloc"] "\t" $col["key"]}' pq/matrix.tsv | sort) | wc -l)
check "C and Python runs share keyed rows to compare" test "$keyed_pairs" -gt 0
check_eq "keys agree between C and Python on every paired row with a hash" "" \
  "$(join -t "$(printf '\t')" <(tsv_awk 'NR > 1 && $col["key"] != "" {print $col["payload"] "/" $col["stage"] "/" $col["variant"] "/" $col["codec"] $col["level"] "/" $col["hash"] "/" $col["alloc"] "\t" $col["key"]}' cq/matrix.tsv | sort) \
                            <(tsv_awk 'NR > 1 && $col["key"] != "" {print $col["payload"] "/" $col["stage"] "/" $col["variant"] "/" $col["codec"] $col["level"] "/" $col["hash"] "/" $col["alloc"] "\t" $col["key"]}' pq/matrix.tsv | sort) |
     awk -F'\t' '$2 != $3')"
check "report --python on the real pair" "$ASAN" report cq --python pq
# The report also pairs compress and decompress (C reuse, Python fresh: 4 more),
# and judges none of them: config is below 800 KB.
check_eq "the side-by-side section lists those 11 and the 4 codec rows of the other mode" 1 \
  "$(grep -c '^15 rows side by side; the rule applies to 0 of them and holds for 0\.$' cq/REPORT.md)"

# ---- the hand-off under ThreadSanitizer -----------------------------------------
if make -s --no-print-directory -C "$ROOT" tsan-tests >tsan.err 2>&1; then
  rc=0
  "$ROOT/build/tsan/tests/test_handoff" >tsan.out 2>>tsan.err || rc=$?
  check_eq "hand-off under TSan: both modes, pinned and not, no report" "0|5|" \
    "$rc|$(grep -c '^ok ' tsan.out)|$(grep -m1 'ThreadSanitizer' tsan.err)"
else
  fail "build the TSan hand-off test" "$(head -c 300 tsan.err)"
fi
