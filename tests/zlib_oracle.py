"""CPython's zlib as the oracle for casbench's zlib codec.

    zlib_oracle.py compress OUT_DIR BLOB...   OUT_DIR/NAME.L: zlib.compress(blob, L), L = 0..9
    zlib_oracle.py others OUT_DIR BLOB        streams casbench did not write but must read:
                                              OUT_DIR/NAME.sync (compressobj, memLevel 9,
                                              Z_FILTERED, a Z_SYNC_FLUSH every 10 000 bytes) and
                                              OUT_DIR/NAME.dict (a preset dictionary: unreadable)
    zlib_oracle.py decompress STREAM BLOB     prints "ok" when zlib.decompress(STREAM) == BLOB
"""
import os
import sys
import zlib


def main():
    cmd = sys.argv[1]
    if cmd == "compress":
        for path in sys.argv[3:]:
            blob = open(path, "rb").read()
            for level in range(10):
                with open(os.path.join(sys.argv[2], f"{os.path.basename(path)}.{level}"), "wb") as f:
                    f.write(zlib.compress(blob, level))
    elif cmd == "others":
        path = sys.argv[3]
        blob = open(path, "rb").read()
        name = os.path.join(sys.argv[2], os.path.basename(path))
        co = zlib.compressobj(5, zlib.DEFLATED, 15, 9, zlib.Z_FILTERED)
        parts = []
        for i in range(0, len(blob), 10000):
            parts.append(co.compress(blob[i:i + 10000]))
            parts.append(co.flush(zlib.Z_SYNC_FLUSH))
        parts.append(co.flush())
        with open(name + ".sync", "wb") as f:
            f.write(b"".join(parts))
        co = zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, zdict=b"numpy float64 pickle")
        with open(name + ".dict", "wb") as f:
            f.write(co.compress(blob) + co.flush())
    elif cmd == "decompress":
        stream = open(sys.argv[2], "rb").read()
        blob = open(sys.argv[3], "rb").read()
        print("ok" if zlib.decompress(stream) == blob else "differs")
    else:
        raise SystemExit(f"zlib_oracle.py: unknown command {cmd!r}")


main()
