"""PR #3090's payloads as its own script builds them, pickled by CPython.

    pr3090_oracle.py payloads DIR SEED   DIR/NAME.pkl: pickle.dumps(obj, protocol=4)
                                         of make_payloads() with default_rng(SEED), and
                                         DIR/NAME.np2.pkl: the same stream as numpy 2
                                         writes it (see to_numpy2)
    pr3090_oracle.py pattern DIR SIZE... DIR/pattern-SIZE.pkl: bytes(range(256))
                                         repeated, cut to SIZE, pickled

make_payloads() is benchmarks/bench_cas_realistic.py's (metaflow PR #3090),
with the seed a parameter and each object kept rather than pickled at once.
"""
import os
import pickle
import pickletools
import sys

import numpy as np


def make_payloads(seed):
    rng = np.random.default_rng(seed)
    objs = {}
    objs["pr3090-config"] = {
        "learning_rate": 0.001,
        "batch_size": 32,
        "epochs": 100,
        "model_name": "transformer_v2",
        "metrics": {"accuracy": 0.934, "loss": 0.187, "f1": 0.921},
        "tags": ["production", "v2.1", "gpu"],
        "timestamp": "2026-04-10T12:00:00Z",
    }
    objs["pr3090-metrics"] = {
        f"feature_{i}": {
            "mean": float(rng.normal()),
            "std": float(rng.exponential()),
            "min": float(rng.normal() - 3),
            "max": float(rng.normal() + 3),
            "nulls": int(rng.integers(0, 100)),
            "histogram": rng.normal(size=50).tolist(),
        }
        for i in range(100)
    }
    objs["pr3090-embeddings"] = rng.standard_normal((100, 1000), dtype=np.float64)
    objs["pr3090-weights"] = rng.standard_normal((1000, 1000), dtype=np.float64)
    objs["pr3090-random"] = rng.bytes(5_000_000)
    return objs


def to_numpy2(data):
    """numpy 1's pickle rewritten as numpy 2 writes it.

    Debian 12 has numpy 1 only. numpy 2 reduces an ndarray to the same
    objects except that _reconstruct lives in numpy._core.multiarray, not
    numpy.core.multiarray. So: re-emit every opcode as it is, the module
    string (a SHORT_BINUNICODE) with the new name and length byte, and each
    protocol-4 FRAME with the length of what it now holds. Ops between the
    end of a frame and the next FRAME (CPython writes big bytes unframed)
    stay unframed. This assumes the frame boundaries do not move, which holds
    while the frame holding the module name stays below 64 KiB (it holds
    only the reduce's small objects; the array data is written unframed)."""
    ops = list(pickletools.genops(data))
    ends = [pos for _, _, pos in ops[1:]] + [len(data)]
    out = bytearray()
    frame_at = None   # offset in out of the open frame's contents
    frame_end = None  # where that frame ended in the input

    def close():
        nonlocal frame_at
        if frame_at is not None:
            out[frame_at - 8:frame_at] = (len(out) - frame_at).to_bytes(8, "little")
            frame_at = None

    for (op, arg, pos), end in zip(ops, ends):
        if frame_at is not None and pos >= frame_end:
            close()
        raw = data[pos:end]
        if op.name == "FRAME":
            close()
            out += b"\x95" + bytes(8)
            frame_at, frame_end = len(out), pos + 9 + arg
            continue
        if op.name == "SHORT_BINUNICODE" and arg.startswith("numpy.core."):
            name = ("numpy._core." + arg[len("numpy.core."):]).encode()
            raw = b"\x8c" + bytes([len(name)]) + name
        out += raw
    close()
    return bytes(out)


def main():
    cmd, out_dir = sys.argv[1], sys.argv[2]
    if cmd == "payloads":
        for name, obj in make_payloads(int(sys.argv[3])).items():
            blob = pickle.dumps(obj, protocol=4)
            with open(os.path.join(out_dir, name + ".pkl"), "wb") as f:
                f.write(blob)
            with open(os.path.join(out_dir, name + ".np2.pkl"), "wb") as f:
                f.write(to_numpy2(blob))
    elif cmd == "pattern":
        for size in sys.argv[3:]:
            n = int(size)
            blob = (bytes(range(256)) * (n // 256 + 1))[:n]
            with open(os.path.join(out_dir, f"pattern-{n}.pkl"), "wb") as f:
                f.write(pickle.dumps(blob, protocol=4))
    else:
        raise SystemExit(f"pr3090_oracle.py: unknown command {cmd!r}")


main()
