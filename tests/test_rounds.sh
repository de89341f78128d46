#!/usr/bin/env bash
# Rounds (results/README.md, "Rounds"): compare and the report's rounds
# sections on simulated runs with a known truth, and an A/A test on two real
# runs of a tiny matrix.
# Oracles: tests/fixtures/rounds/gen_rounds.py (which rows really changed,
# which orderings are really violated); for the A/A test, the fact that
# nothing changed between the two runs.
# The report's table rows are matched literally, backquotes included:
# shellcheck disable=SC2016
. "$(dirname "$0")/lib.sh"
ROOT=$PWD
CB=$(realpath "$CASBENCH")
REL=$(realpath "$CASBENCH_RELEASE")
export CASBENCH_PLOTS_DIR=$ROOT/plots
"$PY" tests/fixtures/rounds/gen_rounds.py "$TMPD/sim" || fail "gen_rounds.py" "exit $?"
cd "$TMPD/sim" || exit 3

# verdicts FILE WORD: the row identities compare called WORD (slower, faster), sorted.
verdicts() { grep -E "\| \*?\*?$2(, over\*\*)? \|$" "$1" | cut -d'|' -f2 | sed 's/^ //; s/ $//' | sort; }

# ---- compare on simulated drift ---------------------------------------------
# a and a2: the same rows, each run with its own drift (slow phases, a trend,
# a run-wide level), nothing changed: no row may be called faster or slower.
rc=0; "$CB" compare a a2 --fail-above 10 >aa.md 2>aa.err || rc=$?
check_eq "simulated A/A: compare --fail-above 10 exits 0" 0 "$rc"
check_eq "simulated A/A: the drift is not called a change" "" "$(verdicts aa.md slower; verdicts aa.md faster)"
check_eq "simulated A/A: 60 rows judged" 1 "$(grep -c '^60 rows compared: 0 faster, 0 slower' aa.md)"
# b: a third drift, and the 6 rows of changed.txt 10 % slower. Every row
# called slower must be one of them, none faster, and each changed row's own
# interval must lie above 1 (the rounds see the change); how many survive
# Benjamini-Hochberg over 60 rows depends on which rounds the slow phases hit
# (2 to 5 of the 6 with these seeds): at least 2.
for pair in "a b" "a2 b"; do
  # Two words on purpose: the run directories of the pair.
  # shellcheck disable=SC2086
  set -- $pair
  rc=0; "$CB" compare "$1" "$2" --fail-above 5 >ab.md 2>ab.err || rc=$?
  found=$(verdicts ab.md slower)
  nfound=$(echo "$found" | grep -c .)
  check_eq "simulated 10 % change ($1 -> $2): --fail-above 5 exits 1" 1 "$rc"
  check_eq "simulated 10 % change ($1 -> $2): only changed rows are called slower" "" \
    "$(comm -13 <(sort changed.txt) <(echo "$found" | grep .))"
  check "simulated 10 % change ($1 -> $2): at least 2 of the 6 changed rows found ($nfound)" test "$nfound" -ge 2
  above=$(grep -F -f <(sed 's/^/| /; s/$/ |/' changed.txt) ab.md | awk -F' [|] ' '{ split($5, ci, " - "); if (ci[1] > 1) n++ } END { print n + 0 }')
  check "simulated 10 % change ($1 -> $2): at least 5 of the 6 changed rows' intervals lie above 1 ($above)" \
    test "$above" -ge 5
  check_eq "simulated 10 % change ($1 -> $2): no row faster" "" "$(verdicts ab.md faster)"
  check_eq "simulated 10 % change ($1 -> $2): stderr counts the slower rows on one line" \
    "casbench: compare: $nfound rows significantly slower in B, beyond the margin, by more than 5.00 %" \
    "$(cat ab.err)"
done
rc=0; "$CB" compare a b --fail-above 20 >/dev/null 2>&1 || rc=$?
check_eq "simulated 10 % change: --fail-above 20 exits 0" 0 "$rc"
# Beyond the margin only: with --margin 15 the 10 % change is equivalent.
rc=0; "$CB" compare a b --fail-above 5 --margin 15 >ab15.md 2>&1 || rc=$?
check_eq "--margin 15: a 10 % change is not tripped on" "0 " "$rc $(verdicts ab15.md slower)"
check_eq "compare prints its method in one sentence" 1 "$(grep -c '^Method: .*' ab.md)"

# ---- consistency checks ---------------------------------------------------------
"$CB" report cons-ok >/dev/null 2>cons-ok.err || fail "report cons-ok" "$(cat cons-ok.err)"
check_eq "consistent rows: no ordering violated" 1 \
  "$(sed -n '/^## [0-9]*\. Consistency checks/,/^## /p' cons-ok/REPORT.md | grep -c '^None violated\.$')"
"$CB" report cons-bad >/dev/null 2>cons-bad.err || fail "report cons-bad" "$(cat cons-bad.err)"
sec=$(sed -n '/^## [0-9]*\. Consistency checks/,/^## /p' cons-bad/REPORT.md)
check_eq "four violations counted" 1 "$(echo "$sec" | grep -c '^\*\*4 violated:\*\*$')"
check_eq "save+store < save is found" 1 \
  "$(echo "$sec" | grep -c '^| `save+store` >= `save`.* | `v-store 4 save+store sequential gzip 3 sha1 fresh` | `v-store 4 save sequential gzip 3 sha1 fresh` |')"
check_eq "save < its compress stage is found" 1 \
  "$(echo "$sec" | grep -c '^| `save` >= each of its stages.* | `v-stage 4 save sequential gzip 3 sha1 fresh` | `v-stage 4 compress - gzip 3 - reuse` |')"
check_eq "load+verify < load is found" 1 \
  "$(echo "$sec" | grep -c '^| `load+verify` >= .* | `v-verify 4 load+verify - gzip 3 sha1 fresh` | `v-verify 4 load - gzip 3 - fresh` |')"
check_eq "load < decompress is found" 1 \
  "$(echo "$sec" | grep -c '^| `load` >= `decompress`.* | `v-load 4 load - gzip 3 - fresh` | `v-load 4 decompress - gzip 3 - reuse` |')"
check_eq "overlapping intervals are not a violation" 0 "$(echo "$sec" | grep -c '`near ')"

# ---- the drift section ------------------------------------------------------------
"$CB" report a >/dev/null 2>a.err || fail "report a" "$(cat a.err)"
d=$(sed -n '/^## [0-9]*\. Drift over the run/,/^## /p' a/REPORT.md)
check_eq "drift: the canary's samples and rounds are counted" 1 \
  "$(echo "$d" | grep -c '^A fixed canary cell (sha1 of 64 KiB) was timed 15 times over 28.0 s: at every boundary of the 14 rounds')"
check "drift: the canary is plotted" test -s a/plots/canary.png -a -s a/plots/canary.svg
check_eq "drift: the flagged rows are counted from matrix.tsv" \
  "$(tsv_awk 'NR > 1 && $col["flag"] != "steady" && $col["flag"] != "few"' a/matrix.tsv | wc -l) of 60" \
  "$(echo "$d" | sed -n 's/.*: \*\*\([0-9]* of [0-9]*\)\*\* ok rows.*/\1/p')"

# ---- A/A on two real runs --------------------------------------------------------
# The same tiny matrix twice, back to back, with the release build. Nothing
# changed, so compare may call only a few rows faster or slower (at most 10 %:
# a false discovery rate of 5 % plus a machine that drifts between the runs),
# and --fail-above 10 must not trip. This is the one check here that depends
# on the machine.
# shellcheck disable=SC2054  # comma-separated lists are option values
AA=(--payload config,metrics --codec gzip:3,lz4:0 --hash sha1,xxh3-64 --rounds 9 --min-time 0.001)
if ! "$REL" run "${AA[@]}" --out r1 >/dev/null 2>r1.err || ! "$REL" run "${AA[@]}" --out r2 >/dev/null 2>r2.err; then
  fail "two real runs" "$(cat r1.err r2.err)"
fi
# On an oversubscribed machine (a load average above four times the CPUs:
# this process then gets less than a quarter of one) wall times measure the
# scheduler, not the code: whole rows move between runs in every round, and
# the check is not judged (said so in its name). On the shared 2-vCPU
# development VM it passed under moderate load and failed when the load
# average was many times the CPUs.
load=$(awk -F'\t' 'FNR > 1 && $7 > m { m = $7 } END { print m + 0 }' r1/rounds.tsv r2/rounds.tsv)
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > 4 * n) }'; then
  pass "real A/A: not judged: load average reached $load on $(nproc) CPUs during the runs"
else
  rc=0; "$CB" compare r1 r2 --fail-above 10 >real.md 2>real.err || rc=$?
  check_eq "real A/A: compare --fail-above 10 exits 0, nothing on stderr" "0|" "$rc|$(cat real.err)"
  n=$(sed -n 's/^\([0-9]*\) rows compared.*/\1/p' real.md)
  flagged=$( (verdicts real.md slower; verdicts real.md faster) | grep -c .)
  check "real A/A: at most 10 % of $n rows called faster or slower ($flagged)" test "$flagged" -le $((n / 10))
fi
