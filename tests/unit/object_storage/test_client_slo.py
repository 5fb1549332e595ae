"""SLO arithmetic: segment plan, names, manifest and the ETag Swift gives an SLO."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.object_store import slo

pytestmark = [pytest.mark.object_storage]


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def test_plan_cuts_like_swiftclient():
    assert slo.plan(10, None) == []
    assert slo.plan(10, 10) == []  # not bigger than a segment: a plain object
    assert slo.plan(10, 4) == [(0, 4), (4, 4), (8, 2)]
    assert slo.plan(12, 4) == [(0, 4), (4, 4), (8, 4)]  # no empty last segment


def test_slo_etag_is_md5_of_the_segment_md5s():
    # slo.py's documented example: echo -n 'etag1etag2' | md5sum
    assert slo.slo_etag(["etagoftheobjectsegment1", "etagoftheobjectsegment2"]) == \
        md5(b"etagoftheobjectsegment1etagoftheobjectsegment2")
    data = b"abcdefghij"
    pieces = slo.pieces_of_bytes(data, 4)
    assert [p.etag for p in pieces] == [md5(b"abcd"), md5(b"efgh"), md5(b"ij")]
    assert slo.slo_etag(p.etag for p in pieces) == md5((md5(b"abcd") + md5(b"efgh") + md5(b"ij")).encode())
    # quoted etags (as Swift sends them) count the same
    assert slo.slo_etag(f'"{p.etag}"' for p in pieces) == slo.slo_etag(p.etag for p in pieces)


def test_pieces_of_a_file_match_pieces_of_its_bytes():
    data = bytes(range(256)) * 300
    assert slo.pieces_of_file(io.BytesIO(data), len(data), 7000) == slo.pieces_of_bytes(data, 7000)


def test_segment_names_and_manifest_as_swift_upload_makes_them():
    assert slo.segment_container("c") == "c_segments"
    assert slo.segment_container("c", "segs") == "segs"
    name = slo.segment_name("dir/ü.bin", "1764720000.000000", 10, 4, 2)
    assert name == "dir/ü.bin/slo/1764720000.000000/10/4/00000002"
    pieces = slo.pieces_of_bytes(b"abcdefghij", 4)
    names = [slo.segment_name("o", "1.000000", 10, 4, p.index) for p in pieces]
    body = json.loads(slo.manifest("c_segments", names, pieces))
    assert body[0] == {"path": "/c_segments/o/slo/1.000000/10/4/00000000", "etag": md5(b"abcd"),
                       "size_bytes": 4}
    assert [e["size_bytes"] for e in body] == [4, 4, 2]


def manifest_listing(data: bytes, size: int) -> list[dict]:
    return [{"name": f"/c_segments/o/{p.index:08d}", "hash": p.etag, "bytes": p.size}
            for p in slo.pieces_of_bytes(data, size)]


def test_a_file_is_checked_against_a_manifest_segment_by_segment():
    data = b"0123456789abcdef!"
    listing = manifest_listing(data, 5)
    assert slo.file_matches_manifest(io.BytesIO(data), len(data), listing)
    assert not slo.file_matches_manifest(io.BytesIO(data[:-1] + b"?"), len(data), listing)
    assert not slo.file_matches_manifest(io.BytesIO(data + b"x"), len(data) + 1, listing)
    ranged = [dict(listing[0], range="0-1"), *listing[1:]]
    assert not slo.file_matches_manifest(io.BytesIO(data), len(data), ranged)
    assert slo.segment_paths(listing)[1] == ("c_segments", "o/00000001")
