"""The reconcile pass on real libvirt domains (a private libvirtd, ``libvirt_node1``):
``stratus compute reconcile`` reports an orphan Stratus domain, a server whose domain is
gone and a power state that drifted — changing nothing — and ``--repair`` removes the
orphan (a domain Stratus does not own stays), puts the lost server in ERROR with a
fault and records the power state; a second pass finds nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import yaml

from stratus.compute import states
from stratus.db.models.compute import Server
from tests.api.compute.admin_fixtures import cloud_db
from tests.api.conftest import REPO, _Factory
from tests.helpers.libvirt_node import libvirt_node1  # noqa: F401 - the fixture

pytestmark = [pytest.mark.api, pytest.mark.compute]

NS = "https://stratus.invalid/xmlns/libvirt/instance/1.0"


def domain_xml(name: str, uid: str, owned: bool = True) -> str:
    meta = (f'<metadata><stratus:instance xmlns:stratus="{NS}"><stratus:uuid>{uid}</stratus:uuid>'
            f'<stratus:name>reconcile-test</stratus:name></stratus:instance></metadata>') if owned else ""
    return (f"<domain type='qemu'><name>{name}</name><uuid>{uid}</uuid><memory unit='MiB'>32</memory>"
            f"<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>{meta}</domain>")


def virsh(node, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["virsh", "-c", node.uri, *args], capture_output=True, text=True, check=check)


def domains(node) -> set[str]:
    return set(virsh(node, "list", "--all", "--name").stdout.split())


def reconcile(c, *args: str) -> tuple[int, dict]:
    r = subprocess.run([sys.executable, "-m", "stratus.cli.main", "compute", "reconcile", "-f", "json", *args,
                        "--config", str(c.config_file)], capture_output=True, text=True, cwd=REPO)
    assert r.stdout, r.stderr
    return r.returncode, json.loads(r.stdout)


@pytest.fixture(scope="module")
def cloud(request, tmp_path_factory, libvirt_node1):  # noqa: F811
    factory = _Factory(request, tmp_path_factory.mktemp("reconcile"))
    c = factory("sqlite")
    inv = Path(tempfile.mkdtemp(dir=c.workdir)) / "hosts.yml"
    inv.write_text(yaml.safe_dump({"all": {"children": {"compute": {"hosts": {"rc1": {
        "ansible_connection": "local", "stratus_libvirt_uri": libvirt_node1.uri}}}}}}))
    c.stratus("host", "sync", "-i", str(inv))
    try:
        yield c, libvirt_node1
    finally:
        factory.close()


def test_report_then_repair(cloud, tmp_path):
    c, node = cloud
    orphan, kept, lost, busy, foreign = (str(uuid.uuid4()) for _ in range(5))
    for name, uid, owned in ((f"instance-{orphan}", orphan, True), (f"instance-{kept}", kept, True),
                             (f"notours-{foreign[:8]}", foreign, False)):
        xml = tmp_path / f"{uid}.xml"
        xml.write_text(domain_xml(name, uid, owned))
        virsh(node, "define", str(xml))
    with cloud_db(c) as s:
        base = {"project_id": "p", "user_id": "u", "flavor_id": "1", "host": "rc1"}
        # recorded running, but its guest is shut off
        s.add(Server(id=kept, name="kept", vm_state=states.ACTIVE, power_state=states.RUNNING, **base))
        s.add(Server(id=lost, name="lost", vm_state=states.ACTIVE, power_state=states.RUNNING, **base))
        # a build in progress has no domain yet: not judged
        s.add(Server(id=busy, name="busy", vm_state=states.BUILDING, task_state=states.SPAWNING, **base))
    try:
        rc, report = reconcile(c)
        assert rc == 1 and report["hosts"] == ["rc1"] and report["unreachable"] == {}
        found = {(f["kind"], f["instance"]) for f in report["findings"]}
        assert found == {("orphan_domain", orphan), ("lost_server", lost), ("power_state", kept)}
        assert not any(f["repaired"] for f in report["findings"])
        # a report changes nothing
        assert {f"instance-{orphan}", f"instance-{kept}", f"notours-{foreign[:8]}"} <= domains(node)
        with cloud_db(c) as s:
            assert s.get(Server, lost).vm_state == states.ACTIVE and s.get(Server, kept).power_state == states.RUNNING

        rc, report = reconcile(c, "--repair")
        assert rc == 0, report
        assert all(f["repaired"] for f in report["findings"]) and len(report["findings"]) == 3
        left = domains(node)
        assert f"instance-{orphan}" not in left
        assert {f"instance-{kept}", f"notours-{foreign[:8]}"} <= left  # a record's and a foreign domain stay
        with cloud_db(c) as s:
            gone = s.get(Server, lost)
            assert gone.vm_state == states.ERROR and gone.power_state == states.NOSTATE
            assert gone.fault["code"] == 500 and "gone from host rc1" in gone.fault["message"]
            drifted = s.get(Server, kept)
            assert (drifted.power_state, drifted.vm_state) == (states.SHUTDOWN, states.STOPPED)
            assert s.get(Server, busy).vm_state == states.BUILDING

        rc, report = reconcile(c)
        assert rc == 0 and report["findings"] == []
    finally:
        for name in (f"instance-{orphan}", f"instance-{kept}", f"notours-{foreign[:8]}"):
            virsh(node, "undefine", name, check=False)


def test_an_unreachable_host_is_reported_not_judged(cloud, tmp_path):
    c, _ = cloud
    from stratus.db.models.hosts import Host

    sid = str(uuid.uuid4())
    with cloud_db(c) as s:
        # a host whose Python is missing: its instance_info fails (no traffic leaves the machine)
        s.add(Host(name="rc-gone", groups=["compute"], vars={"ansible_connection": "local",
                                                             "ansible_python_interpreter": "/nonexistent/python3"}))
        s.add(Server(id=sid, project_id="p", user_id="u", name="far", flavor_id="1", host="rc-gone",
                     vm_state=states.ACTIVE, power_state=states.RUNNING))
    try:
        rc, report = reconcile(c, "--repair", "--host", "rc-gone")
        assert rc == 1 and "rc-gone" in report["unreachable"] and report["findings"] == []
        with cloud_db(c) as s:
            assert s.get(Server, sid).vm_state == states.ACTIVE
    finally:
        with cloud_db(c) as s:
            s.delete(s.get(Server, sid))
            s.delete(s.get(Host, "rc-gone"))
