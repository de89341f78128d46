"""numpy's own draws, printed as tests/c/test_numpy_rng.c prints ours.

    numpy_rng_oracle.py SEED[,SEED...] CMD...   (commands: see test_numpy_rng.c)

Run by tests/test_numpy_rng.sh with Debian's python3 and numpy.
"""
import sys

import numpy as np


def bits(values):
    return ["%016x" % v for v in np.asarray(values, dtype="<f8").view("<u8").tolist()]


def run(g, cmd):
    kind, n, *args = cmd.split(":")
    n = int(n)
    if kind == "u64":
        return [str(v) for v in g.bit_generator.random_raw(n).tolist()]
    if kind == "u32":
        return [str(v) for v in g.integers(0, 2**32, size=n, dtype=np.uint32).tolist()]
    if kind == "double":
        return bits(g.random(n))
    if kind == "snormal":
        return bits(g.standard_normal(n))
    if kind == "normal":
        return bits(g.normal(float(args[0]), float(args[1]), size=n))
    if kind == "exp":
        return bits(g.exponential(float(args[0]), size=n))
    if kind == "int":
        return [str(v) for v in g.integers(int(args[0]), int(args[1]), size=n, dtype=np.int64).tolist()]
    if kind == "bytes":
        return [g.bytes(n).hex()]
    raise SystemExit("numpy_rng_oracle.py: bad command %r" % cmd)


def main():
    out = []
    for seed in sys.argv[1].split(","):
        g = np.random.default_rng(int(seed))
        out.append("seed %s" % seed)
        for cmd in sys.argv[2:]:
            out.extend(run(g, cmd))
    sys.stdout.write("\n".join(out) + "\n")


main()
