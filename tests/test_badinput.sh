#!/usr/bin/env bash
# The bad-input battery: every subcommand fed names, numbers, paths,
# documents and outputs it must refuse. Each case asserts (bad, below): the
# documented exit status (1 usage, 2 bad input, 3 environment; `casbench
# --help`), exactly one line on stderr "casbench: ..." that names the input,
# nothing on stdout, no sanitizer report or core dump, and - where the
# command writes files - nothing half-written. Signals during `run`
# (SIGINT/SIGTERM exit 130/143 with whole rows, --resume without duplicates,
# SIGKILL recovery) are covered in tests/test_run.sh; this file adds the
# results-integrity checks (fsync/rename under strace, unique run dirs).
. "$(dirname "$0")/lib.sh"
ROOT=$(pwd)
CB=$(realpath "$CASBENCH")
REL=$(realpath "$CASBENCH_RELEASE")
FIXTURE=$ROOT/tests/fixtures/report/run
cd "$TMPD" || exit 3
ulimit -c 0 2>/dev/null   # a crash shows as a status, never as a core file
ncases=0

# bad NAME STATUS NEEDLE CMD...: CMD exits STATUS, prints one stderr line
# "casbench: ..." containing NEEDLE (the input it names), nothing on stdout.
# Standard input is $BAD_STDIN (default /dev/null).
bad() {
  local name=$1 want=$2 needle=$3; shift 3
  local rc=0 lines
  ncases=$((ncases + 1))
  "$@" >"$TMPD/bad.out" 2>"$TMPD/bad.err" <"${BAD_STDIN:-/dev/null}" || rc=$?
  lines=$(wc -l <"$TMPD/bad.err")
  if [ "$rc" != "$want" ]; then
    fail "$name" "exit $rc, want $want; stderr: $(head -c 300 "$TMPD/bad.err" | tr '\n' '|')"
  elif [ "$lines" != 1 ] || ! head -n 1 "$TMPD/bad.err" | grep -q '^casbench: '; then
    fail "$name" "stderr is not one 'casbench: ' line: $(head -c 300 "$TMPD/bad.err" | tr '\n' '|')"
  elif ! grep -qF -- "$needle" "$TMPD/bad.err"; then
    fail "$name" "the message does not name '$needle': $(head -c 300 "$TMPD/bad.err")"
  elif [ -s "$TMPD/bad.out" ]; then
    fail "$name" "wrote $(wc -c <"$TMPD/bad.out") bytes to stdout"
  else
    pass "$name"
  fi
}

# ---- inputs ------------------------------------------------------------------
mkfifo fifo
mkdir adir
: >empty
printf '{"a": [1, 2' >trunc.json
printf '{"a" 1}' >malformed.json
printf '["ok", "\xff\xfe"]' >utf8.json
"$PY" -c 'import sys; sys.stdout.write("[" * 10**6 + "]" * 10**6)' >deep.json
printf 'NUMPY\x01\x00' >magic.npy
printf '\x93NUMPY\x01\x00\xff\x00{}' >hlen.npy
"$PY" - <<'PYEOF'
import numpy as np
a = np.arange(4, dtype='>f8')           # big-endian: not a dtype casbench pickles
np.save('bigendian.npy', a)
np.save('short.npy', np.arange(8, dtype='<f8'))
data = open('short.npy', 'rb').read()
open('short.npy', 'wb').write(data[:-5])  # the data ends early
PYEOF
printf 'hello hello hello hello\n' | gzip -c >ok.gz
head -c 20 ok.gz >trunc.gz
{ cat ok.gz; printf 'garbage'; } >trailing.gz
printf 'hello hello hello hello\n' | zstd -q -c >ok.zst
"$PY" -c 'import sys; d = bytearray(open("ok.zst", "rb").read()); d[6] ^= 0xff; sys.stdout.buffer.write(bytes(d))' >corrupt.zst
printf 'not a compressed stream at all\n' >garbage

# A small valid run directory (the report fixture's header and first rows),
# and broken variants of it.
mkrun() {  # mkrun DIR: DIR with env.tsv and a 4-row matrix.tsv
  mkdir -p "$1" && cp "$FIXTURE/env.tsv" "$1/" && head -n 5 "$FIXTURE/matrix.tsv" >"$1/matrix.tsv"
}
mkrun good
mkrun noenv && rm noenv/env.tsv
mkrun nomatrix && rm nomatrix/matrix.tsv
mkrun emptymatrix && : >emptymatrix/matrix.tsv
mkrun headeronly && head -n 1 "$FIXTURE/matrix.tsv" >headeronly/matrix.tsv
mkrun missingcol && tsv_awk -v OFS='\t' '{ s = ""; sep = ""; for (i = 1; i <= NF; i++) if (i != col["median_ns"]) { s = s sep $i; sep = OFS }; print s }' "$FIXTURE/matrix.tsv" | head -n 5 >missingcol/matrix.tsv
mkrun ragged && printf 'config\t4\t233\n' >>ragged/matrix.tsv
mkrun nonnumeric && tsv_awk -v OFS='\t' 'NR == 3 { $col["median_ns"] = "fast" } { print }' good/matrix.tsv >nonnumeric/matrix.tsv
mkrun crlf && sed -i 's/$/\r/' crlf/matrix.tsv
mkrun duplicate && sed -n 2p good/matrix.tsv >>duplicate/matrix.tsv
mkrun badstatus && tsv_awk -v OFS='\t' 'NR == 2 { $col["status"] = "maybe" } { print }' good/matrix.tsv >badstatus/matrix.tsv
mkrun envragged && printf 'lonely\n' >>envragged/env.tsv

# ---- casbench (no subcommand) and list ------------------------------------------
bad "casbench: unknown command" 1 "frobnicate" "$CB" frobnicate
bad "casbench --help to a full stdout" 3 "standard output" bash -c "'$CB' --help >/dev/full"
bad "list: unknown section" 1 "frobs" "$CB" list frobs
bad "list: --seed negative" 2 "--seed '-1'" "$CB" list --seed -1
bad "list: --seed 2**70" 2 "--seed '1180591620717411303424'" "$CB" list --seed 1180591620717411303424
bad "list: --seed without a value" 1 "--seed" "$CB" list --seed
bad "list: stdout is /dev/full" 3 "standard output" bash -c "'$CB' list codecs >/dev/full"

# ---- pickle: names, parameters -------------------------------------------------------
bad "pickle: unknown payload" 2 "nosuch" "$CB" pickle nosuch
bad "pickle: unknown parameter" 2 "depth" "$CB" pickle weights:depth=3
bad "pickle: zero rows" 2 "rows" "$CB" pickle weights:rows=0
bad "pickle: negative cols" 2 "cols" "$CB" pickle weights:cols=-4
bad "pickle: non-numeric count" 2 "columns" "$CB" pickle metrics:columns=many
bad "pickle: rows 1e30" 2 "rows" "$CB" pickle weights:rows=1e30
bad "pickle: size 2**70 bytes" 2 "size" "$CB" pickle random:size=1180591620717411303424
bad "pickle: 10^6 x 10^6 float64 is over the 64 GiB cap" 2 "weights:rows=1000000,cols=1000000" \
  "$CB" pickle weights:rows=1000000,cols=1000000
# Under the cap but more than memory allows (address space limited to 4 GB;
# the release build: ASan reserves more address space than that by itself).
bad "pickle: more than memory allows is status 3" 3 "random:size=8GiB" \
  bash -c "ulimit -v 4000000 && exec '$REL' pickle random:size=8GiB >/dev/null"
bad "pickle: unknown dtype" 2 "dtype" "$CB" pickle weights:dtype=complex256
bad "pickle: --protocol 9" 2 "--protocol" "$CB" pickle config --protocol 9
bad "pickle: no payload" 1 "no payload" "$CB" pickle
bad "pickle: stdout is /dev/full" 3 "stdout" bash -c "'$CB' pickle config >/dev/full"

# ---- pickle: files -------------------------------------------------------------------
bad "json: missing file" 2 "$TMPD/nope.json" "$CB" pickle "json:$TMPD/nope.json"
bad "json: a directory" 2 "adir" "$CB" pickle json:adir
bad "json: /dev/null" 2 "/dev/null" "$CB" pickle json:/dev/null
bad "json: a FIFO with no writer (no hang)" 2 "fifo" "$CB" pickle json:fifo
BAD_STDIN=/dev/zero bad "json: stdin is /dev/zero (1 GiB cap, no hang)" 2 "json:-" "$CB" pickle json:-
bad "json: empty file" 2 "empty" "$CB" pickle json:empty
bad "json: truncated" 2 "line 1 column" "$CB" pickle json:trunc.json
bad "json: malformed" 2 "malformed.json" "$CB" pickle json:malformed.json
bad "json: invalid UTF-8" 2 "UTF-8" "$CB" pickle json:utf8.json
bad "json: 10^6 levels deep" 2 "nesting" "$CB" pickle json:deep.json
bad "npy: no magic" 2 "magic" "$CB" pickle npy:magic.npy
bad "npy: header length past the end" 2 "header length" "$CB" pickle npy:hlen.npy
bad "npy: big-endian dtype" 2 ">f8" "$CB" pickle npy:bigendian.npy
bad "npy: data shorter than the header says" 2 "short.npy" "$CB" pickle npy:short.npy
bad "file: /dev/zero" 2 "/dev/zero" "$CB" pickle file:/dev/zero

# ---- compress / decompress ------------------------------------------------------------------
bad "compress: unknown codec" 2 "brotli" "$CB" compress brotli
bad "compress: gzip level 10" 2 "gzip:10" "$CB" compress gzip:10
bad "compress: lz4 level -9" 2 "lz4:-9" "$CB" compress lz4:-9
bad "compress: zstd level not a number" 2 "zstd:x" "$CB" compress zstd:x
bad "compress: level 2**70" 2 "gzip:1180591620717411303424" "$CB" compress gzip:1180591620717411303424
bad "compress: level written as 2**70" 2 "gzip:2**70" "$CB" compress 'gzip:2**70'
bad "compress: no codec" 1 "no codec" "$CB" compress
BAD_STDIN=/dev/zero bad "compress: stdin is /dev/zero (1 GiB cap)" 2 "stdin" "$CB" compress lz4
bad "compress: stdout is /dev/full" 3 "stdout" bash -c "echo hi | '$CB' compress gzip >/dev/full"
BAD_STDIN=garbage bad "decompress: gzip of garbage" 2 "gzip" "$CB" decompress gzip
BAD_STDIN=trunc.gz bad "decompress: truncated gzip" 2 "stdin" "$CB" decompress libdeflate
BAD_STDIN=trailing.gz bad "decompress: gzip with trailing garbage" 2 "isal" "$CB" decompress isal
BAD_STDIN=ok.gz bad "decompress: lz4 fed a gzip stream" 2 "lz4" "$CB" decompress lz4
BAD_STDIN=corrupt.zst bad "decompress: corrupted zstd" 2 "zstd" "$CB" decompress zstd
BAD_STDIN=empty bad "decompress: empty zstd input" 2 "zstd" "$CB" decompress zstd
head -c 1100000000 /dev/zero | zstd -q -1 -c >bomb.zst
BAD_STDIN=bomb.zst bad "decompress: a zstd bomb over the 1 GiB output limit" 2 "1 GiB" "$CB" decompress zstd
bad "decompress: stdout is /dev/full" 3 "stdout" bash -c "'$CB' decompress gzip <ok.gz >/dev/full"

# ---- hash -------------------------------------------------------------------------------------
bad "hash: unknown hash" 2 "md5" "$CB" hash md5
bad "hash: missing file" 2 "nope" "$CB" hash sha1 nope
bad "hash: a directory" 2 "adir" "$CB" hash sha1 adir
bad "hash: /dev/zero as FILE (no hang)" 2 "/dev/zero" "$CB" hash blake3 /dev/zero
bad "hash: a FIFO with no writer (no hang)" 2 "fifo" "$CB" hash sha256 fifo
BAD_STDIN=/dev/zero bad "hash: stdin is /dev/zero (1 GiB cap)" 2 "stdin" "$CB" hash xxh3-64
bad "hash: stdout is /dev/full" 3 "stdout" bash -c "'$CB' hash sha1 ok.gz >/dev/full"

# ---- run -------------------------------------------------------------------------------------
Q=(--quick --payload config --codec lz4:0 --hash sha1 --repetitions 2 --min-time 0.001)
bad "run: unknown payload" 2 "nosuch" "$CB" run --payload nosuch --out r1
bad "run: zero-size payload" 2 "random:size=0" "$CB" run --payload random:size=0 --out r1
bad "run: payload file is /dev/zero" 2 "/dev/zero" "$CB" run --payload file:/dev/zero --out r1
bad "run: gzip level 0" 2 "gzip:0" "$CB" run --codec gzip:0 --out r1
bad "run: unknown hash" 2 "md5" "$CB" run --hash md5 --out r1
bad "run: protocol 1" 2 "--protocol" "$CB" run --protocol 1 --out r1
bad "run: zero repetitions" 2 "--repetitions" "$CB" run --repetitions 0 --out r1
bad "run: repetitions 2**70" 2 "--repetitions" "$CB" run --repetitions 1180591620717411303424 --out r1
bad "run: --min-time 1e30" 2 "--min-time" "$CB" run --min-time 1e30 --out r1
bad "run: --min-time nan" 2 "--min-time" "$CB" run --min-time nan --out r1
bad "run: --seed 1e30" 2 "--seed" "$CB" run --seed 1e30 --out r1
bad "run: unknown flag (there is no --stage)" 1 "--stage" "$CB" run --stage pickle
bad "run: --out under a regular file" 3 "/etc/passwd/x" "$CB" run "${Q[@]}" --out /etc/passwd/x
bad "run: --out is a regular file" 2 "empty" "$CB" run "${Q[@]}" --out empty
bad "run: --resume of a missing directory" 2 "nope" "$CB" run --resume nope
bad "run: --resume of a run without env.tsv" 2 "noenv" "$CB" run --resume noenv
mkdir notmatrix && cp "$FIXTURE/env.tsv" notmatrix/ && printf 'run_args\tnone\nseed\t0\n' >>notmatrix/env.tsv && printf 'a\tb\n' >notmatrix/matrix.tsv
bad "run: --resume of a directory whose matrix.tsv is not one" 2 "notmatrix/matrix.tsv" "$CB" run --resume notmatrix
bad "run: stdout is /dev/full (the directory it would print)" 3 "standard output" \
  bash -c "'$CB' run ${Q[*]} --out full >/dev/full"
check_eq "run: a run whose stdout failed still wrote its whole matrix" "ok" \
  "$([ "$(tsv_awk 'NR > 1 && $col["status"] == "ok"' full/matrix.tsv | wc -l)" -gt 0 ] && echo ok)"
bad "run: --help to a full stdout" 3 "standard output" bash -c "'$CB' run --help >/dev/full"
check_eq "run: refused runs created no results directory" "no no" \
  "$([ -e r1 ] && echo yes || echo no) $([ -e results ] && echo yes || echo no)"
check_eq "run: a refused --resume left notmatrix as it was" "a	b" "$(cat notmatrix/matrix.tsv)"

# ---- report ------------------------------------------------------------------------------------
for d in nomatrix emptymatrix headeronly missingcol ragged nonnumeric crlf duplicate badstatus noenv envragged; do
  case $d in
    nomatrix) needle="nomatrix/matrix.tsv" ;; noenv) needle="noenv/env.tsv" ;; envragged) needle="envragged/env.tsv" ;;
    *) needle="$d/matrix.tsv" ;;
  esac
  bad "report: $d" 2 "$needle" "$CB" report "$d"
done
bad "report: missing directory" 2 "nope" "$CB" report nope
bad "report: a regular file" 2 "empty" "$CB" report empty
bad "report: unknown option" 1 "--frob" "$CB" report good --frob
bad "report: --published missing" 2 "nope.tsv" "$CB" report good --published nope.tsv --plots-dir "$ROOT/plots"
bad "report: --published is /dev/zero" 2 "/dev/zero" "$CB" report good --published /dev/zero --plots-dir "$ROOT/plots"
# --mix FILE and --hit-rate F (the recommendation's workload): exit 2, the file and line named.
printf 'payload\tweight\nconfig\t1\n' >mix.ok
printf 'payload\tcount\nconfig\t1\n' >mix.nocol
printf 'payload\tweight\nconfig\tlots\n' >mix.nan
printf 'payload\tweight\nconfig\t-1\n' >mix.neg
printf 'payload\tweight\nconfig\t1e999\n' >mix.huge
printf 'payload\tweight\nnosuch\t1\n' >mix.unknown
printf 'payload\tweight\nconfig\t1\nconfig\t2\n' >mix.dup
printf 'payload\tweight\nconfig\t0\n' >mix.zero
printf 'payload\tweight\n' >mix.header
printf 'payload\tweight\nconfig\n' >mix.ragged
for m in nocol:"mix.nocol:1: missing column 'weight'" nan:"mix.nan:2: weight 'lots'" neg:"mix.neg:2: weight '-1'" \
         huge:"mix.huge:2: weight '1e999'" unknown:"mix.unknown:2: payload 'nosuch' is not in this run" \
         dup:"mix.dup:3: payload 'config' given twice (first on line 2)" zero:"mix.zero: no payload with a weight above 0" \
         header:"mix.header: no payload with a weight above 0" ragged:"mix.ragged:2: " empty:"empty:1: empty file" \
         missing:"mix.missing: " dir:"adir"; do
  f=mix.${m%%:*}
  case ${m%%:*} in empty) f=empty ;; dir) f=adir ;; esac
  bad "report: --mix ${m%%:*}" 2 "${m#*:}" "$CB" report good --plots-dir "$ROOT/plots" --mix "$f"
done
bad "report: --hit-rate above 1" 2 "--hit-rate '1.5'" "$CB" report good --mix mix.ok --hit-rate 1.5
bad "report: --hit-rate not a number" 2 "--hit-rate 'half'" "$CB" report good --hit-rate half
bad "report: --hit-rate negative" 2 "--hit-rate '-0.1'" "$CB" report good --hit-rate=-0.1
mkrun badpredict && printf 'payload\tstage\tvariant\tcodec\tlevel\thash\tpredicted_ms\nconfig\tsave\tsequential\tgzip\t3\tsha1\tfast\n' >badpredict/predict.tsv
bad "report: predict.tsv with a non-number" 2 "badpredict/predict.tsv:2: column 'predicted_ms': 'fast' is not a number" \
  "$CB" report badpredict --plots-dir "$ROOT/plots"
mkrun nopredcol && printf 'payload\tstage\n' >nopredcol/predict.tsv
bad "report: predict.tsv without its columns" 2 "nopredcol/predict.tsv:1: missing column 'variant'" \
  "$CB" report nopredcol --plots-dir "$ROOT/plots"
check_eq "report: no REPORT.md written by a refused --mix, --hit-rate or predict.tsv" "" \
  "$(ls good/REPORT.md badpredict/REPORT.md nopredcol/REPORT.md 2>/dev/null)"
mkdir fullrun && cp "$FIXTURE"/*.tsv fullrun/
bad "report: --plots-dir without the scripts" 3 "adir/" "$CB" report fullrun --plots-dir adir
bad "report: --gnuplot missing" 3 "$TMPD/nogp" "$CB" report good --plots-dir "$ROOT/plots" --gnuplot "$TMPD/nogp"
bad "report: --readme under a regular file" 2 "/etc/passwd/x" "$CB" report good --plots-dir "$ROOT/plots" --readme /etc/passwd/x
mkdir plotsfile && cp "$FIXTURE"/*.tsv plotsfile/ && echo x >plotsfile/plots
bad "report: an output that cannot be written (plots/ is a file)" 3 "plotsfile/plots/" \
  "$CB" report plotsfile --plots-dir "$ROOT/plots"
mkrun reportdir && mkdir reportdir/REPORT.md
bad "report: REPORT.md cannot be replaced (a directory)" 3 "reportdir/REPORT.md" \
  "$CB" report reportdir --plots-dir "$ROOT/plots"
check_eq "report: no REPORT.md or temporary file left by refused reports" "" \
  "$(find . \( -name 'REPORT.md*' -o -name '*.tmp' \) ! -path ./reportdir/REPORT.md | head -n 3)"
bad "report: stdout is /dev/full" 3 "standard output" bash -c "'$CB' report good --plots-dir '$ROOT/plots' >/dev/full"

# ---- compare ------------------------------------------------------------------------------------
bad "compare: one directory" 1 "two run directories" "$CB" compare good
bad "compare: B missing" 2 "nope" "$CB" compare good nope
bad "compare: B with a missing column" 2 "missingcol/matrix.tsv" "$CB" compare good missingcol
bad "compare: A with a non-numeric median" 2 "median_ns" "$CB" compare nonnumeric good
bad "compare: --fail-above not a number" 2 "--fail-above" "$CB" compare good good --fail-above lots
bad "compare: stdout is /dev/full" 3 "standard output" bash -c "'$CB' compare good good >/dev/full"

# ---- calibrate (when it has landed: the placeholder exits 4) -------------------------------------
if "$CB" calibrate --help >/dev/null 2>&1; then
  bad "calibrate: unknown option" 1 "--frobnicate" "$CB" calibrate --frobnicate
  bad "calibrate: --help to a full stdout" 3 "standard output" bash -c "'$CB' calibrate --help >/dev/full"
fi

# ---- results integrity ------------------------------------------------------------------------
# Rows reach the disk: matrix.tsv is fsync'd at the end of a run and after a
# SIGTERM; env.tsv, gbench.json and REPORT.md appear by rename of a
# finished temporary file (strace shows the system calls, with paths).
if command -v strace >/dev/null; then
  # The release build: LeakSanitizer cannot run under ptrace.
  # shellcheck disable=SC2054 # commas separate strace's list values
  ST=(strace -f -y -qq -e trace=fsync,rename,renameat,renameat2 -e signal=SIGTERM)
  "${ST[@]}" -o st.log "$REL" run "${Q[@]}" --out st >/dev/null 2>&1
  check_eq "run: matrix.tsv is fsync'd" "1" "$(grep -c "fsync([0-9]*<$TMPD/st/matrix.tsv>)" st.log)"
  check_eq "run: env.tsv and gbench.json are renamed into place" "yes yes" \
    "$(grep -q 'rename("st/env.tsv.tmp", "st/env.tsv")' st.log && echo yes || echo no) $(grep -q 'rename("st/gbench.json.tmp", "st/gbench.json")' st.log && echo yes || echo no)"
  # shellcheck disable=SC2054
  "${ST[@]}" -o term.log "$REL" run --payload config,metrics,embeddings --codec gzip:3,lz4:0,zstd:1 --hash sha1,xxh3-64 \
    --repetitions 2 --min-time 0.01 --out term >/dev/null 2>term.err &
  pid=$!
  for _ in $(seq 600); do [ "$(wc -l <term/matrix.tsv 2>/dev/null || echo 0)" -ge 4 ] && break; sleep 0.1; done
  pkill -TERM -P "$pid" 2>/dev/null   # the traced casbench, not strace
  rc=0; wait "$pid" || rc=$?
  check_eq "SIGTERM under strace: matrix.tsv fsync'd after the signal" "yes" \
    "$(awk -v m="<$TMPD/term/matrix.tsv>" '/SIGTERM/ { s = 1 } s && index($0, "fsync(") && index($0, m) { f = 1 } END { print f ? "yes" : "no" }' term.log)"
  check_eq "SIGTERM: one line on stderr, exit status 143 (strace passes it on)" "1 143" "$(wc -l <term.err) $rc"
  check_eq "SIGTERM: every line of matrix.tsv is whole" "0" "$(tsv_awk 'NF != ncols' term/matrix.tsv | wc -l)"
  mkrun rep
  "${ST[@]}" -o rep.log "$REL" report rep --plots-dir "$ROOT/plots" >/dev/null 2>&1
  check_eq "report: REPORT.md is renamed into place" "yes" \
    "$(grep -q 'rename("rep/REPORT.md.tmp", "rep/REPORT.md")' rep.log && echo yes || echo no)"
else
  fail "strace" "not installed: the fsync/rename checks did not run"
fi

# A results directory is never overwritten: a run whose default name (host
# and UTC second) is taken gets the next free suffix, and two runs started
# together get two directories.
mkdir claim && cd claim || exit 3
host=$(hostname | tr / _)
now=$(date -u +%s)
for s in $(seq 0 20); do   # the run may take a few seconds to get there
  d=results/$host-$(date -u -d "@$((now + s))" +%Y%m%dT%H%M%SZ)
  mkdir -p "$d" && echo keep >"$d/keep"
done
out=$("$CB" run "${Q[@]}" 2>/dev/null)
check_eq "run: a taken default name gets a -2 suffix" "yes" "$([[ "$out" == results/"$host"-*Z-2 ]] && echo yes || echo "no: $out")"
check_eq "run: the taken directories are untouched" "21 0" \
  "$(cat results/*Z/keep | wc -l) $(find results -name matrix.tsv -path '*Z/*' | wc -l)"
"$REL" run "${Q[@]}" >a.out 2>/dev/null & pa=$!
"$REL" run "${Q[@]}" >b.out 2>/dev/null & pb=$!
wait "$pa"; wait "$pb"
check_eq "run: two runs started together write two directories" "yes" \
  "$([ -s a.out ] && [ -s b.out ] && [ "$(cat a.out)" != "$(cat b.out)" ] && echo yes || echo "no: $(cat a.out b.out | tr '\n' ' ')")"
check_eq "run: both of them complete" "$(wc -l <"$(cat a.out)/matrix.tsv") ok" \
  "$(wc -l <"$(cat b.out)/matrix.tsv") $([ "$(wc -l <"$(cat a.out)/matrix.tsv")" -gt 1 ] && echo ok)"
cd "$TMPD" || exit 3

check_eq "the battery has at least 40 cases" "yes" "$([ "$ncases" -ge 40 ] && echo yes || echo "no: $ncases")"
echo "battery: $ncases cases"
