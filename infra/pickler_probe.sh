#!/usr/bin/env bash
# pickler_probe.sh - which kinds of object CPython pickles slower than casbench
# predicts. Issue 14's prediction of pickle.dumps misses on float-heavy
# payloads (metrics, pr3090-metrics) although casbench's pickler does
# _pickle's work step by step (payloads/pickle.c); this asks the question one
# kind of object at a time. Six probes of 5,400 leaves each, made here from a
# fixed seed as JSON (casbench's `json:PATH` payload, which python_path.py
# loads as casbench pickles it): a list of floats, lists of floats, small dicts
# of floats under shared str keys, one dict of str keys to floats, a list of
# small ints, a list of short strs. Then `casbench run --python` times their
# pickle rows in the same rounds as CPython's, and `casbench report` predicts
# them (predict.tsv); PROBES.md lists the pickle rows.
#
# usage: infra/pickler_probe.sh [--casbench PATH] [--out DIR] [--rounds N]
#   --casbench PATH  the binary (default build/casbench)
#   --out DIR        where probes/, run/ and PROBES.md go (default
#                    results/probe-<host>-<UTC time>); must not exist
#   --rounds N       rounds of the run, at least 2 (default 15)
# The last line printed is DIR.
# exit status: 0 done, 1 usage, 2 the run or its report failed, 3 environment.
set -euo pipefail

die() { echo "pickler_probe.sh: $2" >&2; exit "$1"; }

casbench=build/casbench
out=
rounds=15
while [ $# -gt 0 ]; do
  case $1 in
    --casbench) [ $# -ge 2 ] || die 1 "--casbench needs a path"; casbench=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die 1 "--out needs a directory"; out=$2; shift 2 ;;
    --rounds) [ $# -ge 2 ] || die 1 "--rounds needs a count"; rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die 1 "unknown option $(printf '%q' "$1") (see infra/pickler_probe.sh --help)" ;;
  esac
done
case $rounds in ''|*[!0-9]*|0|1) die 1 "--rounds $(printf '%q' "$rounds"): not a whole number of at least 2 (casbench run's least)" ;; esac
[ -x "$casbench" ] || die 3 "$casbench: casbench binary not found (run make, or pass --casbench PATH)"
[ -n "$out" ] || out=results/probe-$(hostname -s 2>/dev/null || echo host)-$(date -u +%Y%m%dT%H%M%SZ)
[ ! -e "$out" ] || die 1 "--out $(printf '%q' "$out"): already exists"
mkdir -p "$out/probes" || die 3 "$out: cannot create"

# Each probe: 5,400 leaves (pr3090-metrics has 5,400 floats), from seed 14.
/usr/bin/python3 - "$out/probes" <<'PYEOF' || die 3 "$out/probes: cannot write the probes"
import json, os, random, sys
r = random.Random(14)
def f():
    return r.gauss(0.0, 1.0)
probes = {
    "floats": lambda: [f() for _ in range(5400)],
    "float-lists": lambda: [[f() for _ in range(50)] for _ in range(108)],
    "float-dicts": lambda: [{k: f() for k in ("mean", "std", "min", "max", "p50", "p99")} for _ in range(900)],
    "str-float-dict": lambda: {"feature_%d" % i: f() for i in range(5400)},
    "ints": lambda: [r.randrange(100) for _ in range(5400)],
    "strs": lambda: ["token_%d" % i for i in range(5400)],
}
for name, make in probes.items():
    with open(os.path.join(sys.argv[1], name + ".json"), "w") as fh:
        json.dump(make(), fh)
PYEOF

names="floats float-lists float-dicts str-float-dict ints strs"
payloads=
for n in $names; do payloads=${payloads:+$payloads,}json:$out/probes/$n.json; done
"$casbench" run --python --payload "$payloads" --codec none --hash sha1 --rounds "$rounds" --out "$out/run" \
  >/dev/null || die 2 "casbench run failed (see above)"
"$casbench" report "$out/run" >/dev/null || die 2 "casbench report $out/run failed (see above)"

# The pickle rows, one per probe, in the probes' order.
{
  echo "# Pickler probes: Python pickle.dumps against casbench's prediction"
  echo
  echo "Run: \`$out/run\` ($rounds rounds; its env.tsv names the machine). predicted = the C cell +"
  echo "the per-call costs (predict.tsv); ratio = Python / predicted, the median over the rounds."
  echo
  echo "| probe | predicted_ms | python_ms | ratio |"
  echo "|---|---|---|---|"
  for n in $names; do
    awk -F'\t' -v p="json:$out/probes/$n.json" -v n="$n" '
      NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
      $c["payload"] == p && $c["stage"] == "pickle" {
        printf "| %s | %s | %s | %s |\n", n, $c["predicted_ms"], $c["python_ms"], $c["ratio"] }' "$out/run/predict.tsv"
  done
} >"$out/PROBES.md"
echo "$out"
