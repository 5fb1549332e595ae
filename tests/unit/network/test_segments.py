"""Segment allocation from the configured ranges: tenant VNIs and VLAN ids in order,
provider ids anywhere valid, refusals in Neutron's words, exhaustion, release, and no
id given twice under concurrency."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

import stratus.db.models  # noqa: F401 - registers every table
from stratus.config import Settings
from stratus.db.base import Base
from stratus.db.models.network import Network, SegmentAllocation
from stratus.db.session import Database
from stratus.errors import ApiError
from stratus.network import segments

SETTINGS = Settings(network_vni_ranges=["2000:2002"], network_vlan_ranges=["phys1:100:101", "phys2"],
                    network_flat_networks=["ext"], network_global_mtu=9000)


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/s.db")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def _net(db, ntype=None, physnet=None, seg=None, settings=SETTINGS) -> Network:
    with db.session() as s:
        row = Network(id=str(uuid.uuid4()), project_id="p")
        s.add(row)
        segments.reserve(s, row, settings, ntype, physnet, seg)
        return row


def _held(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(SegmentAllocation))


def test_tenant_vnis_in_order_then_exhausted(db):
    got = [_net(db).segmentation_id for _ in range(3)]
    assert got == [2000, 2001, 2002]
    with pytest.raises(ApiError) as err:
        _net(db)
    assert (err.value.status, err.value.type) == (503, "NoNetworkAvailable")
    assert _held(db) == 3


def test_provider_ids_and_in_use(db):
    assert _net(db, "vxlan", None, 5000).segmentation_id == 5000  # outside the tenant range: allowed
    with pytest.raises(ApiError) as err:
        _net(db, "vxlan", None, 5000)
    assert (err.value.status, err.value.type) == (409, "TunnelIdInUse")
    v = _net(db, "vlan", "phys2", 42)
    assert (v.network_type, v.physical_network, v.segmentation_id) == ("vlan", "phys2", 42)
    with pytest.raises(ApiError) as err:
        _net(db, "vlan", "phys2", 42)
    assert err.value.type == "VlanIdInUse" and "The VLAN 42 on physical network phys2 is in use" in err.value.message
    assert _net(db, "vlan", "phys1", 42).segmentation_id == 42  # another physnet: another id space
    assert _held(db) == 3


def test_tenant_vlans_and_flat(db):
    got = [(n.physical_network, n.segmentation_id) for n in (_net(db, "vlan"), _net(db, "vlan"))]
    assert got == [("phys1", 100), ("phys1", 101)]
    with pytest.raises(ApiError) as err:
        _net(db, "vlan")
    assert err.value.type == "NoNetworkAvailable"
    flat = _net(db, "flat", "ext")
    assert (flat.segmentation_id, segments.max_mtu(SETTINGS, "flat")) == (None, 9000)
    assert segments.max_mtu(SETTINGS, "vxlan") == 8950
    with pytest.raises(ApiError) as err:
        _net(db, "flat", "ext")
    assert err.value.type == "FlatNetworkInUse"


@pytest.mark.parametrize("args, words", [
    (("flat", "other", None), "physical_network 'other' unknown for flat"),
    (("flat", None, None), "physical_network required"),
    (("flat", "ext", 3), "segmentation_id not allowed"),
    (("vlan", None, 5), "segmentation_id requires physical_network"),
    (("vlan", "phys1", 5000), "out of range"),
    (("vlan", "physX", 5), "physical_network 'physX' unknown for VLAN"),
    (("vxlan", "phys1", None), "physical_network not allowed"),
    (("vxlan", None, 2**24), "out of range"),
    (("gre", None, None), "not supported"),
])
def test_invalid_provider_attributes(db, args, words):
    with pytest.raises(ApiError) as err:
        _net(db, *args)
    assert err.value.status == 400 and err.value.type == "InvalidInput" and words in err.value.message
    assert _held(db) == 0


def test_release_frees_the_id(db):
    n = _net(db)
    with db.session() as s:
        segments.release(s, n.id)
    assert _net(db).segmentation_id == n.segmentation_id


def test_concurrent_tenant_networks_get_distinct_vnis(db):
    settings = Settings(network_vni_ranges=["3000:3100"])
    got, errors = [], []
    start = threading.Barrier(20)

    def one():
        start.wait()
        try:
            got.append(_net(db, settings=settings).segmentation_id)
        except ApiError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(set(got)) == 20
