#!/usr/bin/env bash
# The hashes: digests equal sha1sum, sha256sum, b2sum, xxhsum, b3sum on every
# blob and every length 0..1024 of the period-251 pattern; one-shot =
# streaming = byte by byte and every BLAKE3 dispatch path
# (tests/c/test_hashes.c); OpenSSL with SHA-NI masked off; the reported
# implementation against OpenSSL's own capability vector; CLI errors.
. "$(dirname "$0")/lib.sh"
B=$TMPD/blobs P=$TMPD/pattern
mkdir -p "$B" "$P"
# The payloads' default pickles and an empty blob.
: >"$B/empty"
for p in config metrics embeddings weights random; do
  "$CASBENCH" pickle "$p" >"$B/$p" || { fail "casbench pickle $p" "exit $?"; exit 1; }
done
# pattern/N: the first N bytes of i % 251, N = 0..1024.
"$PY" -c '
import sys
pat = bytes(i % 251 for i in range(1024))
for n in range(1025):
    open("%s/%d" % (sys.argv[1], n), "wb").write(pat[:n])' "$P" ||
  { fail "make pattern files" "python failed"; exit 1; }

run_c() {  # as in test_codecs.sh: a crash is one more failure
  local name=$1 rc=0; shift
  "$@" >"$TMPD/c.out" 2>"$TMPD/c.err" || rc=$?
  cat "$TMPD/c.out"
  case $rc in 0|1) ;; *) fail "$name" "exit $rc: $(tail -n 5 "$TMPD/c.err" | tr '\n' ' ')" ;; esac
}
run_c "test_hashes (asan)" "${CASBENCH%/casbench}/tests/test_hashes" "$B"/*

# Every input, relative names, in one invocation of each tool.
CASBENCH=$(realpath "$CASBENCH")
cd "$TMPD" || exit 3
FILES=$(for n in $(seq 0 1024); do echo "pattern/$n"; done; for b in empty config metrics embeddings weights random; do echo "blobs/$b"; done)
NFILES=$(echo "$FILES" | wc -l)
# same_digests NAME HASH TOOL...: casbench hash HASH = TOOL on every input.
same_digests() {
  local name=$1 hash=$2; shift 2
  # shellcheck disable=SC2086
  "$@" $FILES 2>/dev/null | sed -E 's/^XXH3 \((.*)\) = ([0-9a-f]+)$/\2  \1/' >"$TMPD/want"
  # shellcheck disable=SC2086
  "$CASBENCH" hash "$hash" $FILES >"$TMPD/got" 2>&1
  local diff
  diff=$(diff "$TMPD/want" "$TMPD/got" | grep -c '^[<>]')
  if [ "$(wc -l <"$TMPD/want")" = "$NFILES" ] && [ "$(wc -l <"$TMPD/got")" = "$NFILES" ] && [ "$diff" = 0 ]; then
    pass "$name on $NFILES inputs"
  else
    fail "$name on $NFILES inputs" "$diff differ, e.g. $(diff "$TMPD/want" "$TMPD/got" | head -n 3 | tr '\n' ' ')"
  fi
}
same_digests "sha1 = sha1sum" sha1 sha1sum
same_digests "sha256 = sha256sum" sha256 sha256sum
same_digests "blake2b = b2sum" blake2b b2sum
same_digests "blake3 = b3sum" blake3 b3sum
same_digests "blake3-160 = b3sum --length 20" blake3-160 b3sum --length 20
same_digests "xxh64 = xxhsum -H1" xxh64 xxhsum -H1
same_digests "xxh3-64 = xxhsum -H3" xxh3-64 xxhsum -H3
same_digests "xxh3-128 = xxhsum -H2" xxh3-128 xxhsum -H2

# OpenSSL's other code paths: SHA-NI masked off (capability word 2 bit 29),
# and SSSE3 masked with words 2-3 cleared (the integer-only path).
for cap in ':~0x20000000' '~0x200'; do
  export OPENSSL_ia32cap=$cap
  same_digests "sha1 = sha1sum with OPENSSL_ia32cap=$cap" sha1 sha1sum
  same_digests "sha256 = sha256sum with OPENSSL_ia32cap=$cap" sha256 sha256sum
  unset OPENSSL_ia32cap
done

# The path casbench reports = the bits of OpenSSL's own vector, as
# `openssl info -cpusettings` prints it (SHA-NI = word 2 bit 29 and SSSE3 =
# word 1 bit 9, the tests in OpenSSL's sha1/sha256 assembly).
impl() {  # impl HASH: the implementation column of `casbench hash --help`
  "$CASBENCH" hash --help | awk -v h="$1" '$1 == h { for (i = 6; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : "\n") }'
}
for cap in unset ':~0x20000000' '~0x200' '0:0x20000000' ':0'; do
  if [ "$cap" = unset ]; then vec=$(env -u OPENSSL_ia32cap openssl info -cpusettings)
  else vec=$(OPENSSL_ia32cap=$cap openssl info -cpusettings); fi
  w01=$(echo "$vec" | sed -E 's/^OPENSSL_ia32cap=(0x[0-9a-f]+):(0x[0-9a-f]+).*/\1/')
  w23=$(echo "$vec" | sed -E 's/^OPENSSL_ia32cap=(0x[0-9a-f]+):(0x[0-9a-f]+).*/\2/')
  if [ $(( (w23 >> 29) & 1 )) = 1 ] && [ $(( (w01 >> 41) & 1 )) = 1 ]; then want=SHA-NI; else want=other; fi
  for h in sha1 sha256; do
    if [ "$cap" = unset ]; then got=$(env -u OPENSSL_ia32cap bash -c "$(declare -f impl); CASBENCH='$CASBENCH' impl $h")
    else got=$(OPENSSL_ia32cap=$cap bash -c "$(declare -f impl); CASBENCH='$CASBENCH' impl $h"); fi
    [ "$got" = SHA-NI ] || got="other ($got)"
    check_eq "$h path with OPENSSL_ia32cap $cap agrees with openssl info ($vec)" "$want" "${got%% (*}"
  done
done

# BLAKE3 and XXH3 paths against the CPU flags the kernel reports.
flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { [[ " $flags " == *" $1 "* ]]; }
if has avx512f && has avx512vl; then b3=AVX-512; elif has avx2; then b3=AVX2; elif has sse4_1; then b3=SSE4.1; else b3=SSE2; fi
if has avx512f; then x3=AVX-512; elif has avx2; then x3=AVX2; else x3=SSE2; fi
check_eq "blake3 reports the widest path the CPU has" "$b3" "$(impl blake3)"
check_eq "xxh3-64 reports the path xxHash's dispatcher picks" "$x3" "$(impl xxh3-64)"
if has sha_ni; then
  check_eq "sha1 uses SHA-NI on a CPU with sha_ni" SHA-NI "$(env -u OPENSSL_ia32cap bash -c "$(declare -f impl); CASBENCH='$CASBENCH' impl sha1")"
fi

# Command line.
check_eq "stdin with no file, as sha1sum" "$(printf abc | sha1sum)" "$(printf abc | "$CASBENCH" hash sha1)"
check_eq "'-' is stdin, as sha1sum" "$(printf abc | sha1sum - blobs/config)" "$(printf abc | "$CASBENCH" hash sha1 - blobs/config)"
check "hash --help" "$CASBENCH" hash --help
check "hash --version" "$CASBENCH" hash --version
check_eq "hash --help lists every hash" 8 \
  "$("$CASBENCH" hash --help | grep -cE '^(sha1|sha256|blake2b|blake3|blake3-160|xxh64|xxh3-64|xxh3-128) ')"
check_error "no hash" 1 "$CASBENCH" hash
check_error "unknown option" 1 "$CASBENCH" hash sha1 --frob
check_error "unknown hash" 2 "$CASBENCH" hash md5
check_error "missing file, nothing printed for the others" 2 "$CASBENCH" hash sha1 blobs/config no-such-file
check_error "a directory" 2 "$CASBENCH" hash sha1 blobs
check_error "stdout is /dev/full: exit 3" 3 bash -c "'$CASBENCH' hash sha1 blobs/config >/dev/full"
