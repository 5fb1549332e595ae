"""Inputs that must never reach the host, through the real modules: each is refused with
an error naming the field, and nothing on the host changed (the volume directory, the
files beside it, the export state and the storage host's nftables)."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from tests.helpers.ansible import run_module

pytestmark = pytest.mark.block_storage


def tree(path: str) -> dict[str, bytes]:
    out = {}
    for root, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as fh:
                out[os.path.relpath(full, path)] = fh.read()
    return out


@pytest.fixture
def outside(volume_dir):
    """A backend directory inside ``volume_dir``, with a victim file and a victim
    "volume" beside it (what a path that leaves the directory would reach)."""
    backend_dir = os.path.join(volume_dir, "backend")
    os.mkdir(backend_dir)
    for name in ("victim", "victim.json", "volume-x", "volume-x.json"):
        with open(os.path.join(volume_dir, name), "w") as fh:
            fh.write('{"format": "raw"}' if name.endswith(".json") else "TENANT-DATA")
    return {"dir": backend_dir, "root": volume_dir}


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "/etc", "../victim", "../volume-x"])
def test_volume_ids_that_leave_the_directory(outside, bad_id):
    base = {"backend": "file", "directory": outside["dir"]}
    before = tree(outside["root"])
    made = run_module("volume", {**base, "id": bad_id, "size": 1})
    assert made.failed and f"volume id {bad_id!r} is not a valid id" in made.msg, made.msg
    gone = run_module("volume", {**base, "id": bad_id, "state": "absent"})
    assert gone.failed and "is not a valid id" in gone.msg, gone.msg
    assert tree(outside["root"]) == before
    assert os.path.exists("/etc/passwd")


def test_snapshot_and_source_ids_that_leave_the_directory(outside):
    base = {"backend": "file", "directory": outside["dir"]}
    vid = str(uuid.uuid4())
    assert run_module("volume", {**base, "id": vid, "size": 1}).changed
    before = tree(outside["root"])
    snap = run_module("volume_snapshot", {**base, "id": "../victim", "volume_id": vid})
    assert snap.failed and "snapshot id '../victim'" in snap.msg, snap.msg
    snap_gone = run_module("volume_snapshot", {**base, "id": "../victim", "state": "absent"})
    assert snap_gone.failed and "snapshot id" in snap_gone.msg
    clone = run_module("volume", {**base, "id": str(uuid.uuid4()), "source_volid": "../x"})
    assert clone.failed and "volume id '../x'" in clone.msg, clone.msg
    assert tree(outside["root"]) == before


def test_image_without_recorded_format_is_refused(outside, guest_image):
    """The bytes of an image never choose its format: without image_format (or an image
    cache record) nothing is read or written."""
    base = {"backend": "file", "directory": outside["dir"]}
    before = tree(outside["root"])
    res = run_module("volume", {**base, "id": str(uuid.uuid4()), "image": guest_image["qcow2"], "size": 1})
    assert res.failed and "image_format" in res.msg, res.msg
    assert tree(outside["root"]) == before


def test_attach_paths_outside_the_backend_are_refused(outside):
    """A local connection may only name a volume of this host's backend: /etc/shadow (or
    a file beside the volume directory) never becomes a guest disk."""
    for path in ("/etc/shadow", os.path.join(outside["root"], "victim"), f"{outside['dir']}/../victim"):
        res = run_module("volume_attachment", {
            "instance": f"instance-{uuid.uuid4()}", "volume_id": str(uuid.uuid4()), "backend": "file",
            "directory": outside["dir"], "connection": {"driver_volume_type": "local", "path": path}})
        assert res.failed and "volume path" in res.msg and outside["dir"] in res.msg, res.msg
    bad_host = run_module("volume_attachment", {
        "instance": f"instance-{uuid.uuid4()}", "volume_id": str(uuid.uuid4()),
        "connection": {"driver_volume_type": "nbd", "host": "10.0.0.1,port=1", "port": 10809, "name": "volume-x-a"}})
    assert bad_host.failed and "connection host" in bad_host.msg, bad_host.msg


@pytest.mark.parametrize(("change", "field"), [
    ({"allowed": ["10.0.0.1, 0.0.0.0/0"]}, "allowed entry"),
    ({"allowed": ["1.2.3.4 accept"]}, "allowed entry"),
    ({"allowed": ["10.0.0.1\n0.0.0.0/0"]}, "allowed entry"),
    ({"allowed": []}, "fail closed"),
    ({"host": "1.2.3.4 accept"}, "host"),
    ({"host": "198.18.0.2,addr.port=22"}, "host"),
    ({"attachment_id": 'a" accept comment "x'}, "attachment id"),
])
def test_export_inputs_that_would_reach_nft_or_the_daemon(volume_dir, storage_ns, tmp_path, change, field):
    vid = str(uuid.uuid4())
    assert run_module("volume", {"id": vid, "size": 1, "backend": "file", "directory": volume_dir}).changed
    state_dir = tmp_path / "exports"
    exp = {"volume_id": vid, "attachment_id": "a1", "backend": "file", "directory": volume_dir,
           "host": storage_ns["storage_ip"], "allowed": [storage_ns["host_ip"]], "netns": storage_ns["ns"],
           "export_state_dir": str(state_dir)}
    res = run_module("volume_export", {**exp, **change})
    assert res.failed and field in res.msg, res.msg
    assert not state_dir.exists() or not list(state_dir.iterdir())
    rules = subprocess.run(["ip", "netns", "exec", storage_ns["ns"], "nft", "list", "ruleset"],
                           capture_output=True, text=True, check=True).stdout
    assert "stratus_nbd" not in rules
    daemons = subprocess.run(["ip", "netns", "pids", storage_ns["ns"]], capture_output=True, text=True).stdout
    assert daemons.strip() == ""
