"""OS::Nova::Server through the jobs API on two libvirt hosts: it boots (no NIC),
reboots, resizes and goes away on the host placement chose, and nowhere else."""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

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


def test_server_lives_only_on_its_placed_host(controller_factory, request, tmp_path, guest_image):
    node1, node2 = request.getfixturevalue("libvirt_node1"), request.getfixturevalue("libvirt_node2")
    ctl = controller_factory("sqlite")
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
    server = {"type": "OS::Nova::Server", "properties": {
        "name": HOSTILE, "flavor": "m1.nano", "image": f"pipeline-{uuid.uuid4().hex[:8]}",
        "image_source": str(qcow2), "image_checksum": hashlib.sha256(qcow2.read_bytes()).hexdigest(),
        "metadata": {"role {{ 6 * 6 }}": HOSTILE}, "user_data": USER_DATA}}
    job = api.create(web=server)
    sid = job["resources_by_name"]["web"]
    name = f"instance-{sid}"
    res = api.resource(sid)
    (host,) = res["hosts"]
    other = "c1" if host == "c2" else "c2"
    assert res["attributes"]["host"] == host and res["attributes"]["power_state"] == "running"
    assert domain(uris[host], name) is not None
    assert domain(uris[other], name) is None  # the task ran on the placed host only
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

    api.run("PATCH", f"/resources/{sid}", json={"properties": {"flavor": "m1.micro"}})
    assert domain(uris[host], name).findtext("memory") == str(192 * 1024)
    refused = api.call("PATCH", f"/resources/{sid}", expect=400, json={"properties": {"image": "other"}})
    assert "image cannot change in place" in refused["error"]["message"]

    api.run("DELETE", f"/resources/{sid}")
    assert domain(uris[host], name) is None
    assert api.resource(sid)["status"] == "DELETED"
