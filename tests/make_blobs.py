"""tests/make_blobs.py DIR - the test payloads, written by CPython's own pickle.

Stand-ins for the payloads module's blobs (until `casbench pickle` lands in
main): pickle.dumps(obj, protocol=4) of a small dict, a ~52 KB dict, numpy
float64 normal arrays of 800 KB and 8 MB, plus 5 MB of seeded random bytes
(incompressible) and an empty blob. Deterministic: fixed seeds."""
import os
import pickle
import random
import sys

import numpy as np

out = sys.argv[1]


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


write("empty", b"")
write("small", pickle.dumps({"flow": "HelloFlow", "step": "start", "n": 3, "x": [1.5, 2.5]}, protocol=4))
write("dict52k", pickle.dumps({"key%05d" % i: [i, str(i) * 3, i * 0.5] for i in range(1600)}, protocol=4))
rng = np.random.default_rng(20240601)
write("array800k", pickle.dumps(rng.normal(size=100_000), protocol=4))
write("array8m", pickle.dumps(rng.normal(size=1_000_000), protocol=4))
write("random5m", random.Random(5).randbytes(5_000_000))
