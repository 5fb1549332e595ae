"""Placement through the scheduler: a resource whose type gives a RequestSpec is placed
by Nova's filters and weighers reading the DB (aggregates, services, server groups,
allocations); claims stay atomic, so concurrent creates never overfill a host nor break
an anti-affinity group; a refusal answers Nova's words and writes nothing."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from stratus.config import Settings
from stratus.db.models.compute import (
    Aggregate,
    AggregateHost,
    AggregateMetadata,
    ComputeService,
    ServerGroup,
    ServerGroupMember,
)
from stratus.db.models.hosts import Host
from stratus.db.models.jobs import Job
from stratus.db.models.quotas import Allocation
from stratus.hosts import placement
from stratus.orchestration.properties import INTEGER, STRING, Schema
from stratus.orchestration.resources import register
from stratus.orchestration.submit import submit
from stratus.scheduler.spec import RequestSpec

from .conftest import on_every_backend, template
from .test_hosts_quotas import FakeServer

pytestmark = pytest.mark.orchestration


FILTERS = ["ComputeFilter", "AvailabilityZoneFilter", "AggregateInstanceExtraSpecsFilter",
           "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter", "IgnoreHostsFilter"]


def settings(cpu_ratio: float = 1.0) -> Settings:
    return Settings(cpu_allocation_ratio=cpu_ratio, ram_allocation_ratio=1.0, disk_allocation_ratio=1.0,
                    scheduler_enabled_filters=FILTERS)


@register
class ScheduledServer(FakeServer):
    """Test::Server placed by the scheduler as OS::Nova::Server will be: its spec names
    the zone, the group (joined in ``check``, as the server's row is) and forced hosts."""

    type_name = "Test::ScheduledServer"
    properties_schema = {"vcpus": Schema(INTEGER, default=1), "ram": Schema(INTEGER, default=512),
                         "zone": Schema(STRING), "group": Schema(STRING), "force": Schema(STRING),
                         "extra": Schema(STRING), "cpu_ratio": Schema(STRING)}

    @classmethod
    def check(cls, db, res, by_id=None):
        group = res.properties.get("group")
        if group:
            db.add(ServerGroupMember(group_id=group, server_id=res.resource_id))
            db.flush()

    @classmethod
    def scheduling(cls, db, res):
        p = res.properties
        extra = dict([p["extra"].split("=", 1)]) if p.get("extra") else {}
        return RequestSpec(res.resource_id, project_id=res.project_id, availability_zone=p.get("zone"),
                           group_id=p.get("group"), force_hosts=[p["force"]] if p.get("force") else [],
                           flavor={"vcpus": p["vcpus"], "ram": p["ram"], "extra_specs": extra},
                           settings=settings(float(p.get("cpu_ratio") or 1.0)))


def vm(**props) -> dict:
    return {"type": "Test::ScheduledServer", "properties": props}


def hosts(s, *names, vcpus=4, memory_mb=8192) -> None:
    s.add_all(Host(name=n, groups=["compute"], capacity={"vcpus": vcpus, "memory_mb": memory_mb}) for n in names)


def aggregate(s, name, hosts_, **metadata) -> None:
    agg = Aggregate(uuid=str(uuid.uuid4()), name=name)
    s.add(agg)
    s.flush()
    s.add_all(AggregateHost(aggregate_id=agg.id, host=h) for h in hosts_)
    s.add_all(AggregateMetadata(aggregate_id=agg.id, key=k, value=v) for k, v in metadata.items())


def group(s, policy, **rules) -> str:
    gid = str(uuid.uuid4())
    s.add(ServerGroup(id=gid, name=policy, project_id="p1", user_id="u1", policy=policy, rules=rules))
    return gid


def placed_on(db, job_id: str) -> dict[str, str]:
    with db.session() as s:
        job = s.get(Job, job_id)
        rows = s.execute(select(Allocation.consumer_id, Allocation.host).distinct()
                         .where(Allocation.host.is_not(None), Allocation.consumer_id.in_(job.resource_map.values())))
        by_id = {rid: name for name, rid in job.resource_map.items()}
        return {by_id[c]: h for c, h in rows}


def test_zones_services_aggregates_and_ratios_from_the_db(db):
    with db.session() as s:
        hosts(s, "c1", "c2", "c3")
        aggregate(s, "fast", ["c2"], availability_zone="az1", ssd="true")
        aggregate(s, "dense", ["c3"], cpu_allocation_ratio="4.0")
        s.add(ComputeService(uuid=str(uuid.uuid4()), host="c1", binary="nova-compute", disabled=True))
    with db.session() as s:
        job = submit(s, template(a=vm(zone="az1"), b=vm(extra="aggregate_instance_extra_specs:ssd=true"),
                                 c=vm(vcpus=12), d=vm(force="c1")), project_id="p1")
    got = placed_on(db, job.id)
    assert got["a"] == "c2"  # the only host of az1
    assert got["b"] == "c2"  # the only host in an ssd aggregate
    assert got["c"] == "c3"  # 12 vCPUs fit only where the aggregate's ratio gives 16
    assert got["d"] == "c1"  # forced: the disabled service is not held against it
    with db.session() as s:  # the default zone is "nova": c2 is not in it, c1 is disabled
        job = submit(s, template(e=vm(zone="nova")), project_id="p1")
    assert placed_on(db, job.id) == {"e": "c3"}


def test_the_spec_settings_ratio_applies(db):
    with db.session() as s:
        hosts(s, "c1", vcpus=2)
    with pytest.raises(placement.NoValidHost), db.session() as s:
        submit(s, template(a=vm(vcpus=8)), project_id="p1")
    with db.session() as s:
        job = submit(s, template(a=vm(vcpus=8, cpu_ratio="4.0")), project_id="p1")
    assert placed_on(db, job.id) == {"a": "c1"}


def test_no_valid_host_answers_novas_words_and_writes_nothing(db):
    with db.session() as s:
        hosts(s, "c1")
        gid = group(s, "affinity")
    with pytest.raises(placement.NoValidHost) as err, db.session() as s:
        submit(s, template(a=vm(zone="az-missing", group=gid)), project_id="p1")
    assert str(err.value) == "No valid host was found. There are not enough hosts available."
    assert err.value.detail.endswith(": AvailabilityZoneFilter removed 2")  # c1 and the aio host are in "nova"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
        assert s.scalar(select(func.count()).select_from(Allocation)) == 0
        assert s.scalar(select(func.count()).select_from(ServerGroupMember)) == 0


def test_group_members_of_one_request_and_of_earlier_ones(db):
    with db.session() as s:
        hosts(s, "c1", "c2", "c3")
        anti, aff = group(s, "anti-affinity"), group(s, "affinity")
    with db.session() as s:
        job = submit(s, template(a=vm(group=anti), b=vm(group=anti), x=vm(group=aff), y=vm(group=aff)),
                     project_id="p1")
    got = placed_on(db, job.id)
    assert got["a"] != got["b"]  # the second sees the first's claim within the request
    assert got["x"] == got["y"]
    with db.session() as s:
        job = submit(s, template(c=vm(group=anti), z=vm(group=aff)), project_id="p1")
    later = placed_on(db, job.id)
    assert later["c"] not in (got["a"], got["b"])  # earlier members' claims, read from the DB
    assert later["z"] == got["x"]
    with pytest.raises(placement.NoValidHost, match="No valid host was found"), db.session() as s:
        submit(s, template(d=vm(group=anti)), project_id="p1")  # three hosts, three members


def _race(db, n: int, make) -> list[str]:
    outcomes: list[str] = []
    barrier = threading.Barrier(n)

    def one(i: int) -> None:
        barrier.wait()
        try:
            with db.session() as s:
                submit(s, template(**{f"vm{i}": make(i)}), project_id=f"p{i}")
            outcomes.append("placed")
        except placement.NoValidHost:
            outcomes.append("no host")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return sorted(outcomes)


@on_every_backend
def test_concurrent_scheduled_creates_never_overcommit(db):
    """16 creates at once through the scheduler; two hosts with room for 4 each
    (cpu_allocation_ratio 2 on 2 vCPUs): exactly 8 are placed, 4 per host."""
    with db.session() as s:
        hosts(s, "c1", "c2", vcpus=2, memory_mb=100_000)
    assert _race(db, 16, lambda i: vm(vcpus=1, cpu_ratio="2.0")) == ["no host"] * 8 + ["placed"] * 8
    with db.session() as s:
        used = dict(s.execute(select(Allocation.host, func.sum(Allocation.amount))
                              .where(Allocation.resource == "vcpus").group_by(Allocation.host)).all())
        assert {h: int(n) for h, n in used.items()} == {"c1": 4, "c2": 4}
        assert s.scalar(select(func.count()).select_from(Job)) == 8


@on_every_backend
def test_concurrent_members_of_an_anti_affinity_group_never_share_a_host(db):
    """8 members of one anti-affinity group (max_server_per_host 2) created at once on 3
    hosts: 6 are placed, 2 per host, and the refused ones left no membership behind."""
    with db.session() as s:
        hosts(s, "c1", "c2", "c3")
        gid = group(s, "anti-affinity", max_server_per_host=2)
    assert _race(db, 8, lambda i: vm(group=gid)) == ["no host"] * 2 + ["placed"] * 6
    with db.session() as s:
        per_host = dict(s.execute(select(Allocation.host, func.count()).where(Allocation.resource == "vcpus")
                                  .group_by(Allocation.host)).all())
        assert per_host == {"c1": 2, "c2": 2, "c3": 2}
        assert s.scalar(select(func.count()).select_from(ServerGroupMember)) == 6
