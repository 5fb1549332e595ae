"""The LVM backend for real: lvm2 on a loop-device PV, through the modules as a playbook
runs them. lvm_activation=auto probes device-mapper; the tests assert what the probe
found (this CI host has none, so LVM runs with activation off; a full host activates)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest

from tests.helpers.ansible import run_module
from tests.integration.storage.conftest import device_mapper_works

pytestmark = pytest.mark.block_storage

GiB = 1024**3
LVM_ENV = {"LVM_SUPPRESS_FD_WARNINGS": "1", "PATH": "/usr/sbin:/sbin:/usr/bin:/bin"}


def lvs(vg: str) -> dict[str, dict]:
    out = subprocess.run(
        ["lvs", "--driverloaded", "n", "--reportformat", "json", "--units", "b", "--nosuffix",
         "-o", "lv_name,lv_size,lv_tags", vg],
        capture_output=True, text=True, check=True, env=LVM_ENV,
    ).stdout
    return {r["lv_name"]: r for r in json.loads(out)["report"][0]["lv"]}


def test_lvm_volume_lifecycle(loop_vg):
    vg = loop_vg["vg"]
    vid = str(uuid.uuid4())
    args = {"id": vid, "size": 1, "backend": "lvm", "vg": vg, "lvm_activation": "auto"}

    check = run_module("volume", args, check=True)
    assert check.changed and check["diff"]["before"] == {} and check["volume"]["size"] == GiB
    assert f"volume-{vid}" not in lvs(vg)

    made = run_module("volume", args)
    assert made.changed, made.msg
    assert int(lvs(vg)[f"volume-{vid}"]["lv_size"]) == GiB
    assert made["volume"]["path"] == f"/dev/{vg}/volume-{vid}"
    assert made["diff"]["after"]["size_gb"] == 1.0
    assert not run_module("volume", args).changed

    # extend: check mode changes nothing, the real run grows the LV, then it is idempotent
    assert run_module("volume", {**args, "size": 2}, check=True).changed
    assert int(lvs(vg)[f"volume-{vid}"]["lv_size"]) == GiB
    grown = run_module("volume", {**args, "size": 2})
    assert grown.changed and grown["diff"]["before"]["size"] == GiB and grown["diff"]["after"]["size"] == 2 * GiB
    assert int(lvs(vg)[f"volume-{vid}"]["lv_size"]) == 2 * GiB
    assert not run_module("volume", {**args, "size": 2}).changed

    # multiattach is kept as an LV tag
    flagged = run_module("volume", {**args, "size": 2, "multiattach": True})
    assert flagged.changed and "stratus.multiattach" in lvs(vg)[f"volume-{vid}"]["lv_tags"]

    # bad input: clear errors, nothing changed
    shrink = run_module("volume", {**args, "size": 1})
    assert shrink.failed and "cannot shrink" in shrink.msg
    full = run_module("volume", {**args, "id": str(uuid.uuid4()), "size": 100})
    assert full.failed and "free" in full.msg and vg in full.msg
    assert len(lvs(vg)) == 1
    snap = run_module("volume_snapshot", {"id": str(uuid.uuid4()), "volume_id": vid, "backend": "lvm",
                                          "vg": vg, "lvm_activation": "off"})
    assert snap.failed and "device-mapper" in snap.msg
    copy = run_module("volume", {**args, "id": str(uuid.uuid4()), "source_volid": vid, "lvm_activation": "off"})
    assert copy.failed and "device-mapper" in copy.msg
    assert len(lvs(vg)) == 1

    info = run_module("storage_info", {"backends": [{"name": "lvm", "driver": "lvm", "vg": vg}]})
    report = info["backends"]["lvm"]
    assert report["available"] and report["volumes"] == 1 and report["provisioned_bytes"] == 2 * GiB
    assert report["activation"] is device_mapper_works()  # what auto found on this host
    assert 7.9 < report["total_capacity_gb"] <= 8 and report["free_bytes"] == report["total_bytes"] - 2 * GiB

    gone = run_module("volume", {**args, "state": "absent"})
    assert gone.changed and gone["diff"]["after"] == {} and lvs(vg) == {}
    assert not run_module("volume", {**args, "state": "absent"}).changed


def test_unknown_vg_is_a_clear_error():
    res = run_module("volume", {"id": str(uuid.uuid4()), "size": 1, "backend": "lvm", "vg": f"nope-{uuid.uuid4().hex[:6]}"})
    assert res.failed and "does not exist on this host" in res.msg


def test_volume_types_map_to_backends(loop_vg, volume_dir):
    vid = str(uuid.uuid4())
    types = {"fast": "lvm", "cheap": "file"}
    common = {"id": vid, "size": 1, "vg": loop_vg["vg"], "directory": volume_dir, "volume_types": types}
    res = run_module("volume", {**common, "volume_type": "fast"})
    assert res.changed and res["volume"]["backend"] == "lvm" and f"volume-{vid}" in lvs(loop_vg["vg"])
    res = run_module("volume", {**common, "volume_type": "cheap"})
    assert res.changed and res["volume"]["path"] == f"{volume_dir}/volume-{vid}"
    bad = run_module("volume", {**common, "volume_type": "gold"})
    assert bad.failed and "'gold' is not mapped" in bad.msg


def test_lvm_delete_clears_the_lv_where_it_can_be_opened(loop_vg):
    """With device-mapper the LV's data is zeroed (dd) before lvremove: the marker written
    into the LV is gone from the PV's extents. Without it (this CI host) LVs are never
    opened, so there is nothing to clear and the result says so."""
    vg = loop_vg["vg"]
    args = {"id": str(uuid.uuid4()), "size": 1, "backend": "lvm", "vg": vg, "lvm_activation": "auto"}
    made = run_module("volume", args)
    assert made.changed, made.msg
    mark = b"TENANT-A-SECRET-" + uuid.uuid4().hex.encode()
    if device_mapper_works():
        with open(made["volume"]["path"], "r+b") as fh:
            fh.write(mark)
            fh.flush()
            os.fsync(fh.fileno())
        ranges = run_lvm("lvs", "-o", "seg_pe_ranges", f"{vg}/volume-{args['id']}")["lv"][0]["seg_pe_ranges"]
        first_pe = int(ranges.split(":")[1].split("-")[0])
        vg_row = run_lvm("vgs", "-o", "vg_extent_size", vg)["vg"][0]
        pv_row = run_lvm("pvs", "-o", "pe_start", loop_vg["pv"])["pv"][0]
        offset = int(pv_row["pe_start"]) + first_pe * int(vg_row["vg_extent_size"])
        with open(loop_vg["pv"], "rb") as fh:
            fh.seek(offset)
            assert fh.read(len(mark)) == mark  # the offset is right
        gone = run_module("volume", {**args, "state": "absent"})
        assert gone.changed and any(a.startswith("cleared ") for a in gone["actions"]), gone
        with open(loop_vg["pv"], "rb") as fh:
            fh.seek(offset)
            assert fh.read(len(mark)) == bytes(len(mark))
    else:
        gone = run_module("volume", {**args, "state": "absent"})
        assert gone.changed and any("activation is off" in a for a in gone["actions"]), gone
    assert lvs(vg) == {}


def run_lvm(tool: str, *args: str) -> dict:
    out = subprocess.run(
        [tool, "--reportformat", "json", "--units", "b", "--nosuffix", *args],
        capture_output=True, text=True, check=True, env=LVM_ENV,
    ).stdout
    return json.loads(out)["report"][0]
