#!/usr/bin/env bash
# The Python side's samples beside their C cells (run --python,
# bench/pyserve.h's protocol):
#   - a live quick run: each Python row with a C partner (report_predict.c's
#     c_row: alloc cpython, else fresh, else reuse) that is most of its time
#     is asked for by "pair"
#     once per round, in the order its partner ran in that round (gbench.json
#     keeps each round's batches in order), the per-call cost rows in one
#     block per round; every Python row has one sample per round;
#   - one worker process holding every cell by default; with
#     PYTHON_PATH_PROCESSES=per-codec one per codec:level (its cells only),
#     one for the rest;
#   - the Python side dying at its first pair of round 1, or one
#     of its workers dying: the C run whole, one line, round 0 of every
#     Python row kept, no process left;
#   - a Python side answering a pair wrongly: one line, the C run whole.
# shellcheck disable=SC2016 # awk and python programs in single quotes
. "$(dirname "$0")/lib.sh"

live() {  # live OUT [ENV=V...]; payloads $PAYLOADS
  local out=$1; shift
  env "$@" "$CASBENCH" run --quick --payload "${PAYLOADS:-config}" --codec lz4:0,gzip:3 --hash sha1,xxh3-64 --rounds 3 \
    --out "$TMPD/$out" --python="$PY" >"$TMPD/$out.out" 2>"$TMPD/$out.err"
}

# metrics: its rows' C cells are most of their time, config's mostly not.
rc=0; PAYLOADS=config,metrics live paired PYTHON_PATH_SERVE_LOG="$TMPD/paired.log" || rc=$?
check_eq "run --python: exit 0, nothing on stderr" "0|" "$rc|$(cat "$TMPD/paired.err")"
n=$(awk '$1 == "pairs" {print NF - 1}' "$TMPD/paired.log")
check_eq "run --python: pairs, then per round a pair per cell named and one block" \
  "pair 0 $n|pair 1 $n|pair 2 $n|pairs 1|quit 3 1|round 0 1|round 1 1|round 2 1" \
  "$(awk '$1 != "worker" {print $1, ($1 == "pairs") ? "" : $2}' "$TMPD/paired.log" | sort | uniq -c |
     awk '{print $2 ($3 == "" ? "" : " " $3), $1}' | paste -sd'|')"
check_eq "run --python: every Python row has one sample per round" "3" \
  "$(tsv_awk 'NR > 1 {print $col["repetitions"]}' "$TMPD/paired/python/matrix.tsv" | sort -u | paste -sd' ')"
# Paired: the Python rows whose C cell (cpython, else fresh, else reuse: the
# cell predict.tsv starts from) is at least half their time by the two
# calibration estimates (pyserve.h's PYSERVE_PAIR_MIN_SHARE, 0.5), one Python
# row per C cell; a per-call cost row's C cell is its twin (payload overhead,
# stage the row's variant; the hand-off's: variant overlapped), and every row
# with a twin finds it. The estimates are timings, so the rule is checked against
# the ones the run decided on (pairing.tsv), never against the medians; the
# pairs named to the Python side are those, and each round asks for them in
# the order of their C cells' samples (gbench.json).
check_eq "run --python: pairing.tsv pairs by the rule on its estimates, the pairs named are those, each asked for after its C cell's sample" ok \
  "$("$PY" - "$TMPD/paired/matrix.tsv" "$TMPD/paired/python/matrix.tsv" "$TMPD/paired/gbench.json" \
       "$TMPD/paired.log" "$TMPD/paired/pairing.tsv" <<'PYEOF'
import csv, json, sys
def rows(p):
    return list(csv.DictReader(open(p), delimiter="\t", quoting=csv.QUOTE_NONE))
def name(r, alloc):
    codec = "%s:%s" % (r["codec"], r["level"]) if r["codec"] else "-"
    stage, variant = r["stage"], r["variant"]
    if r["payload"] == "overhead" and stage == "overhead":   # a per-call cost row: its twin's
        stage, variant = variant, "overlapped" if variant == "thread-handoff" else ""
    return "/".join([r["payload"], "p" + r["protocol"], stage, variant or "-", codec, r["hash"] or "-", alloc])
c = set(name(r, r["alloc"]) for r in rows(sys.argv[1]))
TWINS = {"pickle", "hash", "compress", "decompress", "load", "thread-handoff"}
py = rows(sys.argv[2])   # no error rows: row i is cell i
pairing = rows(sys.argv[5])
log = [line.split() for line in open(sys.argv[4]) if not line.startswith("worker ")]
named = [int(x) for x in log[0][1:]]
bad, taken, partner = [], set(), {}
if any(r["status"] != "ok" for r in py):
    bad.append("error rows in the Python matrix.tsv")
if [int(r["python_cell"]) for r in pairing] != list(range(len(py))):
    bad.append("pairing.tsv: not one row per Python cell, in order")
for i, (w, r) in enumerate(zip(py, pairing)):
    if any(w[k] != r[k] for k in ("payload", "protocol", "stage", "variant", "codec", "level", "hash")):
        bad.append("pairing.tsv row %d is not Python cell %d" % (i, i))
        continue
    alloc = next((a for a in ("cpython", "fresh", "reuse") if name(w, a) in c), "")
    if w["payload"] == "overhead" and (w["variant"] in TWINS) != bool(alloc):
        bad.append("row %d: per-call cost row %s %s a C twin" % (i, w["variant"], "without" if alloc == "" else "with"))
    if r["c_alloc"] != alloc:
        bad.append("row %d: C cell alloc %r, the first the C run has is %r" % (i, r["c_alloc"], alloc))
    want = bool(alloc) and name(w, alloc) not in taken and \
        float(r["c_estimate_ns"] or "nan") >= 0.5 * float(r["python_estimate_ns"])
    if (r["paired"] == "yes") != want:
        bad.append("row %d (%s): paired %s, the rule says %s (estimates C %s, Python %s)" % (
            i, w["stage"], r["paired"], "yes" if want else "no", r["c_estimate_ns"], r["python_estimate_ns"]))
    if r["paired"] == "yes":
        taken.add(name(w, alloc))
        partner[name(w, alloc)] = i
if sorted(named) != sorted(partner.values()):
    bad.append("pairs named %s, pairing.tsv's %s" % (named, sorted(partner.values())))
batches = [b["name"].split("/iterations:")[0] for b in json.load(open(sys.argv[3]))["benchmarks"]]
per = len(batches) // 3
for k in range(3):
    want = [partner[n] for n in batches[k * per:(k + 1) * per] if n in partner]
    got = [int(w[2]) for w in log if w[0] == "pair" and w[1] == str(k)]
    if got != want:
        bad.append("round %d: pairs %s, C order %s" % (k, got, want))
print("\n".join(bad) if bad else "ok" if partner else "nothing paired")
PYEOF
)"
check_eq "python side, by default: one worker process owning every cell" \
  "1|(every cell) $(tail -n +2 "$TMPD/paired/python/matrix.tsv" | wc -l)" \
  "$(grep -c '^worker ' "$TMPD/paired.log")|$(awk '$1 == "worker" {print $2, $3, NF - 4}' "$TMPD/paired.log")"

# PYTHON_PATH_PROCESSES=per-codec: one worker process per codec:level, one
# for the cells without a codec.
rc=0; PAYLOADS=config,metrics live percodec PYTHON_PATH_PROCESSES=per-codec \
  PYTHON_PATH_SERVE_LOG="$TMPD/percodec.log" || rc=$?
check_eq "per-codec: exit 0, nothing on stderr" "0|" "$rc|$(cat "$TMPD/percodec.err")"
check_eq "per-codec: one worker per codec, each owning that codec's cells, the rest in (no codec)" \
  "(no codec) config:-,metrics:-,overhead|gzip:3 config:gzip:3,metrics:gzip:3|lz4:0 config:lz4:0,metrics:lz4:0|3 pids" \
  "$("$PY" - "$TMPD/percodec/python/matrix.tsv" "$TMPD/percodec.log" <<'PYEOF'
import csv, re, sys
py = list(csv.DictReader(open(sys.argv[1]), delimiter="\t", quoting=csv.QUOTE_NONE))
def what(r):   # overhead, PAYLOAD:- (no codec) or PAYLOAD:CODEC:LEVEL
    if r["payload"] == "overhead":
        return "overhead"
    return "%s:%s" % (r["payload"], "%s:%s" % (r["codec"], r["level"]) if r["codec"] else "-")
out, pids = [], set()
for line in open(sys.argv[2]):
    m = re.match(r"worker (.+?) (\d+)((?: \d+)*)$", line)
    if m:
        pids.add(m.group(2))
        out.append("%s %s" % (m.group(1), ",".join(sorted(set(what(py[int(i)]) for i in m.group(3).split())))))
print("|".join(sorted(out)) + "|%d pids" % len(pids))
PYEOF
)"
check_eq "python env.tsv: the samples are said to be taken beside their C cell" 1 \
  "$(grep -c '^timing	rounds of the casbench run (--serve): .*right after its C cell' "$TMPD/paired/python/env.tsv")"

# An unknown PYTHON_PATH_PROCESSES: the one protocol line "error ...", naming
# it, and exit status 1, before any cell is built.
rc=0; out=$(PYTHON_PATH_PROCESSES=some "$PY" infra/python_path.py --serve --out "$TMPD/badproc" \
  --casbench "$CASBENCH" --payload config --codec lz4:0 --hash sha1 </dev/null 2>/dev/null) || rc=$?
check_eq "PYTHON_PATH_PROCESSES=some: one error line naming it, exit 1" \
  "error PYTHON_PATH_PROCESSES: 'some': not one or per-codec|1" "$out|$rc"

# Dies at round 1's first pair (round 0 complete and written).
rc=0; live died PYTHON_PATH_DIE_AT_PAIR=1 PYTHON_PATH_SERVE_LOG="$TMPD/died.log" || rc=$?
check_eq "python side dies at a pair: exit 0, one line, the request was a pair of round 1" "0|1|pair 1" \
  "$rc|$(grep -c '^casbench: python side (infra/python_path.py --serve): exited with status 9' "$TMPD/died.err")|$(tail -n 1 "$TMPD/died.log" | cut -d' ' -f1-2)"
check_eq "python side dies at a pair: every C row ok with 3 rounds; every Python row keeps round 0" \
  "ok 3|$(tsv_awk 'NR > 1 && $col["payload"] != "metrics"' "$TMPD/paired/matrix.tsv" | wc -l)|1|$(tsv_awk 'NR > 1 && $col["payload"] != "metrics"' "$TMPD/paired/python/matrix.tsv" | wc -l)" \
  "$(tsv_awk 'NR > 1 {print $col["status"], $col["repetitions"]}' "$TMPD/died/matrix.tsv" | sort -u | paste -sd,)|$(tail -n +2 "$TMPD/died/matrix.tsv" | wc -l)|$(tsv_awk 'NR > 1 {print $col["repetitions"]}' "$TMPD/died/python/matrix.tsv" | sort -u)|$(tail -n +2 "$TMPD/died/python/matrix.tsv" | wc -l)"

# The processes matching $1 still there after up to 10 s: the workers left
# die of their parent's death (PR_SET_PDEATHSIG), which the kernel delivers
# at once but a loaded machine may take a while to act on.
left_after() {
  local n
  for _ in $(seq 1 100); do
    n=$(pgrep -f "$1" | wc -l)
    [ "$n" = 0 ] && break
    sleep 0.1
  done
  echo "$n"
}

# A worker (gzip:3's) dies at its first sample: the Python side says so, the
# C run goes on, no worker is left behind.
rc=0; live wdied PYTHON_PATH_PROCESSES=per-codec PYTHON_PATH_WORKER_DIE=gzip:3 || rc=$?
check_eq "a worker dies: exit 0, one line naming it, C rows ok with 3 rounds, no process left" "0|1|ok 3|0" \
  "$rc|$(grep -c '^casbench: python side (infra/python_path.py --serve): --serve: worker gzip:3 exited with status 9; the C run goes on' "$TMPD/wdied.err")|$(tsv_awk 'NR > 1 {print $col["status"], $col["repetitions"]}' "$TMPD/wdied/matrix.tsv" | sort -u | paste -sd,)|$(left_after "python_path.py --serve --out $TMPD/wdied/")"

# A Python side that answers a pair with the wrong line.
cat >"$TMPD/fake.py" <<'PYEOF'
import sys
print("ready 1\ncell\t0\tconfig\t4\tpickle\t\t\t\t\tfresh\t1.0", flush=True)
for line in sys.stdin:
    w = line.split()
    if w[0] == "pairs":
        print("paired %d" % (len(w) - 1), flush=True)
    elif w[0] == "pair":
        print("done 7 7", flush=True)
    elif w[0] == "round":
        print("done " + w[1], flush=True)
    else:
        break
PYEOF
rc=0; CASBENCH_PYTHON_PATH_SCRIPT="$TMPD/fake.py" live wrong || rc=$?
check_eq "python side answers a pair wrongly: exit 0, one line naming the answer, C rows ok with 3 rounds" \
  "0|1|1|ok 3" \
  "$rc|$(wc -l <"$TMPD/wrong.err")|$(grep -c '^casbench: python side (infra/python_path.py --serve): said '"'"'done 7 7'"'"', not done 0 0; the C run goes on' "$TMPD/wrong.err")|$(tsv_awk 'NR > 1 {print $col["status"], $col["repetitions"]}' "$TMPD/wrong/matrix.tsv" | sort -u | paste -sd,)"
