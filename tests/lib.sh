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
  local rc=0
  "$@" >"$TMPD/err.out" 2>"$TMPD/err.err" </dev/null || rc=$?
  local lines
  lines=$(wc -l <"$TMPD/err.err")
  if [ "$rc" != "$want" ]; then
    fail "$name" "exit $rc, want $want; stderr: $(head -c 300 "$TMPD/err.err" | tr '\n' ' ')"
  elif [ "$lines" != 1 ] || ! head -n 1 "$TMPD/err.err" | grep -q '^casbench: '; then
    fail "$name" "stderr is not one 'casbench: ' line: $(head -c 300 "$TMPD/err.err" | tr '\n' '|')"
  elif [ -s "$TMPD/err.out" ]; then
    fail "$name" "wrote $(wc -c <"$TMPD/err.out") bytes to stdout"
  else
    pass "$name"
  fi
}

# check_error_prog NAME STATUS PROG CMD...: as check_error, for a program
# other than casbench whose one stderr line starts "PROG: ".
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
