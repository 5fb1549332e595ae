"""OS::Nova::Server through the pipeline on two libvirt hosts: it boots (no NIC),
reboots, resizes and goes away on the host placement chose, and nowhere else."""

from __future__ import annotations

import hashlib
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest
from sqlalchemy import func, select

from stratus.db.models.hosts import Host
from stratus.db.models.jobs import DELETED, SUCCEEDED, Resource
from stratus.db.models.quotas import Allocation
from stratus.orchestration.submit import submit, submit_action, submit_delete, submit_update
from tests.helpers.libvirt_node import libvirt_node1, libvirt_node2  # noqa: F401 - fixtures
from tests.unit.jobs.conftest import template, wait_final

from .conftest import interpreter

pytestmark = [pytest.mark.orchestration, pytest.mark.compute, pytest.mark.slow]


def run(db, fn, *args, **kw):
    with db.session() as s:
        job = fn(s, *args, **kw)
    done = wait_final(db, job.id, timeout=300)
    assert done.status == SUCCEEDED, done.status_reason
    return job


def domain(uri: str, name: str) -> ET.Element | None:
    conn = libvirt.open(uri)
    try:
        try:
            return ET.fromstring(conn.lookupByName(name).XMLDesc(0))
        except libvirt.libvirtError:
            return None
    finally:
        conn.close()


def test_server_lives_only_on_its_placed_host(db, make_worker, request, tmp_path, guest_image):
    node1, node2 = request.getfixturevalue("libvirt_node1"), request.getfixturevalue("libvirt_node2")
    with db.session() as s:
        # c1 shares this machine's files; c2's modules run in node 2's mount namespace.
        s.add(Host(name="c1", groups=["compute"], capacity={"vcpus": 2, "memory_mb": 1024, "disk_gb": 10},
                   vars={"ansible_connection": "local", "stratus_libvirt_uri": node1.uri}))
        s.add(Host(name="c2", groups=["compute"], capacity={"vcpus": 4, "memory_mb": 4096, "disk_gb": 20},
                   vars={"ansible_connection": "local", "stratus_libvirt_uri": node2.uri,
                         "ansible_python_interpreter": interpreter(
                             tmp_path / "py-c2", ["nsenter", "-t", str(node2._pid("libvirtd")), "-m"])}))
    qcow2 = guest_image["qcow2"]
    image_id = f"pipeline-{uuid.uuid4().hex[:8]}"
    server = {"type": "OS::Nova::Server", "properties": {
        "name": "web-1", "flavor": "m1.nano", "image": image_id, "image_source": str(qcow2),
        "image_checksum": hashlib.sha256(Path(qcow2).read_bytes()).hexdigest(),
        "metadata": {"role": "web"}}}
    make_worker()
    job = run(db, submit, template(web=server), project_id="p1")
    sid = job.resource_map["web"]
    name = f"instance-{sid}"
    assert job.playbook[0]["hosts"] == "c2"  # the host with the most room, nothing else
    with db.session() as s:
        row = s.get(Resource, sid)
        assert row.hosts == ["c2"]
        assert row.attributes["host"] == "c2" and row.attributes["power_state"] == "running"
    assert domain(node2.uri, name) is not None
    assert domain(node1.uri, name) is None

    run(db, submit_action, sid, "reboot", {"type": "HARD"}, project_id="p1")
    assert domain(node2.uri, name) is not None
    with db.session() as s:
        assert s.get(Resource, sid).status == "ACTIVE"  # an action is not a rebuild

    run(db, submit_update, sid, {"flavor": "m1.micro"})
    xml = domain(node2.uri, name)
    assert xml.findtext("memory") == str(192 * 1024)
    with db.session() as s:
        used = dict(s.execute(select(Allocation.resource, Allocation.amount)
                              .where(Allocation.consumer_id == sid, Allocation.host == "c2")).all())
        assert used["memory_mb"] == 192  # the resize holds the new size on the same host

    run(db, submit_delete, [sid], project_id="p1")
    assert domain(node2.uri, name) is None
    with db.session() as s:
        assert s.get(Resource, sid).status == DELETED
        assert s.scalar(select(func.count()).select_from(Allocation)
                        .where(Allocation.consumer_id == sid)) == 0
