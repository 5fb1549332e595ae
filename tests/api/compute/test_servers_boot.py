"""Booting through the Nova API on this machine: the helpers the boot tests share, and a
create the host fails (its server goes to ERROR with the job's reason). A real boot with
a key pair and user data, its console and its delete are in
``tests/e2e/test_compute_journey.py``."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import libvirt
import pytest

from stratus.db.session import Database
from tests.api.compute.servers_helpers import Nova, add_flavors
from tests.integration.compute.actions_guest import remove_images
from tests.integration.pipeline.conftest import sync_hosts

pytestmark = [pytest.mark.api, pytest.mark.compute, pytest.mark.slow]
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
