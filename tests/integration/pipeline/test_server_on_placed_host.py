"""OS::Nova::Server through the jobs API on two libvirt hosts: it boots (no NIC) from an
image uploaded through the image API, which the placed host fetches with a download
ticket; it reboots, is snapshotted into a new image, resizes and goes away on the host
placement chose, and nowhere else."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from stratus.db.models.jobs import Job
from stratus.db.session import Database
from stratus.orchestration.emit import UNSAFE
from tests.api.compute.servers_helpers import add_flavors
from tests.helpers.libvirt_node import libvirt_node1, libvirt_node2  # noqa: F401 - fixtures

from .conftest import Api, interpreter, sync_hosts

pytestmark = [pytest.mark.orchestration, pytest.mark.compute, pytest.mark.api, pytest.mark.slow]


# Jinja a hostile user could put in any field; it must reach the host as these bytes.
HOSTILE = "{{ lookup('pipe', 'id') }} {% raw %}x{% endraw %} {{ 7 * 7 }}"
USER_DATA = "#!/bin/sh\necho '{{ 7 * 7 }}' \"{% if 1 %}\"\n"


def iso_file(path: Path, name: str) -> str:
    """A file of the config drive (ISO 9660 with Rock Ridge names)."""
    return subprocess.run(["isoinfo", "-R", "-i", str(path), "-x", name], check=True,
                          capture_output=True, text=True).stdout


def domain(uri: str, name: str) -> ET.Element | None:
    conn = libvirt.open(uri)
    try:
        try:
            return ET.fromstring(conn.lookupByName(name).XMLDesc(0))
        except libvirt.libvirtError:
            return None
    finally:
        conn.close()


def upload_image(ctl, path: Path, name: str) -> str:
    """An image created and uploaded through the image API (POST, then PUT .../file)."""
    r = ctl.request("POST", "/image/v2/images", json={"name": name, "disk_format": "qcow2",
                                                      "container_format": "bare"})
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    r = ctl.request("PUT", f"/image/v2/images/{image_id}/file", content=path.read_bytes(),
                    headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    assert image(ctl, image_id)["status"] == "active"
    return image_id


def uncache(image_id: str) -> None:
    """Remove the image the test made from this machine's image cache (host c1 shares
    it; c2's cache is in its node's own mount namespace, gone with the node)."""
    cache = Path("/var/lib/stratus/images")
    for path in (cache / image_id, cache / ".meta" / f"{image_id}.json"):
        path.unlink(missing_ok=True)


def image(ctl, image_id: str) -> dict:
    r = ctl.request("GET", f"/image/v2/images/{image_id}")
    assert r.status_code == 200, r.text
    return r.json()


def tickets_of(ctl, job_id: str) -> list[str]:
    """The X-Image-Ticket values in a job's stored playbook."""
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            playbook = s.get(Job, job_id).playbook
    finally:
        db.dispose()
    found = []
    for play in playbook:
        for task in play["tasks"]:
            for args in task.values():
                args = args.get(UNSAFE, args) if isinstance(args, dict) else args
                if isinstance(args, dict) and "headers" in args:
                    found.append(args["headers"]["X-Image-Ticket"])
    return found


def assert_secret_kept(ctl, api: Api, job_id: str) -> None:
    """The job's ticket is in its playbook only: not in its events, the run's artifacts
    (Ansible's results and stdout) nor the controller's log."""
    (ticket,) = tickets_of(ctl, job_id)
    assert ticket not in json.dumps(api.call("GET", f"/jobs/{job_id}/events", expect=200))
    runs = ctl.workdir / "state" / "runs"
    files = [f for f in runs.rglob("*") if f.is_file() and f.name != "main.yml"]
    assert files, "the run's artifacts are kept"
    for f in [*files, ctl.workdir / "serve.log"]:
        assert ticket.encode() not in f.read_bytes(), f


def test_server_lives_only_on_its_placed_host(controller_factory, request, tmp_path, guest_image):
    node1, node2 = request.getfixturevalue("libvirt_node1"), request.getfixturevalue("libvirt_node2")
    ctl = controller_factory("sqlite")
    add_flavors(ctl)  # m1.nano, m1.micro, ... (Nova's devstack flavors) in the controller's DB
    uris = {"c1": node1.uri, "c2": node2.uri}
    sync_hosts(ctl, tmp_path, {
        # c1 shares this machine's files; c2's modules run in node 2's mount namespace.
        "c1": {"ansible_connection": "local", "stratus_libvirt_uri": node1.uri},
        "c2": {"ansible_connection": "local", "stratus_libvirt_uri": node2.uri,
               "ansible_python_interpreter": interpreter(
                   tmp_path / "py-c2", ["nsenter", "-t", str(node2._pid("libvirtd")), "-m"])},
    }, ["compute"])
    ctl.stratus("host", "refresh")  # capacity from each host's hypervisor_info
    api = Api(ctl)
    qcow2 = Path(guest_image["qcow2"])
    image_id = upload_image(ctl, qcow2, "pipeline-tiny")
    request.addfinalizer(lambda: uncache(image_id))
    server = {"type": "OS::Nova::Server", "properties": {
        "name": HOSTILE, "flavor": "m1.nano", "image": image_id,
        "metadata": {"role {{ 6 * 6 }}": HOSTILE}, "user_data": USER_DATA}}
    job = api.create(web=server)
    assert_secret_kept(ctl, api, job["id"])
    sid = job["resources_by_name"]["web"]
    name = f"instance-{sid}"
    res = api.resource(sid)
    (host,) = res["hosts"]
    other = "c1" if host == "c2" else "c2"
    assert res["attributes"]["host"] == host and res["attributes"]["power_state"] == "running"
    assert domain(uris[host], name) is not None
    assert domain(uris[other], name) is None  # the task ran on the placed host only
    shown = ctl.request("GET", f"/compute/v2.1/servers/{sid}").json()["server"]
    assert shown["status"] == "ACTIVE" and shown["OS-EXT-SRV-ATTR:host"] == host
    assert shown["OS-EXT-STS:power_state"] == 1 and shown["OS-SRV-USG:launched_at"]
    # every user field reached the host byte for byte: Ansible templated none of them
    meta = domain(uris[host], name).find("metadata/{https://stratus.invalid/xmlns/libvirt/instance/1.0}instance")
    assert meta is not None and meta.findtext("{https://stratus.invalid/xmlns/libvirt/instance/1.0}name") == HOSTILE
    drive = Path(f"/var/lib/stratus/instances/{sid}/disk.config")
    drive = drive if host == "c1" else node2.host_path(drive)
    meta_data = json.loads(iso_file(drive, "/openstack/latest/meta_data.json"))
    assert meta_data["name"] == HOSTILE and meta_data["meta"] == {"role {{ 6 * 6 }}": HOSTILE}
    assert iso_file(drive, "/openstack/latest/user_data") == USER_DATA

    api.run("POST", f"/resources/{sid}/action", json={"reboot": {"type": "HARD"}})
    assert api.resource(sid)["status"] == "ACTIVE"  # an action is not a rebuild
    bad = api.call("POST", f"/resources/{sid}/action", expect=400, json={"rebuild": {}})
    assert "has no action 'rebuild'" in bad["error"]["message"]

    # a snapshot: the root disk, flattened, becomes the data of a queued image
    r = ctl.request("POST", "/image/v2/images", json={"name": "snap", "disk_format": "qcow2",
                                                      "container_format": "bare"})
    snap = r.json()["id"]
    api.run("POST", f"/resources/{sid}/action", json={"snapshot": {"image_id": snap}})
    got = image(ctl, snap)
    assert got["status"] == "active" and got["disk_format"] == "qcow2", got
    data = ctl.request("GET", f"/image/v2/images/{snap}/file")
    assert data.status_code == 200 and len(data.content) == got["size"]
    copy = tmp_path / "snap.qcow2"
    copy.write_bytes(data.content)
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-f", "qcow2", str(copy)],
                                     check=True, capture_output=True, text=True).stdout)
    assert "backing-filename" not in info and info["virtual-size"] == 1024**3  # m1.nano's root disk
    # the guest's disk holds the image's content (the tiny guest does not write to it)
    same = subprocess.run(["qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", str(copy), str(qcow2)],
                          capture_output=True, text=True)
    assert same.returncode == 0, same.stdout + same.stderr
    again = api.run("POST", f"/resources/{sid}/action", json={"snapshot": {"image_id": snap}})
    assert image(ctl, snap)["checksum"] == got["checksum"]  # a retry uploads nothing (409: ok)
    assert_secret_kept(ctl, api, again["id"])
    assert api.resource(sid)["status"] == "ACTIVE"

    api.run("PATCH", f"/resources/{sid}", json={"properties": {"flavor": "m1.micro"}})
    assert domain(uris[host], name).findtext("memory") == str(192 * 1024)
    refused = api.call("PATCH", f"/resources/{sid}", expect=400, json={"properties": {"image": "other"}})
    assert "image cannot change in place" in refused["error"]["message"]

    api.run("DELETE", f"/resources/{sid}")
    assert domain(uris[host], name) is None
    assert api.resource(sid)["status"] == "DELETED"
    # a template's server is a Nova server too: its row followed the resource
    r = ctl.request("GET", f"/compute/v2.1/servers/{sid}")
    assert r.status_code == 404, r.text
    r = ctl.request("GET", "/compute/v2.1/servers/detail", params={"deleted": "true", "all_tenants": "1"})
    (row,) = [x for x in r.json()["servers"] if x["id"] == sid]
    assert row["status"] == "DELETED" and row["OS-EXT-SRV-ATTR:host"] == host
