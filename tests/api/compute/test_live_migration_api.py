"""Two libvirt hosts on this machine: server groups place across them, and live
migration through the API moves a running guest between them
(``tests/helpers/libvirt_node.py``): ``c1`` (node 1, sharing this machine's
/var/lib/stratus) and ``c2`` (node 2, its own tree). A server booted on ``c1`` is
moved with ``os-migrateLive`` to ``c2`` while running: the domain runs on node 2 and
is gone from node 1, the server reports host ``c2``, its capacity is held on ``c2``
only, the migration is ``completed``. A member may not live-migrate (403, nothing
moves)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from stratus.db.models.quotas import Allocation
from stratus.db.session import Database
from tests.api.compute.servers_helpers import Nova, booting_cloud, fault
from tests.api.compute.test_servers_boot import wait_status
from tests.helpers.libvirt_node import libvirt_node1, libvirt_node2  # noqa: F401 - fixtures
from tests.integration.compute.actions_guest import cleanup
from tests.integration.compute.test_instance_action_migrate import state
from tests.integration.pipeline.conftest import interpreter

pytestmark = [pytest.mark.api, pytest.mark.compute, pytest.mark.slow]


def held_hosts(ctl, sid: str) -> set[str]:
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            return set(s.scalars(select(Allocation.host).where(Allocation.consumer_id == sid,
                                                               Allocation.host.is_not(None))))
    finally:
        db.dispose()


def boot_on_c1(controller_factory, node1, node2, guest_image, tmp_path, request, name: str):
    """A controller with hosts c1 (node 1) and c2 (node 2) and a server booted on c1 (an
    admin names the host: c2's files live in node 2's own tree); (controller, admin
    client, server id)."""
    ctl, image_id = booting_cloud(controller_factory, tmp_path, request, guest_image, {
        host: {"stratus_libvirt_uri": node.uri, "stratus_live_migration_uri": "tcp://127.0.0.1"}
        for host, node in (("c1", node1), ("c2", node2))})
    admin = Nova(ctl, version="2.79")
    sid = admin.create(name=name, imageRef=image_id, networks="none", availability_zone="nova:c1")[
        "server"]["id"]
    request.addfinalizer(lambda: cleanup(sid, node1.uri))
    request.addfinalizer(lambda: cleanup(sid, node2.uri, root=node2.host_path(
        Path("/var/lib/stratus/instances") / sid)))
    s = wait_status(admin, sid, "ACTIVE")
    assert s["OS-EXT-SRV-ATTR:host"] == "c1"
    assert state(node1.uri, f"instance-{sid}") == "running" and state(node2.uri, f"instance-{sid}") == "absent"
    return ctl, admin, sid


def test_live_migration_moves_a_running_guest(controller_factory, libvirt_node1, libvirt_node2,  # noqa: F811
                                              guest_image, tmp_path, request):
    node1, node2 = libvirt_node1, libvirt_node2
    ctl, admin, sid = boot_on_c1(controller_factory, node1, node2, guest_image, tmp_path, request, "live")
    name = f"instance-{sid}"

    member = ctl.new_project_user("member", prefix="live")
    r = Nova(ctl, member, version="2.79")("POST", f"/servers/{sid}/action",
                                          json={"os-migrateLive": {"host": "c2", "block_migration": "auto"}})
    assert r.status_code in (403, 404), r.text  # another project's server is 404; a policy refusal 403
    same = admin("POST", f"/servers/{sid}/action", json={"os-migrateLive": {"host": "c1", "block_migration": "auto"}})
    assert fault(same, 400) == f"Unable to migrate instance ({sid}) to current host (c1)."
    assert state(node1.uri, name) == "running" and held_hosts(ctl, sid) == {"c1"}

    r = admin("POST", f"/servers/{sid}/action", json={"os-migrateLive": {"host": None, "block_migration": "auto"}})
    assert r.status_code == 202, r.text
    s = wait_status(admin, sid, "ACTIVE", timeout=600)
    import time

    deadline = time.monotonic() + 600
    while s["OS-EXT-STS:task_state"] is not None and time.monotonic() < deadline:
        time.sleep(1)
        s = admin.show(sid)
    assert s["OS-EXT-SRV-ATTR:host"] == "c2", s
    assert state(node2.uri, name) == "running" and state(node1.uri, name) == "absent"
    assert held_hosts(ctl, sid) == {"c2"}
    (mig,) = admin.at("2.59")("GET", "/os-migrations", params={"instance_uuid": sid}).json()["migrations"]
    assert (mig["migration_type"], mig["status"], mig["source_compute"], mig["dest_compute"]) == (
        "live-migration", "completed", "c1", "c2")
    events = admin("GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
    assert events[0]["action"] == "live-migration"


def test_cold_migration_then_confirm(controller_factory, libvirt_node1, libvirt_node2,  # noqa: F811
                                     guest_image, tmp_path, request):
    """``migrate`` (cold) from c1 to the scheduler's pick c2: VERIFY_RESIZE on c2 with the
    capacity held on both hosts, ``confirmResize`` frees c1's."""
    node1, node2 = libvirt_node1, libvirt_node2
    ctl, admin, sid = boot_on_c1(controller_factory, node1, node2, guest_image, tmp_path, request, "cold")
    name = f"instance-{sid}"
    r = admin("POST", f"/servers/{sid}/action", json={"migrate": None})
    assert r.status_code == 202, r.text
    s = wait_status(admin, sid, "VERIFY_RESIZE", timeout=600)
    assert s["OS-EXT-SRV-ATTR:host"] == "c2"
    assert state(node2.uri, name) == "running" and state(node1.uri, name) == "absent"
    db = Database(ctl.database_url)
    try:
        with db.session() as s_:
            rows = {(a.consumer_id == sid, a.host) for a in s_.scalars(
                select(Allocation).where(Allocation.host.is_not(None)))}
    finally:
        db.dispose()
    assert rows == {(True, "c2"), (False, "c1")}  # the migration holds c1 until confirm
    assert admin("POST", f"/servers/{sid}/action", json={"confirmResize": None}).status_code == 204
    assert admin.show(sid)["status"] == "ACTIVE" and held_hosts(ctl, sid) == {"c2"}
    (mig,) = admin.at("2.59")("GET", "/os-migrations", params={"instance_uuid": sid}).json()["migrations"]
    assert (mig["migration_type"], mig["status"], mig["dest_compute"]) == ("migration", "confirmed", "c2")


def test_server_groups_place_on_two_hosts(controller_factory, libvirt_node1, libvirt_node2,  # noqa: F811
                                          guest_image, tmp_path, request):
    """A member's anti-affinity group puts its two servers on c1 and c2 and its third, which
    fits on neither, in ERROR with Nova's NoValidHost fault; an affinity group keeps its
    two servers on one host."""
    node1, node2 = libvirt_node1, libvirt_node2
    # c2's modules run in node 2's mount namespace: its image cache and disks are node 2's
    in_node2 = interpreter(tmp_path / "py-c2", ["nsenter", "-t", str(node2._pid("libvirtd")), "-m"])
    ctl, image_id = booting_cloud(controller_factory, tmp_path, request, guest_image, {
        "c1": {"stratus_libvirt_uri": node1.uri},
        "c2": {"stratus_libvirt_uri": node2.uri, "ansible_python_interpreter": in_node2}})
    admin = Nova(ctl, version="2.79")
    member = Nova(ctl, ctl.new_project_user("member", prefix="groups"), version="2.79")

    def group(policy: str) -> str:
        r = member("POST", "/os-server-groups", json={"server_group": {"name": policy, "policy": policy}})
        assert r.status_code == 200, r.text
        return r.json()["server_group"]["id"]

    def boot(name: str, group_id: str) -> str:
        r = member("POST", "/servers", json={
            "server": {"name": name, "flavorRef": "42", "imageRef": image_id, "networks": "none"},
            "os:scheduler_hints": {"group": group_id}})
        assert r.status_code == 202, r.text
        sid = r.json()["server"]["id"]
        for node in (node1, node2):
            request.addfinalizer(lambda sid=sid, node=node: cleanup(sid, node.uri, root=node.host_path(
                Path("/var/lib/stratus/instances") / sid) if node is node2 else None))
        return sid

    def host(sid: str) -> str:
        return wait_status(admin, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"]

    apart = group("anti-affinity")
    a, b = boot("apart-1", apart), boot("apart-2", apart)
    assert {host(a), host(b)} == {"c1", "c2"}
    third = boot("apart-3", apart)
    got = wait_status(admin, third, "ERROR")
    assert got["fault"]["message"] == "No valid host was found. There are not enough hosts available."
    assert got["OS-EXT-SRV-ATTR:host"] is None
    members = member("GET", f"/os-server-groups/{apart}").json()["server_group"]["members"]
    assert set(members) >= {a, b}

    together = group("affinity")
    c, d = boot("together-1", together), boot("together-2", together)
    assert host(c) == host(d)
    for sid in (a, b, third, c, d):
        assert member("DELETE", f"/servers/{sid}").status_code == 204
    for sid in (a, b, third, c, d):
        wait_status(admin, sid, "gone")
