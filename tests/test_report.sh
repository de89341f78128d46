#!/usr/bin/env bash
# shellcheck disable=SC2016  # backticks in sed/awk patterns are markdown, not expansions
# casbench report / compare and the strict TSV reader, on the synthetic fixture
# run tests/fixtures/report/run (see tests/fixtures/report/README.md).
# Oracles: tests/report_oracle.py (an independent reading of matrix.tsv under
# the report's stated rules), CPython's math for the birthday bound, and the
# golden REPORT.md (regenerate: CASBENCH_REGEN=1 tests/run.sh report).
. "$(dirname "$0")/lib.sh"
ROOT=$PWD
CB=$(realpath "$CASBENCH")
FIX=$ROOT/tests/fixtures/report
GOLDEN=$FIX/REPORT.md
export CASBENCH_PLOTS_DIR=$ROOT/plots

# A run directory laid out as results/ is: <dir>/<run>, <dir>/reference/.
fresh_run() {  # fresh_run NAME -> $TMPD/NAME, a copy of the fixture run
  rm -rf "${TMPD:?}/$1"
  cp -r "$FIX/run" "$TMPD/$1"
  mkdir -p "$TMPD/reference"
  cp "$ROOT/results/reference/pr3090-published.tsv" "$TMPD/reference/"
}
report() { (cd "$TMPD" && "$CB" report "$@"); }

# --- the golden report ------------------------------------------------------
fresh_run run
check "report on the fixture exits 0" report run
if [ "${CASBENCH_REGEN:-}" = 1 ]; then
  cp "$TMPD/run/REPORT.md" "$GOLDEN"
  pass "golden REPORT.md regenerated ($GOLDEN)"
fi
if cmp -s "$GOLDEN" "$TMPD/run/REPORT.md"; then pass "REPORT.md equals the golden file"
else fail "REPORT.md equals the golden file" "$(diff "$GOLDEN" "$TMPD/run/REPORT.md" | head -n 8 | tr '\n' '|')"; fi
for s in "1. Environment" "2. PR #3090 reproduction" "3. Where the time goes" "4. Codecs" \
         "5. The SHA-1 proposal" "6. Save + upload" "7. Recommendation" "8. The fastest save path" \
         "9. C and Python side by side" "10. What metaflow would see: predicted against measured" \
         "11. Memory" "12. Findings with intervals" "13. Consistency checks" "14. Drift over the run"; do
  check_eq "section '$s' present" 1 "$(grep -c "^## $s\$" "$TMPD/run/REPORT.md")"
done

# Every plot the report links exists as a real PNG and SVG.
links=$(grep -o '](plots/[^)]*\.png)' "$TMPD/run/REPORT.md" | sed 's/^](plots\/\(.*\)\.png)$/\1/' | sort -u)
nlinks=$(echo "$links" | grep -c .)
if [ "$nlinks" -ge 10 ]; then pass "report links $nlinks plots"; else fail "report links plots" "$nlinks"; fi
bad=""
for b in $links; do
  png=$TMPD/run/plots/$b.png svg=$TMPD/run/plots/$b.svg
  [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || bad="$bad $b.png(magic)"
  [ "$(stat -c %s "$png")" -gt 10000 ] || bad="$bad $b.png(size)"
  head -c 200 "$svg" | grep -q '<svg' || bad="$bad $b.svg(magic)"
  [ "$(stat -c %s "$svg")" -gt 5000 ] || bad="$bad $b.svg(size)"
  grep -q '</svg>' "$svg" || bad="$bad $b.svg(unfinished)"
done
check_eq "every linked plot is a PNG and an SVG of real size" "" "$bad"
check_eq "no temporary file left" "" "$(find "$TMPD/run" -name '*.tmp*')"

# --- numbers against the oracle ---------------------------------------------
"$PY" "$ROOT/tests/report_oracle.py" "$TMPD/run/matrix.tsv" >"$TMPD/oracle" 2>&1 || fail "oracle runs" "$(cat "$TMPD/oracle")"
o() { sed -n "s/^$1=//p" "$TMPD/oracle"; }
R=$TMPD/run/REPORT.md
# The recommendation (section 7): what a flow step pays, against the oracle.
rec() {  # rec FILE -> now, its saving, bump, its saving, today's cost, the ranking (one line each)
  local f=$1
  ex() { local v; v=$(sed -n "$1" "$f" | head -n 1); printf '%s\n' "$v"; }   # always one line
  ex 's/^- \*\*Ship now (no cas_version bump): `\([^`]*\)`\*\*.*/\1/p'
  ex 's/^- \*\*Ship now (no cas_version bump): `[^`]*`\*\* - .* it saves \([0-9.]*\) ms .*/\1/p'
  ex 's/^- \*\*Ship with a cas_version bump: `\([^`]*\)`\*\*.*/\1/p'
  ex 's/^- \*\*Ship with a cas_version bump: `[^`]*`\*\* - it saves \([0-9.]*\) ms .*/\1/p'
  ex 's/^Today (`gzip:3`): \([0-9.]*\) ms per flow step.*/\1/p'
  sed -n '/^## 7\./,/^## 8\./p' "$f" | awk -F' [|] ' '$1 ~ /^[|] [0-9]+$/ && NF == 10 { printf "%s%s", n++ ? "," : "", $2 } END { print "" }'
}
orec() {  # the same from the oracle's output
  for k in now now_saving bump bump_saving base_cost rank; do o "$k"; done
}
check_eq "recommendation: ship now, saving, bump, saving, today's cost, ranking (oracle)" "$(orec)" "$(rec "$R")"
check "recommendation: timings from C, said so" grep -q '^What a flow step pays.* Timings: C times (this run' "$R"
check_eq "recommendation: intervals judged, cheaper than gzip:3" 1 \
  "$(grep -c '^- \*\*Ship now (no cas_version bump): `[^`]*`\*\* - .* ms (95 % interval [0-9.]* to [0-9.]*) per flow step' "$R")"
check_eq "cryptographic hash >= 160 bits (oracle)" "$(o hash_crypto)" "$(sed -n 's/^- \*\*Hash, cryptographic, >= 160 bits: `\([^`]*\)`.*/\1/p' "$R")"
check_eq "hash with a 40-hex key (oracle)" "$(o hash_40)" "$(sed -n 's/^- \*\*Hash with a 40-hex key (160 bits): `\([^`]*\)`.*/\1/p' "$R")"
check "a hash pick tied with its runner-up says so (blake3-160 and blake3 on the fixture)" grep -q \
  '^- \*\*Hash, cryptographic, >= 160 bits: `blake3-160`\*\* - 0[.][0-9]* ([0-9.]*-[0-9.]*) x .*\*\*no difference\*\* from the next, `blake3`' "$R"
check_eq "fastest hash (oracle)" "$(o hash_any)" "$(sed -n 's/^- \*\*Fastest hash overall: `\([^`]*\)`.*/\1/p' "$R")"
# Section 2 (PR #3090, report_pr3090.c; tests/test_pr3090.sh checks its numbers):
# a run without --suite pr3090 rows says so, and pr3090.tsv lists every
# published figure, unmeasured.
check_eq "PR section: a matrix run has no pr3090 rows, and says so" 1 "$(grep -c '^This run has no `--suite pr3090` rows' "$R")"
check_eq "pr3090.tsv: one row per published figure, none measured" \
  "$(($(wc -l <"$TMPD/reference/pr3090-published.tsv") - 1)) 0" \
  "$(tsv_awk 'NR > 1 { n++; if ($col["measured"] != "") m++ } END { print n, m + 0 }' "$TMPD/run/pr3090.tsv")"
check_eq "birthday bound, 64 bits, 10^9 (CPython expm1)" "$(o birthday_64_1e9)" \
  "$(sed -n '/^Birthday bound/,/^Share of/p' "$R" | awk -F' [|] ' '$1=="| xxh64" {print $4}')"
check_eq "birthday bound, 160 bits, 10^12 (CPython expm1)" "$(o birthday_160_1e12)" \
  "$(sed -n '/^Birthday bound/,/^Share of/p' "$R" | awk -F' [|] ' '$1=="| sha1" {sub(/ [|]$/, "", $5); print $5}')"
check_eq "isal:1 break-even on weights (oracle)" "$(o breakeven_weights_isal1)" \
  "$(sed -n '/^\*\*weights\*\*$/,/^!\[/p' "$R" | awk -F' [|] ' '$1=="| isal:1" {sub(/ [|]$/, "", $6); print $6}')"
for p in config metrics embeddings weights random; do
  check_eq "dominant stage after lz4 on $p (oracle)" "$(o "dominant_$p")" \
    "$(awk -F' [|] ' -v p="| $p" '$1==p && NF==7 {gsub(/\*/, "", $5); print $5}' "$R")"
done

# --- the fastest save path and C beside Python, against an independent reading ---
# The fixture's fast-variant rows and tests/fixtures/report/python (a run of
# python_path.py's shape, runtime python) through the report's stated rules.
cp -r "$FIX/python" "$TMPD/python"
check "report --python on the fixture" report run --python python
P=$TMPD/run/REPORT.md
"$PY" - "$TMPD/run/matrix.tsv" "$TMPD/python/matrix.tsv" >"$TMPD/pyoracle" <<'PYEOF'
import csv, sys
def load(p):
    return [r for r in csv.DictReader(open(p), delimiter="\t") if r["status"] == "ok" and r["protocol"] == "4"]
c, py = load(sys.argv[1]), load(sys.argv[2])
def find(rows, **kw):
    for r in rows:
        if all(r[k] == v for k, v in kw.items()):
            return r
def fmt(v):  # the report's 3 significant digits
    import math
    d = min(9, max(0, 2 - math.floor(math.log10(abs(v)))))
    return "%.*f" % (d, v)
cp = find(c, payload="weights", stage="compress", codec="lz4", level="0", alloc="reuse")
ov = find(c, payload="weights", stage="save", variant="overlapped", codec="lz4", level="0", hash="sha1", alloc="reuse")
fu = find(c, payload="weights", stage="save", variant="fused", codec="lz4", level="0", hash="sha1", alloc="reuse")
def ratio(a, b):  # the median of per-round ratios when paired (results/README.md, "Rounds")
    sa, sb = a["samples_ns"].split(","), b["samples_ns"].split(",")
    if a["round_group"] and a["round_group"] == b["round_group"] and len(sa) == len(sb):
        r = sorted(float(x) / float(y) for x, y in zip(sa, sb))
        return (r[(len(r) - 1) // 2] + r[len(r) // 2]) / 2
    return float(a["median_ns"]) / float(b["median_ns"])
print("ov_alone=" + fmt(ratio(ov, cp)))
print("fu_alone=" + fmt(ratio(fu, cp)))
n = applied = held = 0
for r in py:
    k = {x: r[x] for x in ("payload", "stage", "variant", "codec", "level", "hash")}
    m = find(c, alloc=r["alloc"], **k) or find(c, alloc="reuse" if r["alloc"] == "fresh" else "fresh", **k)
    if not m:
        continue
    n += 1
    same = r["stage"] not in ("pickle", "save") and not r["hash"].startswith("xxh3") and r["hash"] != "blake2b"
    if same and m["alloc"] == r["alloc"] and int(r["pickled_bytes"]) >= 800000:
        applied += 1
        held += abs(float(m["median_ns"]) / float(r["median_ns"]) - 1) <= 0.10
print("side=%d rows side by side; the rule applies to %d of them and holds for %d." % (n, applied, held))
PYEOF
po() { sed -n "s/^$1=//p" "$TMPD/pyoracle"; }
# Column 8 of the fast-save table: the variant / the codec's compress alone (its
# figure; the interval after it is test_rounds.sh's).
check_eq "overlapped lz4:0 / compress alone on weights (oracle)" "$(po ov_alone)" \
  "$(awk -F' [|] ' '$1=="| weights" && $2=="lz4:0" && $3=="sha1" && $4=="reuse" && $5=="overlapped" {sub(/^no difference: /, "", $8); split($8, f, " "); print f[1]}' "$P")"
check_eq "fused lz4:0 / compress alone on weights (oracle)" "$(po fu_alone)" \
  "$(awk -F' [|] ' '$1=="| weights" && $2=="lz4:0" && $3=="sha1" && $4=="reuse" && $5=="fused" {sub(/^no difference: /, "", $8); split($8, f, " "); print f[1]}' "$P")"
check_eq "no development goal in the findings (issue 11)" 0 "$(grep -c 'within 1\.[12] x\|met\*\*' "$P")"
check_eq "fast-save plots linked and drawn" "fastsave-gzip_3-sha1 fastsave-lz4_0-sha1" \
  "$(grep -o '](plots/fastsave-[^)]*\.png)' "$P" | sed 's/^](plots\/\(.*\)\.png)$/\1/' | sort | while read -r b; do [ -s "$TMPD/run/plots/$b.png" ] && echo "$b"; done | paste -sd' ')"
check_eq "C and Python: rows side by side, rule applied and held (oracle)" \
  "$(po side)" \
  "$(grep -o '^[0-9]* rows side by side; the rule applies to [0-9]* of them and holds for [0-9]*\.' "$P")"
check_eq "C and Python: the 25 %-off row fails the rule" 1 \
  "$(grep -c '^| weights | 8000164 | hash | - | - | sha256 | reuse | .* | same library | \*\*no\*\* |$' "$P")"
check_eq "C and Python: a compress row (C reuse, Python fresh) is not judged" 1 \
  "$(grep -c '^| weights | 8000164 | compress | - | zstd:3 | - | reuse | .* | same library | not judged (alloc differs) |$' "$P")"
check_eq "C and Python: small payloads show the overhead, not judged" 1 \
  "$(grep -c '^| config | 233 | hash | - | - | sha1 | reuse | .* | same library | not judged (< 800000 B) |$' "$P")"
check_eq "C and Python: an xxh3 row is not judged, and says why" 1 \
  "$(grep -c '^| weights | 8000164 | hash | - | - | xxh3-128 | reuse | .* | python3-xxhash: its XXH3 is not the library.s dispatched SIMD path | not judged |$' "$P")"
# The reasons come from the C run's env.tsv (hash_python_note_*), as its rows state them.
check "C and Python: why the code differs is stated, from env.tsv's facts" grep -q \
  "^Where the code differs .*: .*python3-xxhash: its XXH3 is not the library's dispatched SIMD path" "$P"
check "C and Python: blake2b's reason from its row's note" grep -q \
  "^Where the code differs .*hashlib's blake2b is CPython's own code, casbench's is OpenSSL's" "$P"
check_error "--python with a C run is refused" 2 report run --python run
# Back to the golden state for the checks below.
check "report without --python again" report run

# --- the recommendation follows the rows ------------------------------------
fresh_run faster
tsv_awk 'BEGIN { OFS = "\t" }
  NR > 1 && $col["stage"] == "save" && $col["codec"] == "libdeflate" {
    n = split($col["samples_ns"], v, ","); o = ""; for (i = 1; i <= n; i++) o = o (i > 1 ? "," : "") v[i] / 10
    $col["samples_ns"] = o; $col["median_ns"] /= 10 } { print }' \
  "$FIX/run/matrix.tsv" >"$TMPD/faster/matrix.tsv"
check "report on the edited fixture" report faster
"$PY" "$ROOT/tests/report_oracle.py" "$TMPD/faster/matrix.tsv" >"$TMPD/oracle"
before=$(rec "$R" | head -n 1)
after=$(rec "$TMPD/faster/REPORT.md" | head -n 1)
case "$before/$after" in
  isal:*/libdeflate:*) pass "libdeflate 10x faster on save: ship-now moves isal -> libdeflate ($before -> $after)" ;;
  *) fail "ship-now moves isal -> libdeflate" "$before -> $after" ;;
esac
check_eq "the edited recommendation agrees with the oracle" "$(orec)" "$(rec "$TMPD/faster/REPORT.md")"

# No difference, no winner: every other gzip-compatible codec given gzip:3's save and
# load cells (their rounds reversed, so that the per-round ratios scatter around 1).
fresh_run same
"$PY" - "$FIX/run/matrix.tsv" "$TMPD/same/matrix.tsv" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
key = lambda r: (r["payload"], r["stage"], r["variant"], r["hash"], r["alloc"])
g3 = {key(r): r for r in rows if (r["codec"], r["level"]) == ("gzip", "3") and r["stage"] in ("save", "load")}
for r in rows:
    if r["codec"] in ("gzip", "libdeflate", "isal") and (r["codec"], r["level"]) != ("gzip", "3") \
            and r["stage"] in ("save", "load") \
            and r["status"] == "ok" and key(r) in g3:
        b = g3[key(r)]
        for c in ("median_ns", "bytes_out"):
            r[c] = b[c]
        r["samples_ns"] = ",".join(reversed(b["samples_ns"].split(",")))
# and sha256 hashes as blake3 does (both 256 bits), its rounds reversed
b3 = {r["payload"]: r for r in rows if r["stage"] == "hash" and r["hash"] == "blake3"}
for r in rows:
    if r["stage"] == "hash" and r["hash"] == "sha256" and r["payload"] in b3:
        r["median_ns"] = b3[r["payload"]]["median_ns"]
        r["samples_ns"] = ",".join(reversed(b3[r["payload"]]["samples_ns"].split(",")))
w = csv.DictWriter(open(sys.argv[2], "w"), fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
w.writeheader()
w.writerows(rows)
PYEOF
check "report with every gzip-compatible codec equal to gzip:3" report same
check_eq "no difference: no ship-now winner named, and the interval shown" 1 \
  "$(grep -c '^- \*\*Ship now (no cas_version bump): nothing measurably cheaper than `gzip:3`\*\* - .* saves 0 ms (95 % interval -[0-9.]* to [0-9.]*) per flow step.*an interval that includes no difference\.$' "$TMPD/same/REPORT.md")"
check_eq "no difference: the bump is then judged against gzip:3" "$(rec "$R" | sed -n 3p)" "$(rec "$TMPD/same/REPORT.md" | sed -n 3p)"
check "no difference: two hashes of one digest length tied, neither named the fastest alone" grep -qE \
  '^- Fastest at each digest length .* 256 bits: `(blake3|sha256)` [0-9.]+ [(][0-9.]+-[0-9.]+[)], no difference from `(blake3|sha256)`;' "$TMPD/same/REPORT.md"
check "no difference: tied ranks are said to be tied, not ordered" \
  grep -qE '^[|] [0-9]+ [|] .* [|] no difference, saves -?[0-9.]+ ms [(]95 % interval -?[0-9.]+ to [0-9.]+[)] [|] C [|]$' "$TMPD/same/REPORT.md"

# --mix: a step that saves only a metrics dict changes the cas_version-bump winner.
printf 'payload\tweight\nmetrics\t3\nconfig\t0\n' >"$TMPD/metrics-mix.tsv"
fresh_run mixed
check "report --mix" report mixed --mix metrics-mix.tsv
"$PY" "$ROOT/tests/report_oracle.py" "$TMPD/mixed/matrix.tsv" --mix "$TMPD/metrics-mix.tsv" >"$TMPD/oracle"
check_eq "--mix: the recommendation agrees with the oracle" "$(orec)" "$(rec "$TMPD/mixed/REPORT.md")"
if [ "$(rec "$TMPD/mixed/REPORT.md" | sed -n 3p)" != "$(rec "$R" | sed -n 3p)" ]; then
  pass "--mix changes the winner ($(rec "$R" | sed -n 3p) -> $(rec "$TMPD/mixed/REPORT.md" | sed -n 3p))"
else fail "--mix changes the winner" "$(rec "$R" | sed -n 3p) both"; fi
check "--mix: the mix is named and listed" grep -q '^| metrics | 3.00 | save, hit, load |$' "$TMPD/mixed/REPORT.md"
# --hit-rate 0: every save compresses; the oracle at h = 0.
check "report --hit-rate 0" report mixed --hit-rate 0
"$PY" "$ROOT/tests/report_oracle.py" "$TMPD/mixed/matrix.tsv" --hit-rate 0 >"$TMPD/oracle"
check_eq "--hit-rate 0: the recommendation agrees with the oracle" "$(orec)" "$(rec "$TMPD/mixed/REPORT.md")"
check_eq "--hit-rate 0: today's cost is the oracle's at no hit" "$(o base_cost_h0)" "$(rec "$TMPD/mixed/REPORT.md" | sed -n 5p)"
# The dedup case: a fused save gains less at the default hit rate than at none.
check_eq "dedup: gzip:3 fused saves less at h = 0.25 than at h = 0" 1 \
  "$(awk -F' [|] ' '$1 == "| gzip:3" && $2 == "fused" { a = $3 + 0; b = $4 + 0; print (b < a) }' "$R")"

# Timings: predict.tsv first, then the --python run, then C (the fixture's
# predict.tsv gives lz4's binding a large per-call cost).
fresh_run pred
cp "$FIX/predict.tsv" "$TMPD/pred/"
check "report with predict.tsv" report pred
"$PY" "$ROOT/tests/report_oracle.py" "$TMPD/pred/matrix.tsv" --predict "$FIX/predict.tsv" >"$TMPD/oracle"
check_eq "predict.tsv: the recommendation agrees with the oracle" "$(orec)" "$(rec "$TMPD/pred/REPORT.md")"
check "predict.tsv: the section says its timings are predicted" \
  grep -q '^What a flow step pays.* Timings: predicted Python times (`predict.tsv`' "$TMPD/pred/REPORT.md"
if [ "$(rec "$TMPD/pred/REPORT.md" | sed -n 3p)" != "$(rec "$R" | sed -n 3p)" ]; then
  pass "predict.tsv changes the bump winner ($(rec "$R" | sed -n 3p) -> $(rec "$TMPD/pred/REPORT.md" | sed -n 3p))"
else fail "predict.tsv changes the bump winner" "$(rec "$R" | sed -n 3p) both"; fi
fresh_run pyrun
check "report --python without predict.tsv" report pyrun --python python
"$PY" "$ROOT/tests/report_oracle.py" "$TMPD/pyrun/matrix.tsv" --python "$TMPD/python/matrix.tsv" >"$TMPD/oracle"
check_eq "--python: the recommendation agrees with the oracle" "$(orec)" "$(rec "$TMPD/pyrun/REPORT.md")"
check "--python: the section says its timings are measured Python" \
  grep -q '^What a flow step pays.* Timings: measured Python times' "$TMPD/pyrun/REPORT.md"
cp "$FIX/predict.tsv" "$TMPD/pyrun/"
check "report --python with predict.tsv" report pyrun --python python
check "predict.tsv comes before --python" \
  grep -q '^What a flow step pays.* Timings: predicted Python times' "$TMPD/pyrun/REPORT.md"
printf 'payload\tstage\n' >"$TMPD/pyrun/predict.tsv"
check_error "a predict.tsv without predicted_ms: exit 2" 2 report pyrun
check "  ... naming the file and the column" grep -q "^casbench: pyrun/predict.tsv:1: missing column 'variant'$" "$TMPD/err.err"

# --- tolerance of a harness's naming, modes and env keys ----------------------------
# A stage measured in one allocation mode only (here: pickle, after dropping its fresh rows) is still used;
# env.tsv keys spelled as in the brief (git_commit, flags, zlib, ...) are read too.
fresh_run named
tsv_awk 'BEGIN { OFS = "\t" } NR > 1 && $col["payload"] == "random" { $col["payload"] = "random:size=5MB" }
  NR > 1 && $col["stage"] == "pickle" && $col["alloc"] == "fresh" { next } { print }' \
  "$FIX/run/matrix.tsv" >"$TMPD/named/matrix.tsv"
printf 'utc_time\t2026-01-01T00:00:00Z\ngit_commit\tfeedface\nflags\tsha_ni avx2\nzlib\t1.3\nlogical_cores\t4\n' >"$TMPD/named/env.tsv"
check "report on renamed payloads, reuse-only pickle rows, brief-style env" report named
N=$TMPD/named/REPORT.md
want=$("$PY" -c '
import csv, sys
for r in csv.DictReader(open(sys.argv[1]), delimiter="\t"):
    if (r["payload"], r["stage"], r["alloc"]) == ("weights", "pickle", "reuse"):
        v = float(r["median_ns"]) / 1e6
        import math
        print("%.*f" % (min(9, max(0, 2 - math.floor(math.log10(v)))), v))' "$TMPD/named/matrix.tsv")
check_eq "pickle stage taken from reuse rows when fresh ones are missing" "$want" \
  "$(awk -F' [|] ' '$1=="| weights" && NF==7 {print $2}' "$N")"
check_eq "brief-style env: commit" 1 "$(grep -c '^| casbench | unknown (commit feedface) |$' "$N")"
# Libraries come from the lib_<library> keys only: a run without them says
# "unknown" instead of guessing library names (issue 11).
check_eq "brief-style env: flags, cores, libraries" "3" \
  "$(grep -cE '^\| (CPU flags \| sha_ni avx2|cores \(logical / physical\) \| 4 / unknown|libraries \| unknown \|$)' "$N")"

# That env.tsv has no codec or hash facts (a run older than them): the report
# says "unknown" instead of guessing from a name, and recommends no codec for
# today's metaflow.
check_eq "run without facts: isal is 'unknown', not guessed from its name" 1 \
  "$(grep -c '^| [0-9]* | isal:1 | unknown | ' "$N")"
check_eq "run without facts: sha1's crypto status is 'unknown'" 1 \
  "$(grep -c '^| [0-9]* | sha1 | 160 | unknown | ' "$N")"
check "run without facts: no codec recommended for today's metaflow" \
  grep -q "^- \*\*Ship now (no cas_version bump): unknown\*\*" "$N"

# A --hash-sweep=only run has no payload rows: the report still draws the sweep.
fresh_run sweeponly
tsv_awk 'NR == 1 || $col["payload"] == "sweep"' "$FIX/run/matrix.tsv" >"$TMPD/sweeponly/matrix.tsv"
check "report on a sweep-only run" report sweeponly
check "sweep-only run: hash plot drawn" test -s "$TMPD/sweeponly/plots/hash-sweep.png"
# make report RUN=DIR drives the release build the same way.
fresh_run mk
check "make report RUN=DIR" make -s -C "$ROOT" report RUN="$TMPD/mk"
check "make report wrote REPORT.md" test -s "$TMPD/mk/REPORT.md"

# Installed: the scripts go to $PREFIX/share/casbench/plots, found beside the binary.
fresh_run inst
check "make install DESTDIR" make -s -C "$ROOT" install DESTDIR="$TMPD/destdir"
check "installed casbench finds its plot scripts" \
  bash -c "cd '$TMPD' && env -u CASBENCH_PLOTS_DIR '$TMPD/destdir/usr/local/bin/casbench' report inst >/dev/null"
check "installed casbench's report equals the golden one but for the run name" \
  bash -c "sed 's/\binst\//run\//g; s/report inst\b/report run/; s/: inst\$/: run/' '$TMPD/inst/REPORT.md' | cmp -s - '$GOLDEN'"

# --- re-running replaces the outputs -----------------------------------------
touch -d '2000-01-01' "$TMPD/run/REPORT.md" "$TMPD/run/plots/hash-sweep.png"
touch "$TMPD/run/plots/stages-gone.png" "$TMPD/run/plots/stages-gone.tsv" "$TMPD/run/plots/notes.txt"
check "report re-runs over its own outputs" report run
check_eq "REPORT.md replaced" 1 "$(find "$TMPD/run/REPORT.md" -newermt '2001-01-01' | wc -l)"
check_eq "plots replaced" 1 "$(find "$TMPD/run/plots/hash-sweep.png" -newermt '2001-01-01' | wc -l)"
check "a re-run gives the same REPORT.md" cmp -s "$GOLDEN" "$TMPD/run/REPORT.md"
check_eq "a re-run removes plots it no longer writes, keeps other files" "notes.txt" \
  "$(cd "$TMPD/run/plots" && ls stages-gone.* notes.txt 2>/dev/null)"

# --- README block --------------------------------------------------------------
printf '# prose\n\nThe lead writes this.\n' >"$TMPD/README.md"
check "--readme appends the block to a README without markers" report run --readme README.md
check_eq "prose kept, block appended" "# prose|The lead writes this.|<!-- casbench:report:begin -->" \
  "$(grep -v '^$' "$TMPD/README.md" | head -n 3 | paste -sd'|')"
cp "$TMPD/README.md" "$TMPD/README.once"
printf '\ntrailing prose\n' >>"$TMPD/README.md"
check "--readme replaces the block" report run --readme README.md
check_eq "one block after two runs" "1 1" \
  "$(grep -c 'casbench:report:begin' "$TMPD/README.md") $(grep -c 'casbench:report:end' "$TMPD/README.md")"
check_eq "text after the block kept" "trailing prose" "$(tail -n 1 "$TMPD/README.md")"
check_eq "README holds sections 2, 5 and 7" 3 \
  "$(grep -cE '^### (PR #3090 reproduction|The SHA-1 proposal|Recommendation)$' "$TMPD/README.md")"
check_eq "README: the recommendation's two sentences, not its detail tables" "2 0" \
  "$(grep -c '^- \*\*Ship ' "$TMPD/README.md") $(grep -c 'readme-omit\|^Per artifact\|^The dedup case' "$TMPD/README.md")"
missing=""
while read -r l; do
  [ -f "$TMPD/$l" ] || missing="$missing $l"
done < <(grep -o '](run/[^)]*)' "$TMPD/README.md" | sed 's/^](\(.*\))$/\1/')
check_eq "README links resolve from README's directory" "" "$missing"
printf 'x\n<!-- casbench:report:end -->\n<!-- casbench:report:begin -->\n' >"$TMPD/README.bad"
check_error "--readme with markers out of order" 2 report run --readme README.bad

# --- malformed input: one line naming file and line, nothing half-written -------
bad_case() {  # bad_case NAME EXPECTED-MESSAGE-REGEX; $TMPD/bad prepared by the caller
  rm -f "$TMPD/bad/REPORT.md"
  check_error "$1: one-line error, exit 2" 2 report bad
  if grep -Eq "$2" "$TMPD/err.err"; then pass "$1: message names file and line"
  else fail "$1: message names file and line" "$(cat "$TMPD/err.err")"; fi
  if [ -e "$TMPD/bad/REPORT.md" ] || [ -e "$TMPD/bad/plots" ]; then
    fail "$1: nothing written" "$(ls "$TMPD/bad")"
  else pass "$1: nothing written"; fi
}
M=$FIX/run/matrix.tsv
fresh_run bad; tsv_awk 'BEGIN{OFS="\t"} { for (i = col["median_ns"]; i < NF; i++) $i = $(i + 1); NF-- } {print}' \
  "$M" >"$TMPD/bad/matrix.tsv"
bad_case "missing column" "^casbench: bad/matrix.tsv:1: missing column 'median_ns'$"
fresh_run bad; tsv_awk 'BEGIN{OFS="\t"} NR==7 {$col["median_ns"]="abc"} {print}' "$M" >"$TMPD/bad/matrix.tsv"
bad_case "non-numeric median" "^casbench: bad/matrix.tsv:7: column 'median_ns': 'abc' is not a number$"
fresh_run bad; tsv_awk 'BEGIN{OFS="\t"} NR==9 {$col["protocol"]="four"} {print}' "$M" >"$TMPD/bad/matrix.tsv"
bad_case "non-numeric protocol" "^casbench: bad/matrix.tsv:9: column 'protocol': 'four' is not a whole number$"
fresh_run bad; tsv_awk 'BEGIN{OFS="\t"} NR==11 {$col["samples_ns"]="1,2,x"} {print}' "$M" >"$TMPD/bad/matrix.tsv"
bad_case "non-numeric sample" "^casbench: bad/matrix.tsv:11: column 'samples_ns': item 3 'x' is not a number$"
fresh_run bad; : >"$TMPD/bad/matrix.tsv"
bad_case "empty matrix.tsv" "^casbench: bad/matrix.tsv:1: empty file$"
fresh_run bad; head -n 1 "$M" >"$TMPD/bad/matrix.tsv"
bad_case "header only" "^casbench: bad/matrix.tsv:1: no measurement rows"
fresh_run bad; rm "$TMPD/bad/env.tsv"
bad_case "run dir without env.tsv" "^casbench: bad/env.tsv: No such file or directory$"
fresh_run bad; : >"$TMPD/bad/env.tsv"
bad_case "empty env.tsv" "^casbench: bad/env.tsv:1: empty file$"
fresh_run bad; awk -F'\t' 'BEGIN{OFS="\t"} NR==5 {NF=NF-1} {print}' "$M" >"$TMPD/bad/matrix.tsv"
bad_case "ragged row" "^casbench: bad/matrix.tsv:5: 28 fields, but the header has 29$"
fresh_run bad; sed '3s/$/\r/' "$M" >"$TMPD/bad/matrix.tsv"
bad_case "CRLF line" "^casbench: bad/matrix.tsv:3: carriage return"
fresh_run bad; { cat "$M"; sed -n 2p "$M"; } >"$TMPD/bad/matrix.tsv"
bad_case "duplicate row" "^casbench: bad/matrix.tsv:$(( $(wc -l <"$M") + 1 )): duplicate row \(same identity as line 2"
fresh_run bad; tsv_awk 'BEGIN{OFS="\t"} NR==4 {$col["status"]="fine"} {print}' "$M" >"$TMPD/bad/matrix.tsv"
bad_case "unknown status" "^casbench: bad/matrix.tsv:4: column 'status': must be 'ok' or 'error'$"
fresh_run bad; sed '3s/\t0\.[0-9]*\t/\tx\t/' "$TMPD/reference/pr3090-published.tsv" >"$TMPD/pub.tsv"
cp "$TMPD/pub.tsv" "$TMPD/reference/pr3090-published.tsv"
bad_case "published table with a non-number" "^casbench: reference/pr3090-published.tsv:3: column '[a-z0-9_]+': 'x' is not a number$"
rm -rf "$TMPD/bad"
check_error "missing run directory" 2 report bad
if grep -q "^casbench: bad: No such file or directory$" "$TMPD/err.err"; then pass "missing dir named"; else fail "missing dir named" "$(cat "$TMPD/err.err")"; fi
fresh_run bad
check_error "gnuplot missing: exit 3" 3 report bad --gnuplot /nonexistent/gnuplot
if [ -e "$TMPD/bad/REPORT.md" ]; then fail "gnuplot missing: no REPORT.md"; else pass "gnuplot missing: no REPORT.md"; fi
check_error "gnuplot not in PATH: exit 3" 3 env PATH=/nonexistent "$CB" report "$TMPD/bad"
check_error "report without RUN_DIR" 1 "$CB" report
check_error "report with an unknown flag" 1 "$CB" report "$TMPD/run" --frobnicate
check "report --help" "$CB" report --help
check "compare --version" "$CB" compare --version

# --- compare ---------------------------------------------------------------------
fresh_run A; fresh_run B
# B: weights/compress/zstd:1/reuse 20 % slower; one row dropped; one row added.
tsv_awk 'BEGIN { OFS = "\t" }
  NR > 1 && $col["payload"] == "weights" && $col["stage"] == "compress" && $col["codec"] == "zstd" &&
  $col["level"] == "1" && $col["alloc"] == "reuse" {
    n = split($col["samples_ns"], s, ","); o = ""; for (i = 1; i <= n; i++) o = o (i > 1 ? "," : "") s[i] * 1.2
    $col["samples_ns"] = o; $col["median_ns"] *= 1.2 }
  NR > 1 && $col["payload"] == "config" && $col["stage"] == "pickle" && $col["alloc"] == "reuse" { next }
  { print }
  END {  # a row only B has, its fields by name (the others empty)
    n = split("payload=extra protocol=4 pickled_bytes=10 stage=pickle alloc=fresh bytes_in=10 bytes_out=10 " \
              "repetitions=5 iterations=100 median_ns=1000 mean_ns=1000 stddev_ns=1 min_ns=999 max_ns=1001 " \
              "cv=0.001 mb_per_s=10 samples_ns=999,1000,1001,1000,1000 status=ok round_group=extra/p4/pickle " \
              "spread=0.002 drift=0.001 flag=steady", kv, " ")
    for (k = 1; k <= n; k++) { split(kv[k], f, "="); if (!(f[1] in col)) exit 2; r[col[f[1]]] = f[2] }
    line = ""; for (i = 1; i <= ncols; i++) line = line (i > 1 ? OFS : "") r[i]; print line }' \
  "$FIX/run/matrix.tsv" >"$TMPD/B/matrix.tsv"
# Both: metrics/pickle/fresh keeps two samples; B's are 50 % slower, which two samples
# a side cannot judge (a third of unchanged pairs would look significant).
for side in A B; do
  tsv_awk -v f="$([ $side = B ] && echo 1.5 || echo 1)" 'BEGIN { OFS = "\t" }
    NR > 1 && $col["payload"] == "metrics" && $col["stage"] == "pickle" && $col["alloc"] == "fresh" {
      n = split($col["samples_ns"], s, ","); $col["samples_ns"] = s[1] * f "," s[2] * f
      $col["median_ns"] *= f }
    { print }' "$TMPD/$side/matrix.tsv" >"$TMPD/m.tmp" && mv "$TMPD/m.tmp" "$TMPD/$side/matrix.tsv"
done
(cd "$TMPD" && "$CB" compare A B) >"$TMPD/cmp.md" 2>"$TMPD/cmp.err"
check_eq "compare exits 0 without --fail-above" 0 "$?"
check_eq "compare flags exactly one row, the slowed one" "weights 4 compress - zstd 1 - reuse" \
  "$(grep -E '\| (slower|faster)' "$TMPD/cmp.md" | cut -d'|' -f2 | sed 's/^ //; s/ $//')"
check_eq "its ratio is 1.20" "1.20" "$(grep '| weights 4 compress - zstd 1 - reuse |' "$TMPD/cmp.md" | awk -F' [|] ' '{print $4}')"
check_eq "every other row: equivalent (its change within the 5 % margin)" \
  "$(( $(grep -c . "$FIX/run/matrix.tsv") - 5 ))" "$(grep -c '| equivalent\( (point within margin)\)\? |$' "$TMPD/cmp.md")"
check_eq "a row with two rounds a side is not judged" 1 \
  "$(grep -c '^| metrics 4 pickle - - - - fresh | .* | 1.50 | - | 2/2 | not judged (fewer than 3 rounds a side) |$' "$TMPD/cmp.md")"
check_eq "compare states its method in one sentence" 1 "$(grep -c '^Method: .*Benjamini-Hochberg.*equivalent\.$' "$TMPD/cmp.md")"
check_eq "compare states the canary's drift between the runs (the same rounds.tsv: none)" 1 "$(grep -c '^The canary (rounds.tsv) ran 1.00 x as long in B as in A' "$TMPD/cmp.md")"
check_eq "row only in A listed" 1 "$(grep -c '^- only in A: `config 4 pickle - - - - reuse`$' "$TMPD/cmp.md")"
check_eq "row only in B listed" 1 "$(grep -c '^- only in B: `extra 4 pickle - - - - fresh`$' "$TMPD/cmp.md")"
check_eq "error rows shown for both sides" 2 "$(grep -c '^- [AB] line [0-9]* `random 4 decompress - zstd 19 - reuse`: ' "$TMPD/cmp.md")"
rc=0; (cd "$TMPD" && "$CB" compare A B --fail-above 10) >/dev/null 2>"$TMPD/cmp.err" || rc=$?
check_eq "--fail-above 10 exits 1 on a 20 % slowdown" 1 "$rc"
check_eq "--fail-above names the count on one stderr line" 1 "$(grep -c '^casbench: compare: 1 row significantly slower in B, beyond the margin, by more than 10.0 %$' "$TMPD/cmp.err")"
rc=0; (cd "$TMPD" && "$CB" compare A B --fail-above 10 --margin 25) >/dev/null 2>&1 || rc=$?
check_eq "--fail-above trips only beyond the margin: a 20 % slowdown within --margin 25 exits 0" 0 "$rc"
check "--fail-above 30 exits 0" bash -c "cd '$TMPD' && '$CB' compare A B --fail-above 30 >/dev/null"
check "compare output is deterministic" bash -c "cd '$TMPD' && '$CB' compare A B | cmp -s - cmp.md"
check_error "compare with a malformed side" 2 "$CB" compare "$TMPD/A" "$TMPD/bad-missing"
check_error "compare with one directory" 1 "$CB" compare "$TMPD/A"
check_error "compare --fail-above not a number" 2 "$CB" compare "$TMPD/A" "$TMPD/B" --fail-above lots
check_error "compare --margin not a number" 2 "$CB" compare "$TMPD/A" "$TMPD/B" --margin lots

# --- mutated inputs: the reader rejects or accepts, never crashes -------------------
# 60 seeded mutants of matrix.tsv (a byte changed, a field or tab dropped, a line cut)
# through compare (the same reader as report, no gnuplot): exit 0 or a one-line 2.
"$PY" - "$FIX/run/matrix.tsv" "$TMPD/mut" <<'PYEOF'
import os, random, sys
src = open(sys.argv[1], "rb").read()
lines = src.split(b"\n")
rng = random.Random(7)
for i in range(60):
    d = os.path.join(sys.argv[2], "m%02d" % i)
    os.makedirs(d)
    ls = list(lines[:40]) + [b""]
    k = rng.randrange(len(ls) - 1)
    kind = i % 5
    if kind == 0:
        b = bytearray(ls[k]); j = rng.randrange(len(b)); b[j] = rng.choice(b"\t\r\x00,.-e9x "); ls[k] = bytes(b)
    elif kind == 1:
        f = ls[k].split(b"\t"); del f[rng.randrange(len(f))]; ls[k] = b"\t".join(f)
    elif kind == 2:
        ls[k] = ls[k][: rng.randrange(len(ls[k]) + 1)]
    elif kind == 3:
        f = ls[k].split(b"\t"); f[rng.randrange(len(f))] = rng.choice([b"", b"-1", b"1e999", b"nan", b"0x10", b"18446744073709551616", b"1,,2"]); ls[k] = b"\t".join(f)
    else:
        ls = ls[: k + 1] + [b""]
    open(os.path.join(d, "matrix.tsv"), "wb").write(b"\n".join(ls))
    open(os.path.join(d, "env.tsv"), "wb").write(b"k\tv\n")
PYEOF
bad=""
for d in "$TMPD"/mut/m*; do
  rc=0; "$CB" compare "$d" "$d" >/dev/null 2>"$TMPD/mut.err" || rc=$?
  case "$rc" in
    0) ;;
    2) [ "$(wc -l <"$TMPD/mut.err")" = 1 ] && grep -q '^casbench: .*matrix.tsv:[0-9]*: ' "$TMPD/mut.err" \
         || bad="$bad ${d##*/}($(head -c 120 "$TMPD/mut.err"))" ;;
    *) bad="$bad ${d##*/}(exit $rc: $(head -c 200 "$TMPD/mut.err"))" ;;
  esac
done
check_eq "60 mutated matrix.tsv files: accepted, or one line naming file and line" "" "$bad"
