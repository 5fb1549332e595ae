"""A volume attached to a running server with the ``openstack`` CLI, seen by the guest,
detached, and the server's delete taking a ``delete_on_termination`` volume with it.

One host ``c1`` is both the compute host (the system libvirtd, the tiny guest booted
through the compute API) and the storage host (a file backend in /var/tmp). Inside the
guest the volume is the virtio disk whose serial is the volume id's first 20
characters, and its name is the device Nova reported (``/dev/vdb`` for the first volume
of a server with only a root disk)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import libvirt
import pytest

from tests.api.compute.servers_helpers import Nova, add_flavors
from tests.api.compute.test_servers_boot import upload_qcow2, wait_status
from tests.api.volume.volume_helpers import Cinder, fault, host_objects, storage_cloud, wait_volume
from tests.helpers.daemons import Daemons
from tests.helpers.guest_console import GuestConsole
from tests.integration.compute.actions_guest import remove_images
from tests.integration.pipeline.conftest import sync_hosts
from tests.integration.storage.test_guests import find_dev, read_marker, write_marker

pytestmark = [pytest.mark.api, pytest.mark.block_storage, pytest.mark.compute, pytest.mark.slow]

READY = r"STRATUS-GUEST ready"


def domain_disks(server_id: str) -> dict[str, str]:
    """{volume serial: target} of the guest's live domain XML."""
    import xml.etree.ElementTree as ET

    conn = libvirt.open("qemu:///system")
    try:
        root = ET.fromstring(conn.lookupByName(f"instance-{server_id}").XMLDesc(0))
    finally:
        conn.close()
    return {d.findtext("serial"): d.find("target").get("dev")
            for d in root.findall("./devices/disk") if d.findtext("serial")}


@pytest.fixture(scope="module")
def cloud(module_factory, tmp_path_factory, request, guest_image):
    """The controller, a member's server ACTIVE on c1 and its console (ready)."""
    Daemons().ensure_libvirt()
    tmp = tmp_path_factory.mktemp("attguest")
    ctl = storage_cloud(module_factory, tmp, request, host="c1")
    sync_hosts(ctl, tmp, {"c1": {"ansible_connection": "local", "stratus_volume_dir": ctl.storage["dir"],
                                 "stratus_lvm_activation": "off"}}, ["compute", "block_storage"])
    ctl.stratus("host", "refresh")
    add_flavors(ctl)
    image_id = upload_qcow2(ctl, Path(guest_image["qcow2"]))
    request.addfinalizer(lambda: remove_images(image_id))
    member = ctl.new_project_user("member", prefix="attg")
    nova = Nova(ctl, member, version="2.79")
    sid = nova.create(name="att-guest", imageRef=image_id, networks="none")["server"]["id"]

    def gone():
        nova("DELETE", f"/servers/{sid}")
        try:
            wait_status(nova, sid, "gone", timeout=120)
        finally:  # the guest never outlives the test
            subprocess.run(["virsh", "-c", "qemu:///system", "destroy", f"instance-{sid}"], capture_output=True)
            subprocess.run(["virsh", "-c", "qemu:///system", "undefine", f"instance-{sid}"], capture_output=True)

    request.addfinalizer(gone)
    wait_status(nova, sid, "ACTIVE")
    con = GuestConsole(f"instance-{sid}")
    con.__enter__()
    request.addfinalizer(lambda: con.__exit__(None, None, None))
    con.wait_for(READY, timeout=300)
    ctl.member, ctl.nova, ctl.sid, ctl.con = member, nova, sid, con
    return ctl


def test_cli_attach_the_guest_sees_it_detach_and_delete_on_termination(cloud):
    ctl, sid, con, nova = cloud, cloud.sid, cloud.con, cloud.nova
    cinder = Cinder(ctl, ctl.member, version="3.27")
    vol = ctl.cli("volume", "create", "--size", "1", "data", "-f", "json", creds=ctl.member)
    vid = vol["id"]
    wait_volume(ctl, vid, "available", token=cinder.token)

    out = ctl.cli("server", "add", "volume", sid, vid, "-f", "json", creds=ctl.member)
    assert out["Device"] == "/dev/vdb" and out["Volume ID"] == vid, out
    shown = wait_volume(ctl, vid, "in-use", token=cinder.token)
    assert [(a["server_id"], a["device"]) for a in shown["attachments"]] == [(sid, "/dev/vdb")]
    listed = nova("GET", f"/servers/{sid}/os-volume_attachments").json()["volumeAttachments"]
    assert listed == [{"id": vid, "volumeId": vid, "serverId": sid, "device": "/dev/vdb", "tag": None,
                       "delete_on_termination": False}]
    assert nova.show(sid)["os-extended-volumes:volumes_attached"] == [{"id": vid, "delete_on_termination": False}]
    # the guest: a disk whose serial is the volume's, named as Nova reported it
    assert domain_disks(sid)[vid] == "vdb"
    assert find_dev(con, vid) == "vdb"
    write_marker(con, "vdb", "STRATUS-VOLUME-DATA")
    assert read_marker(con, "vdb") == "STRATUS-VOLUME-DATA"

    # attached: not attachable again, not deletable (Nova's and Cinder's words), nothing changes
    r = nova("POST", f"/servers/{sid}/os-volume_attachments", json={"volumeAttachment": {"volumeId": vid}})
    assert fault(r, 400) == f"Invalid volume: volume {vid} is already attached to instances: {sid}"
    assert fault(cinder("DELETE", f"/volumes/{vid}"), 400).startswith("Invalid volume: Volume status must be")
    assert cinder.show(vid)["status"] == "in-use"

    ctl.cli("server", "remove", "volume", sid, vid, creds=ctl.member)
    wait_volume(ctl, vid, "available", token=cinder.token)
    assert cinder.show(vid)["attachments"] == []
    assert nova("GET", f"/servers/{sid}/os-volume_attachments").json()["volumeAttachments"] == []
    assert vid not in domain_disks(sid)
    assert find_dev(con, vid, present=False) == ""
    # the data the guest wrote is in the volume on the storage host
    volume_file = Path(ctl.storage["dir"]) / next(f for f in host_objects(ctl)["files"] if vid in f)
    assert volume_file.read_bytes()[:19] == b"STRATUS-VOLUME-DATA"

    # attached again, to go with the server: its delete detaches, then deletes the volume
    r = nova("POST", f"/servers/{sid}/os-volume_attachments",
             json={"volumeAttachment": {"volumeId": vid, "delete_on_termination": True}})
    assert r.status_code == 200 and r.json()["volumeAttachment"]["device"] == "/dev/vdb", r.text
    wait_volume(ctl, vid, "in-use", token=cinder.token)
    assert find_dev(con, vid) == "vdb"
    assert nova("DELETE", f"/servers/{sid}").status_code == 204
    wait_status(nova, sid, "gone", timeout=120)
    wait_volume(ctl, vid, None, token=cinder.token)
    assert not any(vid in f for f in host_objects(ctl)["files"])
