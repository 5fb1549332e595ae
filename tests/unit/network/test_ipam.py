"""IPAM in the database: addresses by subnet or address, SLAAC, refusals, release, and
concurrent allocations that never share an address (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from sqlalchemy import func, select

import stratus.db.models  # noqa: F401 - registers every table
from stratus.db.base import Base
from stratus.db.models.network import IPAllocation, Network, Port, Subnet
from stratus.db.session import Database
from stratus.errors import ApiError
from stratus.network import ipam

BACKENDS = os.environ.get("STRATUS_TEST_BACKENDS", "sqlite,postgresql").split(",")


@pytest.fixture(params=["sqlite"])
def database(request, tmp_path):
    yield from _database(request, tmp_path)


@pytest.fixture(params=BACKENDS)
def any_database(request, tmp_path):
    yield from _database(request, tmp_path)


def _database(request, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").new_database()
    else:
        url = f"sqlite:///{tmp_path}/stratus.db"
    db = Database(url)
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


def _world(db: Database, *subnets: dict) -> tuple[str, list[str]]:
    net_id = str(uuid.uuid4())
    ids = []
    with db.session() as s:
        s.add(Network(id=net_id, project_id="p1", name="n"))
        s.flush()
        for spec in subnets:
            sid = str(uuid.uuid4())
            ids.append(sid)
            s.add(Subnet(id=sid, project_id="p1", network_id=net_id, **spec))
    return net_id, ids


V4 = {"ip_version": 4, "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1",
      "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.254"}]}
V6_SLAAC = {"ip_version": 6, "cidr": "2001:db8::/64", "gateway_ip": "2001:db8::1",
            "ipv6_ra_mode": "slaac", "ipv6_address_mode": "slaac",
            "allocation_pools": [{"start": "2001:db8::2", "end": "2001:db8::ffff:ffff:ffff:ffff"}]}
V6_STATEFUL = {"ip_version": 6, "cidr": "2001:db8:1::/64", "gateway_ip": "2001:db8:1::1",
               "ipv6_address_mode": "dhcpv6-stateful",
               "allocation_pools": [{"start": "2001:db8:1::2", "end": "2001:db8:1::ffff"}]}


def _port(s, net_id: str, n: int = 0, owner: str = "") -> Port:
    port = Port(id=str(uuid.uuid4()), project_id="p1", network_id=net_id,
                mac_address=f"fa:16:3e:00:{n // 256:02x}:{n % 256:02x}", device_owner=owner)
    s.add(port)
    return port


def _refused(db, net_id, fixed_ips, owner=""):
    with pytest.raises(ApiError) as err, db.session() as s:
        ipam.allocate(s, _port(s, net_id, 99, owner), fixed_ips)
    with db.session() as s:  # the request rolled back: nothing was allocated
        assert s.scalar(select(func.count()).select_from(IPAllocation)) == 0
    return err.value


def test_default_gives_first_free_of_each_subnet_and_eui64(database):
    net_id, (v4, v6, v6s) = _world(database, V4, V6_SLAAC, V6_STATEFUL)
    with database.session() as s:
        rows = ipam.allocate(s, _port(s, net_id, 1), None)
        got = {r.subnet_id: r.ip_address for r in rows}
    assert got == {v4: "10.0.0.2", v6s: "2001:db8:1::2", v6: "2001:db8::f816:3eff:fe00:1"}
    with database.session() as s:
        rows = ipam.allocate(s, _port(s, net_id, 2), None)
        assert {r.ip_address for r in rows} >= {"10.0.0.3", "2001:db8:1::3"}


def test_by_subnet_by_address_and_both(database):
    net_id, (v4,) = _world(database, V4)
    with database.session() as s:
        a = ipam.allocate(s, _port(s, net_id, 1), [{"subnet_id": v4}])
        b = ipam.allocate(s, _port(s, net_id, 2), [{"ip_address": "10.0.0.77"}])
        c = ipam.allocate(s, _port(s, net_id, 3), [{"subnet_id": v4, "ip_address": "10.0.0.1"}])
        assert [r.ip_address for r in a + b + c] == ["10.0.0.2", "10.0.0.77", "10.0.0.1"]
        assert {r.subnet_id for r in a + b + c} == {v4}


def test_refusals_name_the_address_and_change_nothing(database):
    net_id, (v4,) = _world(database, V4)
    e = _refused(database, net_id, [{"ip_address": "192.168.9.9"}])
    assert (e.status, e.type) == (400, "InvalidIpForNetwork") and "192.168.9.9" in e.message
    e = _refused(database, net_id, [{"subnet_id": v4, "ip_address": "10.0.0.255"}])
    assert (e.status, e.type) == (400, "InvalidIpForSubnet")
    e = _refused(database, net_id, [{"subnet_id": str(uuid.uuid4())}])
    assert (e.status, e.type) == (404, "SubnetNotFound")
    e = _refused(database, net_id, [{"ip_address": "not-an-ip"}])
    assert (e.status, e.type) == (400, "InvalidInput") and "not-an-ip" in e.message
    other_net, (other,) = _world(database, {**V4, "cidr": "10.9.0.0/24"})
    e = _refused(database, net_id, [{"subnet_id": other}])
    assert (e.status, e.type) == (400, "InvalidInput") and other in e.message


def test_address_in_use_409(database):
    net_id, (v4,) = _world(database, V4)
    with database.session() as s:
        ipam.allocate(s, _port(s, net_id, 1), [{"ip_address": "10.0.0.9"}])
    with pytest.raises(ApiError) as err, database.session() as s:
        ipam.allocate(s, _port(s, net_id, 2), [{"ip_address": "10.0.0.9"}])
    assert (err.value.status, err.value.type) == (409, "IpAddressAlreadyAllocated")
    assert "10.0.0.9" in err.value.message and v4 in err.value.message
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(IPAllocation)) == 1


def test_slaac_refuses_a_fixed_address(database):
    net_id, (v6,) = _world(database, V6_SLAAC)
    e = _refused(database, net_id, [{"ip_address": "2001:db8::99"}])
    assert (e.status, e.type) == (400, "InvalidInput") and "automatic" in e.message


def test_exhausted_pool_409_and_release_frees(database):
    net_id, (v4,) = _world(database, {**V4, "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.3"}]})
    with database.session() as s:
        p1 = _port(s, net_id, 1)
        ipam.allocate(s, p1, None)
        ipam.allocate(s, _port(s, net_id, 2), None)
        p1_id = p1.id
    with pytest.raises(ApiError) as err, database.session() as s:
        ipam.allocate(s, _port(s, net_id, 3), None)
    assert (err.value.status, err.value.type) == (409, "IpAddressGenerationFailure")
    assert net_id in err.value.message
    with database.session() as s:
        assert ipam.release(s, p1_id) == ["10.0.0.2"]
        assert [r.ip_address for r in ipam.allocate(s, _port(s, net_id, 4), None)] == ["10.0.0.2"]


def test_subnet_in_use_ignores_dhcp(database):
    net_id, (v4,) = _world(database, V4)
    with database.session() as s:
        ipam.allocate(s, _port(s, net_id, 1, owner="network:dhcp"), None)
        assert not ipam.subnet_in_use(s, v4)
        ipam.allocate(s, _port(s, net_id, 2, owner="compute:nova"), None)
        assert ipam.subnet_in_use(s, v4)
        assert not ipam.subnet_in_use(s, v4, ignore_owners=("network:dhcp", "compute:nova"))


def _race(db: Database, net_id: str, n: int) -> tuple[list[str], list[ApiError]]:
    got: list[str] = []
    errors: list[ApiError] = []
    lock = threading.Lock()
    start = threading.Barrier(n)

    def one(i: int) -> None:
        start.wait()
        try:
            with db.session() as s:
                rows = ipam.allocate(s, _port(s, net_id, i), None)
        except ApiError as exc:
            with lock:
                errors.append(exc)
            return
        with lock:
            got.extend(r.ip_address for r in rows)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return got, errors


def test_50_concurrent_allocations_get_50_distinct_addresses(any_database):
    net_id, _ = _world(any_database, V4)
    got, errors = _race(any_database, net_id, 50)
    assert errors == []
    assert len(got) == 50 and len(set(got)) == 50
    with any_database.session() as s:
        stored = list(s.scalars(select(IPAllocation.ip_address)))
    assert sorted(stored) == sorted(got)


def test_concurrent_allocations_on_a_small_pool_never_overbook(any_database):
    net_id, _ = _world(any_database, {**V4, "allocation_pools": [{"start": "10.0.0.2", "end": "10.0.0.11"}]})
    got, errors = _race(any_database, net_id, 16)
    assert len(got) == 10 and len(set(got)) == 10
    assert len(errors) == 6 and {e.type for e in errors} == {"IpAddressGenerationFailure"}


def test_empty_request_gives_no_address(database):
    net_id, _ = _world(database, V4, V6_SLAAC)
    with database.session() as s:
        assert ipam.allocate(s, _port(s, net_id, 1), []) == []
        assert s.scalar(select(func.count()).select_from(IPAllocation)) == 0


def test_explicit_request_still_gets_slaac_but_router_ports_do_not(database):
    net_id, (v4, v6) = _world(database, V4, V6_SLAAC)
    with database.session() as s:
        rows = ipam.allocate(s, _port(s, net_id, 1), [{"subnet_id": v4}])
        assert {r.subnet_id for r in rows} == {v4, v6}
        rows = ipam.allocate(s, _port(s, net_id, 2, owner="network:router_interface"),
                             [{"subnet_id": v6, "ip_address": "2001:db8::1"}])
        assert [r.ip_address for r in rows] == ["2001:db8::1"]
