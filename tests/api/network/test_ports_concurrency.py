"""50 ports created at once through the API (threads, openstacksdk) get 50 distinct
addresses and 50 distinct MACs, on SQLite and PostgreSQL; a pool with fewer free
addresses than requests gives each address once and refuses the rest with Neutron's
409, leaving no port without its address."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from openstack import exceptions

from tests.api.network import port_world

pytestmark = [pytest.mark.api, pytest.mark.network]
COUNT = 50


def _in_parallel(conn, network_id: str, count: int):
    """Create ``count`` ports at the same instant; (ports, errors, seconds)."""
    start = threading.Barrier(count)

    def one(i):
        start.wait()
        try:
            return conn.network.create_port(network_id=network_id, name=f"par-{i}")
        except exceptions.HttpException as exc:
            return exc

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(one, range(count)))
    took = time.monotonic() - t0
    return ([r for r in results if not isinstance(r, Exception)],
            [r for r in results if isinstance(r, Exception)], took)


def test_50_parallel_ports_get_50_distinct_addresses_and_macs(controller):
    member = controller.new_project_user("member", prefix="par")
    world = port_world.network(controller, member.project_id, cidr="10.30.0.0/24")
    conn = controller.conn(member)
    conn.network.ports(network_id=world.network_id)  # authenticate once, before the race
    made, errors, took = _in_parallel(conn, world.network_id, COUNT)
    assert errors == []
    addresses = [ip["ip_address"] for p in made for ip in p.fixed_ips]
    assert len(made) == COUNT and len(set(addresses)) == len(addresses) == COUNT
    assert len({p.mac_address for p in made}) == COUNT
    print(f"\n{controller.backend}: {COUNT} parallel port creates in {took:.2f}s "
          f"({COUNT / took:.1f} ports/s)")
    listed = list(conn.network.ports(network_id=world.network_id))
    assert sorted(ip["ip_address"] for p in listed for ip in p.fixed_ips) == sorted(addresses)
    for p in made:
        conn.network.delete_port(p)
    assert port_world.counts(controller, world.network_id) == (0, 0)


def test_a_small_pool_is_never_overbooked(controller):
    member = controller.new_project_user("member", prefix="pool")
    world = port_world.network(controller, member.project_id, cidr="10.31.0.0/24",
                               pool=("10.31.0.10", "10.31.0.17"))  # 8 addresses for 12 requests
    conn = controller.conn(member)
    conn.network.ports(network_id=world.network_id)
    made, errors, _ = _in_parallel(conn, world.network_id, 12)
    addresses = [ip["ip_address"] for p in made for ip in p.fixed_ips]
    assert len(made) == 8 and sorted(addresses) == [f"10.31.0.{n}" for n in range(10, 18)]
    assert len(errors) == 4 and all(e.status_code == 409 for e in errors)
    assert port_world.counts(controller, world.network_id) == (8, 8)  # no port without its address
    for p in made:
        conn.network.delete_port(p)
