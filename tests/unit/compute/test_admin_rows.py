"""Service rows made from the registry (by role, once, also when a concurrent request
inserted one first) and host zones from aggregate metadata — on a fresh database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import stratus.db.models.compute  # noqa: F401 - registers tables
import stratus.db.models.hosts  # noqa: F401
import stratus.db.models.jobs  # noqa: F401
import stratus.db.models.quotas  # noqa: F401
from stratus.compute import services, zones
from stratus.db.models.compute import Aggregate, AggregateHost, AggregateMetadata, ComputeService
from stratus.db.models.hosts import Host
from tests.helpers.db import schema_session


@pytest.fixture
def db(tmp_path):
    with schema_session(f"sqlite:///{tmp_path}/stratus.db") as s:
        s.add_all([Host(name="c1", groups=["compute"]), Host(name="c2", groups=["compute", "network"]),
                   Host(name="ctl", groups=["controller"]), Host(name="net", groups=["network"])])
        s.flush()
        yield s


def pairs(db):
    return sorted(db.execute(select(ComputeService.host, ComputeService.binary)).all())


def test_rows_by_role_once(db):
    services.ensure_rows(db)
    services.ensure_rows(db)
    assert pairs(db) == [("c1", "nova-compute"), ("c2", "nova-compute"), ("ctl", "nova-conductor"),
                         ("ctl", "nova-scheduler")]


def test_a_row_inserted_meanwhile_is_kept(db):
    services.ensure_rows(db)
    first = db.scalar(select(ComputeService.uuid).where(ComputeService.host == "c1"))
    services._add(db, "c1", "nova-compute")  # what a concurrent request's insert meets
    assert db.scalar(select(ComputeService.uuid).where(ComputeService.host == "c1")) == first
    assert len(pairs(db)) == 4


def test_host_zones_from_aggregates(db):
    a, b = Aggregate(uuid="u1", name="a"), Aggregate(uuid="u2", name="b")
    db.add_all([a, b])
    db.flush()
    db.add_all([AggregateHost(aggregate_id=a.id, host="c1"), AggregateHost(aggregate_id=b.id, host="c2"),
                AggregateMetadata(aggregate_id=a.id, key="availability_zone", value="az1"),
                AggregateMetadata(aggregate_id=b.id, key="ssd", value="true")])
    db.flush()
    assert zones.host_zones(db) == {"c1": "az1"}
    assert zones.zone_of(db, "c2", "nova") == "nova"
    assert zones.service_zone("nova-conductor", "ctl", {}, "nova") == zones.INTERNAL
