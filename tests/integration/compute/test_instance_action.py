"""stratus.cloud.instance_action against real libvirtd + QEMU (TCG) guests.

One guest is shared by the module and walked through the actions in order (console
log, bad input, snapshot while running, soft and hard reboot, rescue/unrescue,
rebuild, snapshot while stopped); at the end two new guests boot from the two
snapshots. Boots are the cost here (TCG), so each test adds at most one.
"""

from __future__ import annotations

import json
import subprocess
import uuid as uuidlib
from concurrent.futures import ThreadPoolExecutor

import libvirt
import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute.paths import (
    IMAGES_DIR,
    InstancePaths,
    domain_name,
)
from tests.helpers.ansible import run_module
from tests.helpers.guest_console import GuestConsole
from tests.helpers.libvirt_node import libvirt_node1  # noqa: F401 (fixture)
from tests.integration.compute.actions_guest import (
    boot,
    cache_image,
    cleanup,
    make_bridge,
    make_guest,
    remove_bridge,
    remove_images,
)

pytestmark = [pytest.mark.compute, pytest.mark.slow]

READY = r"STRATUS-GUEST ready"
# The guests run under a libvirtd of this test's own (tests/helpers/libvirt_node.py) that
# shares /var/lib/stratus with this host; see its docstring for why not qemu:///system.
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
        boot(guest, URI)
        con = GuestConsole(guest.name, URI)
        con.wait_for(READY, timeout=180)
        con.close()
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


def fresh_boot(name: str, since_marker: str) -> GuestConsole:
    """The guest booted again: the mark typed before is gone (console.log starts anew
    with each QEMU process) and the ready marker is back."""
    con = GuestConsole(name, URI)
    con.wait_for(READY, timeout=180)
    assert since_marker not in con.read()
    return con


def mark(name: str) -> str:
    token = f"MARK-{uuidlib.uuid4().hex[:8]}"
    with GuestConsole(name, URI) as con:
        rc, out = con.run(f"echo {token} > /tmp/mark; cat /tmp/mark")
    assert rc == 0 and token in out
    return token


def test_console_log_tail(env):
    g = env["guest"]
    res = act(g.uuid, "console_log", lines=5)
    assert not res.failed, res.msg
    assert not res.changed
    assert len(res["lines"]) == 5
    full = act(g.uuid, "console_log", lines=1000)
    assert any("STRATUS-GUEST uuid=" + g.uuid in ln for ln in full["lines"])
    assert full["lines"][-5:] == res["lines"]


def test_bad_input_leaves_guest_as_it_was(env):
    g = env["guest"]
    before_id, _, before_xml = dom_state(g.name)
    res = act(str(uuidlib.uuid4()), "reboot")
    assert res.failed and "has no domain" in res.msg
    res = act(g.uuid, "reboot", lines=3)
    assert res.failed and "lines does not apply to action reboot" in res.msg
    res = act(g.uuid, "snapshot")
    assert res.failed and "needs image_id" in res.msg
    res = act(g.uuid, "rebuild", image_id="no-such-image")
    assert res.failed and "not in the image cache" in res.msg
    res = act(g.uuid, "migrate", dest_uri="qemu+tcp://127.0.0.1:1/system")
    assert res.failed and "cannot reach the destination host" in res.msg
    assert "not touched" in res.msg
    after_id, active, after_xml = dom_state(g.name)
    assert (after_id, active, after_xml) == (before_id, True, before_xml)


def test_snapshot_running(env):
    g = env["guest"]
    snap = f"snap-running-{uuidlib.uuid4().hex[:8]}"
    env["made"]["images"].append(snap)
    res = act(g.uuid, "snapshot", check=True, image_id=snap)
    assert res.changed and res["details"]["method"] == "blockcopy"
    assert not (IMAGES_DIR / snap).exists()
    res = act(g.uuid, "snapshot", image_id=snap)
    assert res.changed and not res.failed, res.msg
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", "-U", "--output=json", str(IMAGES_DIR / snap)],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    assert info["format"] == "qcow2" and "backing-filename" not in info  # standalone
    assert dom_state(g.name)[1]  # still running, no pivot: the guest keeps its disk
    assert f"<source file='{InstancePaths.for_uuid(g.uuid).disk}'" in dom_state(g.name)[2].replace('"', "'")
    again = act(g.uuid, "snapshot", image_id=snap)
    assert not again.failed and not again.changed
    foreign = act(g.uuid, "snapshot", image_id=env["other"])
    assert foreign.failed and "already exists" in foreign.msg
    env["snap_running"] = snap


def test_reboot_soft(env):
    g = env["guest"]
    token = mark(g.name)
    id_before = dom_state(g.name)[0]
    check = act(g.uuid, "reboot", check=True, reboot_type="soft", timeout=2)
    assert check.changed and dom_state(g.name)[0] == id_before
    # The test guest's acpid powers off on the ACPI button (the fallback to hard after
    # the timeout is covered in tests/unit/compute/test_actions.py).
    res = act(g.uuid, "reboot", reboot_type="soft", timeout=60)
    assert res.changed and not res.failed, res.msg
    assert res["details"]["method"] == "soft"
    assert dom_state(g.name)[0] != id_before
    with fresh_boot(g.name, token) as con:
        assert "STRATUS-GUEST power-button" not in con.read()  # the new boot's log


def test_reboot_hard(env):
    g = env["guest"]
    token = mark(g.name)
    id_before = dom_state(g.name)[0]
    res = act(g.uuid, "reboot", reboot_type="hard")
    assert res.changed and res["details"]["method"] == "hard"
    assert dom_state(g.name)[0] != id_before
    with fresh_boot(g.name, token) as con:
        rc, _ = con.run("test -e /tmp/mark")
        assert rc == 1  # tmpfs of the old boot is gone


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
    with GuestConsole(g.name, URI) as con:
        con.wait_for(READY, timeout=180)
        rc, out = con.run("cat /sys/block/vdb/size")  # the original root disk, second
        assert rc == 0 and int(out.split()[0]) > 0
    again = act(g.uuid, "rescue")
    assert not again.failed and not again.changed
    res = act(g.uuid, "unrescue")
    assert res.changed and res["instance"]["rescued"] is False
    assert res["instance"]["disks"]["vda"] == str(paths.disk)
    assert not (paths.directory / "disk.rescue").exists()
    with GuestConsole(g.name, URI) as con:
        con.wait_for(READY, timeout=180)
        rc, _ = con.run("test -e /sys/block/vdb")
        assert rc == 1
    assert not act(g.uuid, "unrescue").changed


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
    assert inst["power_state"] == "running"
    _, _, xml = dom_state(g.name)
    assert g.uuid in xml and domain_name(g.uuid) in xml and env["other"] in xml
    backing = json.loads(
        subprocess.run(
            ["qemu-img", "info", "-U", "--output=json", str(InstancePaths.for_uuid(g.uuid).disk)],
            check=True, capture_output=True, text=True,
        ).stdout
    )["backing-filename"]
    assert backing == str(IMAGES_DIR / env["other"])
    with GuestConsole(g.name, URI) as con:
        con.wait_for(r"STRATUS-GUEST hostname=act-rebuilt", timeout=180)
        con.wait_for(rf"STRATUS-GUEST uuid={g.uuid}", timeout=10)
        con.wait_for(READY, timeout=60)


def test_snapshot_stopped_then_boot_from_snapshots(env):
    g = env["guest"]
    conn = libvirt.open(URI)
    conn.lookupByName(g.name).destroy()
    conn.close()
    snap = f"snap-stopped-{uuidlib.uuid4().hex[:8]}"
    env["made"]["images"].append(snap)
    res = act(g.uuid, "snapshot", image_id=snap)
    assert res.changed and res["details"]["method"] == "qemu-img convert"
    assert not act(g.uuid, "snapshot", image_id=snap).changed

    guests = [
        make_guest(env["snap_running"], hostname="from-running-snap"),
        make_guest(snap, hostname="from-stopped-snap"),
    ]
    env["made"]["uuids"] += [x.uuid for x in guests]

    def boot_and_wait(guest):
        boot(guest, URI)
        with GuestConsole(guest.name, URI) as con:
            con.wait_for(rf"STRATUS-GUEST hostname={guest.metadata.display_name}", timeout=240)
            con.wait_for(READY, timeout=60)
            return con.markers()

    with ThreadPoolExecutor(2) as pool:
        markers = list(pool.map(boot_and_wait, guests))
    for guest, seen in zip(guests, markers, strict=True):
        assert f"uuid={guest.uuid}" in seen and "ready" in seen


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
