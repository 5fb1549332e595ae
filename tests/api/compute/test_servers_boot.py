"""One real boot through the Nova API: ``POST /servers`` with a key pair and user data
on a controller whose one compute host is this machine (the system libvirtd). The
server goes BUILD → ACTIVE with its host and launch time, the guest's console log on
the host shows the config drive's hostname and the key (printed by the user-data
script), and delete leaves no domain and no disk."""

from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path

import libvirt
import pytest

from stratus.db.models.compute import KeyPair
from stratus.db.session import Database
from tests.api.compute.servers_helpers import Nova, add_flavors, booting_cloud, fault
from tests.integration.compute.actions_guest import cleanup, remove_images, wait_console
from tests.integration.pipeline.conftest import sync_hosts

pytestmark = [pytest.mark.api, pytest.mark.compute, pytest.mark.slow]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStratusBootTestKey boot@test"
INSTANCES = Path("/var/lib/stratus/instances")


def upload_qcow2(ctl, path: Path) -> str:
    r = ctl.request("POST", "/image/v2/images", json={"name": "boot-tiny", "disk_format": "qcow2",
                                                      "container_format": "bare", "visibility": "public"})
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    r = ctl.request("PUT", f"/image/v2/images/{image_id}/file", content=path.read_bytes(),
                    headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    return image_id


def add_key(ctl, user_id: str, name: str, public_key: str) -> None:
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            s.add(KeyPair(user_id=user_id, name=name, public_key=public_key, fingerprint="test"))
    finally:
        db.dispose()


def wait_status(nova: Nova, sid: str, wanted: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    got: dict = {}
    while time.monotonic() < deadline:
        r = nova("GET", f"/servers/{sid}")
        if r.status_code == 404 and wanted == "gone":
            return {}
        got = r.json()["server"]
        if got["status"] == wanted:
            return got
        assert got["status"] != "ERROR" or wanted == "ERROR", got
        time.sleep(0.5)
    raise AssertionError(f"server {sid} not {wanted} after {timeout}s: {got}")


def domain_exists(name: str) -> bool:
    conn = libvirt.open("qemu:///system")
    try:
        conn.lookupByName(name)
        return True
    except libvirt.libvirtError:
        return False
    finally:
        conn.close()


def test_boot_through_the_api_shows_hostname_and_key_on_the_console_and_delete_cleans_up(
        controller_factory, libvirt_daemon, guest_image, tmp_path, request):
    ctl, image_id = booting_cloud(controller_factory, tmp_path, request, guest_image,
                                  {"c1": {"stratus_libvirt_uri": libvirt_daemon}})
    member = ctl.new_project_user("member", prefix="boot")
    add_key(ctl, member.user_id, "k1", KEY)
    nova = Nova(ctl, member, version="2.79")
    user_data = base64.b64encode(b"#!/bin/sh\ncat /root/.ssh/authorized_keys\n").decode()
    sid = nova.create(name="Boot Test_1", imageRef=image_id, key_name="k1", user_data=user_data,
                      networks="none")["server"]["id"]
    request.addfinalizer(lambda: cleanup(sid))
    assert nova.show(sid)["status"] in ("BUILD", "ACTIVE")

    s = wait_status(nova, sid, "ACTIVE")
    assert s["OS-EXT-STS:power_state"] == 1 and s["OS-EXT-STS:task_state"] is None
    assert s["OS-SRV-USG:launched_at"] and s["key_name"] == "k1" and s["hostId"]
    assert s["OS-EXT-AZ:availability_zone"] == "nova"  # the default zone of a host in none
    assert Nova(ctl, version="2.79").show(sid)["OS-EXT-SRV-ATTR:host"] == "c1"
    assert domain_exists(f"instance-{sid}")
    console = INSTANCES / sid / "console.log"
    text = wait_console(console, r"STRATUS-GUEST ready", timeout=240)
    assert "STRATUS-GUEST hostname=boot-test-1" in text, text[-2000:]
    wait_console(console, "AAAAC3NzaC1lZDI1NTE5AAAAIStratusBootTestKey", timeout=30)

    assert nova("DELETE", f"/servers/{sid}").status_code == 204
    wait_status(nova, sid, "gone")
    assert not domain_exists(f"instance-{sid}")
    assert not (INSTANCES / sid / "disk").exists()
    listed = nova("GET", "/servers/detail", params={"changes-since": "2000-01-01T00:00:00Z"}).json()["servers"]
    assert [(x["id"], x["status"]) for x in listed] == [(sid, "DELETED")]
    detail = ctl.request("GET", f"/compute/v2.1/os-quota-sets/{member.project_id}/detail").json()
    assert detail["quota_set"]["instances"]["in_use"] == 0
    assert fault(nova("GET", f"/servers/{sid}"), 404)
    shutil.rmtree(INSTANCES / sid, ignore_errors=True)


def test_a_create_the_host_fails_puts_the_server_in_error_with_the_jobs_reason(
        controller_factory, tmp_path, request):
    ctl = controller_factory("sqlite")
    broken = "qemu+unix:///system?socket=/nonexistent/libvirt-sock"
    sync_hosts(ctl, tmp_path, {"c1": {"ansible_connection": "local", "stratus_libvirt_uri": broken}}, ["compute"])
    db = Database(ctl.database_url)
    try:
        with db.session() as s:  # capacity as a refresh would have found it
            from stratus.db.models.hosts import Host

            s.get(Host, "c1").capacity = {"vcpus": 4, "memory_mb": 4096, "disk_gb": 50}
    finally:
        db.dispose()
    add_flavors(ctl)
    from tests.api.compute.servers_helpers import upload_raw_image

    image_id = upload_raw_image(ctl)
    request.addfinalizer(lambda: remove_images(image_id))
    nova = Nova(ctl, ctl.new_project_user("member", prefix="fail"), version="2.79")
    sid = nova.create(imageRef=image_id, networks="none")["server"]["id"]
    request.addfinalizer(lambda: shutil.rmtree(INSTANCES / sid, ignore_errors=True))
    s = wait_status(nova, sid, "ERROR")
    assert s["fault"]["code"] == 500 and "nonexistent" in s["fault"]["message"], s["fault"]
    assert s["OS-EXT-STS:task_state"] is None and not s["OS-SRV-USG:launched_at"]
    assert not domain_exists(f"instance-{sid}")
