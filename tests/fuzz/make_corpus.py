#!/usr/bin/python3
"""Regenerate the fuzzers' seed corpora in tests/fuzz/corpus/<target>/.

Run from the repository root with build/casbench built:
    /usr/bin/python3 tests/fuzz/make_corpus.py
Compressed streams come from the real tools (gzip, lz4, zstd) and the
Python modules; .npy files from numpy; TSV seeds are cut from the test
fixtures. Each file is small (a few KiB at most) so that libFuzzer's
default max_len keeps covering whole inputs. Crash regressions live beside
the seeds as crash-*/regress-* and are kept by this script.
"""
import gzip
import io
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.getcwd()
OUT = os.path.join(ROOT, 'tests/fuzz/corpus')
# The order of codec_table (codecs/codec.c): the first input byte picks one.
CODECS = ['none', 'gzip', 'libdeflate', 'isal', 'lz4', 'zstd']


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def clear(target):
    d = os.path.join(OUT, target)
    if os.path.isdir(d):
        for n in os.listdir(d):
            if not n.startswith(('crash-', 'regress-')):
                os.unlink(os.path.join(d, n))


def tool(cmd, data):
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True).stdout


def blobs():
    config = subprocess.run([os.path.join(ROOT, 'build/casbench'), 'pickle', 'config'],
                            stdout=subprocess.PIPE, check=True).stdout
    return {
        'empty': b'',
        'a': b'a',
        'text': b'the quick brown fox jumps over the lazy dog\n' * 20,
        'zeros': bytes(3000),
        'config': config,
        'bin': bytes(range(256)) * 4,
    }


def decompress_corpus():
    clear('decompress')
    for bname, b in blobs().items():
        for i, c in enumerate(CODECS):
            if c == 'none':
                streams = {'raw': b}
            elif c in ('gzip', 'libdeflate', 'isal'):
                streams = {'gzip1': tool(['gzip', '-1', '-c'], b), 'gzip9': tool(['gzip', '-9', '-nc'], b)}
                if bname == 'text':   # two members, and FNAME/FEXTRA-style headers from Python
                    streams['two'] = streams['gzip1'] + streams['gzip9']
                    bio = io.BytesIO()
                    with gzip.GzipFile('x.txt', 'wb', 3, bio) as g:
                        g.write(b)
                    streams['fname'] = bio.getvalue()
            elif c == 'lz4':
                streams = {'lz4': tool(['lz4', '-c', '-q'], b),
                           'lz4x': tool(['lz4', '-c', '-q', '--content-size', '-BX', '--no-frame-crc'], b)}
            else:
                streams = {'zstd': tool(['zstd', '-c', '-q', '-3'], b),
                           'zstdck': tool(['zstd', '-c', '-q', '-1', '--check'], b)}
            if bname not in ('empty', 'text', 'config') and c != 'none':
                streams = dict(list(streams.items())[:1])
            for sname, s in streams.items():
                put('decompress', '%s-%s-%s' % (c, bname, sname), bytes([i]) + s)


def json_corpus():
    clear('json')
    docs = {
        'object': {'a': 1, 'b': [1.5, -2e-3, True, False, None], 'c': {'nested': 'x'}},
        'bigint': [2 ** 70, -(2 ** 64), 10 ** 30],
        'unicode': {'k\u00e9y': '\u00fc\u4e2d\U0001f600', 'esc': 'tab\tnl\n"q"\\'},
        'repeat': [{'k': 1, 'v': 'x'}, {'k': 2, 'v': 'y'}],
        'empty_obj': {},
        'empty_list': [],
        'string': 'plain',
        'number': 3.141592653589793,
    }
    for name, d in docs.items():
        put('json', name + '.json', json.dumps(d).encode())
    put('json', 'ascii.json', json.dumps(docs['unicode'], ensure_ascii=True).encode())
    put('json', 'nan.json', b'[NaN, Infinity, -Infinity, 1e400, -0.0]')
    put('json', 'surrogates.json', b'["\\ud83d\\ude00", "\\ud800", "\\u0000"]')
    put('json', 'dupkey.json', b'{"a": 1, "b": 2, "a": 3}')
    put('json', 'deep.json', b'[' * 200 + b']' * 200)
    put('json', 'ws.json', b' \n\t{ "a" :\r\n [ 1 , 2 ] } \n')
    put('json', 'bad-trunc.json', b'{"a": [1, 2')
    put('json', 'bad-utf8.json', b'"\xff\xfe"')
    put('json', 'bad-extra.json', b'[] []')


def npy_corpus():
    clear('npy')
    arrays = {
        'f8': np.arange(6, dtype='<f8').reshape(2, 3),
        'f4_fortran': np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)),
        'i8': np.arange(5, dtype='<i8'),
        'u1': np.arange(16, dtype='u1'),
        'bool': np.array([True, False, True]),
        'i2_3d': np.arange(24, dtype='<i2').reshape(2, 3, 4),
        'scalar': np.array(7.5),
        'empty': np.zeros((0, 4), dtype='<f8'),
    }
    for name, a in arrays.items():
        bio = io.BytesIO()
        np.save(bio, a)
        put('npy', name + '.npy', bio.getvalue())
    for version in ((2, 0), (3, 0)):
        bio = io.BytesIO()
        np.lib.format.write_array(bio, arrays['f8'], version=version)
        put('npy', 'v%d.npy' % version[0], bio.getvalue())
    hdr = b"{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }"
    hdr += b' ' * (63 - len(hdr) - 10) + b'\n'
    put('npy', 'bad-bigendian.npy', b'\x93NUMPY\x01\x00' + bytes([len(hdr), 0]) + hdr + bytes(16))


def spec_corpus():
    clear('payload_spec')
    specs = ['config', 'metrics', 'metrics:columns=5000', 'embeddings:rows=10,cols=3,dtype=float32',
             'weights:rows=4096,cols=1024,dtype=float16', 'random:size=64MiB', 'random:size=1KiB',
             'tokens:count=100,vocab=7,dtype=int32', 'sparse:dtype=float64', 'json:data/x.json',
             'npy:-', 'file:/tmp/blob', 'weights:rows=1e30', 'random:size=2GB', 'metrics:columns=,',
             'tokens:vocab=1', 'weights:rows=1,rows=2']
    for i, s in enumerate(specs):
        put('payload_spec', 'spec%02d' % i, s.encode())


def tsv_corpus():
    clear('tsv')
    run = os.path.join(ROOT, 'tests/fixtures/report/run')
    lines = open(os.path.join(run, 'matrix.tsv'), 'rb').read().split(b'\n')
    header = lines[0]
    picks = {'head': lines[1:4], 'error': [l for l in lines if b'\terror\t' in l][:2],
             'sweep': [l for l in lines if l.startswith(b'sweep\t')][:2],
             'save': [l for l in lines if b'\tsave\t' in l][:2]}
    for name, rows in picks.items():
        if rows:
            # Odd first byte: also loaded as a run directory's matrix.tsv.
            put('tsv', 'matrix-' + name, b'\x01' + b'\n'.join([header] + rows) + b'\n')
    put('tsv', 'env', b'\x00' + open(os.path.join(run, 'env.tsv'), 'rb').read())
    put('tsv', 'published', b'\x00' + open(os.path.join(ROOT, 'results/reference/pr3090-published.tsv'), 'rb').read())
    put('tsv', 'ragged', b'\x01a\tb\nc\n')
    put('tsv', 'crlf', b'\x00a\tb\r\n1\t2\r\n')
    put('tsv', 'lists', b'\x00x\ty\n1.5,2,3e3\t-7\n,\tnan\n')


def resume_corpus():
    """fuzz_resume: flag byte 1 = the target puts casbench's header first."""
    clear('resume')
    run = os.path.join(ROOT, 'tests/fixtures/report/run')
    lines = open(os.path.join(run, 'matrix.tsv'), 'rb').read().split(b'\n')
    header, rows = lines[0], [l for l in lines[1:] if l]
    head = rows[:3]
    put('resume', 'whole', b'\x00' + b'\n'.join([header] + head) + b'\n')
    put('resume', 'rows', b'\x01' + b'\n'.join(head) + b'\n')
    put('resume', 'torn', b'\x01' + b'\n'.join(head) + b'\n' + head[0][:20])
    put('resume', 'header-only', b'\x00' + header + b'\n')
    put('resume', 'header-prefix', b'\x00' + header[:40])
    put('resume', 'nul', b'\x01' + head[0][:9] + b'\x00' + head[0][9:] + b'\n')
    put('resume', 'crlf', b'\x01' + b'\r\n'.join(head) + b'\r\n')
    put('resume', 'duplicate', b'\x01' + head[0] + b'\n' + head[0] + b'\n')
    put('resume', 'sweep', b'\x01' + b'\n'.join([l for l in rows if l.startswith(b'sweep\t')][:2]) + b'\n')
    put('resume', 'error', b'\x01' + b'\n'.join([l for l in rows if b'\terror\t' in l][:2]) + b'\n')


if __name__ == '__main__':
    decompress_corpus()
    json_corpus()
    npy_corpus()
    spec_corpus()
    tsv_corpus()
    resume_corpus()
    for t in sorted(os.listdir(OUT)):
        print(t, len(os.listdir(os.path.join(OUT, t))), file=sys.stderr)
