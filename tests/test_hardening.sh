#!/usr/bin/env bash
# Issue 17 (hardening, round 2): one case or group per defect, each of which
# failed on the main branch it was written against.
#   1  run --resume on a matrix.tsv with a NUL byte crashed (SIGSEGV)
#   2  run --resume accepted files report refuses (CRLF, NUL lines, ...)
#   3  two writers of one results directory (no lock)
#   4  errors echoed names raw (newlines, escape sequences); hash lines did
#      not follow sha1sum's convention
#   5  report's duplicate-column check was quadratic
#   6  casbench-store.* left in $TMPDIR after an I/O error or a SIGKILL
#   7  a directory on stdin was status 3 for compress/decompress; 0x10 was
#      accepted by --min-time and --fail-above
#   8  npy:/json: read a whole file before its magic; ISA-L took reserved
#      gzip flag bits; zstd called trailing garbage a truncated stream
# Oracles: report's own verdict on the same directory, GNU ls's quoting
# styles, sha1sum, gzip -t, zstd -t, GNU time's peak RSS.
. "$(dirname "$0")/lib.sh"
ROOT=$(pwd)
CB=$(realpath "$CASBENCH")
REL=$(realpath "$CASBENCH_RELEASE")
PLOTS=$ROOT/plots
cd "$TMPD" || exit 3
ulimit -c 0 2>/dev/null

# bad NAME STATUS NEEDLE CMD...: as test_badinput.sh's: exit STATUS, one
# "casbench: " line on stderr containing NEEDLE, nothing on stdout.
bad() {
  local name=$1 want=$2 needle=$3; shift 3
  local rc=0
  "$@" >bad.out 2>bad.err <"${BAD_STDIN:-/dev/null}" || rc=$?
  if [ "$rc" != "$want" ]; then
    fail "$name" "exit $rc, want $want; stderr: $(head -c 300 bad.err | tr '\n' '|')"
  elif [ "$(wc -l <bad.err)" != 1 ] || ! head -n 1 bad.err | grep -q '^casbench: '; then
    fail "$name" "stderr is not one 'casbench: ' line: $(head -c 300 bad.err | tr '\n' '|')"
  elif ! grep -qF -- "$needle" bad.err; then
    fail "$name" "the message does not name '$needle': $(head -c 300 bad.err)"
  elif [ -s bad.out ]; then
    fail "$name" "wrote $(wc -c <bad.out) bytes to stdout"
  else
    pass "$name"
  fi
}

# A finished small run to copy from: 9 rows, its env.tsv has run_args.
Q=(--quick --payload config --codec lz4:0 --hash sha1 --repetitions 2 --min-time 0.001)
"$REL" run "${Q[@]}" --out base >/dev/null 2>&1 || fail "setup" "the base run failed"
# mkresume NAME: a copy of base whose matrix.tsv lacks its last 3 rows (so a
# resume has cells to run).
mkresume() { mkdir -p "$1" && cp base/env.tsv "$1/" && head -n 7 base/matrix.tsv >"$1/matrix.tsv"; }

# ---- 1, 2: resume reads matrix.tsv as report does -------------------------------------
mkresume nul && "$PY" -c '
import sys; p = sys.argv[1]; d = open(p, "rb").read().split(b"\n")
d[2] = d[2][:7] + b"\0" + d[2][7:]; open(p, "wb").write(b"\n".join(d))' nul/matrix.tsv
bad "1: --resume with a NUL byte inside a row is refused, not a crash" 2 "nul/matrix.tsv:3: NUL byte" "$CB" run --resume nul

mkresume crlf && sed -i '2,$ s/$/\r/' crlf/matrix.tsv
mkresume nulline && printf '\0\0\0\0\0\0\n' >>nulline/matrix.tsv
mkresume badstatus && tsv_awk -v OFS='\t' 'NR == 3 { $col["status"] = "maybe" } { print }' base/matrix.tsv | head -n 7 >badstatus/matrix.tsv
mkresume median && tsv_awk -v OFS='\t' 'NR == 4 && $col["status"] == "ok" { $col["median_ns"] = "0x10" } { print }' base/matrix.tsv | head -n 7 >median/matrix.tsv
mkresume protodup && tsv_awk -v OFS='\t' 'FNR == 2 { $col["protocol"] = "0" $col["protocol"]; print }' base/matrix.tsv >>protodup/matrix.tsv
mkresume emptyline && awk 'NR == 3 { print "" } { print }' base/matrix.tsv | head -n 8 >emptyline/matrix.tsv
mkresume ragged && printf 'config\t4\n' >>ragged/matrix.tsv
for d in crlf nulline badstatus median protodup emptyline ragged; do
  before=$(md5sum <"$d/matrix.tsv")
  rc_report=0; "$CB" report "$d" --plots-dir "$PLOTS" >/dev/null 2>"$d.report.err" || rc_report=$?
  rc_resume=0; "$CB" run --resume "$d" >/dev/null 2>"$d.resume.err" || rc_resume=$?
  check_eq "2: $d: report and --resume both refuse it (exit 2), with the same message" \
    "2 2 $(cat "$d.report.err")" "$rc_report $rc_resume $(cat "$d.resume.err")"
  check_eq "2: $d: the refused --resume left matrix.tsv as it was" "$before" "$(md5sum <"$d/matrix.tsv")"
done
# Both accept a good one: a torn last line is dropped, the rest completed.
mkresume torn && printf 'config\t4\t23' >>torn/matrix.tsv
rc=0; "$CB" run --resume torn >/dev/null 2>torn.err || rc=$?
check_eq "2: a torn last line: --resume completes the run (one warning)" "0 1" "$rc $(wc -l <torn.err)"
check "2: report accepts what --resume wrote" "$CB" report torn --plots-dir "$PLOTS"
check_eq "2: the resumed matrix has the base run's rows, once each" \
  "$(cols base/matrix.tsv "${ID_COLS[@]}" | sort)" "$(cols torn/matrix.tsv "${ID_COLS[@]}" | sort)"

# ---- 3: one writer per results directory -------------------------------------------------
# Writer A is held, deterministically, while it holds the lock: its stderr
# is a FIFO whose buffer is already full, and a torn last line makes it
# write a warning there just after taking the lock. B, a second --resume of
# the same directory, must be refused while A is held.
mkresume lock && printf 'config\t4' >>lock/matrix.tsv
mkfifo hold
exec 3<>hold
"$PY" - <<'EOF'
import os
fd = os.open('hold', os.O_WRONLY | os.O_NONBLOCK)
try:
    while True: os.write(fd, b'x' * 4096)
except BlockingIOError:
    pass
EOF
"$CB" run --resume lock >/dev/null 2>hold 3>&- &
pid_a=$!
for _ in $(seq 600); do [ "$(cat lock/run.lock 2>/dev/null)" = "$pid_a" ] && break; sleep 0.05; done
check_eq "3: writer A holds the lock (run.lock names its pid)" "$pid_a" "$(cat lock/run.lock 2>/dev/null)"
sums=$(md5sum lock/matrix.tsv lock/env.tsv)
bad "3: a second --resume of the directory is refused, naming the holder's pid" 3 "pid $pid_a" \
  "$CB" run --resume lock
check_eq "3: the refused writer changed nothing" "$sums" "$(md5sum lock/matrix.tsv lock/env.tsv)"
# Drain through the shell's own descriptor (never EOF: stopped once A is done).
cat <&3 >/dev/null &
pid_drain=$!
rc=0; wait "$pid_a" || rc=$?
kill "$pid_drain"; wait "$pid_drain" 2>/dev/null
exec 3>&-
check_eq "3: writer A, released, finishes" "0" "$rc"
check "3: report accepts the directory afterwards" "$CB" report lock --plots-dir "$PLOTS"
check_eq "3: every cell once, and the lock file is gone" "$(cols base/matrix.tsv "${ID_COLS[@]}" | sort) no" \
  "$(cols lock/matrix.tsv "${ID_COLS[@]}" | sort) $([ -e lock/run.lock ] && echo yes || echo no)"

# ---- 4: names quoted as the shell would show them ---------------------------------------------
# The oracle: GNU ls's shell-escape styles in the C locale, on files that
# carry the names. (Where a name holds both a quote and a byte needing an
# escape, ls adds redundant '' pairs; those names are checked by reading the
# quoted form back through bash instead.)
mkdir names
"$PY" - <<'EOF'
import os, random
random.seed(17)
names = [b'plain', b'a b', b'a\nb', b'\nb', b'a\tb', b'\x1b[31mred', b"it's", b'a\\b', b'x$y',
         b'caf\xc3\xa9', b'-1', b'a"b', b'{', b'~home', b'a~', b'\x7f', b"'\n", b"a'=b", b'%+,-.:@]_']
alphabet = [bytes([i]) for i in range(1, 256) if i != 0x2f]
while len(names) < 45:
    n = b''.join(random.choice(alphabet) for _ in range(random.randint(1, 5)))
    if n not in names and n not in (b'.', b'..'):
        names.append(n)
for n in names:
    open(os.path.join(b'names', n), 'wb').close()
EOF
mkdir empty
quote_report=$("$PY" - "$CB" <<'EOF'
import os, subprocess, sys
cb = sys.argv[1]
env = dict(os.environ, LC_ALL='C')
def ls(style, name):
    return subprocess.run(['ls', '-d', '--quoting-style=' + style, '--', name], cwd='names', env=env,
                          capture_output=True).stdout.rstrip(b'\n')
def err(args):
    e = subprocess.run([cb] + args, cwd='empty', capture_output=True).stderr
    return e, e.count(b'\n') == 1
def readback(q):
    return subprocess.run(['bash', '-c', 'eval "printf %s $1"', 'x', q], capture_output=True).stdout
checked = bad = 0
for n in sorted(os.listdir(b'names')):
    # shell-escape-always: `hash NAME` (an unknown hash, or an unknown option for -x).
    e1, one1 = err(['hash', n])
    got1 = e1.split(b'unknown hash ' if not n.startswith(b'-') else b'unknown option ', 1)[-1]
    got1 = got1.split(b' (known: ')[0].rstrip(b'\n')
    # shell-escape: `hash sha1 ./NAME` of a missing file ("PATH: problem").
    e2, one2 = err(['hash', 'sha1', b'./' + n])
    got2 = e2[len(b'casbench: '):].rsplit(b': No such file or directory', 1)[0]
    want1, want2 = ls('shell-escape-always', n), ls('shell-escape', b'./' + n)
    checked += 1
    quirk = b"'" in n and any(c < 0x20 or c >= 0x7f for c in n)
    if quirk:   # GNU adds redundant '' pairs here: read the quoting back instead
        ok = readback(got1) == n and readback(got2) == b'./' + n
    else:
        ok = got1 == want1 and got2 == want2
    if not (ok and one1 and one2):
        bad += 1
        print('quoting of %r: ls %r / %r, casbench %r / %r' % (n, want1, want2, got1, got2), file=sys.stderr)
print(checked, bad)
EOF
)
quote_checked=${quote_report% *} quote_mismatch=${quote_report#* }
check_eq "4: $quote_checked names in errors are quoted as GNU ls quotes them, each error one line" "0" "$quote_mismatch"
bad "4: a codec name with newlines: one line, quoted" 2 "'gz'\$'\\n''ip'" "$CB" compress $'gz\nip:3'
bad "4: an escape sequence in a payload path never reaches the terminal raw" 2 "''\$'\\033''[31mx'" \
  "$CB" pickle $'json:\e[31mx'
check_eq "4: no ESC byte in that message" "0" "$(tr -cd '\033' <bad.err | wc -c)"
bad "4: a --resume directory with a newline" 2 "--resume 'r'\$'\\n''d'" "$CB" run --resume $'r\nd'
# hash: file names as sha1sum writes them (a leading backslash, \n, \r, \\).
mkdir hashnames && (cd hashnames && printf one >$'new\nline' && printf two >'back\slash' &&
  printf three >$'car\rriage' && printf four >plain)
# Both tools get the bare names (./ would change the lines); none starts with '-'.
# shellcheck disable=SC2035
(cd hashnames && sha1sum -- * >"$TMPD/sha1sum.out" && "$CB" hash sha1 * >"$TMPD/casbench.out")
check_eq "4: hash lines for names with newline, backslash and CR match sha1sum's bytes" \
  "$(od -An -c sha1sum.out)" "$(od -An -c casbench.out)"
check "4: sha1sum -c reads casbench's hash output back" bash -c "cd hashnames && sha1sum --quiet -c '$TMPD/casbench.out'"

# ---- 5: the duplicate-column check is not quadratic ---------------------------------------------
# No timing assertion: a generous 20 s timeout that the quadratic check
# (about 50 s for 150,000 columns on a 2-vCPU machine) could not meet; the
# sorted check takes well under a second.
mkdir wide && cp base/env.tsv wide/
"$PY" - <<'EOF'
extra = 150000
lines = open('base/matrix.tsv').read().split('\n')[:-1]
with open('wide/matrix.tsv', 'w') as f:
    f.write(lines[0] + ''.join('\tx%d' % i for i in range(extra)) + '\n')
    for l in lines[1:5]:
        f.write(l + '\t0' * extra + '\n')
EOF
# Within 20 s of CPU time (a quadratic duplicate check takes minutes), not of
# wall time, which a loaded machine stretches; the wall limit only stops a hang.
rc=0; (ulimit -t 20; exec timeout 300 "$CB" report wide --plots-dir "$PLOTS") >/dev/null 2>wide.err || rc=$?
check_eq "5: report on 150,000 extra columns finishes (within 20 s of CPU time) and accepts them" "0" "$rc"
mkdir widedup && cp base/env.tsv widedup/
sed '1s/\tx149999$/\tx7/' wide/matrix.tsv >widedup/matrix.tsv
bad "5: ... and still finds a duplicate among them" 2 "duplicate column 'x7'" \
  bash -c 'ulimit -t 20; exec timeout 300 "$@"' - "$CB" report widedup

# ---- 6: no casbench-store.* left behind -------------------------------------------------------------
mkdir tmp6
mkresume ioerr && mkdir -p ioerr/gbench.json.tmp/x   # gbench.json cannot be written: exit 3
TMPDIR=$TMPD/tmp6 bad "6: a resume that stops on an I/O error exits 3" 3 "gbench.json" "$CB" run --resume ioerr
check_eq "6: ... and leaves no casbench-store.* in TMPDIR" "" "$(ls tmp6)"
mkdir tmp6k
mkdir "tmp6k/casbench-store.$$.abcdef" "tmp6k/casbench-store.Zx9Qw1"   # a live pid; not ours to judge
TMPDIR=$TMPD/tmp6k "$REL" run --payload config --codec lz4:0 --hash sha1 --repetitions 2 --min-time 0.05 \
  --out killed >/dev/null 2>&1 &
pid_k=$!
entries() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort; }
decoys() { entries tmp6k | grep -v -e "^casbench-store\.$$\.abcdef\$" -e '^casbench-store\.Zx9Qw1$'; }
for _ in $(seq 600); do
  [ "$(decoys | wc -l)" = 1 ] && [ "$(wc -l <killed/matrix.tsv 2>/dev/null || echo 0)" -ge 2 ] && break
  sleep 0.05
done
kill -KILL "$pid_k"; wait "$pid_k" 2>/dev/null
check_eq "6: a SIGKILL'd run leaves its store directory, named with its pid" "casbench-store.$pid_k." \
  "$(decoys | cut -c1-$((16 + ${#pid_k})))"
TMPDIR=$TMPD/tmp6k "$REL" run "${Q[@]}" --out after >/dev/null 2>&1
check_eq "6: the next run removes it, and only it (a live pid's and an unknown one stay)" \
  "casbench-store.$$.abcdef casbench-store.Zx9Qw1" "$(entries tmp6k | tr '\n' ' ' | sed 's/ $//')"
check "6: the killed run's directory is still readable by --resume" "$REL" run --resume killed

# ---- 7: one exit status for a directory on stdin; decimal numbers only ----------------------------
mkdir stdindir
for cmd in "compress gzip" "decompress zstd" "hash sha1" "pickle json:-"; do
  # shellcheck disable=SC2086 # the words of the subcommand
  BAD_STDIN=stdindir bad "7: a directory on stdin of '$cmd' is bad input (2)" 2 "is a directory" "$CB" $cmd
done
# (timeout: a build that accepts the value would start a run of 16 s cells)
bad "7: --min-time 0x10 (hexadecimal) is refused" 2 "--min-time '0x10'" timeout 20 "$CB" run "${Q[@]}" --min-time 0x10 --out r7x
bad "7: --min-time inf is refused" 2 "--min-time 'inf'" timeout 20 "$CB" run "${Q[@]}" --min-time inf --out r7y
bad "7: --min-time ' 1' (a blank) is refused" 2 "--min-time ' 1'" timeout 20 "$CB" run "${Q[@]}" --min-time ' 1' --out r7z
bad "7: compare --fail-above 0x10 is refused" 2 "--fail-above '0x10'" "$CB" compare base base --fail-above 0x10
bad "7: --repetitions 0x10 is refused as before" 2 "--repetitions '0x10'" "$CB" run --repetitions 0x10 --out r7w
check "7: decimal forms are accepted (1e-3, .001, +0.002)" bash -c \
  "'$CB' run --quick --payload config --codec lz4:0 --hash sha1 --repetitions 2 --min-time 1e-3 --out r7a >/dev/null &&
   '$CB' run --quick --payload config --codec lz4:0 --hash sha1 --repetitions 2 --min-time .001 --out r7b >/dev/null &&
   '$CB' compare base base --fail-above +0.002 >/dev/null"

# ---- 8: the smaller ones ----------------------------------------------------------------------------
truncate -s 1G sparse.bin
printf '\0\0\0\0' >small.bin
for kind in json npy; do
  rc=0
  /usr/bin/time -f '%M' -o "rss.$kind" "$REL" pickle "$kind:sparse.bin" >/dev/null 2>"big.$kind.err" || rc=$?
  "$REL" pickle "$kind:small.bin" >/dev/null 2>"small.$kind.err"
  check_eq "8: $kind: a 1 GiB file that is not one is refused (2) with the message a small one gets" \
    "2 $(sed 's/small\.bin/sparse.bin/g' "small.$kind.err")" "$rc $(cat "big.$kind.err")"
  kb=$(tail -n 1 "rss.$kind")
  check_eq "8: $kind: ... at a peak RSS under 64 MB, not the file's size" "yes" \
    "$([ "$kb" -lt 65536 ] && echo yes || echo "no: $kb KB")"
done
printf 'hello hello hello hello\n' | gzip -c >ok.gz
for bit in 0x20 0x40 0x80; do
  "$PY" -c 'import sys; d = bytearray(open("ok.gz", "rb").read()); d[3] |= int(sys.argv[1], 16); open("flag.gz", "wb").write(d)' "$bit"
  rc=0; gzip -t flag.gz 2>/dev/null || rc=$?
  check_eq "8: gzip -t rejects FLG bit $bit (the oracle)" "1" "$rc"
  for codec in isal libdeflate gzip; do
    BAD_STDIN=flag.gz bad "8: decompress $codec rejects FLG bit $bit, as gzip does" 2 "$codec: corrupt stream" \
      "$CB" decompress "$codec"
  done
done
printf 'hello hello hello hello\n' | zstd -q -c >ok.zst
{ cat ok.zst; printf 'garbage'; } >trailing.zst
head -c 10 ok.zst >truncated.zst
zt=$(zstd -t trailing.zst 2>&1); zc=$(zstd -t truncated.zst 2>&1)
check_eq "8: zstd -t: trailing garbage is not 'premature end', a cut frame is (the oracle)" "no yes" \
  "$(grep -q 'premature end' <<<"$zt" && echo yes || echo no) $(grep -q 'premature end' <<<"$zc" && echo yes || echo no)"
BAD_STDIN=trailing.zst bad "8: zstd: trailing garbage is named as such" 2 "zstd: trailing data after the end of the stream" \
  "$CB" decompress zstd
BAD_STDIN=truncated.zst bad "8: zstd: a cut frame is still a truncated stream" 2 "zstd: truncated stream" \
  "$CB" decompress zstd
{ cat ok.zst ok.zst; } >two.zst
check_eq "8: zstd: two whole frames still decode" "$(zstd -dc two.zst | md5sum)" "$("$CB" decompress zstd <two.zst | md5sum)"

# ---- 9: matrix.tsv's schema (tests/c/test_schema.c) -------------------------------------------
# The identities, message texts and gbench.json names that runs on disk already
# hold: a change here would make `run --resume` time finished rows again.
rc=0
"${CB%/casbench}/tests/test_schema" >schema.out 2>&1 || rc=$?
cat schema.out
case $rc in 0|1) ;; *) fail "9: test_schema" "exit $rc: $(tail -n 3 schema.out | tr '\n' ' ')" ;; esac

# ---- 10: other programs: common/proc.c's PATH lookup and runner (tests/c/test_proc.c) -----------
rc=0
"${CB%/casbench}/tests/test_proc" >proc.out 2>&1 || rc=$?
cat proc.out
case $rc in 0|1) ;; *) fail "10: test_proc" "exit $rc: $(tail -n 3 proc.out | tr '\n' ' ')" ;; esac
