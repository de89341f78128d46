#!/usr/bin/env bash
# casbench store put / get against metaflow's own layout, both ways, as a
# metaflow user would check it. The other side is infra/metaflow_equiv.py
# (metaflow's ContentAddressedStore + LocalStorage, written from metaflow's
# code), with CPython's gzip, python3-lz4, sha1sum, gzip(1) and lz4(1) as
# oracles for the bytes.
. "$(dirname "$0")/lib.sh"
ROOT=$PWD
CB=$(realpath "$CASBENCH")
S=$TMPD/store
export PYTHONPATH=$ROOT/infra

# A blob with every byte value and some structure: a file: payload is taken as is.
"$PY" -c 'import sys, random; r = random.Random(7); sys.stdout.buffer.write(bytes(range(256)) * 40 + bytes(r.getrandbits(8) for _ in range(70000)))' >"$TMPD/blob"
"$CB" pickle metrics >"$TMPD/metrics.pkl"

# --- casbench writes, metaflow's code reads ---------------------------------
for spec in gzip:3 lz4:0 none isal:1 libdeflate:6 gzip:9; do
  d=$S-${spec/:/_}
  t0=$(date +%s)
  key=$("$CB" store put "file:$TMPD/blob" --codec "$spec" --store "$d" 2>"$TMPD/put.err")
  t1=$(date +%s)
  check_eq "put $spec: key is sha1sum of the blob" "$(sha1sum <"$TMPD/blob" | cut -d' ' -f1)" "$key"
  f=$d/${key:0:2}/$key
  check_eq "put $spec: blob and _meta only, in <key[:2]>/" "$key $key""_meta" "$(find "$d/${key:0:2}" -mindepth 1 -printf '%f\n' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
  check_eq "put $spec: mode 0600, as mkstemp + rename leaves it" "600 600" "$(stat -c %a "$f" "$f"_meta | tr '\n' ' ' | sed 's/ $//')"
  out=$("$PY" - "$d" "$key" "$TMPD/blob" "$f" "$spec" "$t0" "$t1" <<'EOF'
import gzip, json, sys, zlib, lz4.frame
from io import BytesIO
from metaflow_equiv import ContentAddressedStore, LocalStorage
root, key, blob_path, f, spec, t0, t1 = sys.argv[1:]
blob = open(blob_path, "rb").read()
cas = ContentAddressedStore("", LocalStorage(root))
got = list(cas.load_blobs([key]))
problems = []
if got != [(key, blob)]:
    problems.append("metaflow's load_blobs does not return the blob")
meta = open(f + "_meta", "rb").read()
codec = spec.split(":")[0]
version = {"gzip": 1, "isal": 1, "libdeflate": 1, "lz4": 2, "none": 1}[codec]
want_meta = json.dumps({"cas_raw": codec == "none", "cas_version": version}).encode()
if meta != want_meta:
    problems.append("_meta %r != %r" % (meta, want_meta))
stored = open(f, "rb").read()
if spec.startswith("gzip:"):
    mtime = int.from_bytes(stored[4:8], "little")
    if not int(t0) <= mtime <= int(t1):
        problems.append("gzip mtime %d not the time of the put" % mtime)
    buf = BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=int(spec[5:]), mtime=mtime) as g:
        g.write(blob)
    if stored != buf.getvalue():
        problems.append("not GzipFile's bytes")
if spec == "lz4:0" and stored != lz4.frame.compress(blob):
    problems.append("not lz4.frame.compress's bytes")
if codec == "none" and stored != blob:
    problems.append("raw blob differs")
print("; ".join(problems) or "ok")
EOF
)
  check_eq "put $spec: read back by metaflow's load_blobs; bytes and _meta are metaflow's" ok "$out"
  case $spec in
    gzip:*|isal:*|libdeflate:*) check_eq "put $spec: gzip -dc reads the blob file" "$(sha1sum <"$TMPD/blob")" "$(gzip -dc <"$f" | sha1sum)" ;;
    lz4:*) check_eq "put $spec: lz4 -dc reads the blob file" "$(sha1sum <"$TMPD/blob")" "$(lz4 -dc <"$f" | sha1sum)" ;;
  esac
  check_eq "put $spec: store get returns the blob" "$(sha1sum <"$TMPD/blob")" "$("$CB" store get "$key" --store "$d" | sha1sum)"
done

# A payload pickled, under a prefix, keyed by another hash.
key=$("$CB" store put metrics --codec lz4:0 --store "$S-p" --prefix cas --hash xxh64)
check_eq "put --hash xxh64: the key is xxhsum's" "$(xxhsum -H64 <"$TMPD/metrics.pkl" | cut -d' ' -f1)" "$key"
check_eq "put --prefix cas: under DIR/cas/<key[:2]>/" yes "$([ -f "$S-p/cas/${key:0:2}/$key" ] && echo yes)"
check_eq "get --prefix cas returns the pickle" "$(sha1sum <"$TMPD/metrics.pkl")" "$("$CB" store get "$key" --store "$S-p" --prefix cas | sha1sum)"

# Deduplication: an existing key writes nothing.
d=$S-gzip_3; key=$(sha1sum <"$TMPD/blob" | cut -d' ' -f1)
before=$(stat -c '%i %Y' "$d/${key:0:2}/$key")
sleep 1
check_eq "put of an existing key prints the key" "$key" "$("$CB" store put "file:$TMPD/blob" --codec gzip:3 --store "$d")"
check_eq "put of an existing key leaves the file alone" "$before" "$(stat -c '%i %Y' "$d/${key:0:2}/$key")"

# --- metaflow's code writes, casbench reads ------------------------------------
for v in 1 2 raw; do
  d=$TMPD/py-$v
  key=$("$PY" - "$d" "$TMPD/blob" "$v" <<'EOF'
import sys
from metaflow_equiv import ContentAddressedStore, LocalStorage
root, blob_path, v = sys.argv[1:]
blob = open(blob_path, "rb").read()
cas = ContentAddressedStore("data", LocalStorage(root), cas_version=1 if v == "raw" else int(v))
print(cas.save_blobs(iter([blob]), raw=(v == "raw"))[0].key)
EOF
)
  check_eq "metaflow's save_blobs (cas_version $v) read by store get" "$(sha1sum <"$TMPD/blob")" \
    "$("$CB" store get "$key" --store "$d" --prefix data | sha1sum)"
done
# An artifact without _meta (metaflow before metadata): gzip, version 1.
d=$TMPD/nometa; key=$(sha1sum <"$TMPD/blob" | cut -d' ' -f1); mkdir -p "$d/${key:0:2}"
gzip -c <"$TMPD/blob" >"$d/${key:0:2}/$key"
check_eq "no _meta: read as cas_version 1, as metaflow does" "$(sha1sum <"$TMPD/blob")" "$("$CB" store get "$key" --store "$d" | sha1sum)"

# --- bad and foreign stores ---------------------------------------------------
# Under metaflow's own prefix (<Flow>/data), so that the messages name the
# same path_key as metaflow's.
d=$TMPD/bad; key=$("$CB" store put config --codec gzip:3 --store "$d" --prefix Flow/data); f=$d/Flow/data/${key:0:2}/$key
mf_error() {
  "$PY" -c '
import sys
from metaflow_equiv import ContentAddressedStore, LocalStorage
try:
    list(ContentAddressedStore("Flow/data", LocalStorage(sys.argv[1])).load_blobs([sys.argv[2]]))
except Exception as e:
    print(e)' "$d" "$key"
}
printf '{"cas_raw": false, "cas_version": 7}' >"$f"_meta
check_error "unknown cas_version: exit 2" 2 "$CB" store get "$key" --store "$d" --prefix Flow/data
check_eq "unknown cas_version: metaflow's own wording" "casbench: $(mf_error)" "$(cat "$TMPD/err.err")"
printf '{"cas_raw": false}' >"$f"_meta
check_error "_meta without cas_version: exit 2" 2 "$CB" store get "$key" --store "$d" --prefix Flow/data
check_eq "_meta without cas_version: metaflow's wording" "casbench: $(mf_error)" "$(cat "$TMPD/err.err")"
d=$TMPD/bad2; key=$("$CB" store put config --codec gzip:3 --store "$d"); f=$d/${key:0:2}/$key
printf '{"cas_raw": fal' >"$f"_meta
check_error "_meta not JSON: exit 2" 2 "$CB" store get "$key" --store "$d"
printf '[1, 2]' >"$f"_meta
check_error "_meta not an object: exit 2" 2 "$CB" store get "$key" --store "$d"
printf '{"cas_raw": false, "cas_version": 1}' >"$f"_meta
head -c 20 "$f" >"$f.cut" && mv "$f.cut" "$f"
check_error "truncated gzip stream: exit 2" 2 "$CB" store get "$key" --store "$d"
if grep -q "^casbench: Could not unpack artifact '" "$TMPD/err.err"; then
  pass "truncated stream: metaflow's wording"
else
  fail "truncated stream: metaflow's wording" "$(cat "$TMPD/err.err")"
fi
printf '{"cas_raw": false, "cas_version": 2}' >"$f"_meta
check_error "a gzip file marked cas_version 2: exit 2" 2 "$CB" store get "$key" --store "$d"
check_error "no such key: exit 2" 2 "$CB" store get 0123456789abcdef0123456789abcdef01234567 --store "$d"
check_error "key not hex: exit 2" 2 "$CB" store get XYZ --store "$d"
check_error "key of one character: exit 2" 2 "$CB" store get a --store "$d"
check_error "store is a file: exit 2" 2 "$CB" store get "$key" --store "$TMPD/blob"
check_error "store missing: exit 2" 2 "$CB" store get "$key" --store "$TMPD/nowhere"
check_error "put into a file: exit 2" 2 "$CB" store put config --codec gzip:3 --store "$TMPD/blob"
touch "$TMPD/blocked"; mkdir -p "$TMPD/b2"; k2=$("$PY" -c 'import hashlib,sys; print(hashlib.sha1(open(sys.argv[1],"rb").read()).hexdigest())' "$TMPD/blob")
: >"$TMPD/b2/${k2:0:2}"
check_error "key directory is a file: exit 3" 3 "$CB" store put "file:$TMPD/blob" --codec gzip:3 --store "$TMPD/b2"
check_error "put zstd (no metaflow reads it): exit 2" 2 "$CB" store put config --codec zstd:3 --store "$TMPD/z"
check_error "put zlib (not a metaflow stream): exit 2" 2 "$CB" store put config --codec zlib:3 --store "$TMPD/z"
check_error "put unknown codec: exit 2" 2 "$CB" store put config --codec brotli --store "$TMPD/z"
check_error "put unknown hash: exit 2" 2 "$CB" store put config --codec gzip:3 --hash md4 --store "$TMPD/z"
check_error "put unknown payload: exit 2" 2 "$CB" store put nosuch --codec gzip:3 --store "$TMPD/z"
check_error "put level out of range: exit 2" 2 "$CB" store put config --codec gzip:12 --store "$TMPD/z"
check_error "put --prefix ../x: exit 2" 2 "$CB" store put config --codec gzip:3 --store "$TMPD/z" --prefix ../x
check_error "put without --codec: exit 1" 1 "$CB" store put config --store "$TMPD/z"
check_error "get without --store: exit 1" 1 "$CB" store get "$key"
check_error "get with --codec: exit 1" 1 "$CB" store get "$key" --store "$d" --codec gzip
check_error "unknown verb: exit 1" 1 "$CB" store list --store "$d"
check_error "no verb: exit 1" 1 "$CB" store
check_error "unknown flag: exit 1" 1 "$CB" store get "$key" --store "$d" --frobnicate
check_eq "nothing written for the refused puts" no "$([ -e "$TMPD/z" ] && echo yes || echo no)"
