#!/usr/bin/python3
"""python_memory.py - what metaflow's save path costs in memory in CPython itself.

For each payload, codec and save variant, measures the peak extra memory of one
save beyond its input object, as casbench's peak_bytes does for C
(results/README.md), and times it, then writes a run directory in casbench's
schema: matrix.tsv (stage save, alloc fresh, with peak_bytes and
tracemalloc_bytes; the payload column names each payload as casbench's
results do, `casbench pickle --name`) and env.tsv (runtime=python).

usage: infra/python_memory.py [FLAGS]

flags:
  --payload NAME      payload(s) as `casbench pickle NAME` names them, repeatable or
                      comma-separated (default: config,metrics,embeddings,weights,random)
  --codec SPEC        lz4:0, gzip:3, zstd:3, none:0; repeatable or comma-separated
                      (default: lz4:0,gzip:3)
  --repetitions N     timed repetitions per cell (default 5)
  --casbench PATH     the casbench binary (default build/casbench of this repository)
  --out DIR           run directory (default results/<host>-pymem-<UTC>/); never overwritten
  -h, --help          this text

The variants (the `variant` column; key sha1, protocol 4, as metaflow saves). A
row is casbench's `save` stage: the key and the stored bytes, no file written.
  sequential  metaflow's: blob = pickle.dumps(obj, 4); key = sha1(blob); the codec's
              one-shot call (gzip:3 through GzipFile over BytesIO, as metaflow's
              _pack_v1): the stored bytes, whole, in memory
  streaming   pickle.dump(obj, writer, 4) into a file-like object that hashes each
              piece (in 256 KiB slices) and feeds it to the codec's streaming API (lz4.frame.
              LZ4FrameCompressor, zstandard stream_writer, GzipFile), whose output goes
              to a sink that drops each compressed piece (a store would write it to its
              temporary file, renamed to <key[:2]>/<key> when the key is known). LZ4 and
              zstd frames carry the blob's size, so a first pickle.dump into a writer
              that only counts finds it. Verified: same key and same stored bytes
              as sequential (a verifying save collects the pieces).

The memory of one save (the input object is built before and not counted):
  peak_bytes         the resident high-water mark of a forked child during the save
                     (VmHWM after writing 5 to /proc/self/clear_refs, minus VmRSS
                     before): the bytes written into allocations, Python's or a
                     library's, that were live at once (results/README.md). The child
                     fixes glibc's mmap threshold at its 128 KiB default (mallopt), so
                     that every large allocation is mapped on its own and unmapped when
                     freed: glibc's dynamic threshold would otherwise serve them from the
                     heap, whose freed memory stays resident, by an amount that depends
                     on what the process freed before (at 8 MB, gzip:3: 24 MB after
                     some saves, 30 MB after none). Every save of the script runs in a
                     forked child (verification, timing, memory), the script's own
                     process only builds the objects: no save leaves large free chunks
                     in the heap a later child starts from, which glibc would serve that
                     child's large requests from whatever the threshold (it maps a chunk
                     only when no free one fits: at 2 MB, gzip:3, a child forked after
                     three saves in the parent measured 7.4 MB, one forked before any
                     6.0 MB). The child then sets the threshold (and the trim threshold,
                     256 KiB), saves the object once, untimed (the warm-up of casbench's
                     forked check, bench/memory.h: code pages a fork leaves unmapped,
                     lazily made state), returns glibc's free heap memory to the kernel
                     (malloc_trim), and measures the second save, whose pages are then
                     new pages: the same state whatever ran before.
  tracemalloc_bytes  tracemalloc's peak over the same save in another child: the
                     bytes Python's allocators handed out at once, written or not (a
                     buffer allocated ahead of its contents counts whole), zlib's state
                     included, libzstd's not.
Note: numpy's ndarray.__reduce_ex__ at protocol 4 returns arr.tobytes(), a full copy
of the data, so a Python streaming save of an array still holds one blob-sized copy.

exit status: 0 done; 1 usage; 2 bad input; 3 environment; 4 a cell failed verification.
"""

import gzip
import hashlib
import json
import os
import pickle
import socket
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import python_path as pp  # noqa: E402  (objects, codecs, timing, env facts)

PROG = "python_memory.py"
DEFAULT_CODECS = ["lz4:0", "gzip:3"]
KNOWN_CODECS = {"lz4:0", "gzip:3", "zstd:1", "zstd:3", "none:0"}
COLUMNS = pp.COLUMNS + ["tracemalloc_bytes"]   # peak_bytes is one of casbench's own columns
CHUNK = 256 * 1024   # casbench's streaming window (bench/streaming.h)


# ---- the two save paths: (key, stored bytes or None) ----
def save_sequential(obj, codec, keep=False):
    """keep: return the stored bytes (the verifying save); either way they
    were made whole, as metaflow makes them."""
    comp = codec[0]
    blob = pickle.dumps(obj, protocol=4)
    key = hashlib.sha1(blob).hexdigest()
    stored = comp(blob)
    return key, stored if keep else None


class Sink:
    """Where a streaming save's compressed pieces go instead of a file:
    dropped, or collected for verification."""

    def __init__(self, keep):
        self.pieces = [] if keep else None

    def write(self, b):
        if self.pieces is not None:
            self.pieces.append(bytes(b))
        return len(b)

    def flush(self):
        pass


class Counter:
    """A file-like object that only counts: the size of the pickle."""

    def __init__(self):
        self.n = 0

    def write(self, b):
        self.n += len(b)
        return len(b)


class HashCompress:
    """pickle.dump's file: hashes each piece and compresses it into out."""

    def __init__(self, name, level, total, out, zstandard, lz4):
        self.h = hashlib.sha1()
        self.name = name
        self.zstandard = zstandard
        self.out = out
        if name == "lz4":
            # lz4.frame.compress (LZ4F_compressFrame) makes a one-block frame's
            # block independent; the streaming compressor must be told.
            self.c = lz4.frame.LZ4FrameCompressor(block_linked=total > 64 * 1024)
            out.write(self.c.begin(source_size=total))
        elif name == "zstd":
            self.c = zstandard.ZstdCompressor(level=level, write_content_size=True).stream_writer(
                out, size=total, closefd=False)
        elif name == "gzip":
            self.c = gzip.GzipFile(fileobj=out, mode="wb", compresslevel=level, mtime=0)
        else:
            self.c = None

    def write(self, b):
        # A large bytes payload comes as one piece: it is hashed and
        # compressed in CHUNK slices, so that no output is blob-sized.
        mv = memoryview(b).cast("B")
        for off in range(0, len(mv), CHUNK):
            piece = mv[off:off + CHUNK]
            self.h.update(piece)
            if self.name == "lz4":
                self.out.write(self.c.compress(piece))
            elif self.c is not None:
                self.c.write(piece)
            else:
                self.out.write(piece)
        return len(mv)

    def close(self):
        if self.name == "lz4":
            self.out.write(self.c.flush())
        elif self.name == "zstd":
            self.c.flush(self.zstandard.FLUSH_FRAME)
        elif self.c is not None:
            self.c.close()


def save_streaming(obj, codec_name, level, libs, keep=False):
    lz4, _xxhash, zstandard = libs
    n = Counter()
    pickle.dump(obj, n, protocol=4)
    sink = Sink(keep)
    w = HashCompress(codec_name, level, n.n, sink, zstandard, lz4)
    pickle.dump(obj, w, protocol=4)
    w.close()
    return w.h.hexdigest(), b"".join(sink.pieces) if keep else None


# ---- memory of one call, in a forked child ----
def status_bytes(key):
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


class ChildFailed(Exception):
    """A measuring child raised (the message names the exception) or died."""


def in_child(fn):
    """fn() in a forked child; returns what it returns (anything JSON
    carries), or raises ChildFailed. Every save of the script runs so (the
    docstring's peak_bytes): the parent only builds the objects."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            try:
                reply = {"value": fn()}
            except BaseException as e:  # reported to the parent, which writes an error row
                reply = {"error": "%s: %s" % (type(e).__name__, e)}
            data = json.dumps(reply).encode()
            while data:
                data = data[os.write(w, data):]
        finally:
            os._exit(0)  # never back into the parent's loop
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    try:
        reply = json.loads(data)
    except ValueError:
        raise ChildFailed("the measuring child died (wait status %d)" % status) from None
    if "error" in reply:
        raise ChildFailed(reply["error"])
    return reply["value"]


M_TRIM_THRESHOLD = -1   # glibc's mallopt parameters
M_MMAP_THRESHOLD = -3


def libc():
    import ctypes
    return ctypes.CDLL("libc.so.6")


def fix_thresholds():
    """glibc's initial thresholds, fixed (mallopt turns the dynamic raise
    off): large allocations mapped and unmapped on their own, whatever the
    process freed before (the docstring's peak_bytes)."""
    libc().mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    libc().mallopt(M_TRIM_THRESHOLD, 256 * 1024)


def release_free_memory():
    """What the parent's earlier saves left free in glibc's heap goes back to
    the kernel, so that the measured save faults in every page it uses."""
    libc().malloc_trim(0)


def rss_peak(save, obj):
    def child():
        fix_thresholds()
        save(obj)
        release_free_memory()
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        before = status_bytes("VmRSS")
        save(obj)
        return max(0, status_bytes("VmHWM") - before)
    return in_child(child)


def tracemalloc_peak(save, obj):
    def child():
        save(obj)
        tracemalloc.start()
        save(obj)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak
    return in_child(child)


# ---- the run ----
def parse_args(argv):
    a = {"payload": [], "codec": [], "repetitions": 5, "casbench": None, "out": None}
    i = 0
    while i < len(argv):
        f = argv[i]
        if f in ("-h", "--help"):
            print(__doc__.strip())
            sys.exit(0)
        if f not in ("--payload", "--codec", "--repetitions", "--casbench", "--out") or i + 1 >= len(argv):
            pp.die(1, f, "unknown flag or missing value (see --help)")
        v = argv[i + 1]
        if f in ("--payload", "--codec"):
            a[f[2:]] += [x for x in v.split(",") if x]
        elif f == "--repetitions":
            if not v.isdigit() or not 1 <= int(v) <= 1000:
                pp.die(2, f, "not a number 1..1000: %r" % v)
            a["repetitions"] = int(v)
        else:
            a[f[2:]] = v
        i += 2
    a["payload"] = a["payload"] or list(pp.DEFAULT_PAYLOADS)
    a["codec"] = a["codec"] or list(DEFAULT_CODECS)
    for c in a["codec"]:
        if c not in KNOWN_CODECS:
            pp.die(2, c, "unknown codec (known: %s)" % ", ".join(sorted(KNOWN_CODECS)))
    a["casbench"] = a["casbench"] or os.path.join(pp.ROOT, "build", "casbench")
    return a


def write_env(path, a, utc):
    import platform
    rows = [("runtime", "python"), ("python_version", platform.python_version()),
            ("python_executable", sys.executable), ("cpu_model", pp.cpu_model()),
            ("cpu_count", str(os.cpu_count())), ("kernel", platform.release()),
            ("hostname", socket.gethostname()), ("utc_time", time.strftime("%Y-%m-%dT%H:%M:%SZ", utc)),
            ("objects_from", "casbench"), ("repetitions", str(a["repetitions"])),
            ("memory", "peak_bytes: VmHWM of a forked child per cell; tracemalloc_bytes: tracemalloc peak")]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for k, v in rows:
            f.write("%s\t%s\n" % (k, v))


def canonical_name(name, casbench):
    """The payload's name as casbench's results name it (`weights` for
    weights:rows=1000), so that the report pairs the two runs' rows."""
    import subprocess
    p = subprocess.run([casbench, "pickle", "--name", name], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, check=False)
    if p.returncode != 0 or not p.stdout.strip():
        pp.die(2 if p.returncode == 2 else 3, name, "casbench pickle --name exited %d: %s" % (
            p.returncode, p.stderr.decode("utf-8", "replace").strip() or "no name"))
    return p.stdout.decode("utf-8").strip()


def main(argv):
    a = parse_args(argv)
    libs = pp.import_libs()
    lz4, _xxhash, zstandard = libs
    utc = time.gmtime()
    out = a["out"] or os.path.join(pp.ROOT, "results", "%s-pymem-%s" % (
        socket.gethostname(), time.strftime("%Y%m%dT%H%M%SZ", utc)))
    if os.path.exists(out):
        pp.die(2, out, "exists; a run directory is never overwritten")
    # Built before any save and held, blobs included, for the whole run:
    # every child starts from this heap (freeing a blob here would leave a
    # hole, or raise glibc's threshold, that the children inherit).
    objects = []
    for name in a["payload"]:
        obj, blob = pp.objects_from_casbench(name, a["casbench"])
        objects.append((canonical_name(name, a["casbench"]), obj, blob, len(blob), hashlib.sha1(blob).hexdigest()))
    os.makedirs(out)
    write_env(os.path.join(out, "env.tsv"), a, utc)
    errors = 0
    with open(os.path.join(out, "matrix.tsv"), "w", encoding="utf-8", newline="\n") as mf:
        mf.write("\t".join(COLUMNS) + "\n")
        for name, obj, _blob, blob_len, blob_key in objects:
            for spec in a["codec"]:
                cname, level = spec.split(":")
                codec = pp.make_codec(cname, int(level), lz4, zstandard)
                variants = {
                    "sequential": lambda o, keep=False, codec=codec: save_sequential(o, codec, keep),
                    "streaming": lambda o, keep=False, cname=cname, level=int(level):
                        save_streaming(o, cname, level, libs, keep),
                }
                for vname, fn in variants.items():
                    row = {"payload": name, "protocol": 4, "pickled_bytes": blob_len, "stage": "save",
                           "variant": vname, "codec": cname, "level": level, "hash": "sha1",
                           "alloc": "fresh", "bytes_in": blob_len, "status": "ok", "message": ""}

                    def save(o, fn=fn):
                        fn(o)
                        return 0

                    def verify(fn=fn, codec=codec):
                        want_key, want_bytes = save_sequential(obj, codec, keep=True)
                        key, got = fn(obj, keep=True)
                        if key != want_key or key != blob_key:
                            return [key, len(got), "key %s, want %s" % (key, want_key)]
                        if got != want_bytes:
                            return [key, len(got), "stored bytes differ from sequential's (%d against %d bytes)" % (
                                len(got), len(want_bytes))]
                        return [key, len(got), ""]
                    try:
                        key, stored_len, problem = in_child(verify)
                        if not problem:
                            n, samples, faults = in_child(
                                lambda save=save: pp.measure(lambda: save(obj), a["repetitions"], 0.01))
                            peak, traced = rss_peak(save, obj), tracemalloc_peak(save, obj)
                    except ChildFailed as e:
                        problem = str(e)
                    if problem:
                        row.update(status="error", message=problem)
                        errors += 1
                    else:
                        med = statistics.median(samples)
                        mean = statistics.fmean(samples)
                        sd = statistics.stdev(samples) if len(samples) > 1 else 0.0
                        row.update(bytes_out=stored_len, ratio="%.6f" % (blob_len / max(1, stored_len)),
                                   repetitions=a["repetitions"], iterations=n, median_ns="%.3f" % med,
                                   mean_ns="%.3f" % mean, stddev_ns="%.3f" % sd, cv="%.6f" % (sd / mean),
                                   min_ns="%.3f" % min(samples), max_ns="%.3f" % max(samples),
                                   mb_per_s="%.3f" % (blob_len * 1e3 / med if med else 0),
                                   samples_ns=",".join("%.3f" % s for s in samples), key=key,
                                   minflt_per_iter="%.2f" % faults,
                                   peak_bytes=peak, tracemalloc_bytes=traced)
                    mf.write("\t".join(str(row.get(c, "")).replace("\t", " ") for c in COLUMNS) + "\n")
                    mf.flush()
    print(out)
    return 4 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except pp.Fail as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        sys.exit(e.status)
