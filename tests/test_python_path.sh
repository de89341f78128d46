#!/usr/bin/env bash
# infra/python_path.py: a --quick run writes casbench's schema (header from
# results/README.md), every row ok, keys equal to the real tools' digests of
# the pickled blob; objects taken from a casbench binary; bad flags.
# shellcheck disable=SC2016 # awk programs and bash -c scripts in single quotes
. "$(dirname "$0")/lib.sh"
PP=infra/python_path.py

# The header, as results/README.md documents it: the backticked names in the
# first column of its column table, in order.
want_header=$(awk -F'|' '/^## matrix.tsv columns/ {t = 1; next} t && /^## / {t = 0}
  t && /^\| `/ {print $2}' results/README.md | grep -o '`[a-z_+]*`' | tr -d '`' | paste -sd'\t')
check "the schema lists 32 columns" test "$(tr '\t' '\n' <<<"$want_header" | wc -l)" = 32

run=$TMPD/run
out=$("$PP" --quick --objects-from python --payload config,metrics --out "$run" 2>"$TMPD/pp.err")
check_eq "quick run exits 0, prints the run directory, nothing on stderr" "0|$run|" "$?|$out|$(cat "$TMPD/pp.err")"
M=$run/matrix.tsv
check_eq "matrix.tsv header is exactly the schema's" "$want_header" "$(head -n 1 "$M")"
check_eq "every row has 32 fields" "32" "$(awk -F'\t' '{print NF}' "$M" | sort -u | paste -sd' ')"
# 6 codec levels, 6 hashes: pickle 1 + hash 6 + per codec (compress, decompress, load,
# 6 load+verify, 6 save) 15, and 2 overlapped saves -> 99 rows a payload.
# Plus the per-call cost rows (payload and stage `overhead`), once a run: pickle 1,
# pickle of a one-element array 1, hash 6, compress/decompress/load of each
# codec level 18, a pass of GzipFile.read()'s loop of each gzip level 2,
# BytesIO 2, the worker hand-off 1, the local datastore's small-file write 1
# -> 32.
check_eq "rows: 99 per payload, 32 per-call cost rows" "198|32" \
  "$(tsv_awk 'NR > 1 && $col["payload"] != "overhead"' "$M" | wc -l)|$(tsv_awk 'NR > 1 && $col["payload"] == "overhead" && $col["stage"] == "overhead"' "$M" | wc -l)"
check_eq "every row status ok" "ok" "$(col "$M" status | sort -u | paste -sd' ')"
check_eq "stages as the schema names them" "compress decompress hash load load+verify overhead pickle save" \
  "$(col "$M" stage | sort -u | paste -sd' ')"
check_eq "per-call cost rows: each binding, BytesIO, the hand-off, the store" \
  "bytesio bytesio-read compress:gzip:3 compress:gzip:9 compress:lz4:0 compress:none:0 compress:zstd:1 compress:zstd:3 decompress:6 hash:6 load:6 load-chunk:2 pickle pickle-ndarray store:gzip:3 thread-handoff" \
  "$(tsv_awk '$col["stage"] == "overhead" {v = $col["variant"]; if (v == "compress" || v == "store") v = v ":" $col["codec"] ":" $col["level"]; print v}' "$M" | sort | uniq -c |
     awk '{print ($1 > 1 ? $2 ":" $1 : $2)}' | paste -sd' ')"
# load-chunk counts per pass of the loop (512 passes a call): below the
# whole GzipFile read of b'' it is a part of.
check_eq "load-chunk: a pass costs less than GzipFile(...).read() of b''" "" \
  "$(tsv_awk '$col["stage"] == "overhead" && $col["variant"] == "load" && $col["codec"] == "gzip" {l[$col["level"]] = $col["median_ns"]}
     $col["stage"] == "overhead" && $col["variant"] == "load-chunk" {c[$col["level"]] = $col["median_ns"]}
     END {for (k in c) if (!(k in l) || c[k] + 0 <= 0 || c[k] + 0 >= l[k] + 0) print k, c[k], l[k]}' "$M")"
# Each per-call cost is the call on an empty input: below the same call on
# metrics' 50 KB (an overhead row that timed the data would not be).
check_eq "per-call cost of each binding below the same call on metrics" "" \
  "$(tsv_awk '$col["stage"] == "overhead" && $col["variant"] ~ /^(pickle|hash|compress|decompress|load)$/ {o[$col["variant"] "/" $col["codec"] $col["level"] "/" $col["hash"]] = $col["median_ns"]}
     $col["payload"] == "metrics" && $col["stage"] ~ /^(pickle|hash|compress|decompress|load)$/ {m[$col["stage"] "/" $col["codec"] $col["level"] "/" $col["hash"]] = $col["median_ns"]}
     END {for (k in m) if (!(k in o) || o[k] + 0 >= m[k] + 0) print k; for (k in o) if (!(k in m)) print "no stage row " k}' "$M" "$M" | sort | head -n 3)"
check_eq "codec names and levels" "gzip:3 gzip:9 lz4:0 none:0 zstd:1 zstd:3" \
  "$(tsv_awk 'NR > 1 && $col["codec"] != "" {print $col["codec"] ":" $col["level"]}' "$M" | sort -u | paste -sd' ')"
check_eq "hash names" "blake2b sha1 sha256 xxh3-128 xxh3-64 xxh64" \
  "$(tsv_awk 'NR > 1 && $col["hash"] != "" {print $col["hash"]}' "$M" | sort -u | paste -sd' ')"
check_eq "alloc: hash rows reuse (results/README.md), every other row fresh; protocol 4" "hash:reuse|other:fresh|4" \
  "$(tsv_awk 'NR > 1 && $col["payload"] != "overhead" {print ($col["stage"] == "hash" ? "hash:" : "other:") $col["alloc"]}' "$M" | sort -u | paste -sd'|')|$(col "$M" protocol | sort -u)"
check_eq "save variants: sequential everywhere, overlapped for lz4:0 and gzip:3 with sha1" \
  "gzip:3:sha1:overlapped lz4:0:sha1:overlapped" \
  "$(tsv_awk '$col["stage"] == "save" && $col["variant"] != "sequential" {print $col["codec"] ":" $col["level"] ":" $col["hash"] ":" $col["variant"]}' "$M" | sort -u | paste -sd' ')"
check_eq "timing columns consistent (min <= median <= max, one sample per repetition, MB/s = bytes_in / median)" "" \
  "$(tsv_awk 'NR > 1 { n = split($col["samples_ns"], s, ","); mb = $col["bytes_in"] / $col["median_ns"] * 1e3;
      if (!($col["min_ns"] <= $col["median_ns"] && $col["median_ns"] <= $col["max_ns"]) || n != $col["repetitions"] || $col["iterations"] < 1 || (mb - $col["mb_per_s"]) ^ 2 > (0.001 + mb * 1e-3) ^ 2) print NR }' "$M" | head -n 3)"

# The oracle: the real tools' digests of the blob python_path.py pickles.
digest() {  # digest HASH FILE
  case "$1" in
    sha1) sha1sum "$2" | cut -d' ' -f1 ;;
    sha256) sha256sum "$2" | cut -d' ' -f1 ;;
    blake2b) b2sum "$2" | cut -d' ' -f1 ;;
    xxh64) xxhsum -H1 "$2" | cut -d' ' -f1 ;;
    xxh3-64) xxhsum -H3 "$2" | sed 's/.* = //' ;;
    xxh3-128) xxhsum -H2 "$2" | cut -d' ' -f1 ;;
  esac
}
for p in config metrics; do
  "$PP" --objects-from python --pickle "$p" >"$TMPD/$p.pickle"
  check_eq "$p: pickled_bytes is the blob's size" "$(wc -c <"$TMPD/$p.pickle")" \
    "$(tsv_awk -v p="$p" '$col["payload"] == p {print $col["pickled_bytes"]}' "$M" | sort -u)"
  # The fallback objects are Python's own (not casbench's: "real casbench
  # objects" below checks CPython against casbench's pickler byte for byte);
  # here: a protocol-4 stream holding the documented kind of object (a dict).
  check "$p: --pickle writes a protocol-4 pickle of a dict" "$PY" -c '
import pickle, sys
b = open(sys.argv[1], "rb").read()
assert b[:2] == b"\x80\x04" and b[2:3] == b"\x95", "protocol 4 starts with PROTO 4 and a FRAME"
assert type(pickle.loads(b)) is dict' "$TMPD/$p.pickle"
  for h in sha1 sha256 blake2b xxh64 xxh3-64 xxh3-128; do
    d=$(digest "$h" "$TMPD/$p.pickle")
    check_eq "$p $h: every key equals the tool's digest" "$d" \
      "$(tsv_awk -v p="$p" -v h="$h" '$col["payload"] == p && $col["hash"] == h {print $col["key"]}' "$M" | sort -u | paste -sd' ')"
    check_eq "$p $h: hash bytes_out is the digest size" "$(( ${#d} / 2 ))" \
      "$(tsv_awk -v p="$p" -v h="$h" '$col["payload"] == p && $col["stage"] == "hash" && $col["hash"] == h {print $col["bytes_out"]}' "$M")"
  done
  check_eq "$p: ratio = pickled_bytes / compressed size, and load gives the blob back" "" \
    "$(tsv_awk -v p="$p" '$col["payload"] == p && $col["stage"] == "compress" {c[$col["codec"] $col["level"]] = $col["bytes_out"]}
       $col["payload"] == p && $col["codec"] != "" { r = $col["pickled_bytes"] / c[$col["codec"] $col["level"]]; if ((r - $col["ratio"]) ^ 2 > 1e-10) print NR }
       $col["payload"] == p && ($col["stage"] == "load" || $col["stage"] == "decompress") && ($col["bytes_out"] != $col["pickled_bytes"] || $col["bytes_in"] != c[$col["codec"] $col["level"]]) {print NR}' "$M")"
done
# The oracle is metaflow's own packing (infra/metaflow_equiv.py, written from
# metaflow's ContentAddressedStore and checked against metaflow by
# tests/test_store.sh), not this script's call again.
check_eq "the gzip:3 stream is metaflow's: its size equals metaflow's cas_version 1 packing of the blob" \
  "$(PYTHONPATH=infra "$PY" -c '
import sys
from metaflow_equiv import ContentAddressedStore
print(len(ContentAddressedStore("p", None, cas_version=1)._pack(open(sys.argv[1], "rb").read()).getvalue()))' "$TMPD/metrics.pickle")" \
  "$(tsv_awk '$col["payload"] == "metrics" && $col["stage"] == "compress" && $col["codec"] == "gzip" && $col["level"] == 3 {print $col["bytes_out"]}' "$M")"

E=$run/env.tsv
envv() { awk -F'\t' -v k="$1" '$1 == k {print $2}' "$E"; }
check_eq "env.tsv: runtime python" python "$(envv runtime)"
check_eq "env.tsv: the python version" "$("$PY" -c 'import platform; print(platform.python_version())')" "$(envv python_version)"
check_eq "env.tsv: hostname" "$(hostname)" "$(envv hostname)"
check_eq "env.tsv: kernel" "$(uname -r)" "$(envv kernel)"
check "env.tsv: library versions, CPU model, UTC time" bash -c \
  'for k in numpy_version python_lz4_version python_zstandard_version python_xxhash_version zlib_version openssl_version cpu_model; do
     grep -q "^$k	." "$1" || exit 1; done; grep -Eq "^utc_time	[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$" "$1"' _ "$E"
check_eq "env.tsv: key<TAB>value rows only" 2 "$(awk -F'\t' '{print NF}' "$E" | sort -u)"
check_eq "env.tsv: each payload's numpy arrays (none in config and metrics)" "0|0" "$(envv ndarrays_config)|$(envv ndarrays_metrics)"
# The count the prediction prices each array's reduce by: arrays in lists,
# tuples, dict keys and values, at any depth; an array's own elements and
# bytes are no arrays.
check_eq "count_ndarrays: the arrays of a nested object, none of a plain one" "4|0|1" \
  "$("$PY" -c '
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("pp", sys.argv[1])
pp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pp)
nested = {"a": [np.zeros(1), (np.zeros(2), [np.ones((2, 2))])], 3: {"k": np.arange(3)}, "b": b"x"}
print("%d|%d|%d" % (pp.count_ndarrays(nested), pp.count_ndarrays({"a": [1.0, "s", (2,)]}),
                    pp.count_ndarrays(np.zeros((3, 3)))))' "$PP")"

# Objects from a casbench binary: a stand-in that pickles with CPython, so the
# plumbing is tested whatever the state of the real `casbench pickle`.
cat >"$TMPD/fake-casbench" <<EOF
#!/bin/bash
[ "\$1" = --version ] && { echo "casbench 0.0.0 (fake)"; exit 0; }
[ "\$1" = pickle ] && [ "\$2" = config ] || { echo "casbench: \$2: unknown payload" >&2; exit 2; }
exec $PY -c 'import pickle, sys; sys.stdout.buffer.write(pickle.dumps({"a": 1, "b": [1.5, "x"]}, protocol=4))'
EOF
chmod +x "$TMPD/fake-casbench"
"$PP" --quick --casbench "$TMPD/fake-casbench" --payload config --codec lz4 --hash sha1 --out "$TMPD/cb" >/dev/null 2>&1
check_eq "objects from casbench: exit 0" 0 "$?"
"$TMPD/fake-casbench" pickle config >"$TMPD/cb.pickle"
check_eq "objects from casbench: the key is sha1sum of casbench's blob" "$(sha1sum <"$TMPD/cb.pickle" | cut -d' ' -f1)" \
  "$(tsv_awk '$col["stage"] == "hash" {print $col["key"]}' "$TMPD/cb/matrix.tsv")"
check_eq "objects from casbench: env.tsv names the source and the binary's version" "casbench|casbench 0.0.0 (fake)" \
  "$(awk -F'\t' '$1 == "objects_from" {a = $2} $1 == "casbench_version" {b = $2} END {print a "|" b}' "$TMPD/cb/env.tsv")"
check_error_prog "objects from casbench: its bad-payload status is input" 2 python_path.py \
  "$PP" --casbench "$TMPD/fake-casbench" --payload nosuch --out "$TMPD/cb2"
# The real binary: the objects are its very objects.
"$CASBENCH" pickle config >"$TMPD/real.pickle"
"$CASBENCH" pickle metrics >"$TMPD/real-metrics.pickle"
"$PP" --quick --casbench "$CASBENCH" --payload config,metrics --codec none --hash sha1 --out "$TMPD/real" >/dev/null 2>&1
check_eq "real casbench objects: exit 0" 0 "$?"
check_eq "real casbench objects: CPython re-pickles config to casbench's bytes (sha1)" \
  "$(sha1sum <"$TMPD/real.pickle" | cut -d' ' -f1)" "$(tsv_awk '$col["payload"] == "config" && $col["stage"] == "hash" {print $col["key"]}' "$TMPD/real/matrix.tsv")"
check_eq "real casbench objects: CPython re-pickles metrics to casbench's bytes (sha1)" \
  "$(sha1sum <"$TMPD/real-metrics.pickle" | cut -d' ' -f1)" "$(tsv_awk '$col["payload"] == "metrics" && $col["stage"] == "hash" {print $col["key"]}' "$TMPD/real/matrix.tsv")"

# A cell that fails verification: a row with status error and no timing; the rest measured.
rc=0; PYTHON_PATH_FAULT=lz4:0 "$PP" --quick --objects-from python --payload config --codec lz4,zstd:1 --hash sha1 \
  --out "$TMPD/fault" >/dev/null 2>&1 || rc=$?
check_eq "a failing cell: exit 4" 4 "$rc"
check_eq "a failing cell: the 6 lz4 rows (compress, decompress, load, load+verify, save sequential and overlapped) are errors, the 7 others (pickle, hash, 5 zstd) ok" \
  "lz4 compress - error|lz4 decompress - error|lz4 load - error|lz4 load+verify - error|lz4 save overlapped error|lz4 save sequential error|ok 7" \
  "$(tsv_awk 'NR > 1 && $col["payload"] == "overhead" {next} NR > 1 && $col["codec"] == "lz4" {print $col["codec"], $col["stage"], ($col["variant"] == "" ? "-" : $col["variant"]), $col["status"]} NR > 1 && $col["codec"] != "lz4" {n[$col["status"]]++} END {for (k in n) print k, n[k]}' \
     "$TMPD/fault/matrix.tsv" | sort | paste -sd'|')"
check_eq "a failing cell: empty timing columns, a one-line message" "" \
  "$(tsv_awk 'NR > 1 && $col["status"] == "error" && ($col["repetitions"] $col["iterations"] $col["median_ns"] $col["mean_ns"] $col["stddev_ns"] $col["min_ns"] $col["max_ns"] $col["cv"] $col["mb_per_s"] $col["samples_ns"] != "" || $col["message"] !~ /round trip differs/) {print NR}' "$TMPD/fault/matrix.tsv")"

# ---- errors ----
mkdir "$TMPD/exists"; echo keep >"$TMPD/exists/matrix.tsv"
check_error_prog "--out that exists" 2 python_path.py "$PP" --quick --objects-from python --payload config --out "$TMPD/exists"
check_eq "--out that exists is left alone" keep "$(cat "$TMPD/exists/matrix.tsv")"
check_error_prog "unknown flag" 1 python_path.py "$PP" --frobnicate
check_error_prog "stray argument" 1 python_path.py "$PP" config
check_error_prog "flag without value" 1 python_path.py "$PP" --payload
check_error_prog "unknown payload" 2 python_path.py "$PP" --objects-from python --payload nosuch --out "$TMPD/x1"
check_error_prog "unknown codec" 2 python_path.py "$PP" --codec brotli
check_error_prog "level not measured" 2 python_path.py "$PP" --codec gzip:5
check_error_prog "blake3: no Debian module" 2 python_path.py "$PP" --hash blake3
check_error_prog "unknown hash" 2 python_path.py "$PP" --hash md5
check_error_prog "bad --repetitions" 2 python_path.py "$PP" --repetitions 0
check_error_prog "bad --min-time" 2 python_path.py "$PP" --min-time abc
check_error_prog "bad --protocol" 2 python_path.py "$PP" --protocol 6
check_error_prog "bad --objects-from" 2 python_path.py "$PP" --objects-from ruby
check_error_prog "missing casbench binary" 3 python_path.py "$PP" --casbench "$TMPD/nope" --out "$TMPD/x2"
check_eq "no run directory left by the failures" "" "$(ls -d "$TMPD"/x1 "$TMPD"/x2 "$TMPD"/cb2 2>/dev/null)"
check "--help exits 0 and documents the exit statuses" bash -c '"$1" --help | grep -q "^exit status:"' _ "$PP"
