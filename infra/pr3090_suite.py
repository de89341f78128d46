"""pr3090_suite.py - PR #3090's three benchmark scripts (Netflix/metaflow
benchmarks/bench_cas_realistic.py, bench_cas_e2e.py, bench_cas.py) run as
they run, for `infra/python_path.py --suite pr3090`.

usage: infra/python_path.py --suite pr3090 [--metaflow DIR] [--metaflow-pr DIR]
                            [--quick] [--out DIR]

  realistic  make_payloads(): numpy default_rng(42), the five objects pickled
             with the default protocol, in the script's order; per iteration
             a fresh temporary directory, LocalStorage(tmp),
             ContentAddressedStore("cas", storage), blob + i.to_bytes(4, "big"),
             save_blobs then load_blobs each timed with perf_counter, the
             comparison and the removal untimed; 200/100/50/10/10 iterations
  e2e        the same on bytes(range(256)) cut to 1e3..1e7 bytes; 200/100/20/5
  micro      sha1 / xxh64 hexdigest, GzipFile compress (level 3 and 1, then
             seek(0) and read()) and read, zlib.compress(blob, 3) and
             decompress, lz4.frame compress and decompress, on the pattern
             blobs at 1e3..1e7 bytes; 5000/2000/500/50/10 calls, timed in up
             to 20 batches (the mean is the loop's total / calls, the PR's)
gzip:3 is metaflow master's save/load (cas_version 1), lz4:0 the PR's
(cas_version 2). --metaflow DIR (a checkout, or a directory holding an
installed `metaflow` package) is imported for gzip:3 and --metaflow-pr DIR for
lz4:0, each in a process of its own (both are named `metaflow`), and their
own ContentAddressedStore / LocalStorage are timed; without them,
infra/metaflow_equiv.py (written from metaflow's code) is, and env.tsv says
which (pr3090_roundtrip_gzip, pr3090_roundtrip_lz4).
Rows: casbench's matrix.tsv schema, variant pr3090-<suite>, payload names as
`casbench run --suite pr3090` writes them, mean_ns the PR's statistic,
samples_ns one value per iteration (micro: per batch).
--quick: a tenth of the iterations (at least 2).
"""

import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

REALISTIC = [("pr3090-config", 200), ("pr3090-metrics", 100), ("pr3090-embeddings", 50),
             ("pr3090-weights", 10), ("pr3090-random", 10)]
E2E = [(1000, 200), (100000, 100), (1000000, 20), (10000000, 5)]
MICRO = [(1000, 5000), (10000, 2000), (100000, 500), (1000000, 50), (10000000, 10)]
# codec spec -> (the flag naming its metaflow, the cas_version that metaflow writes)
ROUNDTRIP = {"gzip:3": ("--metaflow", 1), "lz4:0": ("--metaflow-pr", 2)}
MICRO_OPS = [("hash", None, "sha1"), ("hash", None, "xxh64"),
             ("compress", "gzip:3", None), ("compress", "gzip:1", None),
             ("decompress", "gzip:3", None), ("compress", "zlib:3", None),
             ("decompress", "zlib:3", None), ("compress", "lz4:0", None),
             ("decompress", "lz4:0", None)]


def iterations(n, quick):
    return max(2, n // 10) if quick else n


def batches(n):
    """The largest divisor of n up to 20: how many timed batches."""
    for b in range(min(n, 20), 1, -1):
        if n % b == 0:
            return b
    return 1


def pattern(size):
    return (bytes(range(256)) * (size // 256 + 1))[:size]


def make_payloads():
    """The script's five blobs, drawn in its order from default_rng(42)."""
    import numpy as np
    rng = np.random.default_rng(42)
    out = [pickle.dumps({
        "learning_rate": 0.001, "batch_size": 32, "epochs": 100,
        "model_name": "transformer_v2",
        "metrics": {"accuracy": 0.934, "loss": 0.187, "f1": 0.921},
        "tags": ["production", "v2.1", "gpu"], "timestamp": "2026-04-10T12:00:00Z"})]
    features = {}
    for i in range(100):
        features["feature_%d" % i] = {
            "mean": float(rng.normal()), "std": float(rng.exponential()),
            "min": float(rng.normal() - 3), "max": float(rng.normal() + 3),
            "nulls": int(rng.integers(0, 100)), "histogram": rng.normal(size=50).tolist()}
    out.append(pickle.dumps(features))
    out.append(pickle.dumps(rng.standard_normal((100, 1000), dtype=np.float64)))
    out.append(pickle.dumps(rng.standard_normal((1000, 1000), dtype=np.float64)))
    out.append(pickle.dumps(rng.bytes(5_000_000)))
    return out


def stats_row(samples, calls, bytes_in):
    med = statistics.median(samples)
    mean = statistics.fmean(samples)
    sd = statistics.stdev(samples) if len(samples) > 1 else 0.0
    f = lambda x: format(x, ".1f")  # noqa: E731
    return dict(repetitions=len(samples), iterations=calls, median_ns=f(med), mean_ns=f(mean),
                stddev_ns=f(sd), min_ns=f(min(samples)), max_ns=f(max(samples)),
                cv=format(sd / mean if mean > 0 else 0.0, ".6f"),
                mb_per_s=format(bytes_in / med * 1e3 if med > 0 else 0.0, ".3f"),
                samples_ns=",".join(f(x) for x in samples), status="ok", message="")


# ---- the round trip, in a process of its own per metaflow -----------------------
def import_cas(metaflow_dir):
    """(ContentAddressedStore factory, LocalStorage, label)."""
    if not metaflow_dir:
        sys.path.insert(0, HERE)
        import metaflow_equiv as m
        return m.ContentAddressedStore, m.LocalStorage, "metaflow_equiv.py (written from " \
            "metaflow's code; no metaflow given)"
    d = os.path.abspath(metaflow_dir)
    if os.path.isfile(os.path.join(d, "__init__.py")) and os.path.basename(d) == "metaflow":
        d = os.path.dirname(d)
    if not os.path.isfile(os.path.join(d, "metaflow", "__init__.py")):
        raise SystemExit("%s: no metaflow package there (a checkout, or a directory holding "
                         "an installed metaflow)" % metaflow_dir)
    sys.path.insert(0, d)
    from metaflow.datastore.content_addressed_store import ContentAddressedStore
    from metaflow.plugins.datastores.local_storage import LocalStorage
    try:
        from metaflow.version import metaflow_version as version
    except ImportError:
        version = "unknown"
    return ContentAddressedStore, LocalStorage, "metaflow %s from %s" % (version, d)


def one_iteration(cas_cls, storage_cls, version, unique):
    """save and load timed apart, as the scripts; (save_ns, load_ns, key, packed)."""
    tmpdir = tempfile.mkdtemp(prefix="cas_bench_")
    try:
        storage = storage_cls(tmpdir)
        cas = cas_cls("cas", storage) if version is None else cas_cls("cas", storage, version)
        t0 = time.perf_counter_ns()
        result = cas.save_blobs(iter([unique]))
        t1 = time.perf_counter_ns()
        key = result[0].key
        t2 = time.perf_counter_ns()
        loaded = list(cas.load_blobs([key]))
        t3 = time.perf_counter_ns()
        if loaded[0][1] != unique:
            raise ValueError("the loaded blob differs from the saved one")
        path = os.path.join(tmpdir, "cas", key[:2], key)
        with open(path + "_meta", "rb") as f:
            meta = json.loads(f.read())
        return t1 - t0, t3 - t2, key, os.path.getsize(path), meta
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def child(codec, metaflow_dir, quick):
    """Rows of one codec's round trips as JSON lines on stdout."""
    cas_cls, storage_cls, label = import_cas(metaflow_dir)
    want = ROUNDTRIP[codec][1]
    version = None if metaflow_dir else want
    print(json.dumps({"label": label}), flush=True)
    blobs = [(name, b, n, "pr3090-realistic") for (name, n), b in zip(REALISTIC, make_payloads())]
    blobs += [("pattern:%d" % s, pattern(s), n, "pr3090-e2e") for s, n in E2E]
    name, level = codec.split(":")
    for payload, blob, n, variant in blobs:
        ident = dict(payload=payload, protocol=4, pickled_bytes=len(blob), variant=variant,
                     codec=name, level=int(level), hash="sha1", alloc="fresh")
        try:
            # Before timing: one iteration, checked (round trip, _meta, version).
            _, _, _, _, meta = one_iteration(cas_cls, storage_cls, version, blob + b"\xff" * 4)
            if meta != {"cas_raw": False, "cas_version": want}:
                raise ValueError("_meta is %s, not cas_version %d (--metaflow is master for "
                                 "gzip:3, --metaflow-pr the PR for lz4:0)" % (meta, want))
            save, load = [], []
            for i in range(iterations(n, quick)):
                s, ld, key, packed, _ = one_iteration(cas_cls, storage_cls, version,
                                                      blob + i.to_bytes(4, "big"))
                save.append(s)
                load.append(ld)
        except Exception as e:  # a failing cell is an error row, never a time
            for st in ("save", "load", "total"):
                print(json.dumps(dict(ident, stage="roundtrip-" + st, status="error",
                                      message="%s: %s" % (type(e).__name__, e))), flush=True)
            continue
        total = [a + b for a, b in zip(save, load)]
        for st, samples in (("save", save), ("load", load), ("total", total)):
            print(json.dumps(dict(ident, stage="roundtrip-" + st, key=key,
                                  bytes_in=packed if st == "load" else len(blob) + 4,
                                  bytes_out=len(blob) + 4 if st == "load" else packed,
                                  **stats_row(samples, 1, packed if st == "load"
                                              else len(blob) + 4))), flush=True)


def run_children(args, write_row, env):
    for codec, (flag, _) in ROUNDTRIP.items():
        mdir = args.get(flag)
        cmd = [sys.executable, os.path.abspath(__file__), "--child", codec]
        if mdir:
            cmd += ["--metaflow", mdir]
        if args["quick"]:
            cmd.append("--quick")
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if p.returncode != 0:
            msg = p.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RuntimeError("%s round trip (%s): %s" % (codec, mdir or "metaflow_equiv.py",
                                                          msg[-1] if msg else "failed"))
        for line in p.stdout.decode("utf-8", "replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                # An import that prints (metaflow's own notices) is not a row.
                continue
            if not isinstance(row, dict):
                continue
            if "label" in row:
                env.append(("pr3090_roundtrip_" + codec.split(":")[0], row["label"]))
            else:
                write_row(row)


# ---- micro: bench_cas.py's calls ----------------------------------------------------
def micro_funcs(kind, codec, hname):
    """(call(blob) -> output, prepare(blob) -> input of the call)."""
    import gzip
    import hashlib
    import zlib
    from io import BytesIO
    import lz4.frame
    import xxhash
    ident = lambda b: b  # noqa: E731
    if kind == "hash":
        f = {"sha1": lambda b: hashlib.sha1(b).hexdigest(),
             "xxh64": lambda b: xxhash.xxh64(b).hexdigest()}[hname]
        return f, ident
    name, level = codec.split(":")
    level = int(level)

    def gz(b):
        buf = BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=level) as f:
            f.write(b)
        buf.seek(0)
        return buf.read()

    def gunzip(c):
        with gzip.GzipFile(fileobj=BytesIO(c), mode="rb") as f:
            return f.read()
    comp = {"gzip": gz, "zlib": lambda b: zlib.compress(b, level),
            "lz4": lz4.frame.compress}[name]
    dec = {"gzip": gunzip, "zlib": zlib.decompress, "lz4": lz4.frame.decompress}[name]
    return (comp, ident) if kind == "compress" else (dec, comp)


def micro(quick, write_row):
    for size, n in MICRO:
        blob = pattern(size)
        for kind, codec, hname in MICRO_OPS:
            call, prepare = micro_funcs(kind, codec, hname)
            ident = dict(payload="pattern:%d" % size, protocol=4, pickled_bytes=size,
                         stage=kind, variant="pr3090-micro", alloc="fresh", hash=hname or "",
                         codec=codec.split(":")[0] if codec else "",
                         level=codec.split(":")[1] if codec else "")
            data = prepare(blob)
            out = call(data)
            if kind == "compress":
                back = micro_funcs("decompress", codec, None)[0](out)
                if back != blob:
                    write_row(dict(ident, status="error", message="does not round-trip"))
                    continue
            elif kind == "decompress" and out != blob:
                write_row(dict(ident, status="error", message="does not round-trip"))
                continue
            calls = iterations(n, quick)
            nb = batches(calls)
            per = calls // nb
            samples = []
            clock = time.perf_counter_ns
            for _ in range(nb):
                t0 = clock()
                for _ in range(per):
                    call(data)
                samples.append((clock() - t0) / per)
            write_row(dict(ident, bytes_in=len(data),
                           bytes_out=len(out) // 2 if kind == "hash" else len(out),
                           key=out if kind == "hash" else "", **stats_row(samples, per, len(data))))


def run(args, write_row, env):
    """The three suites; env receives (key, value) rows for env.tsv."""
    env.append(("suite", "pr3090"))
    env.append(("statistic", "mean of the published iteration counts (mean_ns); median_ns "
                "with an order-statistic interval from samples_ns"))
    env.append(("profile", "pr3090-quick" if args["quick"] else "pr3090"))
    env.append(("loadavg_1m", "%.2f" % os.getloadavg()[0]))
    run_children(args, write_row, env)
    micro(args["quick"], write_row)


if __name__ == "__main__":
    # The child: --child CODEC [--metaflow DIR] [--quick]
    a = sys.argv[1:]
    if len(a) < 2 or a[0] != "--child":
        sys.exit("pr3090_suite.py: run through infra/python_path.py --suite pr3090")
    mdir = a[a.index("--metaflow") + 1] if "--metaflow" in a else None
    child(a[1], mdir, "--quick" in a)
