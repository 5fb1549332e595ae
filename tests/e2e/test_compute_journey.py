"""A server's life through the compute API, as its users drive it: the `openstack` CLI
and openstacksdk against a live controller whose one compute host is this machine's
libvirt (QEMU/TCG).

The admin uploads the tiny guest image and makes a flavor; a project member makes a key
pair, boots a server with user data (`--wait` until ACTIVE) and reads its console: the
hostname from the config drive and the key arrive in the guest. Then stop / start /
reboot / resize + confirm / createImage / rebuild, a second server booted from the
snapshot, and both deleted: no domain, no instance directory, nothing cached beyond the
base images."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

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


def wait_console(conn, server_id: str, text: str, timeout: float = 300) -> str:
    """The server's console log (os-getConsoleOutput) once it contains ``text``."""
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = conn.compute.get_server_console_output(server_id)["output"]
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
                      "--wait", "-f", "json", creds=member)
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

    cloud.cli("server", "stop", sid, creds=member)
    conn.compute.wait_for_server(conn.compute.get_server(sid), status="SHUTOFF", wait=300)
    cloud.cli("server", "start", sid, creds=member)
    conn.compute.wait_for_server(conn.compute.get_server(sid), status="ACTIVE", wait=300)
    cloud.cli("server", "reboot", "--hard", "--wait", sid, creds=member)

    cloud.cli("server", "resize", "--flavor", f"journey.big-{tag}", "--wait", sid, creds=member)
    assert conn.compute.get_server(sid).status == "VERIFY_RESIZE"
    cloud.cli("server", "resize", "confirm", sid, creds=member)
    server = conn.compute.wait_for_server(conn.compute.get_server(sid), status="ACTIVE", wait=300)
    assert server.flavor["original_name"] == f"journey.big-{tag}"
    assert server.flavor["ram"] == 192

    snap = cloud.cli("server", "image", "create", "--name", f"snap-{tag}", "--wait", sid, "-f", "json",
                     creds=member)
    snap = conn.image.get_image(snap["id"])
    request.addfinalizer(lambda: remove_images(snap.id))
    assert snap.status == "active"
    assert snap.properties.get("image_type") == "snapshot" or snap.image_type == "snapshot"

    cloud.cli("server", "rebuild", "--image", image["id"], "--wait", sid, creds=member)
    assert conn.compute.get_server(sid).status == "ACTIVE"

    second = cloud.cli("server", "create", f"journey2-{tag}", "--image", snap.id, "--flavor",
                       f"journey.big-{tag}", "--wait", "-f", "json", creds=member)
    request.addfinalizer(lambda: cleanup(second["id"]))
    assert second["status"] == "ACTIVE"
    wait_console(conn, second["id"], f"STRATUS-GUEST hostname=journey2-{tag}")

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
