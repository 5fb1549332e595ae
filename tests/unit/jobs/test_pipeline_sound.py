"""The pipeline made sound: each task runs on exactly its placed host, user input is
never templated, only a cloud administrator may run raw Ansible, concurrent plans never
over-place a host, and a job never stays RUNNING because recording failed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from stratus.db.models.hosts import Host
from stratus.db.models.jobs import FAILED, SUCCEEDED, Job, Resource
from stratus.db.models.quotas import Allocation
from stratus.errors import Forbidden
from stratus.hosts import placement
from stratus.jobs.runner import playbook_yaml
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import ANY, INTEGER, Schema
from stratus.orchestration.resources import ResourceType, register, task
from stratus.orchestration.submit import submit

from .conftest import on_every_backend, template, wait_final
from .test_hosts_quotas import FakeServer  # noqa: F401 - registers Test::Server

pytestmark = pytest.mark.orchestration
# Jinja a hostile user could put in any field; it must reach the host byte for byte.
HOSTILE = "{{ lookup('pipe', 'id') }} {% raw %}x{% endraw %} {{ 7 * 7 }}\n{# c #}'\"\\"


@register
class PlacedFile(ResourceType):
    """A test type placed by capacity like a server: writes its properties to a file."""

    type_name = "Test::PlacedFile"
    properties_schema = {"vcpus": Schema(INTEGER, default=1), "path": Schema(ANY, required=True),
                         "content": Schema(ANY, default="")}

    @classmethod
    def host_usage(cls, props, attributes=None):
        return {"vcpus": props["vcpus"]}

    @classmethod
    def host_group(cls, props):
        return "compute"

    @classmethod
    def plan_create(cls, res):
        return [task(res, "ansible.builtin.copy", {"dest": res.properties["path"],
                                                    "content": res.properties["content"]})]

    @classmethod
    def realize(cls, result, host=None):
        return {"host": host, "dest": result.get("dest"), "checksum": result.get("checksum")}


class BrokenRealize(PlacedFile):
    type_name = "Test::BrokenRealize"

    @classmethod
    def realize(cls, result, host=None):
        raise RuntimeError("the realize hook broke")


register(BrokenRealize)


def _run_one_file(db, make_worker, path, type_name: str = "Test::PlacedFile", **worker) -> Job:
    """One resource writing ``path`` on a one-host registry, run by a worker; the ended job."""
    with db.session() as s:
        _hosts(s, 1, vcpus=4)
        job = submit(s, template(f={"type": type_name, "properties": {"path": str(path), "content": "x"}}),
                     project_id="p1")
    make_worker(**worker)
    return wait_final(db, job.id, timeout=120)


def _hosts(s, n: int, vcpus: int) -> None:
    for i in range(n):
        s.add(Host(name=f"node{i}", groups=["compute"], capacity={"vcpus": vcpus},
                   vars={"ansible_connection": "local", "ansible_host": "127.0.0.1"}))


@on_every_backend
def test_concurrent_plans_never_overfill_a_host(db):
    """20 plans at once against one host with room for 10: exactly 10 are placed."""
    with db.session() as s:
        s.add(Host(name="only", groups=["compute"], capacity={"vcpus": 10, "memory_mb": 100_000}))
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def plan_one(i: int) -> None:
        barrier.wait()
        try:
            with db.session() as s:
                submit(s, template(a={"type": "Test::Server", "properties": {"vcpus": 1}}), project_id=f"p{i}")
            outcomes.append("placed")
        except placement.NoValidHost:
            outcomes.append("no host")

    threads = [threading.Thread(target=plan_one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(outcomes) == ["no host"] * 10 + ["placed"] * 10
    with db.session() as s:
        used = s.scalar(select(func.sum(Allocation.amount)).where(Allocation.host == "only",
                                                                  Allocation.resource == "vcpus"))
        assert used == 10
        assert s.scalar(select(func.count()).select_from(Job)) == 10


def test_tasks_run_on_the_placed_host_only_and_user_input_is_never_templated(db, make_worker, tmp_path):
    with db.session() as s:
        _hosts(s, 3, vcpus=1)
        s.get(Host, "node1").capacity = {"vcpus": 4}  # the only host with room for 2
    out = tmp_path / "out"
    out.mkdir()
    tpl = template(f={"type": "Test::PlacedFile",
                      "properties": {"vcpus": 2, "path": str(out / "f.txt"),
                                     "content": {"get_param": "text"}}})
    tpl["parameters"] = {"text": {"type": "string"}}
    with db.session() as s:
        job = submit(s, tpl, {"text": HOSTILE}, project_id="p1")
        play = job.playbook[0]
        assert play["hosts"] == "node1"  # the placed host, not the group
        main_yml = playbook_yaml(job.playbook)
        assert "!unsafe" in main_yml and "{{ lookup" in main_yml
    make_worker()
    done = wait_final(db, job.id, timeout=120)
    assert done.status == SUCCEEDED, done.status_reason
    assert (out / "f.txt").read_text() == HOSTILE  # byte for byte: nothing ran, nothing rendered
    with db.session() as s:
        res = s.scalar(select(Resource).where(Resource.name == "f"))
        assert res.hosts == ["node1"]
        assert res.attributes["host"] == "node1"  # realize saw the host and the whole result
        assert res.attributes["dest"] == str(out / "f.txt")


def test_only_a_cloud_admin_may_run_raw_ansible(db):
    tpl = template(t={"type": "Stratus::Ansible::Task",
                      "properties": {"module": "ansible.builtin.command", "args": {"cmd": "id"}}})
    with pytest.raises(Forbidden, match="only a cloud administrator may use Stratus::Ansible::Task"), \
            db.session() as s:
        submit(s, tpl, project_id="p1", cloud_admin=False)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0  # nothing recorded
        submit(s, tpl, project_id="admin", cloud_admin=True)


def test_a_result_that_cannot_be_recorded_fails_the_job(db, make_worker, tmp_path):
    done = _run_one_file(db, make_worker, tmp_path / "b.txt", "Test::BrokenRealize")
    assert done.status == FAILED
    assert "could not record the result of 'f'" in done.status_reason
    assert "the realize hook broke" in done.status_reason
    assert Path(tmp_path / "b.txt").exists()  # the host did its part; the record says why it failed


def test_independent_resources_share_a_parallel_play_on_their_own_hosts(db, make_worker, tmp_path):
    with db.session() as s:
        _hosts(s, 2, vcpus=1)
    files = {n: tmp_path / f"{n}.txt" for n in ("a", "b")}
    tpl = template(**{n: {"type": "Test::PlacedFile", "properties": {"path": str(p), "content": n}}
                      for n, p in files.items()})
    with db.session() as s:
        job = submit(s, tpl, project_id="p1")
        (play,) = job.playbook  # one dependency level: one play
        assert play["strategy"] == "free" and play["hosts"] == "node0:node1"
        blocks = {t["name"]: t for t in play["tasks"]}
        placed = {n: s.scalar(select(Resource.hosts).where(Resource.id == job.resource_map[n]))[0]
                  for n in files}
        assert placed["a"] != placed["b"]  # spread over the two hosts
        for n in files:  # each resource's tasks run only on its own host
            assert blocks[n]["when"] == f"inventory_hostname in {[placed[n]]!r}"
    make_worker()
    done = wait_final(db, job.id, timeout=120)
    assert done.status == SUCCEEDED, done.status_reason
    assert {n: p.read_text() for n, p in files.items()} == {"a": "a", "b": "b"}
    inventory = next((tmp_path / "state" / "runs").glob("*/inventory/hosts.json")).read_text()
    assert '"node0"' in inventory and '"node1"' in inventory and '"localhost"' not in inventory


def test_a_crash_while_settling_fails_the_job(db, make_worker, tmp_path, monkeypatch):
    from stratus.jobs.worker import Worker

    def broken(*_a, **_k):
        raise RuntimeError("settling broke")

    monkeypatch.setattr(Worker, "_settle", broken)
    done = _run_one_file(db, make_worker, tmp_path / "c.txt")
    assert done.status == FAILED
    assert "internal error while running the job: settling broke" in done.status_reason
    with db.session() as s:
        assert s.get(Resource, done.resource_map["f"]).status == "ERROR"


def test_the_worker_prunes_finished_run_directories(db, make_worker, tmp_path):
    done = _run_one_file(db, make_worker, tmp_path / "d.txt", run_retention=0, prune_interval=0.2)
    assert done.status == SUCCEEDED
    runs = tmp_path / "state" / "runs"
    deadline = time.monotonic() + 30
    while any(runs.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(runs.iterdir())  # the run's inventory and playbook are gone


def test_a_stack_port_writes_its_neutron_record_with_the_resource_id(db):
    """A template's ``OS::Neutron::Port`` writes the port's record through the ports
    service (its id the resource id, an address from the subnet); binding a host is for
    cloud administrators and the refusal leaves nothing."""
    from stratus.db.models.network import IPAllocation, Network, Subnet
    from stratus.db.models.network import Port as PortRow

    with db.session() as s:
        s.add(Network(id="net-1", project_id="p1", name="blue"))
        s.flush()
        s.add(Subnet(id="sub-1", project_id="p1", network_id="net-1", ip_version=4, cidr="10.0.0.0/24",
                     gateway_ip="10.0.0.1", allocation_pools=[{"start": "10.0.0.2", "end": "10.0.0.254"}]))
    with db.session() as s:
        job = submit(s, template(port={"type": "OS::Neutron::Port",
                                       "properties": {"network": "net-1", "name": "p",
                                                      "fixed_ips": [{"subnet": "sub-1"}]}}), project_id="p1")
        row = s.get(PortRow, job.resource_map["port"])
        assert (row.name, row.project_id, row.network_id) == ("p", "p1", "net-1")
        assert s.get(Resource, row.id).attributes["fixed_ips"] == [{"subnet_id": "sub-1", "ip_address": "10.0.0.2"}]
    with pytest.raises(ResourceCheckFailed, match="binding:host_id") as err, db.session() as s:
        submit(s, template(port={"type": "OS::Neutron::Port",
                                 "properties": {"network": "net-1", "binding:host_id": "n1"}}), project_id="p1")
    assert err.value.status == 403
    with db.session() as s:
        mine = select(PortRow.id).where(PortRow.device_owner != "network:dhcp")  # DHCP's own may come
        assert s.scalar(select(func.count()).select_from(mine.subquery())) == 1
        assert s.scalar(select(func.count()).select_from(IPAllocation).where(IPAllocation.port_id.in_(mine))) == 1
