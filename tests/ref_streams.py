"""tests/ref_streams.py DIR BLOB... - reference streams from the Python
modules metaflow uses (the oracles of tests/test_codecs.sh), into DIR:

  NAME.gzip.L      gzip.GzipFile(fileobj=BytesIO(), mode="wb", compresslevel=L,
                   mtime=0) + one write + close, L = 1..9 (metaflow's _pack_v1
                   with mtime 0)
  NAME.lz4.L       lz4.frame.compress(blob, compression_level=L) (PR #3090)
  NAME.pygz        gzip.compress(blob) (level 9, current mtime)
  NAME.pylz4x      lz4.frame.compress with 4 MB blocks, block and content
                   checksums, no stored size
  NAME.pyzst       zstandard.ZstdCompressor(level=3, write_checksum=True)"""
import gzip
import io
import os
import sys

import lz4.frame
import zstandard

LZ4_LEVELS = (-8, -4, 0, 1, 2, 3, 9, 12, 16)

out = sys.argv[1]
for path in sys.argv[2:]:
    name = os.path.basename(path)
    with open(path, "rb") as f:
        blob = f.read()

    def write(suffix, data):
        with open(os.path.join(out, name + suffix), "wb") as f:
            f.write(data)

    for level in range(1, 10):
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=level, mtime=0) as g:
            g.write(blob)
        write(".gzip.%d" % level, buf.getvalue())
    for level in LZ4_LEVELS:
        write(".lz4.%d" % level, lz4.frame.compress(blob, compression_level=level))
    write(".pygz", gzip.compress(blob))
    write(".pylz4x", lz4.frame.compress(blob, block_size=lz4.frame.BLOCKSIZE_MAX4MB,
                                        content_checksum=True, block_checksum=True,
                                        store_size=False))
    write(".pyzst", zstandard.ZstdCompressor(level=3, write_checksum=True).compress(blob))
