"""The file backend for real (raw and qcow2 files, qemu-img), through the modules."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from tests.helpers.ansible import run_module

pytestmark = pytest.mark.block_storage

GiB = 1024**3


def write_at(path: str, offset: int, data: bytes) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def read_at(path: str, offset: int, n: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(n)


def test_snapshots_clones_and_images(volume_dir, guest_image):
    base = {"backend": "file", "directory": volume_dir}
    vid, sid, from_snap, clone, from_img = (str(uuid.uuid4()) for _ in range(5))

    made = run_module("volume", {**base, "id": vid, "size": 1})
    assert made.changed, made.msg
    path = made["volume"]["path"]
    write_at(path, 4096, b"FIRST")

    snap_args = {**base, "id": sid, "volume_id": vid}
    check = run_module("volume_snapshot", snap_args, check=True)
    assert check.changed and not os.path.exists(f"{volume_dir}/snapshot-{sid}")
    snap = run_module("volume_snapshot", snap_args)
    assert snap.changed and snap["diff"]["before"] == {} and snap["snapshot"]["volume_id"] == vid
    assert not run_module("volume_snapshot", snap_args).changed

    write_at(path, 4096, b"AFTER")  # the snapshot keeps what was there when it was taken
    res = run_module("volume", {**base, "id": from_snap, "snapshot_id": sid, "size": 2})
    assert res.changed, res.msg
    assert read_at(res["volume"]["path"], 4096, 5) == b"FIRST" and res["volume"]["size"] == 2 * GiB

    res = run_module("volume", {**base, "id": clone, "source_volid": vid})
    assert res.changed and read_at(res["volume"]["path"], 4096, 5) == b"AFTER"
    assert res["volume"]["size"] == GiB  # a copy defaults to the source's size

    # an image, converted by qemu-img (the qcow2 guest image into a qcow2 volume)
    res = run_module("volume", {**base, "id": from_img, "image": guest_image["qcow2"], "image_format": "qcow2",
                                "format": "qcow2", "size": 1})
    assert res.changed, res.msg
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", res["volume"]["path"]],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["format"] == "qcow2" and info["virtual-size"] == GiB
    cmp = subprocess.run(["qemu-img", "compare", "-U", guest_image["raw"], res["volume"]["path"]],
                         capture_output=True, text=True)
    assert "identical" in cmp.stdout or "larger" in cmp.stdout, cmp.stdout + cmp.stderr

    # a volume with snapshots is deleted only with cascade
    refused = run_module("volume", {**base, "id": vid, "state": "absent"})
    assert refused.failed and sid in refused.msg and "cascade" in refused.msg
    assert os.path.exists(path)
    gone = run_module("volume", {**base, "id": vid, "state": "absent", "cascade": True})
    assert gone.changed and not os.path.exists(path) and not os.path.exists(f"{volume_dir}/snapshot-{sid}")

    info = run_module("storage_info", {"backends": [{"name": "files", "driver": "file", "directory": volume_dir}]})
    report = info["backends"]["files"]
    assert report["volumes"] == 3 and report["snapshots"] == 0 and report["thin_provisioning"]
    assert report["provisioned_bytes"] == 4 * GiB


def test_bad_input_leaves_nothing(volume_dir):
    base = {"backend": "file", "directory": volume_dir}
    vid = str(uuid.uuid4())
    assert run_module("volume", {**base, "id": vid, "size": 2}).changed
    small = run_module("volume", {**base, "id": str(uuid.uuid4()), "source_volid": vid, "size": 1})
    assert small.failed and "smaller than" in small.msg
    missing = run_module("volume", {**base, "id": str(uuid.uuid4()), "snapshot_id": "no-such-snap"})
    assert missing.failed and "does not exist" in missing.msg
    no_image = run_module("volume", {**base, "id": str(uuid.uuid4()), "image": "/nonexistent.qcow2", "size": 1})
    assert no_image.failed and "does not exist" in no_image.msg
    assert sorted(os.listdir(volume_dir)) == [f"volume-{vid}", f"volume-{vid}.json"]
    no_dir = run_module("volume", {**base, "directory": f"{volume_dir}/missing", "id": vid, "size": 1})
    assert no_dir.failed and "roles/block_storage" in no_dir.msg
    # qcow2 volumes extend too, and are idempotent
    q = {**base, "id": str(uuid.uuid4()), "size": 1, "format": "qcow2"}
    assert run_module("volume", q).changed
    assert not run_module("volume", q).changed
    assert run_module("volume", {**q, "size": 3})["volume"]["size"] == 3 * GiB


@pytest.mark.parametrize("clear", ["zero", "none"])
def test_delete_clears_the_data_the_volume_had(volume_dir, clear):
    """volume_clear=zero (the default) overwrites the volume's data in place before the file
    is unlinked: a reader still holding the same inode sees zeros where the tenant's data
    was. With none, it still sees the data (what the clear is there to prevent)."""
    base = {"backend": "file", "directory": volume_dir}
    args = {**base, "id": str(uuid.uuid4()), "size": 1}
    made = run_module("volume", args)
    assert made.changed, made.msg
    path = made["volume"]["path"]
    mark = b"TENANT-A-SECRET-" + uuid.uuid4().hex.encode()
    write_at(path, 512 * 1024**2 + 4096, mark)
    with open(path, "rb") as view:
        settings = {} if clear == "zero" else {"volume_clear": clear}
        gone = run_module("volume", {**args, **settings, "state": "absent"})
        assert gone.changed and not os.path.exists(path), gone.msg
        view.seek(512 * 1024**2 + 4096)
        left = view.read(len(mark))
    if clear == "zero":
        assert left == bytes(len(mark))
        assert any(a.startswith("zeroed ") and f"volume-{args['id']}" in a for a in gone["actions"]), gone["actions"]
    else:
        assert left == mark and not any("zeroed" in a for a in gone["actions"])
    # a new volume in the same place reads no marker either way
    again = run_module("volume", args)
    assert again.changed
    with open(again["volume"]["path"], "rb") as fh:
        assert mark not in fh.read()
