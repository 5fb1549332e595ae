"""stratus.cloud.instance_action migrate: cold and live, between two real libvirt hosts.

Both "hosts" are libvirtds of this test (tests/helpers/libvirt_node.py): node 1 shares
this machine's /var/lib/stratus (the module runs here, as on a compute host), node 2
has its own, so every file the guest needs must really travel to it (over libvirt's
storage streams for cold migration, qemu's NBD mirror for live migration).
"""

from __future__ import annotations

import uuid as uuidlib
from concurrent.futures import ThreadPoolExecutor

import libvirt
import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute.paths import (
    IMAGES_DIR,
    InstancePaths,
)
from tests.helpers.ansible import run_module
from tests.helpers.guest_console import GuestConsole
from tests.helpers.libvirt_node import libvirt_node1, libvirt_node2  # noqa: F401 (fixtures)
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


@pytest.fixture(scope="module")
def nodes(request, guest_image):
    node1 = request.getfixturevalue("libvirt_node1")
    node2 = request.getfixturevalue("libvirt_node2")
    bridge = make_bridge()  # same name on both "hosts": they share the network namespace
    image = cache_image(guest_image["qcow2"])
    guests = {
        "cold": make_guest(image, hostname="mig-cold", bridge=bridge),
        "live": make_guest(image, hostname="mig-live", bridge=bridge),
    }

    def start(guest):
        boot(guest, node1.uri)
        with GuestConsole(guest.name, node1.uri) as con:
            con.wait_for(READY, timeout=240)

    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(start, guests.values()))
        yield {"node1": node1, "node2": node2, "guests": guests, "image": image}
    finally:
        for g in guests.values():
            cleanup(g.uuid, node1.uri)
            cleanup(g.uuid, node2.uri, root=node2.host_path(InstancePaths.for_uuid(g.uuid).directory))
        remove_images(image)
        remove_bridge(bridge)


def migrate(nodes, guest, check=False, **args):
    return run_module(
        "instance_action",
        {"uuid": guest.uuid, "action": "migrate", "uri": nodes["node1"].uri,
         "dest_uri": nodes["node2"].uri, **args},
        check=check,
    )


def state(uri: str, name: str) -> str:
    conn = libvirt.open(uri)
    try:
        try:
            dom = conn.lookupByName(name)
        except libvirt.libvirtError:
            return "absent"
        return "running" if dom.isActive() else "stopped"
    finally:
        conn.close()


def test_cold_migration(nodes):
    g, node1, node2 = nodes["guests"]["cold"], nodes["node1"], nodes["node2"]
    paths = InstancePaths.for_uuid(g.uuid)
    check = migrate(nodes, g, check=True)
    assert check.changed and not check.failed, check.msg
    assert str(paths.disk) in check["details"]["files"]
    assert state(node1.uri, g.name) == "running" and state(node2.uri, g.name) == "absent"

    res = migrate(nodes, g, timeout=60)
    assert res.changed and not res.failed, res.msg
    assert res["instance"]["host"] == node2.uri
    assert res["details"]["base_images_copied"] == [str(IMAGES_DIR / nodes["image"])]
    assert state(node1.uri, g.name) == "absent" and not paths.directory.exists()
    assert state(node2.uri, g.name) == "running"
    assert node2.host_path(paths.disk).exists()
    with GuestConsole(g.name, node2.uri, host_path=lambda p: str(node2.host_path(p))) as con:
        con.wait_for(rf"STRATUS-GUEST uuid={g.uuid}", timeout=240)
        con.wait_for(READY, timeout=60)
        assert "hostname=mig-cold" in con.markers()

    again = migrate(nodes, g)
    assert not again.failed and not again.changed
    assert again["details"]["already_migrated"] is True


def test_live_migration(nodes):
    g, node1, node2 = nodes["guests"]["live"], nodes["node1"], nodes["node2"]
    token = f"LIVE-{uuidlib.uuid4().hex[:8]}"
    with GuestConsole(g.name, node1.uri) as con:
        rc, _ = con.run(f"echo {token} > /tmp/live-mark")
        assert rc == 0
    check = migrate(nodes, g, check=True, live=True, migration_uri="tcp://127.0.0.1")
    assert check.changed and check["details"]["migrate_disks"] == ["vda"]
    assert state(node1.uri, g.name) == "running"

    res = migrate(nodes, g, live=True, migration_uri="tcp://127.0.0.1")
    assert res.changed and not res.failed, res.msg
    assert state(node1.uri, g.name) == "absent" and state(node2.uri, g.name) == "running"
    # Same running guest: the file written in its tmpfs before the move is still there.
    with GuestConsole(g.name, node2.uri, host_path=lambda p: str(node2.host_path(p))) as con:
        rc, out = con.run("cat /tmp/live-mark")
        assert rc == 0 and token in out
        rc, _ = con.run("sync; dd if=/dev/vda of=/dev/null bs=64k 2>/dev/null")
        assert rc == 0  # the mirrored disk reads end to end

    again = migrate(nodes, g, live=True, migration_uri="tcp://127.0.0.1")
    assert not again.failed and not again.changed
