#!/usr/bin/env bash
# casbench run: the matrix, its files, verification, interruption and resume.
# Oracles: results/README.md (the columns), the reference tools (sha1sum,
# b2sum, b3sum, xxhsum) over `casbench pickle` output (the keys), Python's
# json module and libbenchmark-tools' compare.py (gbench.json).
. "$(dirname "$0")/lib.sh"
ROOT=$(pwd)
ASAN=$(realpath "$CASBENCH")
README="$ROOT/results/README.md"
COMPARE=/usr/share/benchmark/compare.py
cd "$TMPD" || exit 3

# Small and fast: timing quality does not matter to these checks.
FAST=(--min-time 0.001 --repetitions 2)
# shellcheck disable=SC2054 # commas separate casbench's list values
SMALL=(--payload config,metrics --codec gzip:3,lz4:0,zstd:1 --hash sha1,blake3,xxh3-64)

# ---- the files of a run ----------------------------------------------------

# check_matrix NAME DIR: every row has every column, typed; ok rows have their
# timing; identities are unique.
check_matrix() {
  local name=$1 dir=$2 out
  if out=$("$PY" - "$dir/matrix.tsv" "$README" <<'EOF' 2>&1
import re, sys
path, readme = sys.argv[1], sys.argv[2]
want = []
section = open(readme).read().split('## matrix.tsv columns')[1].split('\n## ')[0]
for line in section.split('\n'):
    m = re.match(r'^\| ((?:`[a-z_]+` ?)+)\|', line)
    if m: want += re.findall(r'`([a-z_]+)`', m.group(1))
lines = open(path).read().split('\n')
assert lines[-1] == '', 'file does not end with a newline'
header = lines[0].split('\t')
assert header == want, 'header %r != README %r' % (header, want)
ints = {'protocol', 'pickled_bytes', 'level', 'bytes_in', 'bytes_out', 'repetitions', 'iterations'}
floats = {'ratio', 'median_ns', 'mean_ns', 'stddev_ns', 'min_ns', 'max_ns', 'cv', 'mb_per_s', 'cold_ns'}
timing = ['repetitions', 'iterations', 'median_ns', 'mean_ns', 'stddev_ns', 'min_ns', 'max_ns', 'cv', 'mb_per_s', 'samples_ns']
seen = set()
for n, line in enumerate(lines[1:-1], 2):
    f = line.split('\t')
    assert len(f) == len(want), 'line %d: %d columns' % (n, len(f))
    r = dict(zip(want, f))
    for k in ints:
        assert r[k] == '' or re.fullmatch(r'\d+', r[k]), 'line %d: %s=%r' % (n, k, r[k])
    for k in floats:
        if r[k] != '': float(r[k])
    for k in ('payload', 'pickled_bytes', 'stage', 'alloc', 'bytes_in', 'status'):
        assert r[k], 'line %d: empty %s' % (n, k)
    assert r['stage'] in ('pickle', 'hash', 'compress', 'decompress', 'save', 'load', 'load+verify', 'save+store'), r['stage']
    assert r['alloc'] in ('fresh', 'reuse', 'cpython'), r['alloc']
    # cold_ns: the first iteration of a cpython save, on no other row.
    cold = r['alloc'] == 'cpython' and r['stage'] in ('save', 'save+store') and r['status'] == 'ok'
    assert (r['cold_ns'] != '') == cold, 'line %d: cold_ns %r' % (n, r['cold_ns'])
    if cold: assert float(r['cold_ns']) > 0, 'line %d: cold_ns' % n
    assert (r['codec'] == '') == (r['level'] == ''), 'line %d: codec/level' % n
    assert (r['variant'] != '') == (r['stage'] in ('save', 'save+store')), 'line %d: variant' % n
    ident = tuple(r[k] for k in ('payload', 'protocol', 'stage', 'variant', 'codec', 'level', 'hash', 'alloc'))
    if r['payload'] == 'sweep': ident += (r['bytes_in'],)
    assert ident not in seen, 'line %d: duplicate row %r' % (n, ident)
    seen.add(ident)
    if r['status'] == 'ok':
        assert r['message'] == '', 'line %d: ok with a message' % n
        for k in timing + ['bytes_out']:
            assert r[k] != '', 'line %d: empty %s' % (n, k)
        reps = int(r['repetitions'])
        samples = [float(x) for x in r['samples_ns'].split(',')]
        # One sample per round; an interrupted run keeps its complete rounds (1 or more).
        assert len(samples) == reps >= 1, 'line %d: %d samples' % (n, len(samples))
        assert r['round_group'], 'line %d: no round_group' % n
        assert r['flag'] in ('steady', 'spread', 'drift', 'spread+drift', 'few'), 'line %d: flag %r' % (n, r['flag'])
        assert (r['flag'] == 'few') == (reps < 5), 'line %d: flag %r with %d rounds' % (n, r['flag'], reps)
        s = sorted(samples)
        q = lambda p: s[int(p * (len(s) - 1))] + (p * (len(s) - 1) % 1) * (s[min(int(p * (len(s) - 1)) + 1, len(s) - 1)] - s[int(p * (len(s) - 1))])
        assert abs(float(r['median_ns']) - q(0.5)) <= 1e-3 + 1e-9 * q(0.5), 'line %d: median_ns is not the median over rounds' % n
        if reps >= 2:
            assert abs(float(r['spread']) - (q(0.75) - q(0.25)) / q(0.5)) < 1e-3, 'line %d: spread' % n
        else:
            assert r['spread'] == r['drift'] == '', 'line %d: spread or drift from one round' % n
        assert min(samples) == float(r['min_ns']) and max(samples) == float(r['max_ns']), 'line %d: min/max' % n
        assert float(r['min_ns']) <= float(r['median_ns']) <= float(r['max_ns']), 'line %d: median' % n
        assert (r['key'] != '') == (r['hash'] != ''), 'line %d: key' % n
        if r['codec']:
            assert abs(float(r['ratio']) - int(r['pickled_bytes']) / int(r['bytes_out' if r['stage'] in ('compress', 'save', 'save+store') else 'bytes_in'])) < 1e-4, 'line %d: ratio' % n
    else:
        assert r['status'] == 'error' and r['message'], 'line %d: status %r' % (n, r['status'])
        for k in timing + ['spread', 'drift', 'flag']:
            assert r[k] == '', 'line %d: error row with %s' % (n, k)
print(len(lines) - 2)
EOF
  ); then pass "$name ($out rows)"; else fail "$name" "$(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
}

# check_gbench NAME DIR: one JSON document; one run per round of every ok
# row (Google Benchmark times each round's batch) and none of error rows, no
# aggregates (matrix.tsv's are over rounds); compare.py reads it.
check_gbench() {
  local name=$1 dir=$2 out
  if out=$("$PY" - "$dir" <<'EOF' 2>&1
import csv, json, sys
d = sys.argv[1]
g = json.load(open(d + '/gbench.json'))
assert 'context' in g and 'benchmarks' in g
iters = [b for b in g['benchmarks'] if b.get('run_type') == 'iteration']
names = {}
for b in iters: names[b['run_name']] = names.get(b['run_name'], 0) + 1
rows = list(csv.DictReader(open(d + '/matrix.tsv'), delimiter='\t'))
ok = [r for r in rows if r['status'] == 'ok']
assert sum(int(r['repetitions']) for r in ok) == len(iters), '%d runs for %d ok rows' % (len(iters), len(ok))
assert len(names) == len(ok), '%d names, %d ok rows' % (len(names), len(ok))
assert not [b for b in g['benchmarks'] if b.get('run_type') == 'aggregate'], 'aggregates in gbench.json'
print(len(iters))
EOF
  ); then pass "$name ($out runs)"; else fail "$name" "$(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
}

# ---- one small run under the sanitizers ------------------------------------
rc=0
"$ASAN" run --quick "${SMALL[@]}" "${FAST[@]}" --out asan >asan.out 2>asan.err || rc=$?
check_eq "asan run --quick exits 0" "0" "$rc"
check_eq "the results directory is printed on stdout" "asan" "$(cat asan.out)"
check_matrix "asan run: matrix.tsv typed, complete" asan
check_eq "asan run: every status ok" "0" "$(tsv_awk 'NR > 1 && $col["status"] != "ok"' asan/matrix.tsv | wc -l)"
check_gbench "asan run: gbench.json" asan
check "compare.py reads gbench.json" "$PY" "$COMPARE" --no-color benchmarks asan/gbench.json asan/gbench.json

# Rounds: gbench.json holds the batches in the order they ran. Each round
# times every ok row once; the rows of one round_group run back-to-back; the
# order is shuffled per round (a fixed seed: the same run gives the same order).
if out=$("$PY" - asan <<'EOF' 2>&1
import csv, json, re, sys
d = sys.argv[1]
rows = [r for r in csv.DictReader(open(d + '/matrix.tsv'), delimiter='\t') if r['status'] == 'ok']
def bench(r):
    codec = r['codec'] + ':' + r['level'] if r['codec'] else '-'
    return '%s/p%s/%s/%s/%s/%s/%s' % (r['payload'], r['protocol'], r['stage'], r['variant'] or '-', codec, r['hash'] or '-', r['alloc'])
group = {bench(r): r['round_group'] for r in rows}
names = [re.sub(r'/(iterations|repeats|real_time).*', '', b['run_name']) for b in json.load(open(d + '/gbench.json'))['benchmarks']]
n, rounds = len(rows), int(rows[0]['repetitions'])
assert len(names) == n * rounds, '%d batches for %d rows x %d rounds' % (len(names), n, rounds)
orders = [names[k * n:(k + 1) * n] for k in range(rounds)]
for k, o in enumerate(orders):
    assert sorted(o) == sorted(group), 'round %d does not time every row once' % k
    seen, last = set(), None
    for name in o:
        g = group[name]
        assert g == last or g not in seen, 'round %d: group %s is split' % (k, g)
        seen.add(g)
        last = g
assert orders[0] != orders[1], 'the same order in two rounds'
print('%d rounds of %d rows, %d groups' % (rounds, n, len(set(group.values()))))
EOF
); then pass "rounds: every row once per round, groups back-to-back, shuffled ($out)"; else fail "rounds: order" "$(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
# rounds.tsv: a canary row at every round boundary (rounds + 1), typed.
check_eq "rounds.tsv: header" "round t_s kind canary_ns steal_pct iowait_pct loadavg_1m" "$(head -n 1 asan/rounds.tsv | tr '\t' ' ')"
check_eq "rounds.tsv: one boundary row per round boundary" "3" "$(awk -F'\t' '$3 == "boundary"' asan/rounds.tsv | wc -l)"
check_eq "rounds.tsv: typed rows" "0" "$(awk -F'\t' 'NR > 1 && !($4 > 0 && ($5 == "unknown" || $5 ~ /^[0-9.]+$/) && ($6 == "unknown" || $6 ~ /^[0-9.]+$/) && $7 ~ /^[0-9.]+$/)' asan/rounds.tsv | wc -l)"

# Every stage of the quick profile is there, for every selected codec and hash.
for s in pickle hash compress decompress save load; do
  check_eq "asan run: $s rows" "yes" "$(tsv_awk -v s="$s" '$col["stage"] == s { f = 1 } END { print f ? "yes" : "no" }' asan/matrix.tsv)"
done

# Keys: the digest of `casbench pickle` output by the row's hash, by the
# reference tools.
ref_digest() {  # HASH FILE
  case $1 in
    sha1) sha1sum "$2" | cut -c1-40 ;;
    sha256) sha256sum "$2" | cut -d' ' -f1 ;;
    blake2b) b2sum "$2" | cut -d' ' -f1 ;;
    blake3) b3sum --no-names "$2" ;;
    blake3-160) b3sum --no-names --length 20 "$2" ;;
    xxh64) xxhsum -H1 "$2" | cut -d' ' -f1 ;;
    xxh3-64) xxhsum -H3 "$2" | awk '{ print $NF }' ;;  # "XXH3 (FILE) = HEX"
    xxh3-128) xxhsum -H2 "$2" | cut -d' ' -f1 ;;
  esac
}
bad_keys=0 checked=0
for p in config metrics; do
  "$ASAN" pickle "$p" --seed 0 >"blob.$p" 2>/dev/null || { fail "casbench pickle $p" "exit $?"; continue; }
  while IFS=$'\t' read -r hash key; do
    want=$(ref_digest "$hash" "blob.$p")
    checked=$((checked + 1))
    [ "$want" = "$key" ] || { bad_keys=$((bad_keys + 1)); echo "key $p $hash: $key, reference $want"; }
  done < <(tsv_awk -v p="$p" '$col["payload"] == p && $col["hash"] != "" && $col["status"] == "ok" { print $col["hash"] "\t" $col["key"] }' asan/matrix.tsv | sort -u)
done
check_eq "keys equal the reference tools' digests of casbench pickle ($checked keys)" "0 mismatches, some checked" \
  "$bad_keys mismatches, $([ "$checked" -ge 6 ] && echo some || echo none) checked"
check_eq "pickled_bytes equals the size of casbench pickle output" "$(wc -c <blob.config)" \
  "$(tsv_awk '$col["payload"] == "config" { print $col["pickled_bytes"]; exit }' asan/matrix.tsv)"
# lz4:0 stores PR #3090's stream: the compress row's size is that of
# python-lz4's lz4.frame.compress of the blob (the PR's call), and the `lz4`
# tool reads casbench's stream back to the blob.
# shellcheck disable=SC2016 # the inner script's $1 is its own argument
check "compress rows: the lz4 tool decodes casbench's lz4:0 stream to the blob" \
  bash -c '"$1" compress lz4:0 <blob.metrics | lz4 -dc | cmp -s - blob.metrics' _ "$ASAN"
check_eq "compress rows: bytes_out equals lz4.frame.compress's size" \
  "$("$PY" -c 'import lz4.frame, sys; print(len(lz4.frame.compress(open("blob.metrics", "rb").read())))')" \
  "$(tsv_awk '$col["payload"] == "metrics" && $col["stage"] == "compress" && $col["codec"] == "lz4" { print $col["bytes_out"] }' asan/matrix.tsv)"

# env.tsv: every documented key.
missing=""
for k in utc_time host casbench_version casbench_commit runtime compiler_c compiler_cxx cflags \
         lib_benchmark cpu_model cpus_logical cores_physical cache_l1d cache_l1i cache_l2 cache_l3 \
         cpu_flag_sha_ni cpu_flag_avx2 cpu_flag_avx512f cpu_flag_vaes kernel cpu_governor cpu_boost \
         dmi_sys_vendor dmi_product_name hypervisor_cpuid vm_size gbench_cpu_scaling gbench_warning \
         profile seed repetitions min_time_s protocols cpu_pin store_dir store_fs_magic store_fsync \
         fresh_mmap_min_bytes pickle_numpy_major run_args hash_impl_blake3; do
  awk -F'\t' -v k="$k" '$1 == k && $2 != "" { f = 1 } END { exit !f }' asan/env.tsv || missing="$missing $k"
done
check_eq "env.tsv has every key" "" "$missing"
check_eq "env.tsv: two columns on every line" "0" "$(awk -F'\t' 'NF != 2' asan/env.tsv | wc -l)"
check_eq "env.tsv: runtime c" "c" "$(awk -F'\t' '$1 == "runtime" { print $2 }' asan/env.tsv)"

# ---- save+store, load+verify, the store directory ------------------------------
mkdir store
rc=0
"$ASAN" run --payload config --codec gzip:3,lz4:0 --hash sha1 "${FAST[@]}" --store-dir "$TMPD/store" --fsync \
  --out full >/dev/null 2>full.err || rc=$?
check_eq "default profile on one payload, under the sanitizers, exits 0" "0" "$rc"
check_matrix "default profile: matrix.tsv" full
for s in load+verify save+store; do
  check_eq "default profile: $s rows ok" "2" "$(tsv_awk -v s="$s" '$col["stage"] == s && $col["status"] == "ok"' full/matrix.tsv | wc -l)"
done
check_eq "save+store leaves the store directory empty" "" "$(find store -mindepth 1 | head -n 3)"
check_eq "env.tsv records --fsync" "yes" "$(awk -F'\t' '$1 == "store_fsync" { print $2 }' full/env.tsv)"

# ---- the broken codec: an error row, never timed ------------------------------
rc=0
CASBENCH_TEST_BROKEN_CODEC=1 "$ASAN" run --payload config --codec broken,lz4:0 --hash sha1 --quick "${FAST[@]}" \
  --out broken >/dev/null 2>broken.err || rc=$?
check_eq "a run with a broken codec still exits 0" "0" "$rc"
check_matrix "broken codec: matrix.tsv" broken
check_eq "broken codec: every row of it is an error" "0" \
  "$(tsv_awk '$col["codec"] == "broken" && $col["status"] != "error"' broken/matrix.tsv | wc -l)"
check_eq "broken codec: its compress row names the round trip" "1" \
  "$(tsv_awk '$col["codec"] == "broken" && $col["stage"] == "compress" && $col["message"] ~ /decompress\(compress\(blob\)\)/' broken/matrix.tsv | wc -l)"
check_eq "broken codec: the other codec's rows are ok" "0" \
  "$(tsv_awk 'NR > 1 && $col["codec"] != "broken" && $col["status"] != "ok"' broken/matrix.tsv | wc -l)"
check_eq "broken codec: not timed (absent from gbench.json)" "0" "$(grep -c 'broken' broken/gbench.json)"
check_gbench "broken codec: gbench.json" broken
check_error "the broken codec exists only with CASBENCH_TEST_BROKEN_CODEC=1" 2 "$ASAN" run --codec broken --out nb

# ---- interruption and resume -----------------------------------------------------
# A run long enough to interrupt: every row appears after the first round and
# is rewritten after each; an interrupted run keeps its complete rounds.
# shellcheck disable=SC2054
LONG=(--payload config,metrics,embeddings --codec gzip:3,lz4:0,zstd:1 --hash sha1,xxh3-64 --min-time 0.01 --rounds 4)
wait_rows() {  # DIR N: wait until DIR/matrix.tsv has N rows (at most 60 s)
  local _
  for _ in $(seq 600); do
    [ -f "$1/matrix.tsv" ] && [ "$(($(wc -l <"$1/matrix.tsv") - 1))" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
"$ASAN" run "${LONG[@]}" --out whole >/dev/null 2>&1
whole_ids=$(cols whole/matrix.tsv "${ID_COLS[@]}" | sort)

for sig in INT TERM; do
  want=$((128 + $(kill -l "$sig")))
  "$ASAN" run "${LONG[@]}" --out "sig$sig" >/dev/null 2>"sig$sig.err" &
  pid=$!
  wait_rows "sig$sig" 5 && kill -"$sig" "$pid"
  rc=0; wait "$pid" || rc=$?
  check_eq "SIG$sig: exit $want" "$want" "$rc"
  n=$(tsv_awk 'NR > 1 && $col["status"] == "ok" && $col["repetitions"] > m { m = $col["repetitions"] } END { print m + 0 }' "sig$sig/matrix.tsv")
  check_eq "SIG$sig: stopped before the last round" "yes" "$([ "$n" -ge 1 ] && [ "$n" -lt 4 ] && echo yes || echo "no ($n rounds)")"
  check_eq "SIG$sig: one line on stderr naming --resume" "1" "$(grep -c -- '--resume' "sig$sig.err")"
  check_matrix "SIG$sig: matrix.tsv of finished rows" "sig$sig"
  check_gbench "SIG$sig: gbench.json of finished rows" "sig$sig"
  rc=0
  "$ASAN" run --resume "sig$sig" >/dev/null 2>"sig$sig.resume.err" || rc=$?
  check_eq "SIG$sig: --resume exits 0" "0" "$rc"
  check_matrix "SIG$sig: resumed matrix.tsv (no duplicates)" "sig$sig"
  check_gbench "SIG$sig: resumed gbench.json" "sig$sig"
  check_eq "SIG$sig: resume completes the same cells as an uninterrupted run" "$whole_ids" \
    "$(cols "sig$sig/matrix.tsv" "${ID_COLS[@]}" | sort)"
  check_eq "SIG$sig: env.tsv records the resume" "1" "$(grep -c '^resume_utc_time' "sig$sig/env.tsv")"
  check_eq "SIG$sig: rounds.tsv keeps the interrupted part's rows (one header)" "1 yes" \
    "$(grep -c '^round' "sig$sig/rounds.tsv") $([ "$(grep -c 'boundary' "sig$sig/rounds.tsv")" -ge 1 ] && echo yes || echo no)"
done

# SIGKILL: no handler runs; every complete line must still parse, and a torn
# last line (simulated: the kill can land between writes) is dropped.
"$ASAN" run "${LONG[@]}" --out kill >/dev/null 2>&1 &
pid=$!
wait_rows kill 5 && kill -KILL "$pid"
wait "$pid" 2>/dev/null
check_matrix "SIGKILL: every complete line parses" kill
printf 'embeddings\t4\t8001' >>kill/matrix.tsv
rc=0
"$ASAN" run --resume kill >/dev/null 2>kill.err || rc=$?
check_eq "SIGKILL: --resume exits 0" "0" "$rc$( [ "$rc" = 0 ] || echo " ($(head -c 300 kill.err))")"
check_eq "SIGKILL: the torn line is reported" "1" "$(grep -c 'torn last line' kill.err)"
check_matrix "SIGKILL: resumed matrix.tsv" kill
check_gbench "SIGKILL: resumed gbench.json has the runs of exactly the ok rows" kill
check_eq "SIGKILL: resume completes the run" "$whole_ids" \
  "$(cols kill/matrix.tsv "${ID_COLS[@]}" | sort)"
# Killed after gbench.json took a cell's runs but before its row was written:
# the resumed run drops those runs and measures the cell again.
cp -r whole lastrow
sed -i '$d' lastrow/matrix.tsv
rc=0
"$ASAN" run --resume lastrow >/dev/null 2>&1 || rc=$?
check_eq "a row lost after its gbench.json entries: --resume exits 0" "0" "$rc"
check_gbench "a row lost after its gbench.json entries: no duplicate runs after --resume" lastrow
check_eq "a row lost after its gbench.json entries: the cell is measured again" "$(wc -l <whole/matrix.tsv)" \
  "$(wc -l <lastrow/matrix.tsv)"
rc=0 before=$(wc -l <kill/matrix.tsv)
"$ASAN" run --resume kill >/dev/null 2>&1 || rc=$?
check_eq "resuming a complete run adds nothing" "0 $before" "$rc $(wc -l <kill/matrix.tsv)"

# ---- hash sweep ---------------------------------------------------------------------
rc=0
"$ASAN" run --hash-sweep=only --hash sha1,xxh3-64 "${FAST[@]}" --out sweep >/dev/null 2>&1 || rc=$?
check_eq "--hash-sweep=only exits 0" "0" "$rc"
check_matrix "--hash-sweep: matrix.tsv" sweep
check_eq "--hash-sweep: 64 B to 64 MiB, every hash" "22 64 67108864" \
  "$(tsv_awk 'NR > 1 && $col["payload"] == "sweep" && $col["stage"] == "hash" { n++; if (!min || $col["bytes_in"] < min) min = $col["bytes_in"]; if ($col["bytes_in"] > max) max = $col["bytes_in"] } END { print n, min, max }' sweep/matrix.tsv)"

# ---- bad flags and names ----------------------------------------------------------------
check "run --help exits 0" "$ASAN" run --help
for f in --payload --codec --hash --protocol --variant --alloc --repetitions --min-time --quick --full --hash-sweep \
         --cpu --out --resume --seed --store-dir --fsync; do
  check_eq "run --help documents $f" "yes" "$("$ASAN" run --help | grep -q -- "$f" && echo yes || echo no)"
done
check_error "unknown flag" 1 "$ASAN" run --frobnicate
check_error "missing value" 1 "$ASAN" run --codec
check_error "--quick with --full" 1 "$ASAN" run --quick --full
check_error "--out with --resume" 1 "$ASAN" run --out a --resume b
check_error "unknown codec" 2 "$ASAN" run --codec nosuch
check_error "codec level out of range" 2 "$ASAN" run --codec gzip:99
check_error "unknown hash" 2 "$ASAN" run --hash nosuch
check_error "unknown payload" 2 "$ASAN" run --payload nosuch
check_error "empty list item" 2 "$ASAN" run --hash sha1,,blake3
check_error "protocol out of range" 2 "$ASAN" run --protocol 7
check_error "bad --alloc" 2 "$ASAN" run --alloc sometimes
check_error "unknown save variant" 2 "$ASAN" run --variant sideways
check_error "one repetition" 2 "$ASAN" run --repetitions 1
check_error "--repetitions not a number" 2 "$ASAN" run --repetitions many
check_error "negative --min-time" 2 "$ASAN" run --min-time -1
check_error "--cpu beyond the machine" 2 "$ASAN" run --cpu 1000 --payload config --codec lz4 --hash sha1
check_error "--seed negative" 2 "$ASAN" run --seed -3
check_error "--resume of a directory that is not a run" 2 "$ASAN" run --resume "$TMPD/store"
check_error "an existing non-empty --out is refused" 2 "$ASAN" run --payload config --codec lz4 --hash sha1 --out asan
check_error "an --out that cannot be written" 3 "$ASAN" run --payload config --codec lz4 --hash sha1 --out /proc/casbench-out
check_eq "a refused --out is left as it was" "env.tsv gbench.json matrix.tsv rounds.tsv " \
  "$(find asan -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')"
check_eq "no results/ directory appears from failed runs" "no" "$([ -e results ] && echo yes || echo no)"

# ---- casbench list ---------------------------------------------------------------------------
check "list exits 0" "$ASAN" list
check_eq "list names every section" "3" "$("$ASAN" list | grep -cE '^(payloads|codecs|hashes):$')"
check_error "list: unknown section" 1 "$ASAN" list frobs

# ---- selection flags ---------------------------------------------------------------------------
rc=0
"$ASAN" run --payload 'random:size=4KiB,config' --protocol 2,4 --codec lz4:0 --hash sha1 --alloc reuse \
  "${FAST[@]}" --out sel >/dev/null 2>&1 || rc=$?
check_eq "selection run exits 0" "0" "$rc"
check_matrix "selection run: matrix.tsv" sel
check_eq "a comma list of payload specs with parameters gives two payloads" "2" \
  "$(tsv_awk 'NR > 1 { print $col["payload"] }' sel/matrix.tsv | sort -u | wc -l)"
check_eq "--protocol 2,4: both protocols" "2 4" "$(tsv_awk 'NR > 1 { print $col["protocol"] }' sel/matrix.tsv | sort -u | tr '\n' ' ' | sed 's/ $//')"
check_eq "--alloc reuse: no fresh row" "reuse" "$(tsv_awk 'NR > 1 { print $col["alloc"] }' sel/matrix.tsv | sort -u)"
check_eq "protocol 2 pickles differ in size from protocol 4" "2" \
  "$(tsv_awk 'NR > 1 && $col["payload"] == "config" { print $col["protocol"], $col["pickled_bytes"] }' sel/matrix.tsv | sort -u | wc -l)"

# ---- progress on a terminal -----------------------------------------------------------------------
if command -v script >/dev/null; then
  script -qec "'$ASAN' run --payload config --codec lz4:0 --hash sha1 --quick ${FAST[*]} --out tty" /dev/null >tty.out 2>&1
  check_eq "on a terminal: a progress line with cells done/total and an ETA" "yes" \
    "$(grep -aqE '\[[0-9]+/[0-9]+\] config .*ETA' tty.out && echo yes || echo no)"
  check_eq "not on a terminal: no progress line" "0" "$(grep -c 'ETA' full.err)"
fi
