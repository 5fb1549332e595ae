"""Records the port tests stand on, written straight into a controller's database (the
networks API is another branch's): a network with an IPv4 subnet, a security group, a
host; and counters that show a refusal changed nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

import stratus.db.models  # noqa: F401 - registers every table
from stratus.db.models.hosts import Host
from stratus.db.models.network import IPAllocation, Network, Port, SecurityGroup, Subnet
from stratus.db.session import Database
from tests.api.network import nets_helpers


@dataclass
class World:
    network_id: str
    subnet_id: str
    cidr: str


def _db(controller) -> Database:
    return nets_helpers.database(controller)


def network(controller, project_id: str, *, cidr: str = "10.20.0.0/24", pool: tuple[str, str] | None = None,
            port_security: bool = True, shared: bool = False) -> World:
    """A network of ``project_id`` with one IPv4 subnet (gateway .1, pool .2 up, or ``pool``)."""
    import ipaddress

    net = ipaddress.ip_network(cidr)
    start, end = pool or (str(net[2]), str(net[-2]))
    w = World(str(uuid.uuid4()), str(uuid.uuid4()), cidr)
    with _db(controller).session() as s:
        s.add(Network(id=w.network_id, project_id=project_id, name="net-" + w.network_id[:8],
                      port_security_enabled=port_security, shared=shared, mtu=1450))
        s.flush()
        # no DHCP: these records never need a host (a shared controller may have one registered)
        s.add(Subnet(id=w.subnet_id, project_id=project_id, network_id=w.network_id, ip_version=4, cidr=cidr,
                     gateway_ip=str(net[1]), allocation_pools=[{"start": start, "end": end}], enable_dhcp=False))
    return w


def security_group(controller, project_id: str, name: str = "web") -> str:
    gid = str(uuid.uuid4())
    with _db(controller).session() as s:
        s.add(SecurityGroup(id=gid, project_id=project_id, name=name))
    return gid


def host(controller, name: str) -> str:
    with _db(controller).session() as s:
        if s.get(Host, name) is None:
            s.add(Host(name=name, groups=["compute"], vars={"stratus_tunnel_ip": "127.0.0.1"}))
    return name


def counts(controller, network_id: str) -> tuple[int, int]:
    """(ports, addresses) on the network."""
    with _db(controller).session() as s:
        ports = s.scalar(select(func.count()).select_from(Port).where(Port.network_id == network_id))
        ips = s.scalar(select(func.count()).select_from(IPAllocation).where(IPAllocation.network_id == network_id))
    return ports, ips
