#!/usr/bin/env bash
# numpy's Generator reimplemented (payloads/numpy_random.c) and PR #3090's
# payloads built from it (payloads/pr3090.c), with Debian's numpy as the
# oracle: the raw draw streams over 50 seeds, then `casbench pickle
# pr3090-*` and `pattern:SIZE` byte for byte against pickle.dumps of the
# PR's own make_payloads() (tests/pr3090_oracle.py).
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.." || exit 3
RNG=${CASBENCH%/casbench}/tests/test_numpy_rng
[ -x "$RNG" ] || { fail "test program" "$RNG is missing (make check-build)"; exit 0; }

# --- draw streams: 50 seeds (small, 42, word boundaries, 2^64 - 1) ---
# One generator per seed runs every command in order, so each method starts
# where the previous one left the stream, the spare 32-bit half included
# (u32 then int then u64 ...), as in numpy. snormal/exp draw enough values
# that the ziggurat's slow paths occur often: over the 50 seeds about 3 000
# normal wedge and 50 tail draws, 4 000 exponential wedge and 80 tail draws.
SEEDS=$(echo $(seq 0 39) 42 4294967295 4294967296 9223372036854775808 18446744073709551615 \
        123456789 20261201 987654321012 3141592653589793 65535 | tr ' ' ,)
CMDS=(u64:100 u32:3 double:50 snormal:4000 u32:1 normal:300:1.5:2.5 exp:4000:1.0 int:1:0:100
      u64:1 exp:50:0.5 int:300:0:100 int:30:0:4294967296 int:30:-5:1099511627776 int:5:7:8
      int:20:0:4294967295 int:20:-9223372036854775808:9223372036854775807 bytes:0 bytes:1 u32:1
      bytes:7 bytes:1001 normal:1:0:1 exp:1:1 normal:1:0:1 normal:1:0:1 int:1:0:100 normal:50:0:1)
"$RNG" "$SEEDS" "${CMDS[@]}" >"$TMPD/ours.txt" 2>"$TMPD/ours.err" || fail "test_numpy_rng runs" "$(head -c 300 "$TMPD/ours.err")"
"$PY" tests/numpy_rng_oracle.py "$SEEDS" "${CMDS[@]}" >"$TMPD/numpy.txt" || fail "numpy oracle runs" "exit $?"
n=$(grep -vc '^seed' "$TMPD/numpy.txt")
check "draw streams of 50 seeds equal numpy's ($n values)" cmp "$TMPD/ours.txt" "$TMPD/numpy.txt"
check_eq "the streams cover 50 seeds" 50 "$(grep -c '^seed' "$TMPD/ours.txt")"
check "the streams are not empty" test "$n" -gt 400000

# --- PR #3090's payloads, seed 42 (the PR's) and three others ---
for seed in 42 0 7 18446744073709551615; do
  mkdir -p "$TMPD/pr-$seed"
  "$PY" tests/pr3090_oracle.py payloads "$TMPD/pr-$seed" "$seed" || fail "pr3090 oracle seed $seed" "exit $?"
  for name in config metrics embeddings weights random; do
    p=pr3090-$name
    spec=$p; [ "$seed" = 42 ] || spec=$p:seed=$seed
    "$CASBENCH" pickle "$spec" >"$TMPD/ours.pkl" 2>"$TMPD/err" || fail "pickle $spec" "$(cat "$TMPD/err")"
    check "$spec equals numpy's pickle ($(wc -c <"$TMPD/pr-$seed/$p.pkl") bytes)" cmp "$TMPD/ours.pkl" "$TMPD/pr-$seed/$p.pkl"
    "$CASBENCH" pickle "$spec" --numpy 2 >"$TMPD/ours2.pkl" 2>"$TMPD/err" || fail "pickle $spec --numpy 2" "$(cat "$TMPD/err")"
    check "$spec --numpy 2 equals numpy's pickle with numpy._core ($(wc -c <"$TMPD/pr-$seed/$p.np2.pkl") bytes)" \
      cmp "$TMPD/ours2.pkl" "$TMPD/pr-$seed/$p.np2.pkl"
  done
done
# The sizes the PR published (pr3090-method.md): numpy 1 here, numpy 2 by --numpy 2.
check_eq "published blob_bytes, numpy 1" "233 52139 800162 8000163 5000009" \
  "$(for n in config metrics embeddings weights random; do wc -c <"$TMPD/pr-42/pr3090-$n.pkl"; done | paste -sd' ')"
check_eq "published blob_bytes, numpy 2" "233 52139 800163 8000164 5000009" \
  "$(for n in config metrics embeddings weights random; do wc -c <"$TMPD/pr-42/pr3090-$n.np2.pkl"; done | paste -sd' ')"

# --- pattern:SIZE ---
SIZES="0 1 255 256 257 1000 65535 65536 100000 1000000"
mkdir -p "$TMPD/pat"
# shellcheck disable=SC2086 # SIZES is a list
"$PY" tests/pr3090_oracle.py pattern "$TMPD/pat" $SIZES || fail "pattern oracle" "exit $?"
for s in $SIZES; do
  check "pattern:$s equals pickle.dumps(bytes(range(256)) cut to $s)" \
    cmp <("$CASBENCH" pickle "pattern:$s") "$TMPD/pat/pattern-$s.pkl"
done
check "pattern:1MB is pattern:1000000" cmp <("$CASBENCH" pickle pattern:1MB) "$TMPD/pat/pattern-1000000.pkl"

# --- bad specs: one line, status 2 ---
check_error "pattern without a size" 2 "$CASBENCH" pickle pattern
check_error "pattern: negative size" 2 "$CASBENCH" pickle pattern:-1
check_error "pattern: not a size" 2 "$CASBENCH" pickle pattern:ten
check_error "pattern: over the 64 GiB cap" 2 "$CASBENCH" pickle pattern:65GiB
check_error "pr3090 seed beyond 2^64 - 1" 2 "$CASBENCH" pickle pr3090-config:seed=18446744073709551616
check_error "pr3090: unknown parameter" 2 "$CASBENCH" pickle pr3090-weights:rows=3

# --- casbench list shows them, with the sizes pickled above ---
"$CASBENCH" list payloads >"$TMPD/list.txt" || fail "list payloads" "exit $?"
for name in config metrics embeddings weights random; do
  check_eq "list: pr3090-$name size" "$(wc -c <"$TMPD/pr-42/pr3090-$name.pkl")" \
    "$(awk -v p="pr3090-$name" '$1 == p { print $3 }' "$TMPD/list.txt")"
done
check "list: pattern:SIZE" grep -q '^pattern  *SIZE' "$TMPD/list.txt"
check "--seed does not change pr3090 payloads (the PR's seed is a parameter)" \
  cmp <("$CASBENCH" pickle pr3090-metrics --seed 5) "$TMPD/pr-42/pr3090-metrics.pkl"
