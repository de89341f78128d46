#!/usr/bin/env bash
# aa.sh - the A/A benchmark: the same question asked twice must get the same
# answer. Runs one casbench matrix twice, back to back, compares the two runs
# and reports both, then writes AA.md: what each target of the A/A contract
# (README.md, "Numbers that hold still") measured, and whether it was met.
#
# usage: infra/aa.sh [--casbench PATH] [--out DIR | --again DIR] [--payload NAME] [-- RUN-ARGS...]
#   --casbench PATH  the binary (default build/casbench)
#   --out DIR        where run1/, run2/, compare.md and AA.md go (default
#                    results/aa-<host>-<UTC time>); must not exist
#   --again DIR      no new runs: compare, report and AA.md made again from
#                    the two runs in DIR by this binary (after a change to the
#                    statistics); the run times are read from DIR's AA.md
#   --payload NAME   the payload whose headline ratios are checked (default weights)
#   RUN-ARGS         the matrix (default: --payload metrics,embeddings,weights
#                    --codec gzip:3,lz4:0,zstd:1 --hash sha1,xxh3-64,blake3-160)
# exit status: 0 done (whether or not the targets were met: AA.md says),
# 1 usage, 2 a run, compare or report failed, 3 environment.
set -euo pipefail

die() { echo "aa.sh: $2" >&2; exit "$1"; }

casbench=build/casbench
out=
again=
payload=weights
while [ $# -gt 0 ]; do
  case $1 in
    --casbench) [ $# -ge 2 ] || die 1 "--casbench needs a path"; casbench=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die 1 "--out needs a directory"; out=$2; shift 2 ;;
    --again) [ $# -ge 2 ] || die 1 "--again needs a directory"; again=$2; shift 2 ;;
    --payload) [ $# -ge 2 ] || die 1 "--payload needs a name"; payload=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    *) die 1 "unknown option $(printf '%q' "$1") (see infra/aa.sh --help)" ;;
  esac
done
if [ $# -eq 0 ]; then
  set -- --payload metrics,embeddings,weights --codec gzip:3,lz4:0,zstd:1 --hash sha1,xxh3-64,blake3-160
fi
[ -x "$casbench" ] || die 3 "$(printf '%q' "$casbench"): not an executable (build it: make)"
if [ -n "$again" ]; then
  [ -z "$out" ] || die 1 "--again and --out exclude each other"
  out=$again
  for n in 1 2; do
    [ -f "$out/run$n/matrix.tsv" ] || die 2 "--again $(printf '%q' "$out"): no run$n/matrix.tsv"
    # Its time, from the AA.md about to be replaced.
    sed -n "s/^Machine: .* Run 1 took \([0-9.]*\) s, run 2 \([0-9.]*\) s\..*/\\$n/p" "$out/AA.md" 2>/dev/null >"$out/run$n.seconds"
    [ -s "$out/run$n.seconds" ] || echo "?" >"$out/run$n.seconds"
  done
  read -r -a run_args <<<"$(awk -F'\t' '$1 == "run_args" { print $2 }' "$out/run1/env.tsv")"
  set -- "${run_args[@]}"
else
  [ -n "$out" ] || out=results/aa-$(hostname | tr / _)-$(date -u +%Y%m%dT%H%M%SZ)
  [ ! -e "$out" ] || die 2 "--out $(printf '%q' "$out"): already exists"
  mkdir -p "$out" || die 3 "--out $(printf '%q' "$out"): cannot create it"
fi

# One run, its wall time in seconds into $out/runN.seconds.
run_once() {
  local n=$1 start end
  shift
  start=$(date +%s.%N)
  "$casbench" run "$@" --out "$out/run$n" >/dev/null 2>"$out/run$n.err" ||
    die 2 "run $n failed: $(tail -n 1 "$out/run$n.err")"
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", e - s }' >"$out/run$n.seconds"
}
if [ -z "$again" ]; then
  run_once 1 "$@"
  run_once 2 "$@"
fi
cmp_rc=0
"$casbench" compare "$out/run1" "$out/run2" --fail-above 10 >"$out/compare.md" 2>"$out/compare.err" || cmp_rc=$?
[ "$cmp_rc" -le 1 ] || die 2 "compare failed: $(tail -n 1 "$out/compare.err")"
for n in 1 2; do
  "$casbench" report "$out/run$n" >/dev/null 2>"$out/report$n.err" || die 2 "report of run $n failed: $(tail -n 1 "$out/report$n.err")"
done

# The findings the report states with intervals ("Findings with intervals"):
# the gzip:3 / lz4:0 save ratio and the sha1 / xxh3-64 hash ratio of $payload,
# as "value lo hi", or "- - -" when the run has no such finding.
finding() {  # finding REPORT KIND
  awk -v p="$payload" -v kind="$2" '
    /^## [0-9]+\. Findings with intervals/ { on = 1; next }
    /^## / { on = 0 }
    !on || !/^\| / { next }
    {
      n = split($0, f, / *\| */)
      if (kind == "save" && f[2] == p && f[3] ~ /x \(95 % CI/) cell = f[3]
      else if (kind == "hash" && f[2] == p && f[3] == "xxh3-64") cell = f[4]
      else next
      if (match(cell, /^(no difference: )?[0-9.e+]+x \(95 % CI [0-9.e+]+-[0-9.e+]+/)) {
        s = substr(cell, RSTART, RLENGTH); sub(/^no difference: /, "", s)
        split(s, v, /x \(95 % CI |-/); print v[1], v[2], v[3]; found = 1; exit
      }
    }
    END { if (!found) print "- - -" }' "$1"
}
violations() {  # violations REPORT: the count of violated orderings
  awk '/^## [0-9]+\. Consistency checks/ { on = 1; next } /^## / { on = 0 }
       on && /^None violated\.$/ { n = 0; seen = 1 }
       on && /^\*\*[0-9]+ violated:\*\*$/ { gsub(/[^0-9]/, ""); n = $0; seen = 1 }
       END { print seen ? n : "-" }' "$1"
}

read -r s1 s1lo s1hi <<<"$(finding "$out/run1/REPORT.md" save)"
read -r s2 s2lo s2hi <<<"$(finding "$out/run2/REPORT.md" save)"
read -r h1 h1lo h1hi <<<"$(finding "$out/run1/REPORT.md" hash)"
read -r h2 h2lo h2hi <<<"$(finding "$out/run2/REPORT.md" hash)"
v1=$(violations "$out/run1/REPORT.md")
v2=$(violations "$out/run2/REPORT.md")
read -r ncmp nfast nslow <<<"$(sed -n 's/^\([0-9]*\) rows compared: \([0-9]*\) faster, \([0-9]*\) slower.*/\1 \2 \3/p' "$out/compare.md")"
[ -n "${ncmp:-}" ] || die 2 "compare.md: no summary line"

# met WHAT: "met" / "not met" / "not measured" for one target.
verdict() { case $1 in 1) echo met ;; 0) echo "**not met**" ;; *) echo "not measured" ;; esac; }
agree() {  # agree A B: both numbers within 10 % of each other
  if [ "$1" = - ] || [ "$2" = - ]; then echo -; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; print (r <= 1.1 && r >= 1 / 1.1) ? 1 : 0 }'
}
covers() {  # covers LO HI X: LO <= X <= HI
  if [ "$1" = - ] || [ "$3" = - ]; then echo -; return; fi
  awk -v lo="$1" -v hi="$2" -v x="$3" 'BEGIN { print (lo <= x && x <= hi) ? 1 : 0 }'
}
both_zero() {  # both_zero A B: 1 when both counts are 0, - when either is unknown
  if [ "$1" = - ] || [ "$2" = - ]; then echo -
  elif [ "$1" = 0 ] && [ "$2" = 0 ]; then echo 1
  else echo 0; fi
}
both_cover() {  # both_cover LO1 HI1 X1 LO2 HI2 X2: each interval covers the other run's value
  local c1 c2
  c1=$(covers "$1" "$2" "$6"); c2=$(covers "$4" "$5" "$3")
  if [ "$c1" = - ] || [ "$c2" = - ]; then echo -; else echo $((c1 * c2)); fi
}
flag_pct=$(awk -v f="$((nfast + nslow))" -v n="$ncmp" 'BEGIN { printf "%.1f", n ? 100 * f / n : 0 }')
{
  echo "# A/A: the same matrix twice"
  echo
  echo "Machine: \`$(awk -F'\t' '$1 == "cpu_model" { print $2 }' "$out/run1/env.tsv")\`," \
       "$(awk -F'\t' '$1 == "cpus_logical" { print $2; exit }' "$out/run1/env.tsv") logical CPUs" \
       "(\`run1/env.tsv\`). Matrix: \`casbench run $*\`. Run 1 took $(cat "$out/run1.seconds") s," \
       "run 2 $(cat "$out/run2.seconds") s. Generated by infra/aa.sh${again:+ --again, from the same two runs, by $("$casbench" --version)}."
  echo
  echo "| target | run 1 | run 2 | verdict |"
  echo "|---|---|---|---|"
  echo "| \`compare --fail-above 10\` exits 0 | exit $cmp_rc | | $(verdict "$((cmp_rc == 0))") |"
  echo "| at most 5 % of rows called faster or slower | $((nfast + nslow)) of $ncmp ($flag_pct %) | | $(verdict "$(awk -v p="$flag_pct" 'BEGIN { print p <= 5 }')") |"
  echo "| $payload gzip:3 / lz4:0 \`save\`: the runs agree within 10 % | $s1 | $s2 | $(verdict "$(agree "$s1" "$s2")") |"
  echo "| ... each run's interval covers the other run's value | $s1lo-$s1hi | $s2lo-$s2hi | $(verdict "$(both_cover "$s1lo" "$s1hi" "$s1" "$s2lo" "$s2hi" "$s2")") |"
  echo "| $payload sha1 / xxh3-64 \`hash\`: the runs agree within 10 % | $h1 | $h2 | $(verdict "$(agree "$h1" "$h2")") |"
  echo "| ... each run's interval covers the other run's value | $h1lo-$h1hi | $h2lo-$h2hi | $(verdict "$(both_cover "$h1lo" "$h1hi" "$h1" "$h2lo" "$h2hi" "$h2")") |"
  echo "| no consistency violation | $v1 | $v2 | $(verdict "$(both_zero "$v1" "$v2")") |"
  echo
  echo "Details: compare.md (row by row), run1/REPORT.md and run2/REPORT.md (\"Findings with intervals\", \"Consistency checks\")."
} >"$out/AA.md"
echo "$out"
