#!/usr/bin/env bash
# Payload generators, the JSON and .npy readers and the pickler, with CPython
# 3.11 (+ numpy 1.24) as the oracle: our bytes must be exactly what
# pickle.dumps writes for the same object.
# shellcheck disable=SC2016 # bash -c scripts in single quotes take their own variables
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.." || exit 3
ORACLE=tests/pickle_oracle.py
NAMED="config metrics embeddings weights random tokens sparse"
PARAM="weights:rows=30,cols=7,dtype=float32 embeddings:rows=3,cols=5,dtype=int64 embeddings:rows=9,dtype=uint8
random:size=64KiB random:size=1 random:size=300 metrics:columns=1000 tokens:count=5000,vocab=300,dtype=uint16
sparse:rows=70,cols=1000,dtype=float64 embeddings:rows=4,dtype=bool embeddings:rows=4,dtype=int8 embeddings:rows=4,dtype=uint64"

# --- every named and parameterized payload x protocol: loads + dumps == ours ---
mkdir -p "$TMPD/named"
for p in $NAMED $PARAM; do
  for P in 2 3 4 5; do
    f="$TMPD/named/$(echo "$p" | tr ':=,' '___').$P.pkl"
    "$CASBENCH" pickle "$p" --protocol "$P" >"$f" 2>"$TMPD/named.err" || fail "pickle $p -p $P" "$(cat "$TMPD/named.err")"
  done
done
for P in 2 3 4 5; do
  nok=0
  while read -r status rest; do
    if [ "$status" = ok ]; then pass "round trip P$P: ${rest##*/}"; nok=$((nok + 1)); else fail "round trip P$P" "$rest"; fi
  done < <("$PY" "$ORACLE" roundtrip "$P" "$TMPD"/named/*."$P".pkl)
  # The oracle answers once per file: a crash part-way must not pass as fewer checks.
  check_eq "round trip P$P: the oracle judged every file" "$(find "$TMPD/named" -name "*.$P.pkl" | wc -l)" "$nok"
done

# --- numpy 2: only the module path differs ---
for p in embeddings "weights:rows=3,cols=4,dtype=uint8"; do
  for P in 2 3 4 5; do
    "$CASBENCH" pickle "$p" --protocol "$P" --numpy 1 >"$TMPD/np1.pkl"
    "$CASBENCH" pickle "$p" --protocol "$P" --numpy 2 >"$TMPD/np2.pkl"
    check_eq "numpy 2 differs only by module path: $p P$P" ok "$("$PY" "$ORACLE" np2cmp "$TMPD/np1.pkl" "$TMPD/np2.pkl")"
  done
done

# --- sizes the brief fixes (protocol 4, seed 0), from the oracle's len() ---
size_of() { "$CASBENCH" pickle "$1" | wc -c; }
check "config pickles to 233 +- 3 bytes" test "$(( $(size_of config) - 233 ))" -ge -3 -a "$(( $(size_of config) - 233 ))" -le 3
m=$(size_of metrics)
check "metrics pickles to 52 KB +- 2 % ($m)" test "$m" -ge 50960 -a "$m" -le 54316
check_eq "embeddings pickles as numpy does (size)" \
  "$("$PY" -c 'import numpy,pickle; print(len(pickle.dumps(numpy.zeros((1000,100)),protocol=4)))')" "$(size_of embeddings)"
check_eq "random pickles as bytes does (size)" \
  "$("$PY" -c 'print(len(__import__("pickle").dumps(bytes(5000000),protocol=4)))')" "$(size_of random)"
check_eq "weights unpickles to shape (1000, 1000)" "(1000, 1000)" \
  "$("$CASBENCH_RELEASE" pickle weights | "$PY" -c 'import pickle,sys; print(pickle.loads(sys.stdin.buffer.read()).shape)')"
check_eq "sparse is about half exact zeros" ok "$("$CASBENCH" pickle sparse | "$PY" -c '
import pickle,sys; a=pickle.loads(sys.stdin.buffer.read()); z=(a==0).mean(); print("ok" if 0.45<z<0.55 else z)')"
check_eq "weights is normal(0, 0.02)" ok "$("$CASBENCH" pickle weights | "$PY" -c '
import pickle,sys; a=pickle.loads(sys.stdin.buffer.read()); print("ok" if abs(a.mean())<1e-3 and abs(a.std()-0.02)<1e-3 else (a.mean(),a.std()))')"
check "seed changes the bytes" bash -c "! cmp -s <('$CASBENCH' pickle weights:rows=10 --seed 1) <('$CASBENCH' pickle weights:rows=10 --seed 2)"
check "same seed, same bytes" cmp <("$CASBENCH" pickle metrics --seed 7) <("$CASBENCH_RELEASE" pickle metrics --seed 7)

# --- golden digests (tests/golden/regenerate.sh rewrites them) ---
while read -r sum name; do
  check_eq "golden sha1 of $name" "$sum" "$("$CASBENCH" pickle "$name" --protocol 4 --seed 0 | sha1sum | cut -d' ' -f1)"
done <tests/golden/payloads.sha1

# --- 500 random JSON documents x 4 protocols against json.load + pickle.dumps ---
mkdir -p "$TMPD/json"
"$PY" "$ORACLE" jsondocs "$TMPD/json" 500 20261126 || fail "jsondocs generator" "exit $?"
# two workers (the machine has two cores); each prints the cases that differ
export CASBENCH TMPD
seq 0 499 | xargs -P 2 -n 50 bash -c '
  for i; do
    for P in 2 3 4 5; do
      echo case >>"$TMPD/json/count.$$"
      "$CASBENCH" pickle "json:$TMPD/json/doc-$i.json" --protocol "$P" 2>"$TMPD/json/err.$$" |
        cmp -s - "$TMPD/json/doc-$i.$P.pkl" || echo "doc-$i P$P: $(head -c 200 "$TMPD/json/err.$$")"
    done
  done' _ >"$TMPD/json.bad"
n=$(cat "$TMPD"/json/count.* | wc -l)
bad=$(wc -l <"$TMPD/json.bad")
head -n 5 "$TMPD/json.bad" | while read -r l; do fail "json" "$l"; done
check_eq "JSON documents pickled byte-identical ($n cases)" 0 "$bad"

# nesting: PYOBJ_MAX_DEPTH (10000) levels pickle, one more and 10^6 are errors
depth=$(grep -o 'PYOBJ_MAX_DEPTH [0-9]*' payloads/pyobj.h | cut -d' ' -f2)
"$PY" -c "import sys; n=int(sys.argv[1]); sys.stdout.write('['*n + ']'*n)" "$depth" >"$TMPD/deep.json"
"$CASBENCH" pickle "json:$TMPD/deep.json" >"$TMPD/deep.pkl"
check_eq "JSON nested $depth deep pickles and loads" ok "$("$PY" "$ORACLE" depth "$TMPD/deep.pkl" "$depth")"
"$PY" -c "import sys; n=int(sys.argv[1]); sys.stdout.write('{\"a\":'*n + '1' + '}'*n)" "$depth" >"$TMPD/deepd.json"
check "JSON objects nested $depth deep" bash -c "'$CASBENCH' pickle 'json:$TMPD/deepd.json' --protocol 2 >/dev/null"
"$PY" -c "import sys; n=int(sys.argv[1])+1; sys.stdout.write('['*n + ']'*n)" "$depth" >"$TMPD/deep1.json"
check_error "JSON nested one level too deep" 2 "$CASBENCH" pickle "json:$TMPD/deep1.json"
"$PY" -c "import sys; sys.stdout.write('['*10**6 + ']'*10**6)" >"$TMPD/deep6.json"
check_error "JSON nested 10^6 deep" 2 "$CASBENCH" pickle "json:$TMPD/deep6.json"

# --- .npy files saved by numpy ---
mkdir -p "$TMPD/npy"
"$PY" "$ORACLE" npys "$TMPD/npy"
for f in "$TMPD"/npy/*.npy; do
  b=${f%.npy}
  for P in 2 3 4 5; do
    if "$CASBENCH" pickle "npy:$f" --protocol "$P" 2>"$TMPD/n.err" | cmp -s - "$b.$P.pkl"; then
      pass "npy ${b##*/} P$P"
    else
      fail "npy ${b##*/} P$P" "$(head -c 200 "$TMPD/n.err")"
    fi
  done
done

# --- file:PATH is the blob itself ---
printf 'not really a pickle' >"$TMPD/blob"
check_eq "file: passes the bytes through" "$(sha1sum <"$TMPD/blob")" "$("$CASBENCH" pickle "file:$TMPD/blob" | sha1sum)"

# --- bad input: one line, the right status, nothing on stdout ---
check_error "unknown payload" 2 "$CASBENCH" pickle nosuch
check_error "unknown parameter" 2 "$CASBENCH" pickle weights:depth=3
check_error "parameter on config" 2 "$CASBENCH" pickle config:x=1
check_error "zero rows" 2 "$CASBENCH" pickle weights:rows=0
check_error "negative cols" 2 "$CASBENCH" pickle weights:cols=-5
check_error "size 1e30" 2 "$CASBENCH" pickle random:size=1e30
check_error "rows 2**70" 2 "$CASBENCH" pickle 'weights:rows=2**70'
check_error "rows 2^70 in digits" 2 "$CASBENCH" pickle weights:rows=1180591620717411303424
check_error "size beyond the 64 GiB cap" 2 "$CASBENCH" pickle random:size=65GiB
check_error "array beyond the cap" 2 "$CASBENCH" pickle weights:rows=1000000,cols=1000000
check_error "unknown dtype" 2 "$CASBENCH" pickle weights:dtype=complex128
check_error "parameter twice" 2 "$CASBENCH" pickle weights:rows=2,rows=3
check_error "empty parameter list" 2 "$CASBENCH" pickle weights:
# a size under the cap that malloc refuses: the release build under a 2 GB
# address-space limit (ASan needs terabytes of address space for its shadow)
check_error "unallocatable size" 3 bash -c "ulimit -v 2000000; exec '$CASBENCH_RELEASE' pickle random:size=8GiB"
check_error "unallocatable array" 3 bash -c "ulimit -v 2000000; exec '$CASBENCH_RELEASE' pickle weights:rows=100000,cols=10000"
check_error "missing file" 2 "$CASBENCH" pickle "json:$TMPD/nonexistent.json"
check_error "missing path" 2 "$CASBENCH" pickle json:
check_error "a directory" 2 "$CASBENCH" pickle "npy:$TMPD"
mkfifo "$TMPD/fifo"
check_error "a FIFO (unreadable as a file)" 2 "$CASBENCH" pickle "file:$TMPD/fifo"
check_error "a character device" 2 "$CASBENCH" pickle json:/dev/null
: >"$TMPD/empty"
check_error "an empty file" 2 "$CASBENCH" pickle "json:$TMPD/empty"
printf '{"a": [1, 2,\n    x]}' >"$TMPD/bad.json"
check_error "malformed JSON" 2 "$CASBENCH" pickle "json:$TMPD/bad.json"
check "malformed JSON names line 2 column 5" grep -q 'line 2 column 5' "$TMPD/err.err"
printf '["ok", "\xff"]' >"$TMPD/badutf8.json"
check_error "invalid UTF-8 in JSON" 2 "$CASBENCH" pickle "json:$TMPD/badutf8.json"
printf '["\xed\xa0\x80"]' >"$TMPD/surr.json"
check_error "UTF-8-encoded surrogate in JSON" 2 "$CASBENCH" pickle "json:$TMPD/surr.json"
for doc in '[1,]' '{"a" 1}' '{1: 2}' '"abc' '[1] 2' 'tru' '"\x"' '"\u12"' '-' '01' '[' '{"a":1,}'; do
  printf '%s' "$doc" >"$TMPD/m.json"
  check_error "malformed JSON: $doc" 2 "$CASBENCH" pickle "json:$TMPD/m.json"
done
"$PY" -c "print('[' + '9'*4301 + ']')" >"$TMPD/bigint.json"
check_error "JSON int beyond Python's 4300-digit limit" 2 "$CASBENCH" pickle "json:$TMPD/bigint.json"

# malformed .npy headers
npyhdr() {  # npyhdr FILE MAJOR HEADER-DICT DATA-BYTES
  "$PY" - "$@" <<'PYEOF'
import struct, sys
path, major, hdr, n = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), int(sys.argv[4])
pre = b"\x93NUMPY" + bytes([major, 0])
pre += struct.pack("<H", len(hdr)) if major == 1 else struct.pack("<I", len(hdr))
open(path, "wb").write(pre + hdr + b"\0" * n)
PYEOF
}
i=0
while IFS='|' read -r what major hdr n; do
  i=$((i + 1))
  npyhdr "$TMPD/bad$i.npy" "$major" "$hdr" "$n"
  check_error "malformed .npy: $what" 2 "$CASBENCH" pickle "npy:$TMPD/bad$i.npy"
done <<'EOF'
format 4.0|4|{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }|16
big-endian dtype|1|{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }|16
object dtype|1|{'descr': '|O', 'fortran_order': False, 'shape': (2,), }|16
missing shape|1|{'descr': '<f8', 'fortran_order': False, }|16
shape not a tuple|1|{'descr': '<f8', 'fortran_order': False, 'shape': 2, }|16
shape (2) without comma|1|{'descr': '<f8', 'fortran_order': False, 'shape': (2), }|16
negative dimension|1|{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }|16
fortran_order not a bool|1|{'descr': '<f8', 'fortran_order': 0, 'shape': (2,), }|16
extra key|1|{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}|16
short data|2|{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }|15
long data|3|{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }|17
not a dict|1|['descr']|0
overflowing shape|1|{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }|0
EOF
printf '\x93NUMPY\x01\x00\xff\xff{}' >"$TMPD/trunc.npy"
check_error "malformed .npy: header length past the end" 2 "$CASBENCH" pickle "npy:$TMPD/trunc.npy"
printf 'PK\x03\x04 not numpy' >"$TMPD/magic.npy"
check_error "malformed .npy: bad magic" 2 "$CASBENCH" pickle "npy:$TMPD/magic.npy"

# flags
check_error "--protocol 1" 2 "$CASBENCH" pickle config --protocol 1
check_error "--protocol 6" 2 "$CASBENCH" pickle config --protocol 6
check_error "--protocol x" 2 "$CASBENCH" pickle config --protocol x
check_error "--protocol without value" 1 "$CASBENCH" pickle config --protocol
check_error "--seed -1" 2 "$CASBENCH" pickle config --seed -1
check_error "--seed 2**64" 2 "$CASBENCH" pickle config --seed 18446744073709551616
check_error "--numpy 3" 2 "$CASBENCH" pickle config --numpy 3
check_error "unknown flag" 1 "$CASBENCH" pickle config --frobnicate
check_error "no payload" 1 "$CASBENCH" pickle
check_error "two payloads" 1 "$CASBENCH" pickle config metrics
check_error "stdout is /dev/full" 3 bash -c "exec '$CASBENCH' pickle weights >/dev/full"
check "--help documents every payload" bash -c "'$CASBENCH' pickle --help | grep -q 'sparse' && '$CASBENCH' pickle --help | grep -q 'dtype=DTYPE'"
check "--version" bash -c "'$CASBENCH' pickle --version | grep -q '^casbench '"
if command -v script >/dev/null; then
  out=$(script -qec "$CASBENCH pickle config" /dev/null </dev/null 2>&1); rc=$?
  check_eq "refuses a terminal (status)" 1 "$rc"
  check "refuses a terminal (message)" grep -q 'refusing to write' <<<"$out"
else
  fail "refuses a terminal" "script(1) (bsdutils, an essential package) is missing"
fi

# --- the library below the CLI: tests/c/test_payloads.c, the Makefile's target
# beside $CASBENCH (build/asan: with the sanitizers) ---
UNITB=$(dirname "$CASBENCH"); UNIT=$UNITB/tests/test_payloads
if make -s --no-print-directory BUILD="$UNITB" SANITIZE="$([ "${UNITB##*/}" = asan ] && echo 1)" "$UNIT" \
     >"$TMPD/unit.err" 2>&1; then
  pass "test_payloads builds"
  # several ndarrays in one graph (shared dtypes, a repeated array, one-byte
  # data equal to numpy's own b'b', a bytes singleton) against Python building
  # the same graph
  mkdir -p "$TMPD/multi"
  "$UNIT" multi "$TMPD/multi" && "$PY" "$ORACLE" multi "$TMPD/multi"
  for k in 0 1; do
    for P in 2 3 4 5; do
      check "graph of arrays $k P$P equals pickle.dumps" cmp "$TMPD/multi/multi-$k.$P.pkl" "$TMPD/multi/multi-$k.$P.expected"
    done
  done
  check_eq "canonical payload names" \
    "weights|weights:rows=4096,cols=1024,dtype=float32|random:size=64MiB|random|metrics|json:$TMPD/json/doc-1.json|error 2|error 2" \
    "$("$UNIT" names weights weights:rows=4096,cols=1024,dtype=float32 random:size=64MiB random:size=5MB \
        metrics:columns=416 "json:$TMPD/json/doc-1.json" weights:rows=0 bogus | paste -sd'|')"
  # the pickler holds each list item and dict key and value while it saves
  # it, as _pickle does (refs), and gives every reference back, also when
  # it stops half-way (a buffer of half the pickle's length)
  check_eq "pickling gives back every reference it takes" \
    "config 233 0|metrics 52476 0|pr3090-metrics 52139 0|embeddings 800162 0" \
    "$("$UNIT" refs config metrics pr3090-metrics embeddings | paste -sd'|')"
  # the memo is CPython's table: what CPython's pickler holds after pickling
  # the same object (Pickler.__sizeof__ counts mt_allocated entries of 16
  # bytes; pickling 0 leaves the first 8), malloc'd above pymalloc's 512
  # bytes and so 0 below, against the heap the C pickler holds at its end
  MEMO_SPECS="config pr3090-config metrics pr3090-metrics embeddings"
  # shellcheck disable=SC2086
  memo_c=$("$UNIT" memo $MEMO_SPECS | paste -sd'|')
  check_eq "the pickler's memo at its end (bytes malloc'd)" \
    "config 0|pr3090-config 0|metrics 32768|pr3090-metrics 8192|embeddings 0" "$memo_c"
  # shellcheck disable=SC2086
  check_eq "the pickler's memo is CPython's table, malloc'd where CPython's is" \
    "$("$PY" - "$CASBENCH" $MEMO_SPECS <<'EOF' | paste -sd'|'
import io, pickle, subprocess, sys
def size(x):
    p = pickle.Pickler(io.BytesIO(), 4)
    p.dump(x)
    return sys.getsizeof(p)
for name in sys.argv[2:]:
    blob = subprocess.run([sys.argv[1], "pickle", name], stdout=subprocess.PIPE, check=True).stdout
    table = size(pickle.loads(blob)) - size(0) + 8 * 16
    print(name, table if table > 512 else 0)
EOF
)" "$memo_c"
  "$UNIT" list >"$TMPD/list.txt"
  for p in $NAMED; do
    check_eq "payload_print_list size of $p" "$(size_of "$p")" "$(awk -v p="$p" '$1 == p { print $3 }' "$TMPD/list.txt")"
  done
else
  fail "test_payloads builds" "$(head -c 300 "$TMPD/unit.err")"
fi
