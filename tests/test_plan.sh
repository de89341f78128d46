#!/usr/bin/env bash
# The planner (bench/plan.h): its unit test (tests/c/test_plan.c: the rules of
# `run --help` with counts computed from the codec and hash rows), and through
# the CLI: --quick runs the quick sets env.tsv names, run's options parse as
# getopt_long does (--flag=value, --flag value, --), and run_args keeps a
# run's own options but never --out.
. "$(dirname "$0")/lib.sh"

run_c() {  # as in test_codecs.sh: a crash is one more failure
  local name=$1 rc=0; shift
  "$@" >"$TMPD/c.out" 2>"$TMPD/c.err" || rc=$?
  cat "$TMPD/c.out"
  case $rc in 0|1) ;; *) fail "$name" "exit $rc: $(tail -n 5 "$TMPD/c.err" | tr '\n' ' ')" ;; esac
}
run_c "test_plan (asan)" "${CASBENCH%/casbench}/tests/test_plan"

# col FILE NAME: the column NAME of a TSV file with a header, by name.
col() {
  awk -F'\t' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { print $c }' "$1"
}
env_value() { awk -F'\t' -v k="$2" '$1 == k { print $2 }' "$1/env.tsv"; }

FAST=(--payload config --rounds 2 --min-time 0.0005)
q=$TMPD/quick
rc=0; "$CASBENCH" run "${FAST[@]}" --quick --out "$q" >/dev/null 2>"$TMPD/q.err" || rc=$?
check_eq "run --quick: exit 0" "0" "$rc"
codecs=$(paste -d: <(col "$q/matrix.tsv" codec) <(col "$q/matrix.tsv" level) | grep -v '^:' | sort -u | paste -sd,)
want=$(env_value "$q" set_quick_codecs | tr ',' '\n' | sort -u | paste -sd,)
check_eq "run --quick: the codecs of the rows are the quick set of env.tsv" "$want" "$codecs"
hashes=$(col "$q/matrix.tsv" hash | grep -v '^$' | sort -u | paste -sd,)
want=$(env_value "$q" set_quick_hashes | tr ',' '\n' | sort -u | paste -sd,)
check_eq "run --quick: the hashes of the rows are the quick set of env.tsv" "$want" "$hashes"
check_eq "run --quick: no load+verify or save+store rows" "0" \
  "$(col "$q/matrix.tsv" stage | grep -c -e '^load+verify$' -e '^save+store$')"
check_eq "run --quick: env.tsv's profile" "quick" "$(env_value "$q" profile)"

# getopt_long: --flag=value and --flag value alike, -- ends the options.
a=$TMPD/a b=$TMPD/b
"$CASBENCH" run "${FAST[@]}" --codec=lz4:0 --hash=sha1 --out="$a" >/dev/null 2>&1
"$CASBENCH" run --payload=config --rounds=2 --min-time=0.0005 --codec lz4:0 --hash sha1 --out "$b" -- >/dev/null 2>&1
check_eq "run: --flag=value and --flag value give the same rows" \
  "$(cut -f1-9 "$a/matrix.tsv" | sort | md5sum)" "$(cut -f1-9 "$b/matrix.tsv" 2>/dev/null | sort | md5sum)"
check_eq "run: run_args keeps the run's options, not --out=DIR" \
  "--payload config --rounds 2 --min-time 0.0005 --codec=lz4:0 --hash=sha1" "$(env_value "$a" run_args)"
check_eq "run: run_args keeps --, not --out DIR" \
  "--payload=config --rounds=2 --min-time=0.0005 --codec lz4:0 --hash sha1 --" "$(env_value "$b" run_args)"
check_error "run: an argument after -- is refused" 1 "$CASBENCH" run --quick -- extra
check_error "run: an argument that is not an option is refused" 1 "$CASBENCH" run extra
check_error "run: --quick=x takes no value" 1 "$CASBENCH" run --quick=x
check_error "run: --out= missing value" 1 "$CASBENCH" run --out
check_error "run: --rounds=1 is out of range" 2 "$CASBENCH" run --rounds=1

# --resume re-reads run_args: a finished run has nothing left to run.
rows=$(wc -l <"$a/matrix.tsv")
rc=0; "$CASBENCH" run --resume "$a" >/dev/null 2>"$TMPD/r.err" || rc=$?
check_eq "run --resume of a finished run: exit 0, the same rows" "0 $rows" "$rc $(wc -l <"$a/matrix.tsv")"
