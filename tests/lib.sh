# shellcheck shell=bash
# tests/lib.sh - sourced by every tests/test_*.sh.
#
# A test script prints one line per check: "PASS: name" or "FAIL: name: detail".
# tests/run.sh counts them. Scripts use $CASBENCH (the sanitizer build by
# default) and $PY (Debian's python3, the oracle), and write only under $TMPD.
set -u
: "${CASBENCH:=build/asan/casbench}"
: "${CASBENCH_RELEASE:=build/casbench}"
# shellcheck disable=SC2034 # used by the scripts that source this file
PY=/usr/bin/python3
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}"
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/casbench-test.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: ${2:-}"; }

# check NAME CMD...: passes when CMD exits 0.
check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "exit $? from '$*': $(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# check_error NAME STATUS CMD...: CMD must exit with STATUS, print exactly one
# line on stderr starting "casbench: ", print nothing on stdout, and trip no
# sanitizer. Standard input is /dev/null unless the caller redirects it.
check_error() {
  local name=$1 want=$2; shift 2
  check_error_prog "$name" "$want" casbench "$@"
}

# check_error_prog NAME STATUS PROG CMD...: as check_error, for any program
# whose one stderr line starts "PROG: ".
check_error_prog() {
  local name=$1 want=$2 prog=$3; shift 3
  local rc=0
  "$@" >"$TMPD/err.out" 2>"$TMPD/err.err" </dev/null || rc=$?
  if [ "$rc" != "$want" ]; then
    fail "$name" "exit $rc, want $want; stderr: $(head -c 300 "$TMPD/err.err" | tr '\n' ' ')"
  elif [ "$(wc -l <"$TMPD/err.err")" != 1 ] || [ "$(head -c $((${#prog} + 2)) "$TMPD/err.err")" != "$prog: " ]; then
    fail "$name" "stderr is not one '$prog: ' line: $(head -c 300 "$TMPD/err.err" | tr '\n' '|')"
  elif [ -s "$TMPD/err.out" ]; then
    fail "$name" "wrote $(wc -c <"$TMPD/err.out") bytes to stdout"
  else
    pass "$name"
  fi
}

# matrix.tsv (and every casbench TSV with a header) by column name, never by
# position (the columns: rundata/schema.h, results/README.md).
# tsv_awk [-v VAR=VALUE]... PROGRAM FILE...: awk -F'\t' where
# col["name"] is the index of column "name" in the current file's header and
# ncols its field count:
#   tsv_awk 'NR > 1 && $col["status"] != "ok"' run/matrix.tsv
tsv_awk() {
  local vars=() f
  while [ "$1" = -v ]; do vars+=(-v "$2"); shift 2; done
  local prog=$1; shift
  # A missing file is a line of output, not none: a check that counts the
  # lines (| wc -l = 0) or wants none ("") must fail on it.
  for f in "$@"; do
    [ "$f" = - ] || [ -r "$f" ] || { echo "tsv_awk: $f: no such file"; return 1; }
  done
  awk -F'\t' "${vars[@]}" \
    "FNR == 1 { delete col; ncols = NF; for (i = 1; i <= NF; i++) col[\$i] = i } $prog" "$@"
}
# cols FILE NAME...: the named columns of every data row (header excluded),
# tab-separated, in the order named.
cols() {
  local file=$1; shift
  awk -F'\t' -v OFS='\t' -v want="$*" '
    NR == 1 { n = split(want, w, " "); for (i = 1; i <= NF; i++) c[$i] = i
              for (k = 1; k <= n; k++) if (!(w[k] in c)) { print "cols: no column " w[k] > "/dev/stderr"; exit 2 }
              next }
    { line = ""; for (k = 1; k <= n; k++) line = line (k > 1 ? OFS : "") $c[w[k]]; print line }' "$file"
}
# col FILE NAME: one column of every data row, one value a line.
col() { cols "$1" "$2"; }
# The identity columns of a row (schema_key: rundata/schema.h), for `cols`:
# cols FILE "${ID_COLS[@]}".
# shellcheck disable=SC2034 # used by the scripts that source this file
ID_COLS=(payload protocol stage variant codec level hash alloc)
