"""Records the L3 API tests stand on: networks and subnets written straight into the
controller's database (the networks API is another branch's), and a snapshot of the
L3 records so that a refusal can be shown to change nothing."""

from __future__ import annotations

import ipaddress
import uuid
from contextlib import contextmanager

from sqlalchemy import func, select

from stratus.db.models.jobs import Job
from stratus.db.models.network import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    RBACPolicy,
    Router,
    RouterPort,
    Subnet,
)
from stratus.db.session import Database


class Records:
    def __init__(self, database_url: str) -> None:
        self.database = Database(database_url)

    @contextmanager
    def session(self):
        with self.database.session() as s:
            yield s

    def network(self, project_id: str, cidr: str, *, external: bool = False, network_type: str = "vxlan",
                physical_network: str | None = None, shared: bool = False,
                dhcp: bool | None = None) -> tuple[str, str]:
        """A network with one IPv4 subnet (gateway .1, pool .2 to the last; DHCP on,
        except on an external network); an external one visible to every project
        (Neutron's ``access_as_external`` to ``*``)."""
        net_id, sub_id = str(uuid.uuid4()), str(uuid.uuid4())
        cidr_net = ipaddress.ip_network(cidr)
        hosts = list(cidr_net.hosts())
        with self.session() as s:
            s.add(Network(id=net_id, project_id=project_id, name=f"net-{net_id[:6]}", external=external,
                          shared=shared, network_type=network_type, physical_network=physical_network,
                          segmentation_id=None if network_type != "vxlan" else 5000 + int(net_id[:4], 16),
                          mtu=1450 if network_type == "vxlan" else 1500))
            s.flush()
            s.add(Subnet(id=sub_id, project_id=project_id, network_id=net_id, ip_version=4, cidr=str(cidr_net),
                         gateway_ip=str(hosts[0]), name=f"sub-{sub_id[:6]}",
                         enable_dhcp=(not external) if dhcp is None else dhcp,
                         allocation_pools=[{"start": str(hosts[1]), "end": str(hosts[-1])}]))
            if external:
                s.add(RBACPolicy(id=str(uuid.uuid4()), project_id=project_id, object_type="network",
                                 object_id=net_id, target_tenant="*", action="access_as_external"))
        return net_id, sub_id

    def subnet(self, network_id: str, project_id: str, cidr: str) -> str:
        sub_id = str(uuid.uuid4())
        hosts = list(ipaddress.ip_network(cidr).hosts())
        with self.session() as s:
            s.add(Subnet(id=sub_id, project_id=project_id, network_id=network_id, ip_version=4, cidr=cidr,
                         gateway_ip=str(hosts[0]), allocation_pools=[{"start": str(hosts[1]),
                                                                      "end": str(hosts[-1])}]))
        return sub_id

    def snapshot(self) -> dict:
        """Counts of the L3 records and of jobs, routers' routes/revisions and floating
        IPs' associations: equal before and after a refusal."""
        with self.session() as s:
            counts = {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                      for m in (Router, RouterPort, Port, IPAllocation, FloatingIP, Job)}
            routers = {r.id: (r.routes, r.revision_number, r.gw_port_id, r.enable_snat)
                       for r in s.scalars(select(Router))}
            fips = {f.id: (f.fixed_port_id, f.fixed_ip_address, f.router_id, f.status)
                    for f in s.scalars(select(FloatingIP))}
        return {"counts": counts, "routers": routers, "floatingips": fips}

    def port_ips(self, port_id: str) -> list[str]:
        with self.session() as s:
            return sorted(s.scalars(select(IPAllocation.ip_address).where(IPAllocation.port_id == port_id)))

    def port(self, port_id: str) -> Port | None:
        with self.session() as s:
            row = s.get(Port, port_id)
            if row is not None:
                s.expunge(row)
            return row

    def close(self) -> None:
        self.database.dispose()
