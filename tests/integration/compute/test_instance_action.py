"""stratus.cloud.instance_action against real libvirtd + QEMU (TCG), without waiting on a boot.

The module's contract — check mode, idempotence, diffs, its refusals, the files and the
domain XML each action leaves — is checked here on one defined, stopped guest (and one
the instance module made). What a booted guest sees is checked where a guest boots
anyway, through the API on one shared server (CI time: this file booted seven guests):

- soft reboot by ACPI (method ``soft``, a new QEMU process), hard reboot, rescue with the
  server's own disk seen by the guest as vdb and gone after unrescue, rebuild on
  another image, console tail: tests/api/compute/test_actions_guest.py;
- snapshot of a running guest (blockcopy) into a standalone image and a server booted
  from it: tests/e2e/test_compute_journey.py;
- snapshot of a stopped guest through shelve/unshelve: tests/api/compute/test_moves_boot.py;
- the soft reboot's fallback to hard, blockcopy's steps: tests/unit/compute/test_actions.py.
"""

from __future__ import annotations

import json
import subprocess
import uuid as uuidlib

import libvirt
import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.paths import (
    IMAGES_DIR,
    InstancePaths,
    domain_name,
)
from tests.helpers.ansible import run_module
from tests.helpers.libvirt_node import libvirt_node1  # noqa: F401 (fixture)
from tests.integration.compute.actions_guest import (
    cache_image,
    cleanup,
    make_bridge,
    make_guest,
    remove_bridge,
    remove_images,
)
from tests.integration.pipeline.test_server_on_placed_host import iso_file

pytestmark = [pytest.mark.compute, pytest.mark.slow]

# The guests are defined under a libvirtd of this test's own (tests/helpers/libvirt_node.py)
# that shares /var/lib/stratus with this host; see its docstring for why not qemu:///system.
URI = "qemu:///system"


@pytest.fixture(scope="module")
def env(request, guest_image):
    global URI
    URI = request.getfixturevalue("libvirt_node1").uri
    bridge = make_bridge()
    image = cache_image(guest_image["qcow2"])
    other = cache_image(guest_image["qcow2"], prefix="test-img-other")
    guest = make_guest(image, hostname="act-guest", bridge=bridge)
    made = {"uuids": [guest.uuid], "images": [image, other]}
    try:
        drv = LibvirtDriver(URI)
        drv.define(guest)  # defined, never started: nothing here waits on a boot
        drv.close()
        yield {"guest": guest, "image": image, "other": other, "made": made, "bridge": bridge}
    finally:
        for uuid in made["uuids"]:
            cleanup(uuid, URI)
        remove_images(*made["images"])
        remove_bridge(bridge)


def act(uuid: str, action: str, check: bool = False, **args):
    return run_module("instance_action", {"uuid": uuid, "action": action, "uri": URI, **args}, check=check)


def dom_state(name: str):
    conn = libvirt.open(URI)
    try:
        dom = conn.lookupByName(name)
        return dom.ID(), dom.isActive(), dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    finally:
        conn.close()


def qemu_info(path) -> dict:
    return json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)],
                                     check=True, capture_output=True, text=True).stdout)


def test_bad_input_leaves_guest_as_it_was(env):
    g = env["guest"]
    before = dom_state(g.name)
    res = act(str(uuidlib.uuid4()), "reboot")
    assert res.failed and "has no domain" in res.msg
    res = act(g.uuid, "reboot", lines=3)
    assert res.failed and "lines does not apply to action reboot" in res.msg
    res = act(g.uuid, "reboot", reboot_type="soft")
    assert res.failed and "a soft reboot needs a running guest" in res.msg
    res = act(g.uuid, "snapshot")
    assert res.failed and "needs image_id" in res.msg
    res = act(g.uuid, "rebuild", image_id="no-such-image")
    assert res.failed and "not in the image cache" in res.msg
    res = act(g.uuid, "migrate", dest_uri="qemu+tcp://127.0.0.1:1/system")
    assert res.failed and "cannot reach the destination host" in res.msg
    assert "not touched" in res.msg
    assert dom_state(g.name) == before
    assert before[1] == 0  # still stopped


def test_snapshot_stopped_is_a_standalone_copy(env):
    g = env["guest"]
    snap = f"snap-stopped-{uuidlib.uuid4().hex[:8]}"
    env["made"]["images"].append(snap)
    check = act(g.uuid, "snapshot", check=True, image_id=snap)
    assert check.changed and check["details"]["method"] == "qemu-img convert"
    assert not (IMAGES_DIR / snap).exists()
    res = act(g.uuid, "snapshot", image_id=snap)
    assert res.changed and not res.failed, res.msg
    assert res["details"]["method"] == "qemu-img convert"
    info = qemu_info(IMAGES_DIR / snap)
    assert info["format"] == "qcow2" and "backing-filename" not in info  # standalone
    # the same bytes as the guest's disk (overlay + base): a guest boots from it as from its own
    disk = InstancePaths.for_uuid(g.uuid).disk
    subprocess.run(["qemu-img", "compare", "-U", str(disk), str(IMAGES_DIR / snap)], check=True,
                   capture_output=True)
    assert not act(g.uuid, "snapshot", image_id=snap).changed
    foreign = act(g.uuid, "snapshot", image_id=env["other"])
    assert foreign.failed and "already exists" in foreign.msg
    assert not dom_state(g.name)[1]


def test_rebuild_keeps_identity(env):
    g = env["guest"]
    macs_before = [i.mac for i in g.interfaces]
    check = act(g.uuid, "rebuild", check=True, image_id=env["other"])
    assert check.changed and check["instance"]["image_id"] == env["other"]
    assert f"uuid='{env['image']}'" in dom_state(g.name)[2].replace('"', "'")  # not yet
    res = act(
        g.uuid,
        "rebuild",
        image_id=env["other"],
        timeout=1,
        config_drive={"meta_data": {"name": "rebuilt", "hostname": "act-rebuilt"}},
    )
    assert res.changed and not res.failed, res.msg
    inst = res["instance"]
    assert inst["image_id"] == env["other"] and inst["macs"] == macs_before
    assert inst["power_state"] == "stopped"  # it ends in the power state it had
    _, active, xml = dom_state(g.name)
    assert not active
    assert g.uuid in xml and domain_name(g.uuid) in xml and env["other"] in xml
    paths = InstancePaths.for_uuid(g.uuid)
    assert qemu_info(paths.disk)["backing-filename"] == str(IMAGES_DIR / env["other"])
    meta = json.loads(iso_file(paths.config_drive, "/openstack/latest/meta_data.json"))
    assert meta["hostname"] == "act-rebuilt" and meta["uuid"] == g.uuid


def test_rescue_and_unrescue(env):
    g = env["guest"]
    paths = InstancePaths.for_uuid(g.uuid)
    check = act(g.uuid, "rescue", check=True)
    assert check.changed and not (paths.directory / "unrescue.xml").exists()
    res = act(g.uuid, "rescue")
    assert res.changed and not res.failed, res.msg
    assert res["instance"]["rescued"] is True
    assert res["instance"]["disks"]["vda"] == str(paths.directory / "disk.rescue")
    assert res["instance"]["disks"]["vdb"] == str(paths.disk)
    assert "<domain" in res["diff"]["before"]["xml"] and res["diff"]["after"]["xml"] != res["diff"]["before"]["xml"]
    assert dom_state(g.name)[1]  # the rescue image runs (what the guest sees: the API test)
    again = act(g.uuid, "rescue")
    assert not again.failed and not again.changed
    refused = act(g.uuid, "snapshot", image_id=f"snap-rescued-{uuidlib.uuid4().hex[:8]}")
    assert refused.failed and "unrescue it before a snapshot" in refused.msg
    res = act(g.uuid, "unrescue")
    assert res.changed and res["instance"]["rescued"] is False
    assert res["instance"]["disks"]["vda"] == str(paths.disk)
    assert "vdb" not in res["instance"]["disks"]
    assert not (paths.directory / "disk.rescue").exists()
    assert not act(g.uuid, "unrescue").changed
    LibvirtDriver(URI).destroy(g.name)


def test_acts_on_a_guest_made_by_the_instance_module(env):
    """The instance module's layout and XML are what the actions expect."""
    uuid = str(uuidlib.uuid4())
    env["made"]["uuids"].append(uuid)
    made = run_module("instance", {
        "uuid": uuid, "image_id": env["image"], "display_name": "act-interop",
        "hostname": "act-interop", "memory_mb": 128, "root_gb": 1, "state": "stopped",
        "uri": URI,
    })
    assert not made.failed, made.msg
    snap = f"snap-interop-{uuidlib.uuid4().hex[:8]}"
    env["made"]["images"].append(snap)
    res = act(uuid, "snapshot", image_id=snap)
    assert res.changed and not res.failed, res.msg
    assert res["details"]["virtual_size"] == 1 << 30
    check = act(uuid, "rescue", check=True)
    assert check.changed and check["instance"]["disks"]["vdb"] == str(InstancePaths.for_uuid(uuid).disk)
    assert not (InstancePaths.for_uuid(uuid).directory / "unrescue.xml").exists()
