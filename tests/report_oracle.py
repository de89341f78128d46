#!/usr/bin/python3
"""An independent reading of a run's matrix.tsv for tests/test_report.sh: it
computes, from the rules REPORT.md states, the numbers and choices the report
must print, and writes them as key=value lines. It shares no code with
casbench (csv module, its own arithmetic)."""
import csv
import math
import sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
ok = [r for r in rows if r["status"] == "ok"]
ALLOC, PROTO = "fresh", "4"


def num(v):
    """casbench's 3-significant-digit format."""
    a = abs(v)
    if a == 0:
        return "0"
    dec = min(9, max(0, 2 - math.floor(math.log10(a))))
    return "%.*f" % (dec, v)


def find(payload, stage, codec="", level="", hsh="", variant=""):
    """The row in the preferred allocation mode, else in any mode (the
    report's stated fallback for stages measured in one mode only)."""
    match = [r for r in ok
             if (r["payload"], r["stage"], r["variant"], r["codec"], r["level"], r["hash"],
                 r["protocol"]) == (payload, stage, variant, codec, level, hsh, PROTO)]
    pref = [r for r in match if r["alloc"] == ALLOC]
    return (pref or match or [None])[0]


payloads = []
for r in ok:
    if r["payload"] != "sweep" and r["payload"] not in payloads:
        payloads.append(r["payload"])
specs = []
for r in ok:
    if r["stage"] == "compress" and (r["codec"], r["level"]) not in specs:
        specs.append((r["codec"], r["level"]))
hashes = []
for r in ok:
    if r["stage"] == "hash" and r["hash"] not in hashes:
        hashes.append(r["hash"])
med = lambda r: float(r["median_ns"])

# The recommendation: what a flow step pays under the mix (REPORT.md states
# the rule): per payload p, w_p * ((1 - h) * (save + up) + h * (pickle + hash)
# + load + down), up = down = compressed bytes at 100 MB/s; each codec at its
# cheapest level; a cell's time is predict.tsv's predicted_ms, else the
# Python run's median, else C + gzip:3's offset on that payload and stage,
# else C. Options: --mix FILE, --hit-rate H, --predict FILE, --python MATRIX.
opts = dict(zip(sys.argv[2::2], sys.argv[3::2]))
MIX = [("config", 1.0), ("metrics", 1.0), ("embeddings", 0.25), ("weights", 0.1), ("random", 0.1)]
if "--mix" in opts:
    MIX = [(r["payload"], float(r["weight"])) for r in csv.DictReader(open(opts["--mix"]), delimiter="\t")]
MIX = [(p, w) for p, w in MIX if p in payloads and w > 0]
H = float(opts.get("--hit-rate", "0.25"))
BW = 100e6 / 1e9  # bytes per ns
pred = {}
if "--predict" in opts:
    for r in csv.DictReader(open(opts["--predict"]), delimiter="\t"):
        pred[(r["payload"], r["stage"], r["variant"], r["codec"], r["level"], r["hash"])] = float(r["predicted_ms"]) * 1e6
pyrows = {}
if "--python" in opts:
    for r in csv.DictReader(open(opts["--python"]), delimiter="\t"):
        k = (r["payload"], r["stage"], r["variant"], r["codec"], r["level"], r["hash"])
        if r["status"] == "ok" and r["protocol"] == PROTO and k not in pyrows:
            pyrows[k] = float(r["median_ns"])


def cell(payload, stage, codec="", level="", hsh="", variant="", base_off=None):
    """(time ns, offset, source) of a cell, or None."""
    r = find(payload, stage, codec, level, hsh, variant)
    if r is None:
        return None
    k = (payload, stage, variant, codec, level, hsh)
    if k in pred:
        return pred[k], pred[k] - med(r), "pred", r
    if k in pyrows:
        return pyrows[k], pyrows[k] - med(r), "py", r
    if base_off is not None and base_off[1] in ("pred", "py"):
        return med(r) + base_off[0], base_off[0], "base", r
    return med(r), 0.0, "c", r


def step_cost(codec, level, h, variant="sequential"):
    total = 0.0
    for p, w in MIX:
        bs = cell(p, "save", "gzip", "3", "sha1", "sequential")
        if bs is None:
            continue
        bl = cell(p, "load", "gzip", "3")
        s = cell(p, "save", codec, level, "sha1", variant, (bs[1], bs[2]))
        if s is None:
            return None
        up = int(s[3]["bytes_out"]) / BW
        pk, hs = cell(p, "pickle"), cell(p, "hash", hsh="sha1")
        hit = pk[0] + hs[0] if (variant == "sequential" and pk and hs) else s[0]
        rest = 0.0
        if bl is not None:
            l = cell(p, "load", codec, level, base_off=(bl[1], bl[2]))
            if l is None:
                return None
            rest = l[0] + up
        total += w * ((1 - h) * (s[0] + up) + h * hit + rest)
    return total


READABLE = ("gzip", "libdeflate", "isal")
best = {}
for codec, level in specs:
    if codec == "none":
        continue
    c = step_cost(codec, level, H)
    if c is not None and (codec not in best or c < best[codec][0]):
        best[codec] = (c, level)
rank = sorted(("%s:%s" % (k, v[1]) for k, v in best.items()), key=lambda s: (best[s.split(":")[0]][0], s))
cost = {s: best[s.split(":")[0]][0] for s in rank}
base_cost = step_cost("gzip", "3", H)
now = [s for s in rank if s.split(":")[0] in READABLE][0]
bump = [s for s in rank if s.split(":")[0] not in READABLE][0]
print("rank=%s" % ",".join(rank))
print("now=%s" % now)
print("now_saving=%s" % num((base_cost - cost[now]) / 1e6))
# A bump is worth naming only when it costs a step less than the ship-now codec.
print("bump=%s" % (bump if cost[bump] < cost[now] else ""))
print("bump_saving=%s" % (num((base_cost - cost[bump]) / 1e6) if cost[bump] < cost[now] else ""))
print("base_cost=%s" % num(base_cost / 1e6))
print("base_cost_h0=%s" % num(step_cost("gzip", "3", 0.0) / 1e6))

# Rules 4-5: hashes by the geometric mean of hash time / sha1's.
hs = {}
bits = {}
for h in hashes:
    logs = []
    for p in payloads:
        base = find(p, "hash", hsh="sha1")
        if not base:
            continue
        x = find(p, "hash", hsh=h)
        logs.append(math.log(med(x) / med(base)))
        bits[h] = 8 * int(x["bytes_out"])
    hs[h] = math.exp(sum(logs) / len(logs))
hrank = sorted(hs, key=lambda h: (hs[h], h))
crypto = [h for h in hrank if h.startswith(("sha2", "sha3", "sha5", "blake2", "blake3"))
          and bits[h] >= 160]
print("hash_crypto=%s" % crypto[0])
print("hash_40=%s" % [h for h in hrank if bits[h] == 160][0])
print("hash_any=%s" % hrank[0])

# gzip:3's weights save row (used by section 6 below).
g3 = find("weights", "save", "gzip", "3", "sha1", "sequential")

# Section 5: birthday bound, 64-bit keys, 10^9 artifacts.
n = 1e9
print("birthday_64_1e9=%.2e" % (-math.expm1(-n * (n - 1) / 2.0 ** 65)))
print("birthday_160_1e12=%.2e" % (-math.expm1(-1e12 * (1e12 - 1) / 2.0 ** 161)))

# Section 6: isal:1 against gzip:3 on weights.
isal = find("weights", "save", "isal", "1", "sha1", "sequential")
dc = med(isal) - med(g3)
db = int(isal["bytes_out"]) - int(g3["bytes_out"])
if dc <= 0 and db <= 0:
    be = "always"
elif dc >= 0 and db >= 0:
    be = "never"
else:
    be = "%s %s MB/s" % ("above" if dc < 0 else "below", num(db / -dc * 1e3))
print("breakeven_weights_isal1=%s" % be)

# Section 3: the dominant stage after lz4 on each payload.
for p in payloads:
    st = {"pickle": find(p, "pickle"), "hash (sha1)": find(p, "hash", hsh="sha1"),
          "compress (lz4:0)": find(p, "compress", "lz4", "0")}
    print("dominant_%s=%s" % (p, max(st, key=lambda k: med(st[k]))))
