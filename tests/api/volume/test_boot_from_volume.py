"""Boot from volume through Nova's block device mapping, with the real ``openstack`` CLI.

One cloud for the module (on the first of ``STRATUS_TEST_BACKENDS``): host ``c1`` is this machine as both the compute host (the
system libvirtd) and the storage host (a file backend in a fresh /var/tmp directory).
One guest boots whole (the tiny image's console marker): ``server create
--boot-from-volume 1 --image tiny --delete-on-termination``; deleting it deletes the
volume. A second server starts with ``--volume`` from an existing bootable volume (made
while the first builds) and is deleted once ACTIVE (its volume comes back
``available``, its data kept). The refusals (bad mappings, another project's
volume, a volume in use) answer Nova's 400s and change nothing. Every domain, instance
directory, volume file and cached image is removed at the end, also on failure.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from stratus.db.models.volume import Volume, VolumeAttachment
from stratus.db.session import Database
from tests.api.compute.servers_helpers import Nova, add_flavors, fault
from tests.api.compute.test_servers_boot import upload_qcow2, wait_status
from tests.helpers.guest_console import GuestConsole
from tests.integration.compute.actions_guest import remove_images
from tests.integration.pipeline.conftest import sync_hosts

pytestmark = [pytest.mark.api, pytest.mark.block_storage, pytest.mark.compute]

URI = "qemu:///system"
INSTANCES = Path("/var/lib/stratus/instances")


def _remove_guest(server_id: str) -> None:
    conn = libvirt.open(URI)
    try:
        with contextlib.suppress(libvirt.libvirtError):
            dom = conn.lookupByName(f"instance-{server_id}")
            with contextlib.suppress(libvirt.libvirtError):
                dom.destroy()
            dom.undefine()
    finally:
        conn.close()
    shutil.rmtree(INSTANCES / server_id, ignore_errors=True)


@pytest.fixture(scope="module")
def cloud(request, tmp_path_factory, guest_image, libvirt_daemon):
    from tests.api.conftest import _backends, _Factory

    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    vdir = Path(f"/var/tmp/stratus-vol-{uuid.uuid4().hex[:8]}")
    vdir.mkdir(mode=0o755)
    stack.callback(shutil.rmtree, vdir, ignore_errors=True)
    factory = _Factory(request, tmp_path_factory.mktemp("bfv"))
    stack.callback(factory.close)
    ctl = factory(_backends()[0])  # one guest boot: the first backend asked for
    servers: list[str] = []
    stack.callback(lambda: [_remove_guest(s) for s in servers])
    sync_hosts(ctl, tmp_path_factory.mktemp("hosts"),
               {"c1": {"ansible_connection": "local", "stratus_volume_dir": str(vdir),
                       "stratus_volume_vg": f"stv-none-{uuid.uuid4().hex[:6]}"}},
               ["compute", "block_storage"])
    ctl.stratus("host", "refresh")
    add_flavors(ctl)
    image_id = upload_qcow2(ctl, Path(guest_image["qcow2"]))
    stack.callback(remove_images, image_id)
    ctl.bfv = {"dir": vdir, "image": image_id, "servers": servers,
               "member": ctl.new_project_user("member", prefix="bfv"),
               "other": ctl.new_project_user("member", prefix="bfvo")}
    return ctl


def rows(ctl, model, **where) -> list:
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            out = [r for r in s.query(model).filter_by(**where)]
            for r in out:
                s.expunge(r)
            return out
    finally:
        db.dispose()


def volume(ctl, volume_id: str) -> Volume | None:
    found = rows(ctl, Volume, id=volume_id)
    return found[0] if found else None


def wait_volume(ctl, volume_id: str, status: str | None, timeout: float = 120) -> None:
    import time

    deadline, got = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        v = volume(ctl, volume_id)
        got = v.status if v is not None else None
        if got == status:
            return
        assert got not in ("error", "error_deleting"), (volume_id, v.status_reason)
        time.sleep(0.3)
    raise AssertionError(f"volume {volume_id} is {got}, not {status}, after {timeout}s")


def root_source(server_id: str) -> tuple[str, str]:
    conn = libvirt.open(URI)
    try:
        xml = conn.lookupByName(f"instance-{server_id}").XMLDesc(0)
    finally:
        conn.close()
    disk = next(d for d in ET.fromstring(xml).findall("devices/disk") if d.find("target").get("dev") == "vda")
    return disk.find("source").get("file"), disk.findtext("serial")


def test_boot_from_volume_with_the_cli_image_to_volume_then_an_existing_volume(cloud):
    ctl, member = cloud, cloud.bfv["member"]
    nova = Nova(ctl, member, version="2.79")
    # a bootable volume for the second server, made while the first one builds
    made = ctl.cli("volume", "create", "--image", cloud.bfv["image"], "--size", "1", "-f", "json", "boot-me",
                   creds=member)
    created = ctl.cli("server", "create", "--boot-from-volume", "1", "--image", cloud.bfv["image"],
                      "--flavor", "m1.micro", "--nic", "none", "--delete-on-termination",
                      "-f", "json", "bfv-one", creds=member)
    sid = created["id"]
    cloud.bfv["servers"].append(sid)
    server = wait_status(nova, sid, "ACTIVE")
    (att,) = rows(ctl, VolumeAttachment, instance_uuid=sid)
    vid = att.volume_id
    assert att.mountpoint == "/dev/vda" and att.attach_status == "attached" and att.delete_on_termination
    vol_file = cloud.bfv["dir"] / f"volume-{vid}"
    assert root_source(sid) == (str(vol_file), vid)  # the guest's root disk is the volume
    assert not (INSTANCES / sid / "disk").exists()  # no image overlay
    with GuestConsole(f"instance-{sid}") as con:  # the one guest boot of the module
        con.wait_for(r"STRATUS-GUEST ready", timeout=240)
    assert server["image"] == ""
    assert server["os-extended-volumes:volumes_attached"] == [{"id": vid, "delete_on_termination": True}]
    shown = ctl.cli("server", "show", sid, "-f", "json", creds=member)
    assert shown["image"] == "N/A (booted from volume)"
    assert vid in str(shown["volumes_attached"])
    v = volume(ctl, vid)
    assert (v.status, v.bootable, v.project_id, v.size) == ("in-use", True, member.project_id, 1)

    # an in-use volume cannot be another server's root disk (Nova's 400), nothing changes
    before = len(nova("GET", "/servers").json()["servers"])
    r = nova("POST", "/servers", json={"server": {
        "name": "x", "flavorRef": "84", "networks": "none", "imageRef": "",
        "block_device_mapping_v2": [{"uuid": vid, "source_type": "volume", "destination_type": "volume",
                                     "boot_index": 0}]}})
    assert f"volume '{vid}' status must be 'available'. Currently in 'in-use'" in fault(r, 400)
    assert len(nova("GET", "/servers").json()["servers"]) == before
    assert volume(ctl, vid).status == "in-use"
    # the image-backed root disk's actions refuse a volume-backed server, nothing changes
    images = len(ctl.request("GET", "/image/v2/images", token=ctl.token(member)).json()["images"])
    r = nova("POST", f"/servers/{sid}/action", json={"createImage": {"name": "snap"}})
    assert "snapshot its volume" in fault(r, 400)
    r = nova("POST", f"/servers/{sid}/action", json={"rebuild": {"imageRef": cloud.bfv["image"]}})
    assert "volume-backed" in fault(r, 400)
    assert len(ctl.request("GET", "/image/v2/images", token=ctl.token(member)).json()["images"]) == images
    assert nova.show(sid)["status"] == "ACTIVE" and nova.show(sid)["image"] == ""

    ctl.cli("server", "delete", "--wait", sid, creds=member)
    wait_volume(ctl, vid, None)  # delete_on_termination: the volume goes with the server
    assert not vol_file.exists() and not rows(ctl, VolumeAttachment, volume_id=vid)

    # --volume: an existing bootable volume; deleted once ACTIVE, it is available again
    own = made["id"]
    wait_volume(ctl, own, "available")
    created = ctl.cli("server", "create", "--volume", own, "--flavor", "m1.micro", "--nic", "none",
                      "-f", "json", "bfv-two", creds=member)
    sid = created["id"]
    cloud.bfv["servers"].append(sid)
    server = wait_status(nova, sid, "ACTIVE")
    assert server["image"] == ""
    assert server["os-extended-volumes:volumes_attached"] == [{"id": own, "delete_on_termination": False}]
    assert root_source(sid) == (str(cloud.bfv["dir"] / f"volume-{own}"), own)
    assert volume(ctl, own).status == "in-use"
    ctl.cli("server", "delete", "--wait", sid, creds=member)
    wait_volume(ctl, own, "available")
    assert (cloud.bfv["dir"] / f"volume-{own}").exists() and not rows(ctl, VolumeAttachment, volume_id=own)

    # another project's volume is not found for the boot (Nova's 400), nothing changes
    other = Nova(ctl, cloud.bfv["other"], version="2.79")
    r = other("POST", "/servers", json={"server": {
        "name": "x", "flavorRef": "84", "networks": "none",
        "block_device_mapping_v2": [{"uuid": own, "source_type": "volume", "destination_type": "volume",
                                     "boot_index": 0}]}})
    assert f"Block Device Mapping is Invalid: failed to get volume {own}." in fault(r, 400)
    assert other("GET", "/servers").json()["servers"] == []
    assert volume(ctl, own).status == "available"
    ctl.cli("volume", "delete", own, creds=member)
    wait_volume(ctl, own, None)


@pytest.mark.parametrize("bdm, words", [
    ([{"uuid": "IMAGE", "source_type": "image", "destination_type": "volume", "boot_index": 0}],
     "Images with destination_type 'volume' need to have a non-zero size specified"),
    ([{"uuid": "IMAGE", "source_type": "disk", "destination_type": "volume", "boot_index": 0,
       "volume_size": 1}], "Block Device Mapping is Invalid: Invalid source_type field."),
    ([{"source_type": "volume", "destination_type": "volume", "boot_index": 0}],
     "Block Device Mapping is Invalid: Missing device UUID."),
    ([{"uuid": "IMAGE", "source_type": "image", "destination_type": "volume", "boot_index": 0, "volume_size": 1},
      {"uuid": "IMAGE", "source_type": "image", "destination_type": "volume", "boot_index": 0, "volume_size": 1}],
     "Boot sequence for the instance and image/block device mapping combination is not valid."),
    ([{"uuid": "IMAGE", "source_type": "image", "destination_type": "volume", "boot_index": "x",
       "volume_size": 1}], "Block Device Mapping is Invalid: Boot index is invalid."),
    ([{"uuid": "IMAGE", "source_type": "image", "destination_type": "volume", "boot_index": 0,
       "volume_size": -1}], "Block Device Mapping is Invalid: Invalid volume_size."),
    ([{"uuid": "IMAGE", "source_type": "image", "destination_type": "volume", "boot_index": 0,
       "volume_size": 1, "delete_on_termination": "maybe"}], "delete_on_termination"),
])
def test_bad_mappings_are_refused_and_nothing_is_made(cloud, bdm, words):
    ctl, member = cloud, cloud.bfv["member"]
    nova = Nova(ctl, member, version="2.79")
    servers = len(nova("GET", "/servers").json()["servers"])
    volumes = len(rows(ctl, Volume, project_id=member.project_id))
    bdm = [{k: (cloud.bfv["image"] if v == "IMAGE" else v) for k, v in e.items()} for e in bdm]
    r = nova("POST", "/servers", json={"server": {"name": "bad", "flavorRef": "84", "networks": "none",
                                                  "block_device_mapping_v2": bdm}})
    assert words in fault(r, 400)
    assert len(nova("GET", "/servers").json()["servers"]) == servers
    assert len(rows(ctl, Volume, project_id=member.project_id)) == volumes
