"""Objects as a module wants them: ``Objects(client).ensure_present(...)`` /
``ensure_absent(...)`` return an :class:`Outcome`; check mode asks Swift (HEAD,
manifests) and writes nothing, neither in Swift nor on disk.

Contracts:

- Upload (``source``: a :class:`Source` of a file or bytes) is idempotent by ETag: the
  local md5 (plain object) or SLO etag (md5 of the segments' md5s, see ``slo.py``) and
  size are compared with what ``HEAD`` says; equal means nothing is sent.
- Data bigger than ``segment_size`` becomes an SLO as ``swift upload --use-slo`` makes
  it: segments ``<name>/slo/<mtime>/<size>/<segment_size>/<%08d>`` in
  ``<container>_segments`` (made when missing, in the container's storage policy), then
  the manifest. A new upload over an SLO removes the old segments it no longer uses;
  a delete removes the SLO's segments with it (``multipart-manifest=delete``).
- ``metadata`` keys are lower-cased; given keys are set, others kept unless
  ``purge_metadata``. ``None`` leaves the metadata (and ``content_type``) as they are,
  also across a new upload. A change of metadata or content type alone is one POST.
- Download (``dest``) writes a temporary file beside ``dest`` and renames it over, only
  when ``dest`` differs from the object (md5 against the ETag, or segment by segment
  against an SLO's manifest); the data is checked against the ETag on the way.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome

from . import slo
from .client import (
    InvalidRequest,
    NotFound,
    SliceReader,
    SwiftClient,
    SwiftHTTPError,
    check_container_name,
    check_object_name,
    metadata_of,
    unquote_etag,
)
from .containers import metadata_changes, normalize_metadata

META = "x-object-meta-"


def object_facts(container: str, name: str, headers: dict | None) -> dict:
    if headers is None:
        return {}
    return {
        "name": name,
        "container": container,
        "etag": unquote_etag(headers.get("etag")),
        "size": int(headers.get("content-length", 0)),
        "content_type": headers.get("content-type", ""),
        "metadata": metadata_of(headers, META),
        "large_object": headers.get("x-static-large-object", "").lower() == "true",
        "last_modified": headers.get("last-modified", ""),
    }


class Source:
    """Local data to upload: a file (``path``) or ``content`` bytes."""

    def __init__(self, *, path: str | None = None, content: bytes | None = None):
        if (path is None) == (content is None):
            raise InvalidRequest("give either a file (src) or content to upload")
        self.path, self.content = path, content
        if path is not None:
            if not os.path.isfile(path):
                raise InvalidRequest(f"src {path} is not a file on this host; give the path of the "
                                     "file to upload")
            st = os.stat(path)
            self.size, self.mtime = st.st_size, f"{st.st_mtime:f}"
        else:
            self.size, self.mtime = len(content), f"{round(time.time()):f}"

    def open(self):
        return open(self.path, "rb") if self.path is not None else io.BytesIO(self.content)  # noqa: SIM115

    def digest(self, segment_size: int | None) -> tuple[str, list[slo.Piece]]:
        """``(etag Swift will report, segments)``; no segments for a plain object."""
        with self.open() as f:
            pieces = slo.pieces_of_file(f, self.size, segment_size)
            if pieces:
                return slo.slo_etag(p.etag for p in pieces), pieces
            return slo.md5_range(f, 0, self.size), []


class Objects:
    def __init__(self, client: SwiftClient):
        self.client = client

    def facts(self, container: str, name: str) -> dict:
        return object_facts(container, name, self.client.head_object(container, name))

    def _missing_container(self, container: str, method: str) -> SwiftHTTPError:
        return SwiftHTTPError(method, self.client.path(container), 404, "Not Found",
                              hint=f"container {container} does not exist: create it first "
                                   "(stratus.cloud.object_container)")

    def ensure_present(self, container: str, name: str, *, source: Source | None = None,
                       dest: str | None = None, metadata: dict | None = None,
                       purge_metadata: bool = False, content_type: str | None = None,
                       segment_size: int | None = None, segment_container: str | None = None,
                       check: bool = False) -> Outcome:
        check_container_name(container)
        check_object_name(name)
        if segment_size is not None and segment_size < 1:
            raise InvalidRequest(f"segment_size {segment_size} must be at least 1 byte")
        wanted_meta = normalize_metadata(metadata)
        before = self.facts(container, name)
        actions: list[str] = []
        after = dict(before)
        if source is not None:
            etag, pieces = source.digest(segment_size)
            same = (before and before["etag"] == etag and before["size"] == source.size
                    and before["large_object"] == bool(pieces))
            if not same:
                if not before and check and self.client.head_container(container) is None:
                    raise self._missing_container(container, "HEAD")
                _, meta = metadata_changes(before.get("metadata", {}), wanted_meta, purge_metadata,
                                           "", "")
                ctype = content_type or before.get("content_type") or None
                after = self._upload(container, name, source, etag, pieces, meta, ctype,
                                     segment_size, segment_container, before, actions, check)
        elif not before:
            if self.client.head_container(container) is None:
                raise self._missing_container(container, "HEAD")
            raise NotFound(f"object {name} does not exist in container {container}; give src or "
                           "content to upload it")
        if not actions:
            after = self._update_metadata(container, name, before, wanted_meta, purge_metadata,
                                          content_type, actions, check)
        if dest is not None:
            self._download(container, name, after, dest, actions, check)
        if not check and actions:
            after = self.facts(container, name)
        return Outcome(bool(actions), before, after, actions)

    def _update_metadata(self, container, name, before, wanted_meta, purge, content_type, actions,
                         check) -> dict:
        headers, meta = metadata_changes(before["metadata"], wanted_meta, purge,
                                         "X-Remove-Object-Meta-", "X-Object-Meta-")
        ctype_changes = content_type is not None and content_type != before["content_type"]
        if not headers and not ctype_changes:
            return dict(before)
        # an object POST replaces all user metadata: send the whole set
        post = {"X-Object-Meta-" + k: v for k, v in meta.items()}
        post["Content-Type"] = content_type or before["content_type"]
        actions.append(f"update metadata of object {name}: "
                       + ", ".join(sorted([*(k for k in headers), *(["Content-Type"] if ctype_changes else [])])))
        if not check:
            self.client.post_object(container, name, post)
        return dict(before, metadata=meta, content_type=post["Content-Type"])

    def _upload(self, container, name, source, etag, pieces, meta, ctype, segment_size, seg_override,
                before, actions, check) -> dict:
        headers = {"X-Object-Meta-" + k: v for k, v in meta.items()}
        # an empty Content-Type makes Swift guess from the name (without one, eventlet's
        # WSGI server hands Swift text/plain)
        headers["Content-Type"] = ctype or ""
        old_segments: list[tuple[str, str]] = []
        if before.get("large_object"):
            old_segments = slo.segment_paths(self.client.get_manifest(container, name))
        new_segments: set[tuple[str, str]] = set()
        if pieces:
            seg_c = slo.segment_container(container, seg_override)
            names = [slo.segment_name(name, source.mtime, source.size, segment_size, p.index) for p in pieces]
            new_segments = {(seg_c, n) for n in names}
            actions.append(f"upload {source.size} bytes as a static large object of {len(pieces)} "
                           f"segments in {seg_c}")
            if not check:
                self._ensure_segment_container(container, seg_c, actions)
                with source.open() as f:
                    for n, p in zip(names, pieces, strict=True):
                        self._put(seg_c, n, SliceReader(f, p.offset, p.size), p.size, {"ETag": p.etag})
                body = slo.manifest(seg_c, names, pieces)
                self._put(container, name, body, len(body), headers, {"multipart-manifest": "put"})
        else:
            actions.append(f"upload {source.size} bytes to object {name}")
            if not check:
                with source.open() as f:
                    self._put(container, name, f, source.size, dict(headers, ETag=etag))
        stale = [s for s in old_segments if s not in new_segments]
        if stale:
            actions.append(f"delete {len(stale)} segments of the old upload")
            if not check:
                for seg_c, seg in stale:
                    self.client.delete_object(seg_c, seg)
        return {"name": name, "container": container, "etag": etag, "size": source.size,
                "content_type": ctype or "", "metadata": meta, "large_object": bool(pieces),
                "last_modified": before.get("last_modified", "")}

    def _put(self, container, name, body, size, headers, query=None) -> None:
        try:
            self.client.put_object(container, name, body, size=size, headers=headers, query=query)
        except SwiftHTTPError as exc:
            if exc.status == 404:
                raise exc.with_hint(f"does container {container} exist? create it first "
                                    "(stratus.cloud.object_container)") from None
            raise

    def _ensure_segment_container(self, container: str, seg_c: str, actions: list[str]) -> None:
        if self.client.head_container(seg_c) is not None:
            return
        main = self.client.head_container(container)
        if main is None:
            raise self._missing_container(container, "HEAD")
        policy = main.get("x-storage-policy")
        actions.append(f"create segment container {seg_c}")
        self.client.put_container(seg_c, {"X-Storage-Policy": policy} if policy else None)

    def _download(self, container, name, facts, dest, actions, check) -> None:
        if os.path.isdir(dest):
            raise InvalidRequest(f"dest {dest} is a directory; give the path of the file to write")
        if os.path.isfile(dest) and self._same_file(container, name, facts, dest):
            return
        actions.append(f"download object {name} to {dest}")
        if check:
            return
        directory = os.path.dirname(os.path.abspath(dest))
        if not os.path.isdir(directory):
            raise InvalidRequest(f"dest {dest}: directory {directory} does not exist; create it first")
        mode = os.stat(dest).st_mode & 0o7777 if os.path.exists(dest) else None
        fd, tmp = tempfile.mkstemp(prefix=".objdl-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                headers, size, md5 = self.client.download(container, name, f)
            etag = unquote_etag(headers.get("etag"))
            if headers.get("x-static-large-object", "").lower() != "true" and etag and etag != md5:
                raise InvalidRequest(f"object {name}: the downloaded data has md5 {md5}, Swift's ETag "
                                     f"is {etag}; the download was damaged, run again")
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _same_file(self, container, name, facts, dest) -> bool:
        size = os.path.getsize(dest)
        if size != facts["size"]:
            return False
        with open(dest, "rb") as f:
            if facts["large_object"]:
                return slo.file_matches_manifest(f, size, self.client.get_manifest(container, name))
            return slo.md5_range(f, 0, size) == facts["etag"]

    def ensure_absent(self, container: str, name: str, *, check: bool = False) -> Outcome:
        """The object is gone (an SLO with its segments)."""
        check_container_name(container)
        check_object_name(name)
        before = self.facts(container, name)
        if not before:
            return Outcome(False, {}, {}, [])
        actions = [f"delete object {name}" + (" and its segments" if before["large_object"] else "")]
        if not check:
            query = {"multipart-manifest": "delete"} if before["large_object"] else None
            self.client.delete_object(container, name, query=query)
        return Outcome(True, before, {}, actions)
