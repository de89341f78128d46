"""pickle_oracle.py - CPython's pickle as the oracle for tests/test_payloads.sh.

Run by Debian's /usr/bin/python3 (3.11, numpy 1.24). Subcommands:
  roundtrip P FILE...   each FILE holds our pickle at protocol P; prints
                        "ok NAME" when pickle.dumps(pickle.loads(b), P) == b,
                        else "diff NAME" and the first differing opcode.
  jsondocs DIR N SEED   writes N random JSON documents DIR/doc-K.json and,
                        for P in 2..5, the expected pickle DIR/doc-K.P.pkl.
  npys DIR              writes .npy files (np.save) and expected pickles.
  np2cmp A B            A and B are one array pickled for numpy 1 and 2: prints
                        "ok" when they differ only in numpy.core -> numpy._core
                        (and the FRAME lengths that follow from it).
  depth FILE N          FILE unpickles to N nested containers: prints "ok".
  multi DIR             the graphs of tests/c/test_payloads.c's "multi", built
                        here as a Python program would: DIR/multi-K.P.expected.
"""
import json
import os
import pickle
import pickletools
import random
import sys


def first_diff(a, b):
    """Where two pickles part, as one line of opcodes."""
    ops_a = list(pickletools.genops(a))
    ops_b = list(pickletools.genops(b))
    for i, (x, y) in enumerate(zip(ops_a, ops_b)):
        if x[0].name != y[0].name or x[1] != y[1] or x[2] != y[2]:
            return f"op {i}: ours {x[0].name} {str(x[1])[:40]} @{x[2]}, python {y[0].name} {str(y[1])[:40]} @{y[2]}"
    return f"lengths {len(a)} vs {len(b)}"


def roundtrip(proto, files):
    for f in files:
        with open(f, "rb") as fh:
            ours = fh.read()
        try:
            theirs = pickle.dumps(pickle.loads(ours), protocol=proto)
        except Exception as e:  # a pickle Python cannot load is a failure
            print(f"diff {f}: {type(e).__name__}: {e}")
            continue
        print(f"ok {f}" if theirs == ours else f"diff {f}: {first_diff(ours, theirs)}")


BOUNDARY_INTS = [0, 1, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -1, -2**31, -2**31 - 1,
                 2**63 - 1, 2**63, 2**64 - 1, 2**64, -2**63, -2**63 - 1, -2**64,
                 2**127, -2**127, 2**2040, 2**2047 - 1, 2**2048, -2**2048, 10**300, -(10**1000)]
FLOATS = [0.0, -0.0, 1e308, -1e308, 5e-324, 2.2250738585072014e-308, 0.1, 1.5, -3.25e-10,
          float("inf"), float("-inf"), 123456789.123456789]
ASTRAL = ["\U0001F600", "\U00010348", "\U0010FFFF", "\u00e9", "\u4e2d\u6587", "\u0100", "\ud800"]


def rand_str(r):
    k = r.random()
    if k < 0.15:
        return ""
    if k < 0.3:
        return r.choice("abcxyz\u00e9\u00ff\n\"\\")
    if k < 0.45:
        return r.choice(["alpha", "beta", "gamma", "key", "value"])
    n = r.randrange(1, 40)
    out = []
    for _ in range(n):
        c = r.random()
        if c < 0.6:
            out.append(chr(r.randrange(32, 127)))
        elif c < 0.75:
            out.append(r.choice(ASTRAL[:-1]))
        elif c < 0.85:
            out.append(chr(r.randrange(0x80, 0x800)))
        elif c < 0.95:
            out.append(r.choice("\n\t\r\b\f\"\\/\u0001\u001f"))
        else:
            out.append(chr(r.randrange(0x800, 0xd7ff)))
    if r.random() < 0.01:
        out.append("x" * r.randrange(250, 70000))  # SHORT_BINUNICODE/BINUNICODE, frames
    return "".join(out)


def rand_value(r, depth, keys, budget):
    """A random value; budget[0] bounds the number of nodes in a document."""
    budget[0] -= 1
    k = r.random()
    if depth > 0 and k < 0.35 and budget[0] > 0:
        big = depth == 1 and r.random() < 0.1   # batch boundaries, leaves only
        if r.random() < 0.5:
            n = r.choice([999, 1000, 1001, 2000]) if big else r.choice([0, 1, 2, 3, 5, r.randrange(0, 12)])
            return [rand_value(r, depth - 1, keys, budget) for _ in range(n)]
        n = r.choice([999, 1000, 1001]) if big else r.choice([0, 1, 2, 4, r.randrange(0, 12)])
        d = {}
        for i in range(n):
            key = (r.choice(keys) if r.random() < 0.6 else rand_str(r)) if not big else f"k{i}"
            d[key] = rand_value(r, depth - 1, keys, budget)
        return d
    if k < 0.5:
        return r.choice(BOUNDARY_INTS) + r.choice([0, 0, 1, -1])
    if k < 0.6:
        return r.randrange(-10**r.randrange(1, 60), 10**r.randrange(1, 60))
    if k < 0.72:
        return r.choice(FLOATS) if r.random() < 0.5 else r.uniform(-1e6, 1e6) * 10 ** r.randrange(-300, 300)
    if k < 0.9:
        return rand_str(r)
    return r.choice([None, True, False])


def jsondocs(outdir, n, seed):
    r = random.Random(seed)
    keys = [rand_str(r) for _ in range(12)] + ["id", "name", "x"]
    for i in range(n):
        kind = i % 10
        if kind == 0:   # deep nesting within Python's recursion limit
            depth = r.randrange(50, 450)
            doc = v = []
            for _ in range(depth):
                nv = [] if r.random() < 0.5 else {}
                if isinstance(v, list):
                    v.append(nv)
                else:
                    v[r.choice(keys)] = nv
                v = nv
        else:
            doc = rand_value(r, r.randrange(1, 6), keys, [3000])
        # ensure_ascii exercises \u escapes and surrogate pairs, the other raw UTF-8
        text = json.dumps(doc, ensure_ascii=(i % 2 == 0), indent=(None if i % 3 else 1))
        raw = text.encode("utf-8", "surrogatepass")
        if "\ud800" in text:   # a raw lone surrogate is not valid UTF-8: keep it escaped
            text = json.dumps(doc, ensure_ascii=True)
            raw = text.encode()
        path = os.path.join(outdir, f"doc-{i}.json")
        with open(path, "wb") as fh:
            fh.write(raw)
        with open(path, "rb") as fh:
            obj = json.loads(fh.read())
        for p in (2, 3, 4, 5):
            with open(os.path.join(outdir, f"doc-{i}.{p}.pkl"), "wb") as fh:
                fh.write(pickle.dumps(obj, protocol=p))


def npys(outdir):
    import numpy as np
    rs = np.random.RandomState(7)
    arrays = {}
    for dt in ["f8", "f4", "f2", "i8", "i4", "i2", "i1", "u8", "u4", "u2", "u1", "?"]:
        a = (rs.standard_normal((37, 23)) * 100).astype(dt)
        arrays[f"{dt}-c"] = a
        arrays[f"{dt}-f"] = np.asfortranarray(a)
    arrays["scalar"] = np.array(3.5)
    arrays["empty"] = np.zeros((0, 5))
    arrays["empty-f"] = np.asfortranarray(np.zeros((5, 0), dtype="i4"))
    arrays["big-f8"] = rs.standard_normal((300, 500))
    arrays["big-f"] = np.asfortranarray(rs.standard_normal((300, 500)).astype("f4"))
    arrays["row-f"] = np.asfortranarray(np.arange(10.0).reshape(1, 10))
    arrays["4d"] = rs.standard_normal((2, 3, 4, 5))
    arrays["one-u1"] = np.array([98], dtype="u1")
    arrays["long-shape"] = np.zeros((1,) * 20, dtype="u2")
    for name, a in arrays.items():
        path = os.path.join(outdir, f"{name}.npy")
        np.save(path, a)
        if name == "4d":
            np.lib.format.write_array(open(os.path.join(outdir, "v2.npy"), "wb"), a, version=(2, 0))
            np.lib.format.write_array(open(os.path.join(outdir, "v3.npy"), "wb"), a, version=(3, 0))
    for path in sorted(os.listdir(outdir)):
        if path.endswith(".npy"):
            a = np.load(os.path.join(outdir, path))
            for p in (2, 3, 4, 5):
                with open(os.path.join(outdir, f"{path[:-4]}.{p}.pkl"), "wb") as fh:
                    fh.write(pickle.dumps(a, protocol=p))


def np2cmp(a_path, b_path):
    a = open(a_path, "rb").read()
    b = open(b_path, "rb").read()
    ops_a = list(pickletools.genops(a))
    ops_b = list(pickletools.genops(b))
    if len(ops_a) != len(ops_b):
        print(f"diff: {len(ops_a)} vs {len(ops_b)} opcodes")
        return
    changed = 0
    for (x, xa, _), (y, ya, _) in zip(ops_a, ops_b):
        if x.name != y.name:
            print(f"diff: {x.name} vs {y.name}")
            return
        if xa == ya or x.name == "FRAME":
            continue
        if isinstance(xa, str) and xa.replace("numpy.core", "numpy._core") == ya and "numpy.core" in xa:
            changed += 1
            continue
        print(f"diff: {x.name} {xa!r} vs {ya!r}")
        return
    print("ok" if changed else "diff: no module path changed")


def depth(path, n):
    obj = pickle.loads(open(path, "rb").read())
    d = 0
    while isinstance(obj, (list, dict)) and obj:
        obj = obj[0] if isinstance(obj, list) else next(iter(obj.values()))
        d += 1
    d += isinstance(obj, (list, dict))
    print("ok" if d == n else f"depth {d}, want {n}")


def multi(outdir):
    import numpy as np
    d = np.arange(1, 13, dtype="<f8")
    a0 = d.reshape(3, 4)
    graphs = [
        [a0, d.reshape(3, 4).T, np.array([[98]], dtype="u1"), np.array([[60]], dtype="u1"),
         np.zeros((0, 3), dtype="<f4"), a0, d.reshape(6, 2).T],
        {"weights": d.reshape(2, 6),
         "pair": (1, np.frombuffer(d.tobytes()[:16], dtype="<i4").reshape(2, 2).copy()),
         "raw": b"b", "order": "C", "<": b""},
    ]
    for k, g in enumerate(graphs):
        for p in (2, 3, 4, 5):
            with open(os.path.join(outdir, f"multi-{k}.{p}.expected"), "wb") as fh:
                fh.write(pickle.dumps(g, protocol=p))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "roundtrip":
        roundtrip(int(sys.argv[2]), sys.argv[3:])
    elif cmd == "jsondocs":
        jsondocs(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "npys":
        npys(sys.argv[2])
    elif cmd == "np2cmp":
        np2cmp(sys.argv[2], sys.argv[3])
    elif cmd == "multi":
        multi(sys.argv[2])
    elif cmd == "depth":
        depth(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(f"unknown command {cmd}")
