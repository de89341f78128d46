"""metaflow_equiv.py - metaflow's content-addressed store over its local
datastore, for machines without metaflow: the same calls in the same order,
the same files and bytes, re-written from metaflow's source
(metaflow/datastore/content_addressed_store.py, datastore_storage.py,
plugins/datastores/local_storage.py; master for cas_version 1, PR #3090 for
cas_version 2). infra/python_path.py --suite pr3090 times it when no
metaflow is given (env.tsv says so), and tests/test_store.sh uses it as the
reader and writer a metaflow user would have.

    storage = LocalStorage(root)
    cas = ContentAddressedStore("cas", storage, cas_version=1)   # 2: the PR's lz4
    [(uri, key)] = cas.save_blobs(iter([blob]))
    [(key, blob)] = list(cas.load_blobs([key]))
"""

import gzip
import json
import os
import tempfile
from collections import namedtuple
from hashlib import sha1
from io import BytesIO

SaveResult = namedtuple("SaveResult", "uri key")


class DataException(Exception):
    """metaflow.datastore.exceptions.DataException's role: a bad artifact."""


class LocalStorage:
    """Paths are '/'-joined below root; files are written through a
    temporary file in the target directory and renamed over the name."""

    def __init__(self, root):
        self.root = root

    @staticmethod
    def path_join(*parts):
        if not parts:
            return ""
        first = parts[0].rstrip("/")
        return "/".join([first] + [p.strip("/") for p in parts[1:]])

    def full_uri(self, path):
        return self.path_join(self.root, path)

    def is_file(self, paths):
        return [os.path.isfile(self.full_uri(p)) for p in paths]

    @staticmethod
    def _makedirs(path):
        try:
            os.makedirs(path)
        except FileExistsError:
            pass

    @staticmethod
    def _write_atomically(target, data):
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target))
        done = False
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.rename(tmp, target)
            done = True
        finally:
            if not done:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def save_bytes(self, items, overwrite=False):
        for path, (stream, meta) in items:
            target = self.full_uri(path)
            if not overwrite and os.path.exists(target):
                continue
            self._makedirs(os.path.dirname(target))
            self._write_atomically(target, stream.read())
            if meta:
                self._write_atomically(target + "_meta", json.dumps(meta).encode("utf-8"))

    def load_bytes(self, paths):
        for path in paths:
            target = self.full_uri(path)
            if not os.path.exists(target):
                yield path, None, None
                continue
            meta = None
            if os.path.exists(target + "_meta"):
                with open(target + "_meta", "r") as f:
                    meta = json.load(f)
            yield path, target, meta


class ContentAddressedStore:
    """cas_version 1: a gzip stream, GzipFile(compresslevel=3) (metaflow
    master); 2: lz4.frame.compress with python-lz4's defaults (PR #3090).
    Either reads both, as the PR's code does (master reads only 1)."""

    def __init__(self, prefix, storage, cas_version=1):
        if cas_version not in (1, 2):
            raise ValueError("cas_version is 1 (master) or 2 (PR #3090)")
        self._prefix = prefix
        self._storage = storage
        self._version = cas_version

    def _path(self, key):
        return self._storage.path_join(self._prefix, key[:2], key)

    def save_blobs(self, blob_iter, raw=False):
        results = []

        def to_store():
            for blob in blob_iter:
                key = sha1(blob).hexdigest()
                path = self._path(key)
                results.append(SaveResult(uri=self._storage.full_uri(path) if raw else None,
                                          key=key))
                if self._storage.is_file([path])[0]:
                    continue
                if raw:
                    yield path, (BytesIO(blob), {"cas_raw": True, "cas_version": 1})
                else:
                    meta = {"cas_raw": False, "cas_version": self._version}
                    yield path, (self._pack(blob), meta)

        self._storage.save_bytes(to_store(), overwrite=True)
        return results

    def _pack(self, blob):
        buf = BytesIO()
        if self._version == 1:
            with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=3) as f:
                f.write(blob)
        else:
            import lz4.frame
            buf.write(lz4.frame.compress(blob))
        buf.seek(0)
        return buf

    @staticmethod
    def _unpack_v1(f):
        with gzip.GzipFile(fileobj=f, mode="rb") as g:
            return g.read()

    @staticmethod
    def _unpack_v2(f):
        import lz4.frame
        return lz4.frame.decompress(f.read())

    def load_blobs(self, keys):
        paths = [self._path(k) for k in keys]
        for path, target, meta in self._storage.load_bytes(paths):
            key = path.split("/")[-1]
            if target is None:
                raise DataException("No artifact for key '%s'" % key)
            with open(target, "rb") as f:
                if meta and meta.get("cas_raw", False):
                    blob = f.read()
                else:
                    version = 1 if meta is None else meta.get("cas_version", -1)
                    if version == -1:
                        raise DataException("Could not extract encoding version for '%s'" % path)
                    unpack = {1: self._unpack_v1, 2: self._unpack_v2}.get(version)
                    if unpack is None:
                        raise DataException(
                            "Unknown encoding version %d for '%s' -- the artifact is either "
                            "corrupt or you need to update Metaflow to the latest version"
                            % (version, path))
                    try:
                        blob = unpack(f)
                    except Exception as e:
                        raise DataException("Could not unpack artifact '%s': %s" % (path, e))
            yield key, blob
