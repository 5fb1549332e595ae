"""A server's life through the compute API, as its users drive it: the `openstack` CLI
and openstacksdk against a live controller whose one compute host is this machine's
libvirt (QEMU/TCG).

The admin uploads the tiny guest image and makes a flavor; a project member makes a key
pair, boots a server with user data (`--wait` until ACTIVE) and reads its console: the
hostname from the config drive and the key arrive in the guest. Then a hard reboot (a
new QEMU process), resize + confirm (the old flavor's room freed), createImage (a
standalone image), a second server booted from the snapshot, and both deleted: no
domain, no instance directory, nothing cached beyond the base images. (Stop / start
through the CLI, soft reboot and rebuild on a booted guest:
tests/api/compute/test_actions_guest.py.)"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import libvirt
import openstack
import pytest
import yaml
from sqlalchemy import func, select

from stratus.db.models.quotas import Allocation
from stratus.db.session import Database
from tests.api.compute.servers_helpers import Nova
from tests.api.conftest import _Factory
from tests.integration.compute.actions_guest import cleanup, remove_images

pytestmark = [pytest.mark.api, pytest.mark.compute]

INSTANCES = Path("/var/lib/stratus/instances")
IMAGES = Path("/var/lib/stratus/images")


@pytest.fixture(scope="module")
def cloud(request, tmp_path_factory):
    """A controller with this machine's libvirt as its compute host."""
    factory = _Factory(request, tmp_path_factory.mktemp("journey"))
    ctl = factory("sqlite")
    inv = {"all": {"children": {"compute": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}}}}}}
    path = ctl.workdir / "inventory.yml"
    path.write_text(yaml.safe_dump(inv))
    ctl.stratus("host", "sync", "-i", str(path))
    ctl.stratus("host", "refresh")
    yield ctl
    factory.close()


def domains() -> set[str]:
    out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"],
                         capture_output=True, text=True, check=True).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def domain_id(server_id: str) -> int:
    """The libvirt id of the server's running domain (a new one for each QEMU process)."""
    conn = libvirt.open("qemu:///system")
    try:
        return conn.lookupByName(f"instance-{server_id}").ID()
    finally:
        conn.close()


def held_memory(ctl) -> int:
    """MiB of host memory held in this cloud (the allocations on its hosts, in the DB)."""
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            return int(s.scalar(select(func.coalesce(func.sum(Allocation.amount), 0)).where(
                Allocation.host.is_not(None), Allocation.resource == "memory_mb")))
    finally:
        db.dispose()


def wait_console(conn, server_id: str, text: str, timeout: float = 300) -> str:
    """The server's console log (os-getConsoleOutput) once it contains ``text`` (a
    loaded host may start the guest before its log file is there: 404 until then)."""
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        try:
            out = conn.compute.get_server_console_output(server_id)["output"]
        except openstack.exceptions.NotFoundException:
            out = ""
        if text in out:
            return out
        time.sleep(3)
    raise AssertionError(f"{text!r} not on the console of {server_id} after {timeout}s:\n{out[-2000:]}")


def test_a_server_lives_and_dies_through_the_api(cloud, guest_image, tmp_path, request):
    member = cloud.new_project_user("member", prefix="journey")
    conn = cloud.conn(member)
    tag = uuid.uuid4().hex[:6]

    image = cloud.cli("image", "create", f"tiny-{tag}", "--public", "--disk-format", "qcow2",
                      "--container-format", "bare", "--file", guest_image["qcow2"], "-f", "json")
    assert image["status"] == "active"
    request.addfinalizer(lambda: remove_images(image["id"]))
    cloud.cli("flavor", "create", f"journey.small-{tag}", "--vcpus", "1", "--ram", "128", "--disk", "1")
    cloud.cli("flavor", "create", f"journey.big-{tag}", "--vcpus", "1", "--ram", "192", "--disk", "2")

    key = cloud.cli("keypair", "create", f"key-{tag}", "--private-key", str(tmp_path / "key"), "-f", "json",
                    creds=member)
    public_key = conn.compute.get_keypair(key["name"]).public_key
    assert (tmp_path / "key").read_text().startswith("-----BEGIN")

    user_data = tmp_path / "user-data"
    user_data.write_text('#!/bin/sh\necho "JOURNEY-KEY $(cat /root/.ssh/authorized_keys)"\n')
    first = cloud.cli("server", "create", f"journey-{tag}", "--image", image["id"], "--flavor",
                      f"journey.small-{tag}", "--key-name", key["name"], "--user-data", str(user_data),
                      "--nic", "none", "--wait", "-f", "json", creds=member)
    sid = first["id"]
    request.addfinalizer(lambda: cleanup(sid))  # a failed run leaves no guest behind
    assert first["status"] == "ACTIVE"
    assert f"instance-{sid}" in domains()
    server = conn.compute.get_server(sid)
    assert (server.power_state, server.task_state, server.availability_zone) == (1, None, "nova")
    assert server.launched_at and server.host_id and server.key_name == key["name"]

    console = wait_console(conn, sid, "STRATUS-GUEST ready")
    assert f"STRATUS-GUEST hostname=journey-{tag}" in console
    key_lines = [line for line in console.splitlines() if "JOURNEY-KEY" in line]
    assert key_lines and public_key.split()[1] in key_lines[-1], (public_key, key_lines, console[-3000:])

    before = domain_id(sid)
    cloud.cli("server", "reboot", "--hard", "--wait", sid, creds=member)
    assert domain_id(sid) not in (before, -1)  # a new QEMU process

    cloud.cli("server", "resize", "--flavor", f"journey.big-{tag}", "--wait", sid, creds=member)
    assert conn.compute.get_server(sid).status == "VERIFY_RESIZE"
    cloud.cli("server", "resize", "confirm", sid, creds=member)
    server = conn.compute.wait_for_server(conn.compute.get_server(sid), status="ACTIVE", wait=300)
    assert server.flavor["original_name"] == f"journey.big-{tag}"
    assert server.flavor["ram"] == 192
    # confirm frees the old flavor's room on the host (held meanwhile: test_moves_boot)
    assert held_memory(cloud) == 192
    migrations = Nova(cloud, version="2.59")("GET", "/os-migrations", params={"instance_uuid": sid}).json()
    assert [(m["migration_type"], m["status"]) for m in migrations["migrations"]] == [("resize", "confirmed")]

    snap = cloud.cli("server", "image", "create", "--name", f"snap-{tag}", "--wait", sid, "-f", "json",
                     creds=member)
    snap = conn.image.get_image(snap["id"])
    request.addfinalizer(lambda: remove_images(snap.id))
    assert snap.status == "active"
    assert snap.properties.get("image_type") == "snapshot" or snap.image_type == "snapshot"

    second = cloud.cli("server", "create", f"journey2-{tag}", "--image", snap.id, "--flavor",
                       f"journey.big-{tag}", "--nic", "none", "--wait", "-f", "json", creds=member)
    request.addfinalizer(lambda: cleanup(second["id"]))
    assert second["status"] == "ACTIVE"
    wait_console(conn, second["id"], f"STRATUS-GUEST hostname=journey2-{tag}")
    # the snapshot of the running server (blockcopy) is a standalone image, not an overlay
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", str(IMAGES / snap.id)],
                                     check=True, capture_output=True, text=True).stdout)
    assert info["format"] == "qcow2" and "backing-filename" not in info, info

    cloud.cli("server", "delete", "--wait", sid, second["id"], creds=member)
    for server_id in (sid, second["id"]):
        assert f"instance-{server_id}" not in domains()
        assert not (INSTANCES / server_id).exists()
    assert sid not in {s.id for s in conn.compute.servers()}
    since = {s.id: s.status for s in conn.compute.servers(changes_since="2000-01-01T00:00:00Z")}
    assert since[sid] == since[second["id"]] == "DELETED"
    # The cache keeps the base images the servers booted from, and nothing of the servers.
    cached = {p.name for p in IMAGES.iterdir()}
    assert {image["id"], snap.id} <= cached, cached
    assert not [n for n in cached if sid in n or second["id"] in n or n.endswith(".part")], cached
    quota = conn.compute.get_quota_set(member.project_id, usage=True)
    assert quota.usage["instances"] == 0 and quota.usage["cores"] == 0
