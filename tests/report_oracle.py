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

# Rules 1-3: codecs by the geometric mean of save time / gzip:3's.
scores = {}
for codec, level in specs:
    if codec == "none":
        continue
    logs = []
    for p in payloads:
        base = find(p, "save", "gzip", "3", "sha1", "sequential")
        if not base:
            continue
        x = find(p, "save", codec, level, "sha1", "sequential")
        if not x:
            logs = None
            break
        logs.append(math.log(med(x) / med(base)))
    if logs:
        scores["%s:%s" % (codec, level)] = math.exp(sum(logs) / len(logs))
rank = sorted(scores, key=lambda s: (scores[s], s))
gz = [s for s in rank if s.split(":")[0] in ("gzip", "libdeflate", "isal")]
print("rec_gzip=%s" % gz[0])
print("rec_gzip_score=%s" % num(scores[gz[0]]))
print("rec_any=%s" % rank[0])

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
