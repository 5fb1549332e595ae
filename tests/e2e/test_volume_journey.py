"""A volume's life through the volume API, as its users drive it: the `openstack` CLI
against a live controller whose one host is both the compute host (this machine's
libvirt, QEMU/TCG) and the storage host (a file backend in a fresh /var/tmp directory
and an LVM backend on a loop VG).

A project member makes a volume from the tiny image, attaches it to a running server
(the guest finds a disk with the volume's serial and the image's bytes on it, and
writes a marker), detaches it (the guest loses the disk), extends it, snapshots it and
makes a second volume from the snapshot (the same bytes, marker included), uploads that
volume to the image service (an active image with the volume's data), and boots a
server from a volume. An LVM volume is made and deleted where this host allows (LVM
metadata without device-mapper). Everything deleted leaves no LV, no volume file and no
NBD export. (Refusals, tenant isolation and quotas: tests/api/volume/.)"""

from __future__ import annotations

import hashlib
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.storage.nbd import NBDExporter
from ansible_collections.stratus.cloud.plugins.module_utils.storage.runner import make_runner
from tests.api.conftest import _Factory
from tests.api.volume.volume_helpers import host_objects, storage_cloud
from tests.helpers.guest_console import GuestConsole
from tests.integration.compute.actions_guest import cleanup, remove_images
from tests.integration.pipeline.conftest import sync_hosts
from tests.integration.storage.conftest import sh
from tests.integration.storage.test_guests import find_dev

pytestmark = [pytest.mark.e2e, pytest.mark.api, pytest.mark.block_storage]

EXPORTS = "/var/lib/stratus/exports"
MiB = 1024**2
MARK_AT = 900  # MiB into the volume: past the image's bytes, inside 1 GiB


@pytest.fixture(scope="module")
def cloud(request, tmp_path_factory):
    """A controller whose host ``st1`` (this machine) is a compute and a storage host."""
    tmp = tmp_path_factory.mktemp("voljourney")
    factory = _Factory(request, tmp)
    request.addfinalizer(factory.close)
    ctl = storage_cloud(factory, tmp, request, lvm=True, activation="auto")
    host_vars = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
                 "stratus_volume_dir": ctl.storage["dir"], "stratus_volume_vg": ctl.storage["vg"],
                 "stratus_lvm_activation": "auto"}
    sync_hosts(ctl, tmp, {ctl.storage["host"]: host_vars}, ["compute", "block_storage"])
    ctl.stratus("host", "refresh")
    return ctl


def wait_status(cloud, creds, kind: str, ref: str, status: str, timeout: float = 120) -> dict:
    """``openstack <kind> show`` until ``status`` (an error status fails at once)."""
    deadline = time.monotonic() + timeout
    got: dict = {}
    while time.monotonic() < deadline:
        got = cloud.cli(kind, "show", ref, "-f", "json", creds=creds)
        if got["status"] == status:
            return got
        if got["status"].startswith("error"):
            from tests.api.volume.volume_helpers import _why

            why = _why(cloud, got["id"]) if kind == "volume" else ""
            raise AssertionError(f"{kind} {ref} went to {got['status']} ({why}): {got}")
        time.sleep(0.5)
    raise AssertionError(f"{kind} {ref} not {status} after {timeout}s: {got}")


def head_md5(path: str, size: int = MiB) -> str:
    with open(path, "rb") as fh:
        return hashlib.md5(fh.read(size), usedforsecurity=False).hexdigest()


def test_a_volume_lives_and_dies_through_the_cli(cloud, guest_image, request, tmp_path):
    member = cloud.new_project_user("member", prefix="voljourney")
    tag = uuid.uuid4().hex[:6]
    vol_dir = Path(cloud.storage["dir"])
    cli = cloud.cli

    image = cli("image", "create", f"tiny-{tag}", "--public", "--disk-format", "raw", "--container-format",
                "bare", "--file", guest_image["raw"], "-f", "json")
    request.addfinalizer(lambda: remove_images(image["id"]))
    cli("flavor", "create", f"vj.small-{tag}", "--vcpus", "1", "--ram", "128", "--disk", "1")
    cli("volume", "type", "create", "--property", "volume_backend_name=lvm", f"lvm-{tag}")

    # a volume from the tiny image, on the file backend (its data is read and written here)
    vol = cli("volume", "create", "--image", image["id"], "--size", "1", f"data-{tag}", "-f", "json",
              creds=member)
    vid = vol["id"]
    vol = wait_status(cloud, member, "volume", vid, "available")
    assert str(vol["bootable"]).lower() == "true" and vol["size"] == 1
    vfile = vol_dir / f"volume-{vid}"
    assert head_md5(str(vfile)) == head_md5(guest_image["raw"])

    server = cli("server", "create", f"vj-{tag}", "--image", image["id"], "--flavor", f"vj.small-{tag}",
                 "--nic", "none", "--wait", "-f", "json", creds=member)
    sid = server["id"]
    request.addfinalizer(lambda: cleanup(sid))
    with GuestConsole(f"instance-{sid}") as con:
        con.wait_for(r"STRATUS-GUEST ready", timeout=300)
        assert find_dev(con, vid, present=False) == ""

        # attached: the guest sees a disk with the volume's serial holding the image's bytes
        cli("server", "add", "volume", sid, vid, creds=member)
        vol = wait_status(cloud, member, "volume", vid, "in-use")
        (att,) = vol["attachments"]
        assert att["server_id"] == sid and att["device"] == "/dev/vdb"
        dev = find_dev(con, vid)
        assert dev, "the guest did not see the attached volume"
        rc, out = con.run(f"dd if=/dev/{dev} bs=1M count=1 2>/dev/null | md5sum")
        assert rc == 0 and out.split()[0] == head_md5(guest_image["raw"]), out
        marker = f"VJ-{tag}"
        rc, out = con.run(f"echo {marker} | dd of=/dev/{dev} bs=1M seek={MARK_AT} conv=fsync 2>/dev/null; sync")
        assert rc == 0, out
        rc, out = con.run(f"dd if=/dev/{dev} bs=1M skip={MARK_AT} count=1 2>/dev/null | head -n 1")
        assert out.strip() == marker

        # detached: the disk leaves the guest, the volume is free again
        cli("server", "remove", "volume", sid, vid, creds=member)
        wait_status(cloud, member, "volume", vid, "available")
        assert find_dev(con, vid, present=False) == ""
    with open(vfile, "rb") as fh:
        fh.seek(MARK_AT * MiB)
        assert fh.read(len(marker)).decode() == marker
    cli("server", "delete", sid, creds=member)  # its guest is done: one QEMU at a time on TCG

    # extended (detached), snapshotted; a second volume from the snapshot holds the same data
    cli("volume", "set", "--size", "2", vid, creds=member)
    assert wait_status(cloud, member, "volume", vid, "available")["size"] == 2
    snap = cli("volume", "snapshot", "create", "--volume", vid, f"snap-{tag}", "-f", "json", creds=member)
    wait_status(cloud, member, "volume snapshot", snap["id"], "available")
    copy = cli("volume", "create", "--snapshot", snap["id"], f"copy-{tag}", "-f", "json", creds=member)
    copy = wait_status(cloud, member, "volume", copy["id"], "available")
    assert copy["size"] == 2
    same = sh("qemu-img", "compare", "-q", "-f", "raw", "-F", "raw", str(vfile),
              str(vol_dir / f"volume-{copy['id']}"), check=False)
    assert same.returncode == 0, same.stdout + same.stderr

    # uploaded to the image service: an active image with the copy's data
    up = cli("image", "create", "--volume", copy["id"], "--disk-format", "qcow2", f"fromvol-{tag}",
             "-f", "json", creds=member)
    request.addfinalizer(lambda: remove_images(up["image_id"]))
    assert up["status"] == "uploading"
    wait_status(cloud, member, "volume", copy["id"], "available")
    uploaded = wait_status(cloud, member, "image", up["image_id"], "active")
    assert uploaded["disk_format"] == "qcow2"
    saved = tmp_path / "fromvol.qcow2"
    cli("image", "save", "--file", str(saved), up["image_id"], creds=member)
    same = sh("qemu-img", "compare", "-q", "-f", "raw", "-F", "qcow2",
              str(vol_dir / f"volume-{copy['id']}"), str(saved), check=False)
    assert same.returncode == 0, same.stdout + same.stderr

    # a server booted from a volume (made from the image by the compute API)
    booted = cli("server", "create", f"vjb-{tag}", "--image", image["id"], "--boot-from-volume", "1",
                 "--flavor", f"vj.small-{tag}", "--nic", "none", "--wait", "-f", "json", creds=member)
    bid = booted["id"]
    request.addfinalizer(lambda: cleanup(bid))
    assert booted["status"] == "ACTIVE" and booted["image"] == "N/A (booted from volume)"
    (root,) = cli("server", "show", bid, "-f", "json", creds=member)["volumes_attached"]
    root_vol = cli("volume", "show", root["id"], "-f", "json", creds=member)
    assert root_vol["status"] == "in-use" and root_vol["attachments"][0]["device"] == "/dev/vda"
    # the guest runs on the volume: its first disk is the volume's file, and it boots from it
    xml = subprocess.run(["virsh", "-c", "qemu:///system", "dumpxml", f"instance-{bid}"],
                         capture_output=True, text=True, check=True).stdout
    assert f"{vol_dir}/volume-{root['id']}" in xml.split("</disk>")[0]
    with GuestConsole(f"instance-{bid}") as con:
        con.wait_for(r"STRATUS-GUEST ", timeout=300)  # its first marker: the kernel ran from the volume

    # an LVM volume (metadata only where this host has no device-mapper)
    lv = cli("volume", "create", "--type", f"lvm-{tag}", "--size", "1", f"lv-{tag}", "-f", "json", creds=member)
    wait_status(cloud, member, "volume", lv["id"], "available")
    assert f"volume-{lv['id']}" in host_objects(cloud)["lvs"]

    # everything deleted: no LV, no volume file, no export
    cli("server", "delete", "--wait", bid, creds=member)
    made = [vid, copy["id"], root["id"], lv["id"]]
    cli("volume", "snapshot", "delete", snap["id"], creds=member)
    deadline = time.monotonic() + 60
    while cli("volume", "snapshot", "list", "-f", "json", creds=member) and time.monotonic() < deadline:
        time.sleep(0.5)
    cli("volume", "delete", *made, creds=member)
    deadline = time.monotonic() + 120
    while cli("volume", "list", "-f", "json", creds=member) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert cli("volume", "list", "-f", "json", creds=member) == []
    assert host_objects(cloud) == {"files": [], "lvs": []}
    exporter = NBDExporter(make_runner(), EXPORTS)
    assert not [e for v in made for e in exporter.exports_of(v)]
    domains = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"],
                             capture_output=True, text=True, check=True).stdout
    assert f"instance-{sid}" not in domains and f"instance-{bid}" not in domains
