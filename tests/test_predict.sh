#!/usr/bin/env bash
# The prediction of CPython's rows (report/report_predict.c, predict.tsv) and
# the Python side timed in a C run's rounds (run --python, bench/pyserve.c):
#   - on the report fixture with per-call cost rows added: predict.tsv's
#     columns, and its arithmetic recomputed by an independent oracle from
#     both matrix.tsv files; the section's shares and its list of misses;
#   - the same with C twins of the per-call cost rows (payload overhead):
#     each cost loses exactly its twin's figure, a hash's twin and the
#     hand-off's replace their estimates (which stay in a run without
#     them), and no other section, plot or compare figure moves;
#   - a live quick run with --python: Python rows with one sample per C
#     round, the report finding RUN/python by itself; a Python side that
#     dies in round 1 or cannot start leaves the C run whole, said in one line.
# shellcheck disable=SC2016 # awk and python programs in single quotes
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/report
CB=$(realpath "$CASBENCH")
export CASBENCH_PLOTS_DIR=$PWD/plots

# append_rows MATRIX CODE: the rows CODE (Python) makes with
# row(median_ns, FIELD=VALUE...) appended to MATRIX, in its columns: a
# per-call cost row (payload overhead, protocol 4, the 5-byte pickle of 0)
# of three rounds around that median, unless FIELDs say otherwise.
append_rows() {
  "$PY" - "$1" "$2" <<'PYEOF'
import sys
p = sys.argv[1]
lines = open(p).read().splitlines()
cols = lines[0].split("\t")
def row(med, **fields):
    d = dict(payload="overhead", protocol="4", pickled_bytes="5", repetitions="3", median_ns=repr(med),
             mean_ns=repr(med), stddev_ns="1.0", min_ns=repr(med - 1), max_ns=repr(med + 1), cv="0.001",
             mb_per_s="0", samples_ns="%r,%r,%r" % (med - 1, med, med + 1), status="ok")
    d.update(fields)
    lines.append("\t".join(d.get(c, "") for c in cols))
exec(sys.argv[2])
open(p, "w").write("\n".join(lines) + "\n")
PYEOF
}

# ---- the fixture ------------------------------------------------------------
cp -r "$FIX/run" "$TMPD/run"
cp -r "$FIX/python" "$TMPD/python"
mkdir -p "$TMPD/reference" && cp results/reference/pr3090-published.tsv "$TMPD/reference/" 2>/dev/null
# Per-call cost rows as python_path.py writes them (stage overhead, payload
# overhead); synthetic figures, one a variant. compress/decompress/load of
# zstd:3 are left out: its rows must then be left out of predict.tsv.
append_rows "$TMPD/python/matrix.tsv" '
rows = [("pickle", "", "", "", 400.0), ("hash", "", "", "sha1", 700.0), ("hash", "", "", "sha256", 750.0),
        ("hash", "", "", "blake2b", 800.0), ("hash", "", "", "xxh64", 250.0), ("hash", "", "", "xxh3-128", 260.0),
        ("thread-handoff", "", "", "", 20000.0), ("store", "gzip", "3", "", 600000.0),
        ("load-chunk", "gzip", "3", "", 1000.0)]
for st, base in (("compress", 5000.0), ("decompress", 2000.0), ("load", 8000.0)):
    for codec, level in (("gzip", "3"), ("lz4", "0"), ("none", "0")):
        rows.append((st, codec, level, "", base + len(codec) * 10))
for v, codec, level, h, med in rows:
    row(med, stage="overhead", variant=v, codec=codec, level=level, hash=h,
        alloc="reuse" if v == "hash" else "fresh", bytes_in="0", bytes_out="0", iterations="100")
'
report() { (cd "$TMPD" && "$CB" report "$@" >/dev/null 2>"$TMPD/report.err"); }
check "report --python on the fixture" report run --python python
cp -r "$TMPD/run" "$TMPD/tw0"   # without twins (below)
T=$TMPD/run/predict.tsv
check_eq "predict.tsv: the agreed columns, in order, then the documented extra ones" \
  "payload stage variant codec level hash predicted_ms python_ms ratio predicted_lo_ms predicted_hi_ms c_alloc c_ms overhead_ms explanation" \
  "$(head -n 1 "$T" | tr '\t' ' ')"

# The oracle: predicted = the C cell (cpython, else fresh, else reuse) + the
# sum of the overhead rows of the calls the stage makes, from the two
# matrix.tsv files alone.
"$PY" - "$TMPD/run/matrix.tsv" "$TMPD/python/matrix.tsv" "$T" >"$TMPD/oracle" <<'PYEOF'
import csv, sys
def rows(p):
    return list(csv.DictReader(open(p), delimiter="\t", quoting=csv.QUOTE_NONE))
c_rows, py_rows, pred = rows(sys.argv[1]), rows(sys.argv[2]), rows(sys.argv[3])
over = {(r["variant"], r["codec"], r["level"], r["hash"]): float(r["median_ns"]) for r in py_rows
        if r["stage"] == "overhead" and r["status"] == "ok"}
def calls(r):
    cl = (r["codec"], r["level"])
    s, v, h = r["stage"], r["variant"], r["hash"]
    if s == "pickle": return [("pickle", "", "", "")]
    if s == "hash": return [("hash", "", "", h)]
    if s in ("compress", "decompress", "load"): return [(s,) + cl + ("",)]
    if s == "load+verify": return [("load",) + cl + ("",), ("hash", "", "", h)]
    if s == "save" and v in ("sequential", "overlapped"):
        return [("pickle", "", "", ""), ("hash", "", "", h), ("compress",) + cl + ("",)] + \
               ([("thread-handoff", "", "", "")] if v == "overlapped" else [])
    return None
want = {}
for r in py_rows:
    if r["status"] != "ok" or r["stage"] == "overhead" or r["protocol"] != "4":
        continue
    c = None
    for a in ("cpython", "fresh", "reuse"):
        m = [x for x in c_rows if x["status"] == "ok" and x["protocol"] == "4" and all(
            x[k] == r[k] for k in ("payload", "stage", "variant", "codec", "level", "hash")) and x["alloc"] == a]
        if m:
            c = m[0]
            break
    cs = calls(r)
    if c is None or cs is None or any(k not in over for k in cs):
        continue
    # a hash's fixed C cost (the intercept through its C rows of the smallest
    # and largest input, cpython rows else reuse) is in the C cell already
    def fixed(h):
        for a in ("cpython", "reuse"):
            hs = sorted((int(x["bytes_in"]), float(x["median_ns"])) for x in c_rows if x["status"] == "ok"
                        and x["stage"] == "hash" and x["hash"] == h and x["alloc"] == a and x["payload"] != "sweep")
            if hs:
                (ns, ts), (nl, tl) = hs[0], hs[-1]
                if nl <= ns:
                    return 0.0
                return min(max(ts - ns * (tl - ts) / (nl - ns), 0.0), ts)
        return 0.0
    # C's own hand-off to its worker (overlapped less sequential on the
    # smallest payload with both, within [0, overlapped]) is in the C cell too
    def handoff():
        ok = [x for x in c_rows if x["status"] == "ok" and x["protocol"] == "4" and x["stage"] == "save"
              and all(x[k] == c[k] for k in ("codec", "level", "hash", "alloc"))]
        pairs = sorted((int(o["bytes_in"]), float(o["median_ns"]), float(q["median_ns"])) for o in ok for q in ok
                       if o["variant"] == "overlapped" and q["variant"] == "sequential" and o["payload"] == q["payload"])
        return min(max(pairs[0][1] - pairs[0][2], 0.0), pairs[0][1]) if pairs else 0.0
    o = sum(max(over[k] - (fixed(k[3]) if k[3] else handoff() if k[0] == "thread-handoff" else 0.0), 0.0)
            for k in cs)
    # GzipFile.read()'s loop: one pass per 8 KiB read of the stream after its header
    lc = ("load-chunk", r["codec"], r["level"], "")
    if r["stage"] in ("load", "load+verify") and lc in over and int(r["bytes_in"] or 0) > 10:
        o += -(-(int(r["bytes_in"]) - 10) // 8192) * over[lc]
    p = (float(c["median_ns"]) + o) / 1e6
    want[(r["payload"], r["stage"], r["variant"], r["codec"], r["level"], r["hash"])] = (
        p, float(r["median_ns"]) / 1e6, c["alloc"])
bad = []
got = set()
for r in pred:
    k = (r["payload"], r["stage"], r["variant"], r["codec"], r["level"], r["hash"])
    got.add(k)
    if k not in want:
        bad.append("extra row %s" % (k,)); continue
    p, py, alloc = want[k]
    pm, pym, ratio = float(r["predicted_ms"]), float(r["python_ms"]), float(r["ratio"])
    if abs(pm - p) > 1e-6 + 1e-6 * p or abs(pym - py) > 1e-6 + 1e-6 * py or abs(ratio - py / p) > 1e-3 * ratio \
            or r["c_alloc"] != alloc or not float(r["predicted_lo_ms"]) <= pm <= float(r["predicted_hi_ms"]):
        bad.append("%s: got %s %s %s %s, want %.6f %.6f %.4f %s" % (k, pm, pym, ratio, r["c_alloc"], p, py, py / p, alloc))
    if (abs(py / p - 1) > 0.10) != (r["explanation"] != ""):
        bad.append("%s: explanation %r with ratio %.3f" % (k, r["explanation"], py / p))
for k in want:
    if k not in got:
        bad.append("missing row %s" % (k,))
n = len(want)
near = sum(abs(py / p - 1) <= 0.10 for p, py, _ in want.values())
far = sum(abs(py / p - 1) <= 0.25 for p, py, _ in want.values())
print("rows %d near %d far %d zstd %d" % (n, near, far, sum(k[3] == "zstd" for k in want)))
print("\n".join(bad[:5]) if bad else "ok")
PYEOF
check_eq "predict.tsv: every row equals the oracle's C cell + per-call costs, ratio, alloc, interval around it" \
  ok "$(tail -n +2 "$TMPD/oracle")"
read -r _ n _ near _ far _ nzstd <<<"$(head -n 1 "$TMPD/oracle")"
check "predict.tsv: the fixture gives rows, some of them misses" test "$n" -gt 10 -a "$near" -lt "$n"
check_eq "predict.tsv: a stage whose per-call cost was not measured (zstd:3) is left out" 0 "$nzstd"
R=$TMPD/run/REPORT.md
sec=$(sed -n '/^## [0-9]*\. What metaflow would see/,/^## /p' "$R")
check_eq "the section states the shares the oracle computes" \
  "$(awk -v n="$n" -v a="$near" -v b="$far" 'BEGIN {printf "%d rows: %d (%.0f %%) within +-10 %%, %d (%.0f %%) within +-25 %%", n, a, 100 * a / n, b, 100 * b / n}')" \
  "$(grep -o '^[0-9]* rows: .* within +-25 %' <<<"$sec")"
check_eq "the section lists every row outside +-10 % once, each with a reason" "$((n - near))" \
  "$(grep -c '^| [a-z]* | [a-z+]* | .* | [^|]*[a-z][^|]* |$' <<<"$(grep '^| ' <<<"$sec" | tail -n +2)")"
check_eq "predict.tsv's misses are the section's" \
  "$(tsv_awk 'NR > 1 && $col["explanation"] != "" {print $col["payload"], $col["stage"]}' "$T" | sort | paste -sd,)" \
  "$(grep '^| ' <<<"$sec" | tail -n +2 | awk -F' [|] ' '{print substr($1, 3), $2}' | sort | paste -sd,)"
check_eq "the section counts the misses' reasons as predict.tsv's explanations show them" \
  "$(for k in 'different code' 'allocation faults' 'per-call cost dominates' 'cop(y|ies) of the' 'noisy rounds' 'not explained'; do
       tsv_awk 'NR > 1' "$T" | cut -f15 | grep -Ec "$k"; done | paste -sd' ')" \
  "$(grep -o 'different code [0-9]*; allocation faults that differ [0-9]*; per-call cost dominating [0-9]*; one or more copies of the blob [0-9]*; noisy rounds [0-9]*; none of these [0-9]*' <<<"$sec" | grep -o '[0-9]*' | paste -sd' ')"
cp -r "$TMPD/python" "$TMPD/python.over"
# `report RUN` finds RUN/python without --python.
mv "$TMPD/python" "$TMPD/run/python"
cp "$T" "$TMPD/predict.first"
rm "$T"
check "report RUN with RUN/python, no --python" report run
check_eq "report RUN finds RUN/python: the same predict.tsv" "" "$(diff "$TMPD/predict.first" "$T" 2>&1)"
rm -r "$TMPD/run/python" "$T"
check "report RUN without any Python run" report run
check "without a Python run the section says how to get one, no predict.tsv" bash -c \
  '! [ -e "$1" ] && grep -q "^No Python run. .casbench run --python." "$2"' _ "$T" "$R"

# ---- the C twins of the per-call cost rows (plan.h plan_overhead) ------------
# The fixture run reported above (tw0, whose predict.tsv the oracle checked:
# without twins, the estimates) again with C's own calls on the overhead rows'
# inputs (payload overhead, as `run --python` writes them; one twin, compress
# none:0, costs more than its Python row: the cost is then 0, never negative;
# the hand-off's twin is stage thread-handoff, variant overlapped; one, of
# compress gzip:3, on other bytes than its Python row's, is no twin). tw2:
# the same without the hand-off's twin (a run of an older casbench).
cp -r "$FIX/run" "$TMPD/tw1"
append_rows "$TMPD/tw1/matrix.tsv" '
twins = [("pickle", "", "", "", 150.0), ("hash", "", "", "sha1", 300.0), ("compress", "lz4", "0", "", 1000.0),
         ("compress", "none", "0", "", 9000.0), ("decompress", "gzip", "3", "", 500.0), ("load", "lz4", "0", "", 700.0),
         ("thread-handoff", "", "", "", 6000.0), ("compress", "gzip", "3", "", 100.0)]
for st, codec, level, h, med in twins:
    # the fixture Python overhead rows read bytes_in 0; compress gzip:3 "twin" does not
    row(med, stage=st, codec=codec, level=level, hash=h, variant="overlapped" if st == "thread-handoff" else "",
        alloc="cpython", bytes_in="28" if (st, codec) == ("compress", "gzip") else "0", bytes_out="5",
        iterations="1000", round_group="overhead/p4/" + st, spread="0.001", drift="0", flag="few")
'
cp -r "$FIX/run" "$TMPD/tw2"
grep -v $'^overhead\t.*\tthread-handoff\t' "$TMPD/tw1/matrix.tsv" >"$TMPD/tw2/matrix.tsv"
cp -r "$TMPD/python.over" "$TMPD/python"
check "report of the fixture with twins" report tw1 --python python
check "report of the fixture with twins but the hand-off's" report tw2 --python python
rm -r "$TMPD/python"
check_eq "with twins: each per-call cost loses exactly its twin's figure (at most the cost), sha1's and the hand-off's twins replace their estimates, rows without a twin (or with one on other bytes) stay; without the hand-off's twin, its estimate" ok \
  "$("$PY" - "$TMPD/tw0/predict.tsv" "$TMPD/tw1/predict.tsv" "$TMPD/python.over/matrix.tsv" "$TMPD/tw2/predict.tsv" "$TMPD/tw2/matrix.tsv" <<'PYEOF'
import csv, sys
def rows(p):
    return list(csv.DictReader(open(p), delimiter="\t", quoting=csv.QUOTE_NONE))
ident = ("payload", "stage", "variant", "codec", "level", "hash")
old = {tuple(r[k] for k in ident): r for r in rows(sys.argv[1])}
new = {tuple(r[k] for k in ident): r for r in rows(sys.argv[2])}
over = {(r["variant"], r["codec"], r["level"], r["hash"]): float(r["median_ns"]) for r in rows(sys.argv[3])
        if r["stage"] == "overhead"}
twin = {("pickle", "", "", ""): 150.0, ("hash", "", "", "sha1"): 300.0, ("compress", "lz4", "0", ""): 1000.0,
        ("compress", "none", "0", ""): 9000.0, ("decompress", "gzip", "3", ""): 500.0, ("load", "lz4", "0", ""): 700.0,
        ("thread-handoff", "", "", ""): 6000.0}
HANDOFF = ("thread-handoff", "", "", "")
def calls(r):
    s, cl = r["stage"], (r["codec"], r["level"], "")
    return {"pickle": [("pickle", "", "", "")], "hash": [("hash", "", "", r["hash"])],
            "compress": [("compress",) + cl], "decompress": [("decompress",) + cl], "load": [("load",) + cl]}.get(s)
def save_calls(r):
    if r["stage"] != "save" or r["variant"] not in ("sequential", "overlapped"):
        return None
    return [("pickle", "", "", ""), ("hash", "", "", r["hash"]), ("compress", r["codec"], r["level"], "")] + \
        ([HANDOFF] if r["variant"] == "overlapped" else [])
# tw2, without the hand-off's twin: C's own hand-off is the estimate, the
# overlapped save less the sequential one (same codec, hash and alloc) on
# the smallest payload with both, within [0, overlapped]
c2 = [r for r in rows(sys.argv[5]) if r["status"] == "ok" and r["stage"] == "save" and r["protocol"] == "4"]
def handoff_estimate(p):
    same = [x for x in c2 if all(x[k] == p[k] for k in ("codec", "level", "hash")) and x["alloc"] == p["c_alloc"]]
    pairs = sorted((int(o["bytes_in"]), float(o["median_ns"]), float(q["median_ns"])) for o in same for q in same
                   if o["variant"] == "overlapped" and q["variant"] == "sequential" and o["payload"] == q["payload"])
    return min(max(pairs[0][1] - pairs[0][2], 0.0), pairs[0][1]) if pairs else 0.0
bad, moved, hashes, saves, fallback, other = [], 0, 0, 0, 0, 0
if set(old) != set(new):
    bad.append("rows differ: %s" % (set(old) ^ set(new)))
tw2 = {tuple(r[k] for k in ident): r for r in rows(sys.argv[4])}
for k, o in old.items():
    n, cs = new.get(k), calls(o)
    sc = save_calls(o) if n is not None and o["hash"] == "sha1" else None
    if sc and all(c in over for c in sc):
        # every call of the save has its twin or none (sha1's replaces the
        # estimate): the cost is exactly the rows less their twins
        want = sum(max(over[c] - twin.get(c, 0.0), 0.0) for c in sc) / 1e6
        saves += HANDOFF in sc
        if abs(float(n["overhead_ms"]) - want) > 2e-6:
            bad.append("%s: overhead_ms %s, want %.6f" % (k, n["overhead_ms"], want))
        if HANDOFF in sc:
            m = tw2.get(k)
            est = handoff_estimate(n)
            want2 = want + (max(over[HANDOFF] - est, 0.0) - max(over[HANDOFF] - twin[HANDOFF], 0.0)) / 1e6
            fallback += est > 0
            if m is None or abs(float(m["overhead_ms"]) - want2) > 2e-6:
                bad.append("%s without the hand-off's twin: overhead_ms %s, want %.6f" % (
                    k, m and m["overhead_ms"], want2))
    if n is None or cs is None:
        continue
    if cs[0][0] == "hash" and cs[0] in twin:
        # the estimate gives way: the cost is the row less its twin
        want = (over[cs[0]] - twin[cs[0]]) / 1e6
        hashes += 1
        if abs(float(n["overhead_ms"]) - want) > 2e-6:
            bad.append("%s: overhead_ms %s, want %.6f" % (k, n["overhead_ms"], want))
        continue
    d = sum(min(twin[c], over[c]) for c in cs if c in twin) / 1e6
    moved += d > 0
    other += ("compress", "gzip", "3", "") in cs
    if abs(float(o["predicted_ms"]) - float(n["predicted_ms"]) - d) > 2e-6 or \
            abs(float(o["overhead_ms"]) - float(n["overhead_ms"]) - d) > 2e-6 or o["c_ms"] != n["c_ms"]:
        bad.append("%s: predicted %s -> %s, overhead %s -> %s, want less by %.6f" % (
            k, o["predicted_ms"], n["predicted_ms"], o["overhead_ms"], n["overhead_ms"], d))
    if ("compress", "none", "0", "") in cs and float(n["overhead_ms"]) != 0:
        bad.append("%s: a twin above its row leaves %s ms, not 0" % (k, n["overhead_ms"]))
print("\n".join(bad[:5]) if bad else "ok" if moved >= 5 and hashes >= 1 and saves >= 2 and fallback >= 1 and other >= 1
      else "only %d rows moved, %d hash rows, %d overlapped saves, %d hand-off estimates, %d rows of a twin on other bytes"
      % (moved, hashes, saves, fallback, other))
PYEOF
)"
# Every section but the prediction's and the recommendation (which prices
# predict.tsv) is the same, every plot's data too, and compare sees no twin.
sections() { awk '/^## [0-9]*\. /{s = $0} s !~ /What metaflow would see|Recommendation/' "$1" | sed -E "s#(tw[01]|run)#RUN#g"; }
check_eq "with twins: every other section of REPORT.md is unchanged" "" \
  "$(diff <(sections "$TMPD/tw0/REPORT.md") <(sections "$TMPD/tw1/REPORT.md"))"
# The sentence counts the twins the predictions took: of the fixture's 8, the
# one on other bytes and those no Python row of the fixture uses are not.
check_eq "with twins: the section says what it subtracts (the hand-off: its twin, else the estimate), without it does not" "1|1|1|0" \
  "$(grep -c "the run's 5 rows of payload .overhead.*overlapped save's worker and waited for, its twin" "$TMPD/tw1/REPORT.md")|$(grep -c "the run's 4 rows of payload .overhead.*overlapped save less the sequential one" "$TMPD/tw2/REPORT.md")|$(grep -c "the run's 4 rows of payload .overhead." "$TMPD/tw2/REPORT.md")|$(grep -c "rows of payload .overhead." "$TMPD/tw0/REPORT.md")"
check_eq "with twins: every plot's data file is unchanged" "" \
  "$(diff -r "$TMPD/tw0/plots" "$TMPD/tw1/plots" -x '*.png' -x '*.svg' | sed "s#$TMPD/tw[01]#RUN#g")"
check_eq "with twins: compare judges the same rows as without (no twin among them)" "" \
  "$(diff <("$CB" compare "$TMPD/tw0" "$TMPD/tw0" | sed "s#$TMPD/tw[01]#RUN#g") \
          <("$CB" compare "$TMPD/tw0" "$TMPD/tw1" | sed "s#$TMPD/tw[01]#RUN#g") 2>&1)"

# ---- numpy arrays: one reduce each (python/env.tsv ndarrays_PAYLOAD) ----------
# The fixture with twins (tw1) again, its Python side told that embeddings
# holds 2 arrays and metrics 0, with a `pickle-ndarray` row of 4,400 ns (the
# `pickle` row: 400). embeddings' pickle and the saves that pickle it then
# cost 2 x (4,400 - 400) ns more, round by round; every other row is the
# same. nd.low: a `pickle-ndarray` row below `pickle` adds nothing.
for v in nd nd.low; do
  cp -r "$TMPD/python.over" "$TMPD/python.$v"
  printf 'ndarrays_embeddings\t2\nndarrays_metrics\t0\n' >>"$TMPD/python.$v/env.tsv"
done
append_rows "$TMPD/python.nd/matrix.tsv" '
row(4400.0, stage="overhead", variant="pickle-ndarray", alloc="fresh", bytes_in="0", bytes_out="0", iterations="100")'
append_rows "$TMPD/python.nd.low/matrix.tsv" '
row(300.0, stage="overhead", variant="pickle-ndarray", alloc="fresh", bytes_in="0", bytes_out="0", iterations="100")'
cp -r "$TMPD/tw1" "$TMPD/nd1" && rm -f "$TMPD/nd1/predict.tsv"
cp -r "$TMPD/tw1" "$TMPD/nd2" && rm -f "$TMPD/nd2/predict.tsv"
check "report of the fixture with 2 arrays in embeddings" report nd1 --python python.nd
check "report of the fixture with a pickle-ndarray row below pickle" report nd2 --python python.nd.low
check_eq "arrays: embeddings' pickle and pickling saves gain 2 x (pickle-ndarray - pickle), nothing else moves; a row below pickle adds 0" ok \
  "$("$PY" - "$TMPD/tw1/predict.tsv" "$TMPD/nd1/predict.tsv" "$TMPD/nd2/predict.tsv" <<'PYEOF'
import csv, sys
def rows(p):
    return {tuple(r[k] for k in ("payload", "stage", "variant", "codec", "level", "hash")): r
            for r in csv.DictReader(open(p), delimiter="\t", quoting=csv.QUOTE_NONE)}
base, nd, low = (rows(p) for p in sys.argv[1:4])
bad, moved = [], 0
if not (set(base) == set(nd) == set(low)):
    bad.append("rows differ")
for k, b in base.items():
    pickles = k[1] == "pickle" or (k[1] == "save" and k[2] in ("sequential", "overlapped"))
    want = 2 * (4400.0 - 400.0) / 1e6 if k[0] == "embeddings" and pickles else 0.0
    moved += want > 0
    for name, got, w in (("nd", nd.get(k), want), ("nd.low", low.get(k), 0.0)):
        if got is None or abs(float(got["overhead_ms"]) - float(b["overhead_ms"]) - w) > 2e-6 or \
                abs(float(got["predicted_ms"]) - float(b["predicted_ms"]) - w) > 2e-6:
            bad.append("%s %s: overhead %s -> %s, want +%.6f" % (name, k, b["overhead_ms"], got and got["overhead_ms"], w))
print("\n".join(bad[:5]) if bad else "ok" if moved >= 3 else "only %d rows moved" % moved)
PYEOF
)"
check_eq "arrays: the section says so, with the rows it priced; not without arrays" "1|0" \
  "$(grep -c "numpy arrays (python/env.tsv .ndarrays_PAYLOAD.).*(6 rows)" "$TMPD/nd1/REPORT.md")|$(grep -c "numpy arrays" "$TMPD/tw1/REPORT.md")"

# ---- live: the Python side in the rounds of a C run -------------------------
live() {  # live OUT [ENV=V...] -- [casbench run args]
  local out=$1; shift
  env "$@" "$CASBENCH" run --quick --payload config --codec lz4:0,gzip:3 --hash sha1,blake3,xxh3-64 --rounds 3 \
    --out "$TMPD/$out" --python="$PY" >"$TMPD/$out.out" 2>"$TMPD/$out.err"
}
rc=0; live served PYTHON_PATH_IGNORED=1 || rc=$?
check_eq "run --python: exit 0" 0 "$rc"
PM=$TMPD/served/python/matrix.tsv
check_eq "run --python: RUN/python is a python run (env.tsv runtime, timing in the run's rounds)" "python|yes" \
  "$(awk -F'\t' '$1 == "runtime" {r = $2} $1 == "timing" {t = ($2 ~ /^rounds of the casbench run/) ? "yes" : "no"} END {print r "|" t}' "$TMPD/served/python/env.tsv")"
check_eq "run --python: every C row and every Python row has one sample per round (3)" "C 3|P 3" \
  "C $(tsv_awk 'NR > 1 {print $col["repetitions"] "," split($col["samples_ns"], s, ",")}' "$TMPD/served/matrix.tsv" | sort -u | paste -sd' ' | sed 's/,3$//')|P $(tsv_awk 'NR > 1 {print $col["repetitions"] "," split($col["samples_ns"], s, ",")}' "$PM" | sort -u | paste -sd' ' | sed 's/,3$//')"
check_eq "run --python: the Python rows (blake3 has no module: left out, said on stderr)" \
  "config compress gzip:3 -|config compress lz4:0 -|config decompress gzip:3 -|config decompress lz4:0 -|config hash : sha1|config hash : xxh3-64|config load gzip:3 -|config load lz4:0 -|config pickle : -|config save gzip:3 sha1|config save lz4:0 sha1" \
  "$(tsv_awk 'NR > 1 && $col["payload"] != "overhead" && $col["variant"] != "overlapped" {print $col["payload"], $col["stage"], $col["codec"] ":" $col["level"], ($col["hash"] == "" ? "-" : $col["hash"])}' "$PM" | sort | paste -sd'|')"
check_eq "run --python: per-call cost rows (stage overhead), all ok" \
  "bytesio bytesio-read compress decompress hash load load-chunk pickle pickle-ndarray store thread-handoff|ok" \
  "$(tsv_awk 'NR > 1 && $col["stage"] == "overhead" {print $col["variant"]}' "$PM" | sort -u | paste -sd' ')|$(tsv_awk 'NR > 1 && $col["stage"] == "overhead" {print $col["status"]}' "$PM" | sort -u)"
check_eq "run --python: nothing on stderr but the skipped hash" "blake3" \
  "$(grep -v '^python_path.py: blake3: ' "$TMPD/served.err"; grep -c '^python_path.py: blake3: ' "$TMPD/served.err" | sed 's/^1$/blake3/')"
check "report on the served run" report served
# Each twin in the mode of the C cells a prediction of its stage starts
# from (--quick: compress and decompress reuse; a hash reuse, xxh3-64
# cpython, its binding's own code; the rest cpython).
check_eq "run --python: the C twins of the overhead rows (payload overhead, pickle at protocol 4), ok, each in its stage's mode" \
  "compress gzip:3 - reuse|compress lz4:0 - reuse|decompress gzip:3 - reuse|decompress lz4:0 - reuse|hash : blake3 reuse|hash : sha1 reuse|hash : xxh3-64 cpython|load gzip:3 - cpython|load lz4:0 - cpython|pickle : - cpython|thread-handoff : - cpython|ok 4|5" \
  "$(tsv_awk 'NR > 1 && $col["payload"] == "overhead" {print $col["stage"], $col["codec"] ":" $col["level"], ($col["hash"] == "" ? "-" : $col["hash"]), $col["alloc"]}' "$TMPD/served/matrix.tsv" | sort | paste -sd'|')|$(tsv_awk 'NR > 1 && $col["payload"] == "overhead" {print $col["status"], $col["protocol"]}' "$TMPD/served/matrix.tsv" | sort -u)|$(tsv_awk 'NR > 1 && $col["payload"] == "overhead" && $col["stage"] == "pickle" {print $col["bytes_out"]}' "$TMPD/served/matrix.tsv")"
# The twins' inputs are the Python rows' (python_path.py bench_overhead): the
# 5-byte pickle of 0 (its stream for decompress and load), no bytes for the
# hand-off; the C twin and the Python row agree on pickled_bytes and bytes_in.
check_eq "run --python: every twin reads what its Python overhead row reads (pickled_bytes, bytes_in)" ok \
  "$("$PY" - "$TMPD/served/matrix.tsv" "$PM" <<'PYEOF'
import csv, sys
def rows(p):
    return list(csv.DictReader(open(p), delimiter="\t", quoting=csv.QUOTE_NONE))
py = {(r["variant"], r["codec"], r["level"], r["hash"]): r for r in rows(sys.argv[2])
      if r["status"] == "ok" and r["stage"] == "overhead"}
bad, n = [], 0
for t in rows(sys.argv[1]):
    if t["payload"] != "overhead":
        continue
    o = py.get((t["stage"], t["codec"], t["level"], t["hash"]))
    if o is None:
        continue
    n += 1
    want = {"thread-handoff": "0", "decompress": t["bytes_in"], "load": t["bytes_in"]}.get(t["stage"], "5")
    if (t["pickled_bytes"], t["bytes_in"]) != (o["pickled_bytes"], o["bytes_in"]) or t["bytes_in"] != want:
        bad.append("%s %s:%s %s: C %s/%s, Python %s/%s" % (t["stage"], t["codec"], t["level"], t["hash"],
                   t["pickled_bytes"], t["bytes_in"], o["pickled_bytes"], o["bytes_in"]))
print("\n".join(bad[:5]) if bad else "ok" if n >= 10 else "only %d twins" % n)
PYEOF
)"
check_eq "report RUN writes predict.tsv from RUN/python: config's rows" \
  "compress decompress hash load pickle save" \
  "$(tsv_awk 'NR > 1 {print $col["stage"]}' "$TMPD/served/predict.tsv" | sort -u | paste -sd' ')"

# Timed in the same rounds, the ratio pairs the rounds: the median over them of
# the Python sample / (the C sample of that round + the per-call cost row's
# sample of that round less its C twin's of that round, at least 0);
# recomputed where one overhead row is the whole cost (pickle, compress,
# decompress).
check_eq "report on the served run: ratio = median of the per-round ratios, recomputed from both matrix.tsv" ok \
  "$("$PY" - "$TMPD/served/matrix.tsv" "$PM" "$TMPD/served/predict.tsv" <<'PYEOF'
import csv, statistics, sys
def rows(p):
    return list(csv.DictReader(open(p), delimiter="\t", quoting=csv.QUOTE_NONE))
ident = ("payload", "stage", "variant", "codec", "level", "hash")
def samples(r):
    return [float(x) for x in r["samples_ns"].split(",")]
c = {tuple(r[k] for k in ident) + (r["alloc"],): r for r in rows(sys.argv[1]) if r["status"] == "ok"}
py = {tuple(r[k] for k in ident): r for r in rows(sys.argv[2]) if r["status"] == "ok"}
# the C twin of the overhead row: the same call on its input (payload overhead)
twin = {(r["stage"], r["codec"], r["level"], r["hash"]): r for r in rows(sys.argv[1])
        if r["status"] == "ok" and r["payload"] == "overhead"}
bad, n = [], 0
for t in rows(sys.argv[3]):
    if t["stage"] not in ("pickle", "compress", "decompress"):
        continue
    k = tuple(t[x] for x in ident)
    cs, ps = samples(c[k + (t["c_alloc"],)]), samples(py[k])
    os_ = samples(py[("overhead", "overhead", t["stage"], t["codec"], t["level"], "")])
    ts = samples(twin[(t["stage"], t["codec"], t["level"], "")])
    want = statistics.median(p / (q + max(o - w, 0)) for p, q, o, w in zip(ps, cs, os_, ts))
    n += 1
    if not len(cs) == len(ps) == len(os_) == len(ts) or abs(float(t["ratio"]) - want) > 1e-4 + 1e-3 * want:
        bad.append("%s: ratio %s, want %.4f" % (k, t["ratio"], want))
print("\n".join(bad[:5]) if bad else "ok" if n > 3 else "only %d rows" % n)
PYEOF
)"

# xxh3-64: python3-xxhash runs libxxhash's plain entry points, so its C row
# for the prediction is the cpython one (hash.h py_update), verified to the
# same digest as the dispatched reuse row; sha1 has no other code: reuse.
check_eq "xxh3-64's hash rows: reuse and cpython, one key; the prediction starts from cpython, sha1's from reuse" \
  "cpython reuse|1|cpython|reuse" \
  "$(tsv_awk 'NR > 1 && $col["payload"] == "config" && $col["stage"] == "hash" && $col["hash"] == "xxh3-64" {print $col["alloc"]}' "$TMPD/served/matrix.tsv" | sort | paste -sd' ')|$(tsv_awk 'NR > 1 && $col["payload"] == "config" && $col["stage"] == "hash" && $col["hash"] == "xxh3-64" {print $col["key"]}' "$TMPD/served/matrix.tsv" | sort -u | wc -l)|$(tsv_awk '$col["stage"] == "hash" && $col["hash"] == "xxh3-64" {print $col["c_alloc"]}' "$TMPD/served/predict.tsv")|$(tsv_awk '$col["stage"] == "hash" && $col["hash"] == "sha1" {print $col["c_alloc"]}' "$TMPD/served/predict.tsv")"

# The Python side dies at round 1: the C run completes its 3 rounds.
rc=0; live died PYTHON_PATH_DIE_AT_ROUND=1 || rc=$?
check_eq "python side dies: the C run exits 0" 0 "$rc"
check_eq "python side dies: one line says so" 1 "$(grep -c '^casbench: python side (infra/python_path.py --serve): exited with status 9' "$TMPD/died.err")"
check_eq "python side dies: every C row ok with 3 rounds, as many as without --python" \
  "ok 3|$(tail -n +2 "$TMPD/served/matrix.tsv" | wc -l)" \
  "$(tsv_awk 'NR > 1 {print $col["status"], $col["repetitions"]}' "$TMPD/died/matrix.tsv" | sort -u | paste -sd,)|$(tail -n +2 "$TMPD/died/matrix.tsv" | wc -l)"
check_eq "python side dies: its round 0 is kept (one sample a row)" 1 \
  "$(tsv_awk 'NR > 1 {print $col["repetitions"]}' "$TMPD/died/python/matrix.tsv" | sort -u)"
# An interpreter that does not exist: nothing to serve, one line.
rc=0; "$CASBENCH" run --quick --payload config --codec lz4:0 --hash sha1 --rounds 2 --out "$TMPD/nopy" \
  --python="$TMPD/no-such-python" >/dev/null 2>"$TMPD/nopy.err" || rc=$?
check_eq "python missing: exit 0, one line on stderr, C rows ok, no RUN/python" "0|1|ok|" \
  "$rc|$(wc -l <"$TMPD/nopy.err")|$(tsv_awk 'NR > 1 {print $col["status"]}' "$TMPD/nopy/matrix.tsv" | sort -u)|$(ls -d "$TMPD/nopy/python" 2>/dev/null)"
# A module missing on the Python side (numpy, shadowed): its reason, in casbench's one line.
mkdir -p "$TMPD/nonumpy" && echo 'raise ImportError("No module named numpy (shadowed by the test)")' >"$TMPD/nonumpy/numpy.py"
rc=0; PYTHONPATH="$TMPD/nonumpy" "$CASBENCH" run --quick --payload config --codec lz4:0 --hash sha1 --rounds 2 \
  --out "$TMPD/nomod" --python="$PY" >/dev/null 2>"$TMPD/nomod.err" || rc=$?
check_eq "python module missing: exit 0, C rows ok, one line naming the module" "0|ok|1" \
  "$rc|$(tsv_awk 'NR > 1 {print $col["status"]}' "$TMPD/nomod/matrix.tsv" | sort -u)|$(grep -c '^casbench: python side .*: import: No module named numpy (shadowed by the test)' "$TMPD/nomod.err")"
check_eq "python module missing: nothing else on stderr" 1 "$(wc -l <"$TMPD/nomod.err")"

# ---- infra/pickler_probe.sh: its probes, their pickle rows predicted ------------------
# Structure only (its ratios are timings): six probes of 5,400 leaves, the same
# bytes from the same seed, each with a pickle row in predict.tsv and PROBES.md.
rc=0; infra/pickler_probe.sh --casbench "$CASBENCH_RELEASE" --out "$TMPD/probe" --rounds 2 >"$TMPD/probe.out" \
  2>"$TMPD/probe.err" || rc=$?
check_eq "pickler_probe.sh: exit 0, prints its directory, nothing on stderr" "0|$TMPD/probe|" \
  "$rc|$(tail -n 1 "$TMPD/probe.out")|$(cat "$TMPD/probe.err")"
check_eq "pickler_probe.sh: six probes of 5,400 leaves each" \
  "float-dicts 5400|float-lists 5400|floats 5400|ints 5400|str-float-dict 5400|strs 5400" \
  "$("$PY" - "$TMPD/probe/probes" <<'PYEOF'
import json, os, sys
def leaves(x):
    if isinstance(x, list):
        return sum(leaves(v) for v in x)
    if isinstance(x, dict):
        return sum(leaves(v) for v in x.values())
    return 1
d = sys.argv[1]
print("|".join("%s %d" % (f[:-5], leaves(json.load(open(os.path.join(d, f))))) for f in sorted(os.listdir(d))))
PYEOF
)"
mkdir "$TMPD/probe2" && cp -r "$TMPD/probe/probes" "$TMPD/probe2/first"
rc=0; infra/pickler_probe.sh --casbench "$CASBENCH_RELEASE" --out "$TMPD/probe2/again" --rounds 2 >/dev/null 2>&1 || rc=$?
check_eq "pickler_probe.sh: the same probes from the same seed" "0|same" \
  "$rc|$(diff -r "$TMPD/probe2/first" "$TMPD/probe2/again/probes" >/dev/null && echo same)"
check_eq "pickler_probe.sh: predict.tsv and PROBES.md have each probe's pickle row, with a ratio" "6|6" \
  "$(tsv_awk 'NR > 1 && $col["stage"] == "pickle" && $col["payload"] ~ /^json:/ && $col["ratio"] + 0 > 0' \
       "$TMPD/probe/run/predict.tsv" | wc -l)|$(grep -cE '^\| [a-z-]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|$' "$TMPD/probe/PROBES.md")"
rc=0; infra/pickler_probe.sh --casbench "$CASBENCH_RELEASE" --rounds 0 >/dev/null 2>"$TMPD/probe0.err" || rc=$?
check_eq "pickler_probe.sh --rounds 0: exit 1, one line naming it" "1|1|1" \
  "$rc|$(wc -l <"$TMPD/probe0.err")|$(grep -c -- '--rounds 0: not a whole number of at least 2' "$TMPD/probe0.err")"
rc=0; infra/pickler_probe.sh --casbench "$TMPD/probe.out" --out "$TMPD/probe3" >/dev/null 2>"$TMPD/probe3.err" || rc=$?
check_eq "pickler_probe.sh: a --casbench that is not a program: exit 3, one line naming it" "3|1" \
  "$rc|$(grep -c "^pickler_probe.sh: $TMPD/probe.out: casbench binary not found" "$TMPD/probe3.err")"
