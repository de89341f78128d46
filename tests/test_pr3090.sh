#!/usr/bin/env bash
# casbench run --suite pr3090 (--quick), infra/python_path.py --suite pr3090
# (--quick) and the report's pr3090.tsv: every expected row, the round trip's
# stored bytes and _meta against what metaflow's code writes for the same
# blob (infra/metaflow_equiv.py, CPython's gzip, python3-lz4), and every one
# of the 114 published figures matched by a C and a Python measurement whose
# numbers are recomputed here from the runs' own rows.
. "$(dirname "$0")/lib.sh"
ROOT=$PWD
CB=$(realpath "$CASBENCH")
export PYTHONPATH=$ROOT/infra
export CASBENCH_PLOTS_DIR=$ROOT/plots
mkdir -p "$TMPD/results/reference" "$TMPD/keep"
cp "$ROOT/results/reference/pr3090-published.tsv" "$TMPD/results/reference/"
C=$TMPD/results/c P=$TMPD/results/py

check "run --suite pr3090 --quick" "$CB" run --suite pr3090 --quick --out "$C" --keep-stores "$TMPD/keep"
check "python_path.py --suite pr3090 --quick" "$PY" "$ROOT/infra/python_path.py" --suite pr3090 --quick --out "$P"

# --- every expected row, all ok ----------------------------------------------------
rows() {  # rows RUN_DIR -> "variant stage payload codec level hash" of its ok rows, sorted
  tsv_awk 'NR > 1 && $col["status"] == "ok" { print $col["variant"], $col["stage"], $col["payload"], $col["codec"], $col["level"], $col["hash"] }' "$1/matrix.tsv" | sort
}
"$PY" - >"$TMPD/want" <<'EOF'
real = ["pr3090-config", "pr3090-metrics", "pr3090-embeddings", "pr3090-weights", "pr3090-random"]
e2e = ["pattern:%d" % s for s in (1000, 100000, 1000000, 10000000)]
micro = ["pattern:%d" % s for s in (1000, 10000, 100000, 1000000, 10000000)]
ops = [("hash", "", "", "sha1"), ("hash", "", "", "xxh64"), ("compress", "gzip", "3", ""),
       ("compress", "gzip", "1", ""), ("decompress", "gzip", "3", ""), ("compress", "zlib", "3", ""),
       ("decompress", "zlib", "3", ""), ("compress", "lz4", "0", ""), ("decompress", "lz4", "0", "")]
out = []
for variant, payloads in (("pr3090-realistic", real), ("pr3090-e2e", e2e)):
    for p in payloads:
        for codec, level in (("gzip", "3"), ("lz4", "0")):
            for st in ("save", "load", "total"):
                out.append("%s roundtrip-%s %s %s %s sha1" % (variant, st, p, codec, level))
for p in micro:
    for stage, codec, level, h in ops:
        out.append(("pr3090-micro %s %s %s %s %s" % (stage, p, codec, level, h)))
print("\n".join(sorted(out)))
EOF
check_eq "C: the 99 expected rows, status ok" "$(cat "$TMPD/want")" "$(rows "$C")"
check_eq "Python: the same 99 rows, status ok" "$(cat "$TMPD/want")" "$(rows "$P")"
check_eq "C: no error row" 0 "$(tsv_awk 'NR > 1 && $col["status"] != "ok"' "$C/matrix.tsv" | wc -l)"
# peak_bytes (bench/memory.h): a forked child's VmHWM per call; a load holds
# at least the blob it returns.
check_eq "C: every roundtrip row has an integer peak_bytes" "" \
  "$(tsv_awk 'NR > 1 && $col["stage"] ~ /^roundtrip-/ && $col["peak_bytes"] !~ /^[0-9]+$/ { print NR }' "$C/matrix.tsv")"
check_eq "C: a roundtrip-load peak holds at least the blob it returns" "" \
  "$(tsv_awk 'NR > 1 && $col["stage"] == "roundtrip-load" && $col["peak_bytes"] + 0 < $col["pickled_bytes"] + 0 { print NR }' "$C/matrix.tsv")"
check "C: there are roundtrip rows to check" test "$(tsv_awk 'NR > 1 && $col["stage"] ~ /^roundtrip-/' "$C/matrix.tsv" | wc -l)" -ge 3

# --- the round trip's stores are metaflow's bytes ------------------------------------
out=$("$PY" - "$C" "$TMPD/keep" "$CB" <<'EOF'
import csv, gzip, hashlib, json, os, subprocess, sys
from io import BytesIO
import lz4.frame
from metaflow_equiv import ContentAddressedStore, LocalStorage
run, keep, cb = sys.argv[1:]
rows = {}
for r in csv.DictReader(open(os.path.join(run, "matrix.tsv")), delimiter="\t"):
    if r["stage"] == "roundtrip-save":
        rows[(r["payload"], r["codec"] + ":" + r["level"], r["hash"])] = r
problems, checked = [], 0
for d in sorted(os.listdir(keep)):
    n, rest = d.split("-", 1)
    payload, codec, hname = rest.rsplit("-", 2)
    r = rows[(payload, codec, hname)]
    if payload.startswith("pattern:"):
        size = int(payload.split(":")[1])
        blob = (bytes(range(256)) * (size // 256 + 1))[:size]
    else:
        blob = subprocess.run([cb, "pickle", payload, "--numpy", "2"], check=True,
                              stdout=subprocess.PIPE).stdout
    unique = blob + (int(r["repetitions"]) - 1).to_bytes(4, "big")
    key = hashlib.sha1(unique).hexdigest()
    root = os.path.join(keep, d)
    if key != r["key"]:
        problems.append("%s: key %s, matrix says %s" % (d, key, r["key"]))
    files = sorted(os.path.relpath(os.path.join(a, f), root) for a, _, fs in os.walk(root) for f in fs)
    if files != ["cas/%s/%s" % (key[:2], key), "cas/%s/%s_meta" % (key[:2], key)]:
        problems.append("%s: files %s" % (d, files))
        continue
    path = os.path.join(root, "cas", key[:2], key)
    stored = open(path, "rb").read()
    version = 1 if codec.startswith("gzip") else 2
    if open(path + "_meta", "rb").read() != json.dumps({"cas_raw": False, "cas_version": version}).encode():
        problems.append("%s: _meta" % d)
    if version == 1:
        buf = BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=3,
                           mtime=int.from_bytes(stored[4:8], "little")) as g:
            g.write(unique)
        want = buf.getvalue()
    else:
        want = lz4.frame.compress(unique)
    if stored != want:
        problems.append("%s: stored bytes are not metaflow's" % d)
    if list(ContentAddressedStore("cas", LocalStorage(root)).load_blobs([key])) != [(key, unique)]:
        problems.append("%s: metaflow's load_blobs does not return the blob" % d)
    if str(len(stored)) != r["bytes_out"]:
        problems.append("%s: bytes_out %s, stored %d" % (d, r["bytes_out"], len(stored)))
    checked += 1
print("; ".join(problems) or "ok %d" % checked)
EOF
)
check_eq "the 18 kept round-trip stores: key, files, _meta and bytes as metaflow writes them" "ok 18" "$out"

# --- the report: pr3090.tsv -----------------------------------------------------------
check "report RUN --python PYRUN" "$CB" report "$C" --python "$P"
T=$C/pr3090.tsv
out=$("$PY" - "$T" "$TMPD/results/reference/pr3090-published.tsv" "$C" "$P" <<'EOF'
import csv, math, sys
tsv, pub, crun, prun = sys.argv[1:]
rows = list(csv.DictReader(open(tsv), delimiter="\t"))
published = list(csv.DictReader(open(pub), delimiter="\t"))
runs = {rt: list(csv.DictReader(open(d + "/matrix.tsv"), delimiter="\t")) for rt, d in (("c", crun), ("python", prun))}
spec = {"config": "pr3090-config", "metrics": "pr3090-metrics", "embeddings": "pr3090-embeddings",
        "weights": "pr3090-weights", "random": "pr3090-random"}
def median_interval(x):
    """Independent reading of the rule: largest k with binomial coverage >= 95 %."""
    s, n = sorted(x), len(x)
    cov = lambda k: 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2 ** n
    k = max([k for k in range(1, (n + 1) // 2 + 1) if cov(k) >= 0.95] or [1])
    return s[k - 1], s[n - k]
problems = []
if len(rows) != 2 * len(published) or len(published) != 114:
    problems.append("%d rows for %d figures" % (len(rows), len(published)))
for rt in ("c", "python"):
    mine = [r for r in rows if r["runtime"] == rt]
    for p, r in zip(published, mine):
        ident = (p["suite"], p["payload"], p["codec"], p["metric"])
        if ident != (r["suite"], r["payload"], r["codec"], r["metric"]) or r["published"] != p["value"]:
            problems.append("%s %s: row order or published value" % (rt, ident)); continue
        if not r["measured"]:
            problems.append("%s %s: not measured" % (rt, ident)); continue
        payload = spec.get(p["payload"], "pattern:%s" % p["blob_bytes"])
        stage = {"save": "roundtrip-save", "load": "roundtrip-load", "total": "roundtrip-total",
                 "hash": "hash", "decompress": "decompress"}.get(p["metric"], "compress")
        codec, level, h = ("", "", p["codec"]) if stage == "hash" else \
            (p["codec"].split(":")[0], p["codec"].split(":")[1], "sha1" if stage.startswith("roundtrip") else "")
        m = [x for x in runs[rt] if (x["payload"], x["stage"], x["variant"], x["codec"], x["level"], x["hash"]) ==
             (payload, stage, "pr3090-" + p["suite"], codec, level, h)]
        if len(m) != 1:
            problems.append("%s %s: %d matrix rows" % (rt, ident, len(m))); continue
        m = m[0]
        if p["metric"] == "compressed_bytes":
            want = float(m["bytes_out"])
        elif p["metric"] == "compressed/original":
            want = float(m["bytes_out"]) / float(m["pickled_bytes"])
        else:
            want = float(m["mean_ns"]) / 1e6
            lo, hi = median_interval([float(v) / 1e6 for v in m["samples_ns"].split(",")])
            if not (math.isclose(float(r["median_lo"]), lo, rel_tol=1e-4) and
                    math.isclose(float(r["median_hi"]), hi, rel_tol=1e-4)):
                problems.append("%s %s: interval [%s, %s], want [%g, %g]" % (rt, ident, r["median_lo"], r["median_hi"], lo, hi))
        if not math.isclose(float(r["measured"]), want, rel_tol=1e-4):
            problems.append("%s %s: measured %s, want %g" % (rt, ident, r["measured"], want))
        if not math.isclose(float(r["measured/published"]), want / float(p["value"]), rel_tol=1e-4):
            problems.append("%s %s: ratio" % (rt, ident))
print("; ".join(problems[:5]) or "ok")
EOF
)
check_eq "pr3090.tsv: 114 figures x (c, python), each measured, numbers recomputed from the runs' rows" ok "$out"
check_eq "the gzip:3 stream sizes of the pattern blobs equal the published ones (C)" \
  "$(awk -F'\t' '$7 == "compressed_bytes" { print $8 }' "$TMPD/results/reference/pr3090-published.tsv")" \
  "$(awk -F'\t' '$4 == "compressed_bytes" && $9 == "c" { print $7 }' "$T")"
R=$C/REPORT.md
check_eq "REPORT.md: the PR section with the speedup table" 1 "$(grep -c '^Round-trip speedup per payload' "$R")"
check_eq "REPORT.md: one 'why' line per round-trip payload" 9 "$(grep -c '^- \(realistic\|e2e\) `' "$R")"
check_eq "REPORT.md: 114 figure lines" 114 "$(grep -c '^| \(realistic\|e2e\|micro\) | [A-Za-z0-9-]* | [a-z0-9:]* | [a-z_/]* | [0-9.]* | [0-9.]' "$R")"

# --- bad input ------------------------------------------------------------------------
check_error "--suite nosuch: exit 2" 2 "$CB" run --suite nosuch
check_error "--suite with --numpy 3: exit 2" 2 "$CB" run --suite pr3090 --numpy 3
check_error "--suite with --tmp missing: exit 2" 2 "$CB" run --suite pr3090 --tmp "$TMPD/none"
check_error "--suite with --keep-stores a file: exit 2" 2 "$CB" run --suite pr3090 --keep-stores "$T"
check_error "--suite with --out a file: exit 2" 2 "$CB" run --suite pr3090 --out "$T"
check_error "--suite with --out not empty: exit 2" 2 "$CB" run --suite pr3090 --out "$C"
check_error "--suite with an unknown flag: exit 1" 1 "$CB" run --suite pr3090 --payload config
check_error_prog "python_path --suite nosuch: exit 2" 2 python_path.py "$PY" "$ROOT/infra/python_path.py" --suite nosuch
check_error_prog "python_path --suite with --metaflow not a dir: exit 2" 2 python_path.py \
  "$PY" "$ROOT/infra/python_path.py" --suite pr3090 --metaflow "$T"
check_error_prog "python_path --suite with --metaflow-pr holding no metaflow: exit 2" 2 python_path.py \
  "$PY" "$ROOT/infra/python_path.py" --suite pr3090 --metaflow-pr "$TMPD/keep"
