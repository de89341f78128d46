#!/usr/bin/python3
"""python_path.py - metaflow's save path in CPython itself, measured like casbench.

Times the same payload objects through CPython's own pickle, gzip, hashlib and
Debian's python3-lz4 / python3-zstandard / python3-xxhash, with Python's own
allocation behaviour (every result a fresh object: alloc column `fresh`), and
writes a run directory in casbench's schema (results/README.md): matrix.tsv and
env.tsv (runtime=python).

usage: infra/python_path.py [FLAGS]

flags:
  --payload NAME      payload(s), repeatable or comma-separated
                      (default: config,metrics,embeddings,weights,random)
  --codec SPEC        none, gzip, gzip:3, gzip:9, lz4, lz4:0, zstd, zstd:1, zstd:3;
                      repeatable or comma-separated; a name alone means all its levels
                      (default: none, gzip:3, gzip:9, lz4:0, zstd:1, zstd:3)
  --hash NAME         sha1 sha256 blake2b xxh64 xxh3-64 xxh3-128 (default: all six).
                      blake3 has no Debian Python module and is not offered.
  --protocol N        pickle protocol(s) 2..5, repeatable (default 4, metaflow's)
  --repetitions N     repetitions per cell (default 5; --quick: 3)
  --min-time S        seconds each repetition runs at least (default 0.1; --quick: 0.01)
  --quick             fewer, shorter repetitions
  --out DIR           run directory (default results/<host>-python-<UTC yyyymmddThhmmssZ>/);
                      never overwritten
  --casbench PATH     the casbench binary whose `pickle NAME` gives the objects
                      (default build/casbench of this repository)
  --objects-from casbench|python
                      casbench (default): each object is pickle.loads() of
                      `casbench pickle NAME`, so it is the very object casbench pickles.
                      python: a fallback that builds equivalent objects here (config
                      dict, metrics dict, numpy normal(0,1) (1000,100) and
                      normal(0,0.02) (1000,1000) float64 arrays, 5,000,000 random bytes;
                      seeded, sizes close to but not identical with casbench's)
  --pickle NAME       write pickle.dumps(object, protocol 4) of one payload to stdout and exit
  --serve             driven by `casbench run --python` over stdin/stdout (protocol:
                      bench/pyserve.h): verify and calibrate the cells in a worker
                      process (PYTHON_PATH_PROCESSES below; saves with the
                      first --hash only, no load+verify; codecs and hashes Python has
                      no binding for are left out, said on stderr), answer "ready N"
                      and list them; then time a cell once per "pair K I" (right after
                      its C cell's sample of round K, when casbench pairs them), the
                      cells not paired once per
                      "round K SEED" (the fastest of its sub-batches, as casbench's
                      rounds), and rewrite matrix.tsv in --out DIR (required) as each
                      round begins; --min-time is the batch length
  --suite pr3090      PR #3090's three benchmark scripts by their own method instead
                      (flags: --metaflow DIR, --metaflow-pr DIR, --quick, --out DIR;
                      see infra/pr3090_suite.py)
  -h, --help          this text

What each stage times (one call per iteration, its result dropped at once):
  pickle       pickle.dumps(obj, protocol=P)
  hash         hashlib.new(name, blob).digest() / xxhash.<alg>(blob).digest()
  compress     gzip:3  GzipFile(fileobj=BytesIO(), mode='wb', compresslevel=3, mtime=0),
                       one write, close (metaflow's _pack_v1)
               gzip:9  gzip.compress(blob) (its default level, as PR #3090 names it)
               lz4:0   lz4.frame.compress(blob) (python-lz4's defaults)
               zstd:L  ZstdCompressor(level=L, write_content_size=True).compress(blob)
               none    a copy of the blob (memoryview(blob).tobytes())
  decompress   the codec's one-shot inverse (gzip.decompress, lz4.frame.decompress,
               ZstdDecompressor().decompress, a copy)
  load         what metaflow's load does after reading: for gzip, GzipFile(fileobj=
               BytesIO(data)).read() (_unpack_v1); for the others, as decompress
  load+verify  load, then the hash of the result (metaflow does not re-hash)
  save         variant sequential: pickle.dumps -> key = hash(blob) -> compress;
               variant overlapped (lz4:0 and gzip:3 with sha1): pickle.dumps, then a
               ThreadPoolExecutor worker (one for the run) hashes while the caller
               compresses; both release the GIL on large buffers
  overhead     payload and stage `overhead`, once a run: the per-call costs (each
               binding on an empty input, BytesIO, the worker hand-off, the local
               datastore's small-file write; results/README.md), which casbench
               report adds to the C cells to predict these rows (predict.tsv)
hash rows are alloc `reuse` (results/README.md: hashing allocates nothing); every
other row is `fresh`: Python allocates every result.
bytes_in is what the step reads (the compressed stream for decompress/load), as
results/README.md defines it. Every cell is verified before it is timed (round trip
equal, key equal to a second computation); a failing cell is a row with status error.

environment: PYTHON_PATH_FAULT=CODEC:LEVEL (for tests) makes that codec's decompress
and load return a corrupted blob, so that its cells fail verification.
PYTHON_PATH_DIE_AT_ROUND=K (for tests) makes --serve exit 9 at the first request of
round K, PYTHON_PATH_DIE_AT_PAIR=K at its first "pair"; PYTHON_PATH_WORKER_DIE=NAME
makes --serve's worker NAME ("(every cell)", or with per-codec gzip:3, "(no codec)")
exit 9 at its first sample; PYTHON_PATH_SERVE_LOG=FILE (for tests) writes each worker's
name, pid and cells, then every request it reads, to FILE.
PYTHON_PATH_PROCESSES=one|per-codec: --serve times every cell in one worker process
(one, the default) or each codec:level in a worker of its own (per-codec).

exit status: 0 done; 1 usage; 2 bad input (unknown payload/codec/hash, bad number,
--out exists); 3 environment (casbench missing or failing, a module missing, I/O);
4 some cell failed verification (its row has status error; the others were measured).
"""

import gzip
import hashlib
import io
import math
import os
import pickle
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

PROG = "python_path.py"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PAYLOADS = ["config", "metrics", "embeddings", "weights", "random"]
HASH_NAMES = ["sha1", "sha256", "blake2b", "xxh64", "xxh3-64", "xxh3-128"]
OVERLAPPED_CODECS = {("lz4", 0), ("gzip", 3)}
# The overlapped save variant's worker: one thread for the whole run, as
# casbench's worker lives for a whole cell.
EXECUTOR = ThreadPoolExecutor(max_workers=1)
CODEC_LEVELS = {"none": [0], "gzip": [3, 9], "lz4": [0], "zstd": [1, 3]}
COLUMNS = ["payload", "protocol", "pickled_bytes", "stage", "variant", "codec", "level",
           "hash", "alloc", "bytes_in", "bytes_out", "ratio", "repetitions", "iterations",
           "median_ns", "mean_ns", "stddev_ns", "min_ns", "max_ns", "cv", "mb_per_s",
           "samples_ns", "key", "status", "message",
           # casbench's rounds (results/README.md): empty here, where each cell
           # is timed as back-to-back repetitions.
           "round_group", "spread", "drift", "flag",
           # minor page faults per call, the median over the timed repetitions
           # (resource.getrusage, the whole process as casbench counts it).
           "minflt_per_iter",
           # memory (infra/python_memory.py measures it) and the cold first
           # save of casbench's cpython mode: empty here.
           "peak_bytes", "cold_ns"]


class Fail(Exception):
    """An error at the program's edge: one line, one exit status."""

    def __init__(self, status, what, problem):
        super().__init__("%s: %s" % (what, problem))
        self.status = status


def die(status, what, problem):
    raise Fail(status, what, problem)


# ---- the libraries, imported where a missing one is an environment error ----
def import_libs():
    try:
        import numpy  # noqa: F401  (the payloads' arrays)
        import lz4.frame
        import xxhash
        import zstandard
    except ImportError as e:
        die(3, "import", "%s (install python3-numpy python3-lz4 python3-xxhash "
            "python3-zstandard: infra/provision.sh)" % e)
    return lz4, xxhash, zstandard


# ---- hashes: name -> (one-shot hexdigest, a second independent computation, digest bytes) ----
def make_hashes(xxhash):
    def hl(name, size=None):
        def one(b):
            return hashlib.new(name, b).digest()

        def second(b):
            # Streamed in 64 KiB pieces through a fresh object: a different path.
            h = hashlib.new(name)
            mv = memoryview(b)
            for i in range(0, len(mv), 65536):
                h.update(mv[i:i + 65536])
            return h.digest()
        return one, second, hashlib.new(name).digest_size

    def xx(cls, oneshot):
        def one(b):
            return cls(b).digest()

        def second(b):
            return oneshot(b)
        return one, second, cls().digest_size

    return {
        "sha1": hl("sha1"),
        "sha256": hl("sha256"),
        "blake2b": hl("blake2b"),
        "xxh64": xx(xxhash.xxh64, xxhash.xxh64_digest),
        "xxh3-64": xx(xxhash.xxh3_64, xxhash.xxh3_64_digest),
        "xxh3-128": xx(xxhash.xxh3_128, xxhash.xxh3_128_digest),
    }


# ---- codecs: (name, level) -> (compress, decompress, load) ----
def make_codec(name, level, lz4, zstandard):
    if name == "none":
        def copy(b):
            return memoryview(b).tobytes()
        return copy, copy, copy
    if name == "gzip":
        if level == 3:
            def comp(b):
                buf = io.BytesIO()
                with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=3, mtime=0) as f:
                    f.write(b)
                return buf.getvalue()
        else:
            def comp(b):
                return gzip.compress(b, compresslevel=level)

        def load(c):
            with gzip.GzipFile(fileobj=io.BytesIO(c), mode="rb") as f:
                return f.read()
        return comp, gzip.decompress, load
    if name == "lz4":
        return lz4.frame.compress, lz4.frame.decompress, lz4.frame.decompress
    if name == "zstd":
        cctx = zstandard.ZstdCompressor(level=level, write_content_size=True)
        dctx = zstandard.ZstdDecompressor()
        return cctx.compress, dctx.decompress, dctx.decompress
    raise AssertionError(name)


def with_fault(name, level, funcs):
    """The test hook PYTHON_PATH_FAULT: a codec whose inverse is wrong."""
    if os.environ.get("PYTHON_PATH_FAULT") != "%s:%d" % (name, level):
        return funcs
    comp, decomp, load = funcs

    def corrupt(f):
        def g(c):
            out = bytearray(f(c))
            if out:
                out[len(out) // 2] ^= 0x01
            return bytes(out)
        return g
    return comp, corrupt(decomp), corrupt(load)


def skip(serve, spec, problem):
    """--serve takes casbench's codec and hash list: what Python has no
    binding for is left out, said once; elsewhere it is bad input."""
    if not serve:
        die(2, spec, problem)
    print("%s: %s: %s (not served)" % (PROG, spec, problem), file=sys.stderr)


def parse_codecs(specs, serve=False):
    out = []
    for spec in specs:
        name, _, lv = spec.partition(":")
        if name not in CODEC_LEVELS:
            skip(serve, spec, "unknown codec (known: %s)" % ", ".join(CODEC_LEVELS))
            continue
        if lv == "":
            levels = CODEC_LEVELS[name]
        else:
            if not lv.isdigit() or int(lv) not in CODEC_LEVELS[name]:
                skip(serve, spec, "level not measured here (%s: %s)" % (
                    name, ", ".join(str(x) for x in CODEC_LEVELS[name])))
                continue
            levels = [int(lv)]
        for level in levels:
            if (name, level) not in out:
                out.append((name, level))
    return out


# ---- payload objects ----
def objects_from_python(name):
    import numpy as np
    rng = np.random.default_rng(20240601)
    if name == "config":
        return {"learning_rate": 0.001, "batch_size": 64, "epochs": 20,
                "optimizer": "adam", "dropout": 0.1, "layers": [512, 256, 128],
                "activation": "relu", "seed": 42, "early_stopping": True,
                "validation_split": 0.2}
    if name == "metrics":
        cols = 700
        return {"feature_%04d" % i: {"mean": float(rng.normal()), "std": float(abs(rng.normal())),
                                     "min": float(rng.normal() - 3), "max": float(rng.normal() + 3),
                                     "nulls": int(rng.integers(0, 100))}
                for i in range(cols)}
    if name == "embeddings":
        return rng.normal(0.0, 1.0, size=(1000, 100))
    if name == "weights":
        return rng.normal(0.0, 0.02, size=(1000, 1000))
    if name == "random":
        return rng.bytes(5_000_000)
    die(2, name, "unknown payload for --objects-from python (known: %s)" % ", ".join(DEFAULT_PAYLOADS))


def objects_from_casbench(name, casbench):
    if not os.path.isfile(casbench) or not os.access(casbench, os.X_OK):
        die(3, casbench, "casbench binary not found (run make, pass --casbench PATH, "
            "or use --objects-from python)")
    try:
        p = subprocess.run([casbench, "pickle", name], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, check=False)
    except OSError as e:
        die(3, casbench, "cannot run: %s" % e.strerror)
    if p.returncode != 0:
        msg = p.stderr.decode("utf-8", "replace").strip().splitlines()
        msg = msg[-1] if msg else "no message"
        # casbench's own status 2 means the payload name was bad; anything else is the environment.
        die(2 if p.returncode == 2 else 3, name,
            "casbench pickle exited %d: %s" % (p.returncode, msg))
    try:
        return pickle.loads(p.stdout), p.stdout
    except Exception as e:  # the blob is casbench's: any failure to load is its defect
        die(3, name, "pickle.loads of casbench's blob failed: %s" % e)


# ---- timing ----
def calibrate(fn, batch_s):
    """(iterations of a batch lasting >= batch_s, ns per iteration)."""
    clock = time.perf_counter_ns
    n = 1
    while True:
        t0 = clock()
        for _ in range(n):
            fn()
        el = clock() - t0
        if el >= batch_s * 1e9 or n >= 1 << 30:
            return n, el / n
        grow = 10 if el <= 0 else min(10.0, max(2.0, 1.4 * batch_s * 1e9 / el))
        n = int(math.ceil(n * grow))


def measure(fn, repetitions, min_time):
    """Calibrate an iteration count so one repetition takes >= min_time, then
    time `repetitions` repetitions; returns (iterations, per-iteration ns
    list, minor page faults per iteration: the median over the repetitions,
    as casbench's rows take theirs over the rounds, so that one burst of the
    interpreter's own (a new arena) in one repetition of an 8 MB cell, which
    is about one call, does not count whole)."""
    clock = time.perf_counter_ns
    n, _ = calibrate(fn, min_time)
    samples, faults = [], []
    for _ in range(repetitions):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = clock()
        for _ in range(n):
            fn()
        samples.append((clock() - t0) / n)
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / n)
    return n, samples, statistics.median(faults)


def fmt(x, spec):
    return "" if x is None else format(x, spec)


class Writer:
    def __init__(self, path):
        self.f = open(path, "w", encoding="utf-8", newline="\n")
        self.f.write("\t".join(COLUMNS) + "\n")
        self.f.flush()
        self.rows = 0
        self.errors = 0

    def row(self, **kw):
        vals = []
        for c in COLUMNS:
            v = kw.get(c, "")
            v = "" if v is None else str(v)
            vals.append(v.replace("\t", " ").replace("\n", " "))
        self.f.write("\t".join(vals) + "\n")
        self.f.flush()
        self.rows += 1
        if kw.get("status") != "ok":
            self.errors += 1


def run_cell(w, ident, bytes_in, verify, fn, reps, min_time, bytes_out=None, ratio=None, key="", passes=1):
    """verify() returns None or a one-line problem; then fn is timed (now,
    or in the rounds of a casbench run when w is a Server); a call of fn
    that makes `passes` passes of what the row times counts per pass.
    A Server that does not own the cell (another worker's codec) skips it."""
    if isinstance(w, Server) and not w.owns(ident):
        return
    try:
        problem = verify()
    except Exception as e:  # a library raising during verification is a failed cell
        problem = "%s: %s" % (type(e).__name__, e)
    if problem:
        w.row(**ident, bytes_in=bytes_in, status="error", message=problem)
        return
    if isinstance(w, Server):
        w.add(ident, fn, bytes_in=bytes_in, bytes_out=bytes_out, ratio=ratio, key=key, passes=passes)
        return
    iters, s, faults = measure(fn, reps, min_time)
    timed_row(w, ident, [x / passes for x in s], iters, faults / passes, bytes_in=bytes_in, bytes_out=bytes_out,
              ratio=ratio, key=key)


def timed_row(w, ident, s, iters, faults, bytes_in, bytes_out, ratio, key, **extra):
    """The row of a timed cell: samples s (ns per call), faults per call."""
    med = statistics.median(s)
    mean = statistics.fmean(s)
    sd = statistics.stdev(s) if len(s) > 1 else 0.0
    w.row(**ident, bytes_in=bytes_in, bytes_out="" if bytes_out is None else bytes_out, ratio=fmt(ratio, ".6f"),
          repetitions=len(s), iterations=iters, median_ns=fmt(med, ".1f"), mean_ns=fmt(mean, ".1f"),
          stddev_ns=fmt(sd, ".1f"), min_ns=fmt(min(s), ".1f"), max_ns=fmt(max(s), ".1f"),
          cv=fmt(sd / mean if mean > 0 else 0.0, ".6f"),
          mb_per_s=fmt(bytes_in / med * 1e3 if med > 0 else None, ".3f"),
          samples_ns=",".join(format(x, ".1f") for x in s), key=key, status="ok", message="",
          minflt_per_iter=fmt(faults, ".2f"), **extra)


def bench_payload(w, name, obj, protocol, codecs, hashes, hfuncs, libs, reps, min_time):
    lz4, _, zstandard = libs
    blob = pickle.dumps(obj, protocol=protocol)
    n = len(blob)
    base = dict(payload=name, protocol=protocol, pickled_bytes=n, alloc="fresh", variant="",
                codec="", level="", hash="")

    def ident(**kw):
        d = dict(base)
        d.update(kw)
        return d

    def v_pickle():
        if pickle.dumps(obj, protocol=protocol) != blob:
            return "pickle.dumps is not deterministic for this object"
        if pickle.dumps(pickle.loads(blob), protocol=protocol) != blob:
            return "pickle.loads(blob) does not pickle back to the same bytes"
        return None
    run_cell(w, ident(stage="pickle"), n, v_pickle,
             lambda: pickle.dumps(obj, protocol=protocol), reps, min_time, bytes_out=n)

    keys = {}
    for h in hashes:
        one, second, size = hfuncs[h]
        keys[h] = one(blob).hex()

        def v_hash(one=one, second=second, h=h):
            a, b = one(blob), second(blob)
            return None if a == b else "%s: one-shot %s != streamed %s" % (h, a.hex(), b.hex())
        # alloc `reuse`: results/README.md's rule for hash rows (a digest
        # allocates nothing worth naming), so that they line up with casbench's.
        run_cell(w, ident(stage="hash", hash=h, alloc="reuse"), n, v_hash, lambda one=one: one(blob),
                 reps, min_time, bytes_out=size, key=keys[h])

    for cname, level in codecs:
        comp, decomp, load = with_fault(cname, level, make_codec(cname, level, lz4, zstandard))
        try:
            c = comp(blob)
        except Exception as e:
            c = None
            cerr = "%s: %s" % (type(e).__name__, e)
        cid = dict(codec=cname, level=level)
        csize = len(c) if c is not None else None
        ratio = n / csize if csize else None

        def v_round(f, c=c):
            if c is None:
                return "compress failed: " + cerr
            out = f(c)
            return None if out == blob else "round trip differs from the blob (%d bytes back, %d in)" % (len(out), n)
        run_cell(w, ident(stage="compress", **cid), n, lambda: v_round(decomp),
                 lambda comp=comp: comp(blob), reps, min_time, bytes_out=csize, ratio=ratio)
        run_cell(w, ident(stage="decompress", **cid), csize or 0, lambda: v_round(decomp),
                 lambda decomp=decomp, c=c: decomp(c), reps, min_time, bytes_out=n, ratio=ratio)
        run_cell(w, ident(stage="load", **cid), csize or 0, lambda: v_round(load),
                 lambda load=load, c=c: load(c), reps, min_time, bytes_out=n, ratio=ratio)
        # Served in a casbench run's rounds: no load+verify, and saves with the
        # key hash (the first --hash) only, as casbench's save group.
        for h in ([] if isinstance(w, Server) else hashes):
            one = hfuncs[h][0]

            def v_lv(one=one, h=h):
                p = v_round(load)
                if p:
                    return p
                k = one(load(c)).hex()
                return None if k == keys[h] else "key of the loaded blob %s != %s" % (k, keys[h])
            run_cell(w, ident(stage="load+verify", hash=h, **cid), csize or 0, v_lv,
                     lambda one=one, load=load, c=c: one(load(c)), reps, min_time,
                     bytes_out=n, ratio=ratio, key=keys[h])

        for h in (hashes[:1] if isinstance(w, Server) else hashes):
            one = hfuncs[h][0]

            def save(one=one, comp=comp):
                b = pickle.dumps(obj, protocol=protocol)
                k = one(b)
                return k, comp(b)

            def v_save(save=save, h=h):
                p = v_round(decomp)
                if p:
                    return p
                k, out = save()
                if k.hex() != keys[h]:
                    return "save's key %s != %s" % (k.hex(), keys[h])
                return None if decomp(out) == blob else "save's stream does not decompress to the blob"
            run_cell(w, ident(stage="save", variant="sequential", hash=h, **cid), n, v_save,
                     save, reps, min_time, bytes_out=csize, ratio=ratio, key=keys[h])

        # overlapped, as casbench plans it: lz4:0 and gzip:3 with sha1. hashlib,
        # zlib and python-lz4 release the GIL on large buffers, so a worker
        # thread (made once, outside timing) hashes while this one compresses.
        if (cname, level) in OVERLAPPED_CODECS and "sha1" in (hashes[:1] if isinstance(w, Server) else hashes):
            one = hfuncs["sha1"][0]

            def save_ov(one=one, comp=comp):
                b = pickle.dumps(obj, protocol=protocol)
                fut = EXECUTOR.submit(one, b)
                out = comp(b)
                return fut.result(), out

            def v_save_ov(save_ov=save_ov):
                p = v_round(decomp)
                if p:
                    return p
                k, out = save_ov()
                if k.hex() != keys["sha1"]:
                    return "overlapped save's key %s != %s" % (k.hex(), keys["sha1"])
                if decomp(out) != blob:
                    return "overlapped save's stream does not decompress to the blob"
                return None if out == c else "overlapped save's stream differs from compress(blob)"
            run_cell(w, ident(stage="save", variant="overlapped", hash="sha1", **cid), n, v_save_ov,
                     save_ov, reps, min_time, bytes_out=csize, ratio=ratio, key=keys["sha1"])
    return blob


# ---- fixed per-call costs: stage `overhead` ----
# What a call costs in Python beyond the library's work on the data: each
# binding called on the 5-byte pickle of TINY_OBJECT (what a save hands the
# hash and the compressor; decompress and load get its stream), metaflow's
# BytesIO around the stream, the worker hand-off of the overlapped save, and
# the local datastore's file work for a small blob. Not b'': on it the calls
# skip work a real call does (GzipFile.write returns early, without compress
# or crc; an empty result is the shared b'' object, never allocated; zstd
# decompresses an empty frame on a shorter path), so a cost measured on it
# misses part of the interpreter's. casbench's C twins of these rows (plan.h
# plan_overhead) make the same calls on the same bytes. casbench report adds
# these, less their twins, to the C cells to predict the Python rows
# (predict.tsv; results/README.md).
TINY_OBJECT = 0


# The interpreter's cost of one pass of GzipFile.read()'s loop (gzip.py's
# _GzipReader.read under DecompressReader.readall: a read of
# io.DEFAULT_BUFFER_SIZE bytes of the file, decompress, the checks of
# unconsumed_tail and unused_data, zlib.crc32, the list append), which
# casbench's cpython load cell does in C but without the interpreter: the same
# read() of a stored (level 0) stream, io.DEFAULT_BUFFER_SIZE (which
# _GzipReader reads at each pass) lowered to LOAD_CHUNK_READ for the call so
# that a pass moves a few bytes and times the interpreter, counted per pass
# (GzipFile's own set-up, the `load` row, is 1/LOAD_CHUNK_PASSES of it).
LOAD_CHUNK_READ = 64
LOAD_CHUNK_PASSES = 512


def load_chunk_cell(w, ident, load, reps, min_time):
    plain = bytes(range(256)) * (LOAD_CHUNK_READ * LOAD_CHUNK_PASSES // 256)
    stream = gzip.compress(plain, compresslevel=0, mtime=0)

    def small_reads():
        size = io.DEFAULT_BUFFER_SIZE
        io.DEFAULT_BUFFER_SIZE = LOAD_CHUNK_READ
        try:
            return load(stream)
        finally:
            io.DEFAULT_BUFFER_SIZE = size
    passes = (len(stream) - 10 + LOAD_CHUNK_READ - 1) // LOAD_CHUNK_READ
    run_cell(w, ident, len(stream), lambda: None if small_reads() == plain else "stored stream read back differs",
             small_reads, reps, min_time, bytes_out=0, passes=passes)


def bench_overhead(w, codecs, hashes, hfuncs, libs, store_root, reps, min_time):
    lz4, _, zstandard = libs
    tiny = pickle.dumps(TINY_OBJECT, protocol=4)

    def ident(variant, **kw):
        d = dict(payload="overhead", protocol=4, pickled_bytes=len(tiny), stage="overhead",
                 variant=variant, codec="", level="", hash="", alloc="fresh")
        d.update(kw)
        return d

    run_cell(w, ident("pickle"), len(tiny),
             lambda: None if pickle.loads(pickle.dumps(TINY_OBJECT, protocol=4)) == TINY_OBJECT else "pickle",
             lambda: pickle.dumps(TINY_OBJECT, protocol=4), reps, min_time, bytes_out=len(tiny))
    # An array's reduce (numpy's __reduce_ex__, the pickler's checks of its
    # globals and tuples): pickle.dumps of a one-element array, less the
    # pickle row above, is what each array of a payload adds.
    import numpy
    tiny_array = numpy.zeros(1)
    tiny_array_pickle = pickle.dumps(tiny_array, protocol=4)
    run_cell(w, ident("pickle-ndarray", pickled_bytes=len(tiny_array_pickle)), len(tiny_array_pickle),
             lambda: None if pickle.dumps(pickle.loads(tiny_array_pickle), protocol=4) == tiny_array_pickle
             else "pickle of a one-element array", lambda: pickle.dumps(tiny_array, protocol=4), reps, min_time,
             bytes_out=len(tiny_array_pickle))
    for h in hashes:
        one, second, size = hfuncs[h]
        run_cell(w, ident("hash", hash=h, alloc="reuse"), len(tiny),
                 lambda one=one, second=second: None if one(tiny) == second(tiny) else "digest of the tiny pickle",
                 lambda one=one: one(tiny), reps, min_time, bytes_out=size)
    for cname, level in codecs:
        comp, decomp, load = make_codec(cname, level, lz4, zstandard)
        c = comp(tiny)
        cid = dict(codec=cname, level=level)

        def v(f, c=c):
            return None if f(c) == tiny else "round trip of the tiny pickle differs"
        run_cell(w, ident("compress", **cid), len(tiny), lambda decomp=decomp: v(decomp),
                 lambda comp=comp: comp(tiny), reps, min_time, bytes_out=len(c))
        run_cell(w, ident("decompress", **cid), len(c), lambda decomp=decomp: v(decomp),
                 lambda decomp=decomp, c=c: decomp(c), reps, min_time, bytes_out=len(tiny))
        run_cell(w, ident("load", **cid), len(c), lambda load=load: v(load),
                 lambda load=load, c=c: load(c), reps, min_time, bytes_out=len(tiny))
        if cname == "gzip":
            load_chunk_cell(w, ident("load-chunk", **cid), load, reps, min_time)

    def bytesio():
        buf = io.BytesIO()
        buf.write(tiny)
        buf.seek(0)
        return buf.read()
    run_cell(w, ident("bytesio"), len(tiny), lambda: None if bytesio() == tiny else "BytesIO",
             bytesio, reps, min_time, bytes_out=len(tiny))
    run_cell(w, ident("bytesio-read"), len(tiny),
             lambda: None if io.BytesIO(tiny).read() == tiny else "BytesIO read",
             lambda: io.BytesIO(tiny).read(), reps, min_time, bytes_out=len(tiny))
    run_cell(w, ident("thread-handoff"), 0, lambda: None if EXECUTOR.submit(len, tiny).result() == len(tiny)
             else "worker", lambda: EXECUTOR.submit(len, tiny).result(), reps, min_time, bytes_out=0)

    # metaflow's local datastore writing a small blob and its _meta (temp
    # file + rename, as infra/metaflow_equiv.py re-writes it from metaflow),
    # over the same path each call (the rename replaces the last call's file).
    import metaflow_equiv
    storage = metaflow_equiv.LocalStorage(store_root)
    small = gzip.compress(tiny, compresslevel=3, mtime=0)
    path = storage.path_join("data", "ab", "ab" + "0" * 38)
    meta = {"cas_raw": False, "cas_version": 1}

    def store():
        storage.is_file([path])
        storage.save_bytes([(path, (io.BytesIO(small), meta))], overwrite=True)

    def v_store():
        store()
        with open(storage.full_uri(path), "rb") as f:
            return None if f.read() == small else "stored bytes differ"
    run_cell(w, ident("store", codec="gzip", level=3), len(small), v_store, store, reps, min_time,
             bytes_out=len(small))


# ---- --serve: cells timed in the rounds of a casbench run ----
# Protocol (bench/pyserve.h is the other side), one line each way:
#   this -> casbench  "ready N"    every cell verified and calibrated (N cells),
#                     then N lines "cell I PAYLOAD PROTOCOL STAGE VARIANT CODEC
#                     LEVEL HASH ALLOC EST_NS" (tab-separated), cell I's identity
#                     and its calibration's time per call
#   casbench -> this  "pairs I J.." the cells it will ask for one by one
#   this -> casbench  "paired M"   (M cells named)
#   casbench -> this  "pair K I"   time cell I once: its round-K sample, taken
#                                  right after its C partner's
#   this -> casbench  "done K I"
#   casbench -> this  "round K S"  time every cell not named in "pairs" once,
#                                  in the order shuffled by seed S
#   this -> casbench  "done K"
#   casbench -> this  "quit N" (or end of input): the last rewrite, of the
#                     N rounds the C run completed, exit 0
#   this -> casbench  "error MESSAGE" instead of any answer: it failed, exits
# matrix.tsv is rewritten when a round's first request arrives (the rounds
# before it are complete then) and at quit.
# A cell's round sample is the fastest of its sub-batches, its iterations
# calibrated as casbench's rounds.c does (the same constants).
SUB_BATCHES = 3
SUB_BATCH_WHOLE_MAX_S = 0.02
SUB_BATCH_ONE_ITERATION_NS = 1e6


def spread(s):
    """(q75 - q25) / median, as casbench's rs_spread; None below 2 samples."""
    if len(s) < 2:
        return None
    q = statistics.quantiles(s, n=4, method="inclusive")
    return (q[2] - q[0]) / q[1] if q[1] > 0 else None


class Server:
    """A --serve worker's cells: built, verified and calibrated by run_cell,
    then timed one sample at a time. codec (NAME, LEVEL): only that codec's
    cells; None: every cell it is given."""
    def __init__(self, batch_s, codec=None, name=""):
        self.batch_s = batch_s
        self.codec = codec
        self.name = name
        self.cells = []
        self.errors = []

    def owns(self, ident):
        return self.codec is None or (ident.get("codec"), ident.get("level")) == self.codec

    def row(self, **kw):   # a cell that failed verification
        self.errors.append(kw)

    def add(self, ident, fn, **kw):
        fn()   # warm-up
        n, est = calibrate(fn, self.batch_s)
        n2, est2 = calibrate(fn, self.batch_s)
        if n2 > n:
            n, est = n2, est2
        parts = 1
        if est >= SUB_BATCH_ONE_ITERATION_NS:
            n = 1
        if n >= SUB_BATCHES:
            n //= SUB_BATCHES
            parts = SUB_BATCHES
        elif n * est < SUB_BATCH_WHOLE_MAX_S * 1e9:
            parts = SUB_BATCHES
        # est_ns: the calibration's time per call of what the row times
        self.cells.append(dict(ident=ident, fn=fn, n=n, parts=parts, est_ns=est / kw.get("passes", 1), **kw))

    def sample(self, i):
        """One round's sample of cell i: the fastest of its sub-batches, and
        its minor faults per call."""
        if os.environ.get("PYTHON_PATH_WORKER_DIE") == self.name:   # tests: a worker dies
            os._exit(9)
        c = self.cells[i]
        clock = time.perf_counter_ns
        fn, n, passes = c["fn"], c["n"], c.get("passes", 1)
        best = best_f = None
        for _ in range(c["parts"]):
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t0 = clock()
            for _ in range(n):
                fn()
            el = (clock() - t0) / n / passes
            f = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / n / passes
            if best is None or el < best:
                best, best_f = el, f
        return best, best_f


class Worker:
    """A process forked by --serve that builds and times its cells: every
    cell, or (per-codec) one codec's or those without a codec.
    A CPython process's page faults depend on what its other calls freed
    (serve(): one worker holds every cell by default, one per codec with
    PYTHON_PATH_PROCESSES=per-codec). Requests and answers
    are Python objects over a socket pair (multiprocessing.connection):
      ("pair", I) -> (ns, faults)        ("round", SEED, [I...]) -> [(I, ns, faults)...]
      ("quit",) -> the worker exits 0;  ("error", MESSAGE) instead of any answer."""

    def __init__(self, name, build, others):
        from multiprocessing import Pipe
        self.name = name
        self.conn, child = Pipe()
        parent = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:
            self.conn.close()
            for w in others:   # the serving process's ends to earlier workers
                w.conn.close()
            os._exit(Worker.main(name, build, child, parent))
        child.close()
        self.cells, self.errors = self.answer()   # built, verified, calibrated

    @staticmethod
    def main(name, build, conn, parent):
        import ctypes
        import signal
        # Killed with the serving process, whatever ends it (casbench kills it
        # when it hangs); stdin and stdout stay the serving process's.
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            return 3
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(2, 1)
        try:
            srv = build()
            conn.send(([{k: v for k, v in c.items() if k != "fn"} for c in srv.cells], srv.errors))
            import random
            while True:
                req = conn.recv()
                if req[0] == "pair":
                    conn.send(srv.sample(req[1]))
                elif req[0] == "round":
                    order = list(req[2])
                    random.Random(req[1]).shuffle(order)
                    conn.send([(i,) + srv.sample(i) for i in order])
                else:
                    return 0
        except EOFError:   # the serving process is gone
            return 0
        except Exception as e:  # Fail or a library raising: its one line, via the serving process
            try:
                conn.send(("error", "%s: %s" % (type(e).__name__, e) if not isinstance(e, Fail) else str(e)))
            except OSError:
                pass
            return 3

    def ask(self, *req):
        try:
            self.conn.send(req)
        except OSError:
            pass   # said by answer()
        return self.answer()

    def answer(self):
        try:
            ans = self.conn.recv()
        except (EOFError, OSError):
            _, st = os.waitpid(self.pid, 0)
            self.pid = 0
            how = ("exited with status %d" % os.WEXITSTATUS(st) if os.WIFEXITED(st)
                   else "killed by signal %d" % os.WTERMSIG(st))
            die(3, "--serve", "worker %s %s" % (self.name, how))
        if isinstance(ans, tuple) and ans[:1] == ("error",):
            die(3, "--serve", "worker %s: %s" % (self.name, ans[1]))
        return ans

    def stop(self):
        if self.pid:
            try:
                self.conn.send(("quit",))
            except OSError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = 0


class Served:
    """The serving process's record: every worker's cells in one index (the
    one casbench sees), their samples, and matrix.tsv."""
    def __init__(self, out):
        self.path = os.path.join(out, "matrix.tsv")
        self.workers = []
        self.cells = []     # dicts: a worker's cell, plus worker, local, samples, faults
        self.errors = []

    def add_worker(self, w):
        self.workers.append(w)
        self.errors += w.errors
        for i, c in enumerate(w.cells):
            self.cells.append(dict(c, worker=w, local=i, samples=[], faults=[]))

    def listing(self):
        """The lines that follow "ready": each cell's identity."""
        keys = ("payload", "protocol", "stage", "variant", "codec", "level", "hash", "alloc")
        return ["\t".join(["cell", str(i)] + [str(c["ident"].get(k, "")) for k in keys] + ["%.1f" % c["est_ns"]])
                for i, c in enumerate(self.cells)]

    def pair(self, i):
        c = self.cells[i]
        s, f = c["worker"].ask("pair", c["local"])
        c["samples"].append(s)
        c["faults"].append(f)

    def round(self, seed, paired):
        """The block: every cell not in `paired`, worker by worker in an
        order shuffled by seed, each worker's cells shuffled too. Each worker
        that has such cells is asked in turn (per-codec: in practice only the
        one without a codec, which owns the per-call cost rows, unless a cell
        of another has no C partner)."""
        import random
        rng = random.Random(seed)
        order = list(self.workers)
        rng.shuffle(order)
        for w in order:
            mine = {c["local"]: c for i, c in enumerate(self.cells) if c["worker"] is w and i not in paired}
            if not mine:
                continue
            for local, s, f in w.ask("round", rng.getrandbits(63), sorted(mine)):
                mine[local]["samples"].append(s)
                mine[local]["faults"].append(f)

    def keep_rounds(self, n):
        """Only the first n rounds: those the C run completed (an interrupted
        run drops its last round's samples, here as in casbench's rows)."""
        for c in self.cells:
            del c["samples"][n:]
            del c["faults"][n:]

    def stop(self):
        for w in self.workers:
            w.stop()

    def write(self):
        tmp = self.path + ".tmp"
        w = Writer(tmp)
        for kw in self.errors:
            w.row(**kw)
        for c in self.cells:
            s = c["samples"]
            if not s:
                continue
            timed_row(w, c["ident"], s, c["n"], statistics.median(c["faults"]), bytes_in=c["bytes_in"],
                      bytes_out=c["bytes_out"], ratio=c["ratio"], key=c["key"], round_group="python",
                      spread=fmt(spread(s), ".6f"))
        w.f.close()
        os.replace(tmp, self.path)


def serve_main(a):
    """--serve: a failure is one protocol line "error MESSAGE" on stdout, for
    casbench to say in its own one line."""
    try:
        return serve(a)
    except Fail as e:
        print("error %s" % e, flush=True)
        return e.status
    except Exception as e:  # a library raising while the cells are prepared or timed
        print("error %s: %s" % (type(e).__name__, e), flush=True)
        return 3


def serve(a):
    """Prepare the cells, then time them round by round as casbench asks."""
    import shutil
    import tempfile
    libs = import_libs()
    if not a.out:
        die(1, "--serve", "needs --out DIR")
    objects = []
    for name in a.payloads:
        try:
            obj, _ = get_object(name, a)
        except Fail as e:   # one payload Python cannot build is skipped, said once
            print("%s: %s (skipped)" % (PROG, e), file=sys.stderr)
            continue
        objects.append((name, obj))
    make_run_dir(a.out)
    write_env(os.path.join(a.out, "env.tsv"), a, libs, time.gmtime(), "")
    with open(os.path.join(a.out, "env.tsv"), "a", encoding="utf-8", newline="\n") as f:
        f.write("timing\trounds of the casbench run (--serve): one sample per round, the fastest "
                "of its sub-batches, taken right after its C cell's sample of the round when that "
                "cell is most of its time (a per-call cost row: its C twin's; the others: once per round, "
                "in one block)\nbatch_s\t%r\n" % a.min_time)
    append_ndarray_counts(os.path.join(a.out, "env.tsv"), objects)
    hfuncs = make_hashes(libs[1])
    store_root = tempfile.mkdtemp(prefix="store-overhead-", dir=a.out)
    protocol = a.protocols[0]

    # The cells' processes, each forked from this process, which holds only
    # the objects, and built one after the other: by default one, holding
    # every cell, as casbench's cpython cells model one process whose mmap
    # threshold every codec's frees raise (bench/cells_cpython.c);
    # PYTHON_PATH_PROCESSES=per-codec: one per codec:level and one for the
    # cells without a codec (pickle, hash, the per-call cost rows), each with
    # the history of a metaflow task that repeats one codec. The two differ
    # where a call's buffers sit at the edge of glibc's thresholds: weights
    # gzip:3 compress faults 1,482 times per call in the one process and
    # 3,787 alone (casbench: 3,758); weights lz4:0 compress 0 and 3,875
    # (casbench: 0), its heap trimmed after every call (results/README.md).
    def with_overhead(worker_name, codecs):
        """The per-call cost rows, then the payloads' cells with `codecs`
        (every codec: the one worker; none: per-codec's codecless one)."""
        srv = Server(a.min_time, None, worker_name)
        bench_overhead(srv, a.codecs, a.hashes, hfuncs, libs, store_root, 1, a.min_time)
        for name, obj in objects:
            bench_payload(srv, name, obj, protocol, codecs, a.hashes, hfuncs, libs, 1, a.min_time)
        return srv

    def one_codec(cname, level):
        srv = Server(a.min_time, (cname, level), "%s:%d" % (cname, level))
        for name, obj in objects:
            bench_payload(srv, name, obj, protocol, [(cname, level)], a.hashes, hfuncs, libs, 1, a.min_time)
        return srv

    srv = Served(a.out)
    try:
        processes = os.environ.get("PYTHON_PATH_PROCESSES", "one")
        if processes == "one":
            srv.add_worker(Worker("(every cell)", lambda: with_overhead("(every cell)", a.codecs), srv.workers))
        elif processes == "per-codec":
            srv.add_worker(Worker("(no codec)", lambda: with_overhead("(no codec)", []), srv.workers))
            for cname, level in a.codecs:
                srv.add_worker(Worker("%s:%d" % (cname, level), lambda c=cname, l=level: one_codec(c, l),
                                      srv.workers))
        else:
            die(1, "PYTHON_PATH_PROCESSES", "%r: not one or per-codec" % processes)
        srv.write()
        print("\n".join(["ready %d" % len(srv.cells)] + srv.listing()), flush=True)
        die_at = os.environ.get("PYTHON_PATH_DIE_AT_ROUND")   # tests: the python side dies
        die_at_pair = os.environ.get("PYTHON_PATH_DIE_AT_PAIR")
        log = open(os.environ["PYTHON_PATH_SERVE_LOG"], "w") if os.environ.get("PYTHON_PATH_SERVE_LOG") else None
        for w in srv.workers if log else []:   # tests: which process owns which cells
            log.write("worker %s %d %s\n" % (w.name, w.pid, " ".join(
                str(i) for i, c in enumerate(srv.cells) if c["worker"] is w)))
        paired, current = set(), None
        for line in sys.stdin:
            words = line.split()
            if log:   # tests: the requests, in order
                log.write(line)
                log.flush()
            if words[:1] == ["quit"]:
                if len(words) == 2 and words[1].isdigit():
                    srv.keep_rounds(int(words[1]))
                break
            if words[:1] == ["pairs"] and all(w.isdigit() and int(w) < len(srv.cells) for w in words[1:]):
                paired = set(int(w) for w in words[1:])
                print("paired %d" % len(paired), flush=True)
                continue
            if not (len(words) == 3 and words[0] in ("round", "pair") and words[1].isdigit() and words[2].isdigit()
                    and (words[0] == "round" or int(words[2]) in paired)):
                die(1, "--serve", "unknown request %r" % line.strip())
            if words[1] != current:   # a new round: the ones before it are complete
                srv.write()
                current = words[1]
                if die_at is not None and words[1] == die_at:
                    os._exit(9)
            if words[0] == "pair":
                if words[1] == die_at_pair:
                    os._exit(9)
                srv.pair(int(words[2]))
                print("done %s %s" % (words[1], words[2]), flush=True)
            else:
                srv.round(int(words[2]), paired)
                print("done %s" % words[1], flush=True)
        srv.stop()
        srv.write()
    finally:
        shutil.rmtree(store_root, ignore_errors=True)
    return 0


# ---- env.tsv ----
def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def count_ndarrays(obj):
    """The numpy arrays in obj's lists, tuples and dicts: each is one call of
    ndarray.__reduce_ex__ in pickle.dumps, the interpreter's work that no C
    cell has (the `pickle-ndarray` overhead row prices one)."""
    import numpy

    def count(o, depth):
        if isinstance(o, numpy.ndarray):
            return 1
        if depth > 1000:
            return 0
        if isinstance(o, (list, tuple)):
            return sum(count(x, depth + 1) for x in o)
        if isinstance(o, dict):
            return sum(count(k, depth + 1) + count(v, depth + 1) for k, v in o.items())
        return 0
    return count(obj, 0)


def append_ndarray_counts(path, objects):
    """env.tsv's ndarrays_PAYLOAD rows (results/README.md), which the report's
    prediction reads."""
    with open(path, "a", encoding="utf-8", newline="\n") as f:
        for name, obj in objects:
            f.write("ndarrays_%s\t%d\n" % (name.replace("\t", " ").replace("\n", " "), count_ndarrays(obj)))


def write_env(path, args, libs, utc, casbench_version):
    import numpy
    import zlib
    import ssl
    lz4, xxhash, zstandard = libs
    rows = [
        ("runtime", "python"),
        ("python_version", platform.python_version()),
        ("python_implementation", platform.python_implementation()),
        ("python_executable", sys.executable),
        ("numpy_version", numpy.__version__),
        ("python_lz4_version", lz4.__version__),
        ("liblz4_version", lz4.library_version_string()),
        ("python_xxhash_version", xxhash.VERSION),
        ("libxxhash_version", xxhash.XXHASH_VERSION),
        ("python_zstandard_version", zstandard.__version__),
        ("libzstd_version", ".".join(str(x) for x in zstandard.ZSTD_VERSION)),
        ("zlib_version", zlib.ZLIB_RUNTIME_VERSION),
        ("openssl_version", ssl.OPENSSL_VERSION),
        ("hashes_skipped", "blake3 (no Debian Python module)"),
        ("cpu_model", cpu_model()),
        ("cpu_count", str(os.cpu_count())),
        ("kernel", platform.release()),
        ("machine", platform.machine()),
        ("hostname", socket.gethostname()),
        ("utc_time", time.strftime("%Y-%m-%dT%H:%M:%SZ", utc)),
        ("objects_from", args.objects_from),
        ("casbench_version", casbench_version),
        ("repetitions", str(args.repetitions)),
        ("min_time_s", repr(args.min_time)),
        ("alloc", "fresh (Python allocates every result)"),
    ]
    if not casbench_version:
        rows = [r for r in rows if r[0] != "casbench_version"]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for k, v in rows:
            f.write("%s\t%s\n" % (k, str(v).replace("\t", " ").replace("\n", " ")))


# ---- command line ----
def parse_args(argv):
    opts = {"payload": [], "codec": [], "hash": [], "protocol": []}
    a = type("Args", (), {})()
    a.repetitions = a.min_time = a.out = a.pickle = None
    a.quick = a.serve = False
    a.casbench = os.path.join(ROOT, "build", "casbench")
    a.objects_from = "casbench"
    i = 0

    def value(flag):
        nonlocal i
        if "=" in argv[i]:
            v = argv[i].split("=", 1)[1]
        else:
            i += 1
            if i >= len(argv):
                die(1, flag, "needs a value")
            v = argv[i]
        if v == "":
            die(1, flag, "needs a value")
        return v

    while i < len(argv):
        arg = argv[i]
        flag = arg.split("=", 1)[0] if arg.startswith("--") else arg
        if flag in ("-h", "--help"):
            print(__doc__.strip())
            sys.exit(0)
        elif flag in ("--payload", "--codec", "--hash", "--protocol"):
            opts[flag[2:]] += [x for x in value(flag).split(",") if x != ""]
        elif flag == "--repetitions":
            v = value(flag)
            if not v.isdigit() or not 1 <= int(v) <= 1000:
                die(2, v, "--repetitions wants 1..1000")
            a.repetitions = int(v)
        elif flag == "--min-time":
            v = value(flag)
            try:
                a.min_time = float(v)
            except ValueError:
                a.min_time = -1.0
            if not (0 < a.min_time <= 60) or math.isnan(a.min_time):
                die(2, v, "--min-time wants seconds in (0, 60]")
        elif flag == "--quick":
            a.quick = True
        elif flag == "--out":
            a.out = value(flag)
        elif flag == "--casbench":
            a.casbench = value(flag)
        elif flag == "--objects-from":
            a.objects_from = value(flag)
            if a.objects_from not in ("casbench", "python"):
                die(2, a.objects_from, "--objects-from wants casbench or python")
        elif flag == "--pickle":
            a.pickle = value(flag)
        elif flag == "--serve":
            a.serve = True
        elif arg.startswith("-"):
            die(1, arg, "unknown flag (see --help)")
        else:
            die(1, arg, "unexpected argument (see --help)")
        i += 1

    a.payloads = opts["payload"] or list(DEFAULT_PAYLOADS)
    seen = []
    for p in a.payloads:
        if p not in seen:
            seen.append(p)
    a.payloads = seen
    a.codecs = parse_codecs(opts["codec"] or ["none", "gzip:3", "gzip:9", "lz4:0", "zstd:1", "zstd:3"],
                            a.serve)
    a.hashes = []
    for h in opts["hash"] or HASH_NAMES:
        if h in ("blake3", "blake3-160", "blake3-256"):
            skip(a.serve, h, "no Debian Python module for BLAKE3; not measured here")
            continue
        if h not in HASH_NAMES:
            skip(a.serve, h, "unknown hash (known: %s)" % " ".join(HASH_NAMES))
            continue
        if h not in a.hashes:
            a.hashes.append(h)
    a.protocols = []
    for p in opts["protocol"] or ["4"]:
        if not p.isdigit() or not 2 <= int(p) <= 5:
            die(2, p, "--protocol wants 2..5")
        if int(p) not in a.protocols:
            a.protocols.append(int(p))
    if a.repetitions is None:
        a.repetitions = 3 if a.quick else 5
    if a.min_time is None:
        a.min_time = 0.01 if a.quick else 0.1
    return a


def get_object(name, a):
    if a.objects_from == "python":
        return objects_from_python(name), None
    return objects_from_casbench(name, a.casbench)


# ---- --suite pr3090: PR #3090's own scripts' method (infra/pr3090_suite.py) ----
def default_run_dir(utc):
    """results/HOST-python-STAMP: where a run goes without --out."""
    return os.path.join(ROOT, "results", "%s-python-%s" % (
        socket.gethostname(), time.strftime("%Y%m%dT%H%M%SZ", utc)))


def make_run_dir(out):
    """Creates the run directory out; a run directory is never overwritten."""
    try:
        os.makedirs(out, exist_ok=False)
    except FileExistsError:
        die(2, out, "exists; a run directory is never overwritten")
    except OSError as e:
        die(3, out, "cannot create: %s" % e.strerror)


def suite_main(argv):
    args = {"quick": False, "--metaflow": None, "--metaflow-pr": None, "out": None}
    i = 0
    while i < len(argv):
        flag, _, val = argv[i].partition("=")
        if flag in ("-h", "--help"):
            import pr3090_suite
            print(pr3090_suite.__doc__.strip())
            return 0
        if flag == "--quick":
            args["quick"] = True
        elif flag in ("--suite", "--metaflow", "--metaflow-pr", "--out"):
            if not val:
                i += 1
                if i >= len(argv):
                    die(1, flag, "needs a value")
                val = argv[i]
            if flag == "--suite" and val != "pr3090":
                die(2, "--suite '%s'" % val, "unknown suite (there is one: pr3090)")
            if flag in ("--metaflow", "--metaflow-pr") and not os.path.isdir(val):
                die(2, "%s '%s'" % (flag, val), "not a directory")
            if flag in ("--metaflow", "--metaflow-pr") and not any(
                    os.path.isfile(os.path.join(d, "metaflow", "__init__.py"))
                    for d in (val, os.path.dirname(os.path.abspath(val)))):
                die(2, "%s '%s'" % (flag, val), "no metaflow package there (a checkout, or a "
                    "directory holding an installed metaflow)")
            args["out" if flag == "--out" else flag] = val
        else:
            die(1, argv[i], "unknown flag with --suite (see infra/pr3090_suite.py)")
        i += 1
    libs = import_libs()
    import pr3090_suite
    utc = time.gmtime()
    out = args["out"] or default_run_dir(utc)
    make_run_dir(out)
    w = Writer(os.path.join(out, "matrix.tsv"))
    env = []
    try:
        pr3090_suite.run(args, lambda r: w.row(**r), env)
    except RuntimeError as e:
        die(3, "--suite pr3090", str(e))
    w.f.close()
    a = type("Args", (), {"objects_from": "the PR's make_payloads() with this numpy",
                          "repetitions": "the published iteration counts",
                          "min_time": "none"})()
    env_path = os.path.join(out, "env.tsv")
    write_env(env_path, a, libs, utc, "")
    with open(env_path, "a", encoding="utf-8", newline="\n") as f:
        for k, v in env:
            f.write("%s\t%s\n" % (k, str(v).replace("\t", " ").replace("\n", " ")))
    print(out)
    return 4 if w.errors else 0


def main(argv):
    if any(x == "--suite" or x.startswith("--suite=") for x in argv):
        return suite_main(argv)
    a = parse_args(argv)
    if a.serve:
        return serve_main(a)
    libs = import_libs()
    if a.pickle is not None:
        obj, _ = get_object(a.pickle, a)
        sys.stdout.buffer.write(pickle.dumps(obj, protocol=4))
        sys.stdout.flush()
        return 0

    utc = time.gmtime()
    out = a.out or default_run_dir(utc)
    if os.path.lexists(out):
        die(2, out, "exists; a run directory is never overwritten")
    # Every object first, so that a bad payload name stops the run before any output.
    objects = []
    for name in a.payloads:
        obj, cb_blob = get_object(name, a)
        objects.append((name, obj, cb_blob))
    casbench_version = ""
    if a.objects_from == "casbench":
        try:
            casbench_version = subprocess.run([a.casbench, "--version"], stdout=subprocess.PIPE,
                                              stderr=subprocess.DEVNULL, check=False
                                              ).stdout.decode("utf-8", "replace").strip()
        except OSError:
            casbench_version = "unknown"
    make_run_dir(out)
    write_env(os.path.join(out, "env.tsv"), a, libs, utc, casbench_version)
    append_ndarray_counts(os.path.join(out, "env.tsv"), [(name, obj) for name, obj, _ in objects])
    w = Writer(os.path.join(out, "matrix.tsv"))
    hfuncs = make_hashes(libs[1])
    import shutil
    import tempfile
    store_root = tempfile.mkdtemp(prefix="store-overhead-", dir=out)
    try:
        bench_overhead(w, a.codecs, a.hashes, hfuncs, libs, store_root, a.repetitions, a.min_time)
    finally:
        shutil.rmtree(store_root, ignore_errors=True)
    for name, obj, cb_blob in objects:
        for proto in a.protocols:
            blob = bench_payload(w, name, obj, proto, a.codecs, a.hashes, hfuncs, libs,
                                 a.repetitions, a.min_time)
            if cb_blob is not None and proto == 4 and blob != cb_blob:
                print("%s: %s: note: CPython's protocol-4 pickle (%d bytes) differs from "
                      "casbench's (%d bytes)" % (PROG, name, len(blob), len(cb_blob)), file=sys.stderr)
    w.f.close()
    print(out)
    return 4 if w.errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Fail as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        sys.exit(e.status)
    except KeyboardInterrupt:
        print("%s: interrupted" % PROG, file=sys.stderr)
        sys.exit(130)
    except OSError as e:
        print("%s: %s: %s" % (PROG, e.filename or "I/O", e.strerror), file=sys.stderr)
        sys.exit(3)
