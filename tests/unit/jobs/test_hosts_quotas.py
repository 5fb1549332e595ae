"""Host registry (sync from any inventory, the inventory plugin), placement and the
planner's quota check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from stratus import quotas
from stratus.db.migrations import upgrade
from stratus.db.models.hosts import Host
from stratus.db.models.jobs import Job, Resource
from stratus.db.models.quotas import Allocation
from stratus.hosts import placement, registry
from stratus.orchestration.properties import INTEGER, Schema
from stratus.orchestration.resources import ResourceType, register
from stratus.orchestration.submit import submit

from .conftest import REPO, on_every_backend, template

pytestmark = pytest.mark.orchestration
VENV_BIN = Path(sys.executable).parent


@register
class FakeServer(ResourceType):
    """A test type that claims quota and host capacity like a server will."""

    type_name = "Test::Server"
    properties_schema = {"vcpus": Schema(INTEGER, required=True), "ram": Schema(INTEGER, default=512)}

    @classmethod
    def quota_usage(cls, props, attributes=None):
        return {"instances": 1, "cores": props["vcpus"], "ram": props["ram"]}

    @classmethod
    def host_usage(cls, props, attributes=None):
        return {"vcpus": props["vcpus"], "memory_mb": props["ram"]}

    @classmethod
    def host_group(cls, props):
        return "compute"


def stratus(*args, db_url):
    env = {**os.environ, "STRATUS_DATABASE_URL": db_url}
    return subprocess.run([str(VENV_BIN / "stratus"), *args], capture_output=True, text=True,
                          env=env, cwd=REPO)


def test_host_sync_list_and_inventory_plugin(tmp_path):
    url = f"sqlite:///{tmp_path}/c.db"
    upgrade(url)
    inv = tmp_path / "hosts.ini"
    inv.write_text(textwrap.dedent("""\
        [compute]
        cmp1 ansible_host=10.99.0.11
        cmp2 ansible_host=10.99.0.12 ansible_user=stack
        [network]
        net1 ansible_host=10.99.0.21
        [compute:vars]
        ansible_port=2222
        """))
    r = stratus("host", "sync", "-i", str(inv), "-i", str(REPO / "inventories/aio"), db_url=url)
    assert r.returncode == 0, r.stderr
    assert "added: " in r.stdout and "cmp1" in r.stdout
    assert "already matches" in stratus("host", "sync", "-i", str(inv), "-i", str(REPO / "inventories/aio"),
                                        db_url=url).stdout
    hosts = {h["name"]: h for h in json.loads(stratus("host", "list", "-f", "json", db_url=url).stdout)}
    assert set(hosts) == {"cmp1", "cmp2", "net1", "localhost"}
    assert hosts["cmp2"]["groups"] == ["compute"] and hosts["cmp2"]["address"] == "10.99.0.12"
    assert "controller" in hosts["localhost"]["groups"]
    # the registry served back through the inventory plugin, as Ansible sees it
    cfg = tmp_path / "registry.stratus.yml"
    cfg.write_text(f"plugin: stratus.cloud.controller\ndb_url: {url}\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    out = subprocess.run([str(VENV_BIN / "ansible-inventory"), "-i", str(cfg), "--list"],
                         capture_output=True, text=True, env=env, cwd=REPO)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert sorted(got["compute"]["hosts"]) == ["cmp1", "cmp2", "localhost"]
    hv = {k: v["__ansible_unsafe"] if isinstance(v, dict) and "__ansible_unsafe" in v else v
          for k, v in got["_meta"]["hostvars"]["cmp2"].items()}
    assert hv["ansible_user"] == "stack" and int(hv["ansible_port"]) == 2222
    assert hv["ansible_python_interpreter"] == "/usr/bin/python3"
    # prune drops hosts the inventory no longer has
    r = stratus("host", "sync", "--prune", "-i", str(REPO / "inventories/aio"), db_url=url)
    assert "removed: cmp1, cmp2, net1" in r.stdout


@on_every_backend
def test_placement_spreads_and_refuses_when_full(db):
    with db.session() as s:
        s.add_all([Host(name="c1", groups=["compute"], capacity={"vcpus": 4, "memory_mb": 4096}),
                   Host(name="c2", groups=["compute"], capacity={"vcpus": 4, "memory_mb": 4096})])
    tpl = template(a={"type": "Test::Server", "properties": {"vcpus": 3}},
                   b={"type": "Test::Server", "properties": {"vcpus": 3}})
    with db.session() as s:
        job = submit(s, tpl, project_id="p1")
    with db.session() as s:
        placed = {a.host for a in s.scalars(select(Allocation).where(Allocation.host.is_not(None)))}
        assert placed == {"c1", "c2"}  # spread: 3 + 3 do not fit one host
        assert s.get(Job, job.id).status == "QUEUED"
    with pytest.raises(placement.NoValidHost, match="No valid host was found for 'a'"), db.session() as s:
        submit(s, template(a={"type": "Test::Server", "properties": {"vcpus": 2}}), project_id="p1")
    with db.session() as s:  # the refused request left nothing behind
        assert s.scalar(select(func.count()).select_from(Job)) == 1


@on_every_backend
def test_planner_rejects_over_quota_in_one_transaction(db):
    with db.session() as s:
        s.add(Host(name="big", groups=["compute"], capacity={"vcpus": 64, "memory_mb": 65536}))
        quotas.set_limits(s, "p2", {"instances": 2, "cores": 3})
    with db.session() as s:
        submit(s, template(a={"type": "Test::Server", "properties": {"vcpus": 2}}), project_id="p2")
    with pytest.raises(quotas.QuotaExceeded) as exc, db.session() as s:
        submit(s, template(a={"type": "Test::Server", "properties": {"vcpus": 2}}), project_id="p2")
    assert exc.value.resources == ["cores"]
    assert str(exc.value).startswith("Quota exceeded for cores (requested 2, used 2 of 3)")
    with db.session() as s:
        assert quotas.usage(s, "p2") == {"instances": 1, "cores": 2, "ram": 512}
        assert s.scalar(select(func.count()).select_from(Resource)) == 1
        # unlimited (-1) lets it through; the defaults come from settings overrides
        quotas.set_limits(s, "p2", {"cores": -1})
        submit(s, template(a={"type": "Test::Server", "properties": {"vcpus": 2}}), project_id="p2")
        assert quotas.limits(s, "p3", {"instances": 7}, "compute")["instances"] == 7


def test_registry_inventory_shape(db):
    with db.session() as s:
        inv = registry.inventory(s)
    assert inv["all"]["hosts"]["localhost"]["ansible_connection"] == "local"
    assert set(inv["all"]["children"]) == {"controller", "compute", "network", "block_storage", "object_storage"}


def test_refresh_records_storage_capacity(db, tmp_path):
    from stratus.jobs.host_refresh import refresh

    vols = tmp_path / "volumes"
    vols.mkdir()
    plays = [{"name": "storage", "hosts": "block_storage", "gather_facts": False, "tasks": [
        {"name": "storage", "stratus.cloud.storage_info": {
            "backends": [{"name": "file", "driver": "file", "directory": str(vols)}]}}]}]
    got = refresh(db, tmp_path / "state", plays)
    assert got["failed"] == {}
    with db.session() as s:
        host = s.get(Host, "localhost")
        assert host.capacity["volume_gb"] >= 1 and host.refreshed_at is not None
        assert host.reported["storage_backends"]["file"]["driver"] == "file"


def test_over_quota_faults_have_each_service_shape():
    from stratus.api.errors import fault_body
    from stratus.quotas.service import fault

    exc = quotas.QuotaExceeded("p9", {"cores": {"requested": 2, "used": 20, "limit": 20}})
    nova = fault(exc, "compute")
    assert nova.status == 403
    assert fault_body("compute", nova.status, nova.message) == {"forbidden": {
        "code": 403, "message": "Quota exceeded for cores: Requested 2, but already used 20 of 20 cores"}}
    neutron = fault(quotas.QuotaExceeded("p9", {"port": {"requested": 1, "used": 5, "limit": 5}}), "network")
    body = fault_body("network", neutron.status, neutron.message, neutron.type)
    assert neutron.status == 409 and body["NeutronError"]["type"] == "OverQuota"
    assert body["NeutronError"]["message"] == "Quota exceeded for resources: ['port']."
    cinder = fault(quotas.QuotaExceeded("p9", {"volumes": {"requested": 1, "used": 10, "limit": 10}}), "volume")
    assert cinder.status == 413 and "overLimit" in fault_body("volume", cinder.status, cinder.message)


@pytest.mark.compute
def test_refresh_reads_hypervisor_capacity(db, tmp_path, libvirt_daemon):
    from stratus.jobs.host_refresh import refresh

    got = refresh(db, tmp_path / "state")  # the default plays: hypervisor_info + storage_info
    assert "localhost" in got["refreshed"], got
    with db.session() as s:
        cap = s.get(Host, "localhost").capacity
    assert cap["vcpus"] == os.cpu_count() and cap["memory_mb"] > 0 and cap["disk_gb"] > 0


def test_planning_a_resource_again_does_not_count_it_twice(db):
    with db.session() as s:
        s.add(Host(name="c9", groups=["compute"], capacity={"vcpus": 4, "memory_mb": 4096}))
        quotas.set_limits(s, "p4", {"instances": 1, "cores": 4})
    srv = template(a={"type": "Test::Server", "properties": {"vcpus": 2}})
    with db.session() as s:
        submit(s, srv, project_id="p4", resource_ids={"a": "srv-0001"})
    with db.session() as s:  # resize: 2 -> 4 cores, still one instance
        submit(s, template(a={"type": "Test::Server", "properties": {"vcpus": 4}}),
               project_id="p4", resource_ids={"a": "srv-0001"})
    with db.session() as s:
        assert quotas.usage(s, "p4") == {"instances": 1, "cores": 4, "ram": 512}
    with pytest.raises(quotas.QuotaExceeded), db.session() as s:  # a second server is over
        submit(s, srv, project_id="p4")
    with db.session() as s:  # the refused request changed nothing
        assert quotas.usage(s, "p4") == {"instances": 1, "cores": 4, "ram": 512}
