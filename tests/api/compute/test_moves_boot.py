"""Moves on a real guest through ``POST /servers/{id}/action`` on a live controller
whose one compute host ``c1`` is this machine (the system libvirtd):

- resize + revert: VERIFY_RESIZE with the new flavor's RAM in the domain, the old
  allocation held meanwhile; revert: the old RAM again and only its room held;
- (resize + confirm freeing the old room, createImage and a server booted from it:
  tests/e2e/test_compute_journey.py);
- shelve: the domain is gone and the host's capacity free; unshelve boots it again
  from the shelved image.
Both servers are deleted at the end; no domain is left."""

from __future__ import annotations

import re

import libvirt
import pytest
from sqlalchemy import func, select

from stratus.db.models.quotas import Allocation
from stratus.db.session import Database
from tests.api.compute.servers_helpers import Nova, booting_cloud, fault
from tests.api.compute.test_servers_boot import domain_exists, wait_status
from tests.integration.compute.actions_guest import cleanup

pytestmark = [pytest.mark.api, pytest.mark.compute, pytest.mark.slow]


def memory_mib(sid: str) -> int:
    conn = libvirt.open("qemu:///system")
    try:
        xml = conn.lookupByName(f"instance-{sid}").XMLDesc(0)
    finally:
        conn.close()
    return int(re.search(r"<currentMemory unit='KiB'>(\d+)<", xml).group(1)) // 1024


def host_memory_held(ctl) -> int:
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            return int(s.scalar(select(func.coalesce(func.sum(Allocation.amount), 0))
                                .where(Allocation.host == "c1", Allocation.resource == "memory_mb")))
    finally:
        db.dispose()


def act(nova: Nova, sid: str, body: dict, expect: int = 202, version: str | None = None):
    r = nova("POST", f"/servers/{sid}/action", json=body, version=version)
    assert r.status_code == expect, r.text
    return r


def test_resize_snapshot_shelve_on_a_booted_server(controller_factory, libvirt_daemon, guest_image, tmp_path,
                                                   request):
    ctl, image_id = booting_cloud(controller_factory, tmp_path, request, guest_image,
                                  {"c1": {"stratus_libvirt_uri": libvirt_daemon}})
    member = ctl.new_project_user("member", prefix="moves")
    nova = Nova(ctl, member, version="2.79")
    sid = nova.create(name="mover", imageRef=image_id, networks="none")["server"]["id"]
    request.addfinalizer(lambda: cleanup(sid))
    wait_status(nova, sid, "ACTIVE")
    assert memory_mib(sid) == 128 and host_memory_held(ctl) == 128

    # resize to m1.micro, then revert: the old flavor's room is held while the resize
    # waits (resize + confirm, with the room freed on confirm: the journey test)
    act(nova, sid, {"resize": {"flavorRef": "84"}})
    s = wait_status(nova, sid, "VERIFY_RESIZE")
    assert s["flavor"]["original_name"] == "m1.micro" and s["flavor"]["ram"] == 192
    assert memory_mib(sid) == 192
    assert host_memory_held(ctl) == 128 + 192
    assert fault(act(nova, sid, {"resize": {"flavorRef": "1"}}, expect=409), 409) == \
        f"Cannot 'resize' instance {sid} while it is in vm_state resized"
    act(nova, sid, {"revertResize": None})
    s = wait_status(nova, sid, "ACTIVE")
    assert s["flavor"]["original_name"] == "m1.nano" and memory_mib(sid) == 128
    assert host_memory_held(ctl) == 128
    actions = [a["action"] for a in nova("GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]]
    assert actions[:2] == ["revertResize", "resize"]
    migrations = Nova(ctl, version="2.59")("GET", "/os-migrations", params={"instance_uuid": sid}).json()
    assert [(m["migration_type"], m["status"]) for m in migrations["migrations"]] == [("resize", "reverted")]

    # shelve (offloaded at once), then unshelve from the shelved image
    act(nova, sid, {"shelve": None})
    s = wait_status(nova, sid, "SHELVED_OFFLOADED")
    assert s["OS-EXT-SRV-ATTR:host"] is None if "OS-EXT-SRV-ATTR:host" in s else True
    assert not domain_exists(f"instance-{sid}") and host_memory_held(ctl) == 0
    act(nova, sid, {"unshelve": None})
    s = wait_status(nova, sid, "ACTIVE")
    assert domain_exists(f"instance-{sid}") and memory_mib(sid) == 128 and host_memory_held(ctl) == 128
    assert s["image"]["id"] == image_id  # the server keeps its own image
    assert nova("DELETE", f"/servers/{sid}").status_code == 204
    wait_status(nova, sid, "gone")
    assert not domain_exists(f"instance-{sid}") and host_memory_held(ctl) == 0
