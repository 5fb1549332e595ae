"""Static large objects (SLO) the way ``swift upload --use-slo --segment-size N`` makes them.

Pure functions (no HTTP), so the arithmetic is unit-tested:

- :func:`plan` cuts ``size`` bytes into ``segment_size`` pieces; data of at most one
  segment is not segmented (a plain object), as swiftclient does.
- :func:`segment_name` is swiftclient's ``<object>/slo/<mtime>/<size>/<segment_size>/<%08d>``
  in the segment container ``<container>_segments`` (:func:`segment_container`).
- :func:`manifest` is the JSON body of ``PUT ?multipart-manifest=put``: the segments'
  paths (``/<segment container>/<segment name>``, not quoted: SLO quotes them), etags
  and sizes in order.
- :func:`slo_etag` is the ETag Swift gives the SLO: the md5 of the concatenated hex
  md5s of its segments (quoted on the wire); with it an upload is idempotent without
  reading the object back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .client import CHUNK


@dataclass(frozen=True)
class Piece:
    """One segment of local data: where it starts, how long, its md5 (hex)."""

    index: int
    offset: int
    size: int
    etag: str = ""


def plan(size: int, segment_size: int | None) -> list[tuple[int, int]]:
    """``[(offset, length), ...]`` of the segments, or ``[]`` when the data goes as one
    plain object (no ``segment_size``, or ``size <= segment_size``)."""
    if not segment_size or size <= segment_size:
        return []
    if segment_size < 1:
        raise ValueError("segment_size must be at least 1 byte")
    return [(off, min(segment_size, size - off)) for off in range(0, size, segment_size)]


def slo_etag(etags) -> str:
    """The SLO's ETag: md5 of its segments' md5 hex strings, concatenated."""
    h = hashlib.md5()
    for etag in etags:
        h.update(etag.strip('"').encode("ascii"))
    return h.hexdigest()


def segment_container(container: str, override: str | None = None) -> str:
    return override or container + "_segments"


def segment_name(obj: str, mtime: str, size: int, segment_size: int, index: int) -> str:
    """swiftclient's SLO segment name (``mtime`` as it formats it: ``"%f" % mtime``)."""
    return f"{obj}/slo/{mtime}/{size}/{segment_size}/{index:08d}"


def manifest(seg_container: str, names: list[str], pieces: list[Piece]) -> bytes:
    """The ``multipart-manifest=put`` body for ``pieces`` stored under ``names``."""
    return json.dumps([
        {"path": f"/{seg_container}/{name}", "etag": p.etag, "size_bytes": p.size}
        for name, p in zip(names, pieces, strict=True)
    ]).encode("utf-8")


def md5_range(fileobj, offset: int, length: int) -> str:
    fileobj.seek(offset)
    h, left = hashlib.md5(), length
    while left > 0:
        block = fileobj.read(min(CHUNK, left))
        if not block:
            break
        h.update(block)
        left -= len(block)
    return h.hexdigest()


def pieces_of_file(fileobj, size: int, segment_size: int | None) -> list[Piece]:
    """The md5 of each segment of an open file (``[]`` when it is not segmented)."""
    return [Piece(i, off, length, md5_range(fileobj, off, length))
            for i, (off, length) in enumerate(plan(size, segment_size))]


def pieces_of_bytes(data: bytes, segment_size: int | None) -> list[Piece]:
    return [Piece(i, off, length, hashlib.md5(data[off:off + length]).hexdigest())
            for i, (off, length) in enumerate(plan(len(data), segment_size))]


def manifest_sizes(segments: list[dict]) -> list[int] | None:
    """The byte count of each entry of a ``multipart-manifest=get`` listing, or None
    when an entry is a range, inline data or a nested SLO (their hashes are not the md5
    of that stretch of the object)."""
    sizes = []
    for seg in segments:
        if seg.get("range") or seg.get("sub_slo") or "data" in seg or "hash" not in seg:
            return None
        sizes.append(int(seg["bytes"]))
    return sizes


def file_matches_manifest(fileobj, size: int, segments: list[dict]) -> bool:
    """Whether an open file of ``size`` bytes holds exactly the SLO's data, checked
    segment by segment against the manifest's md5s (no download)."""
    sizes = manifest_sizes(segments)
    if sizes is None or sum(sizes) != size:
        return False
    offset = 0
    for seg, length in zip(segments, sizes, strict=True):
        if md5_range(fileobj, offset, length) != seg["hash"].strip('"'):
            return False
        offset += length
    return True


def segment_paths(segments: list[dict]) -> list[tuple[str, str]]:
    """``(container, object)`` of each segment of a ``multipart-manifest=get`` listing."""
    out = []
    for seg in segments:
        container, _, obj = seg["name"].lstrip("/").partition("/")
        out.append((container, obj))
    return out
