"""A router's host state, computed from the records, and the tasks that realise it.

``hostplan`` calls these two (keep the names):

- ``desired(db, router_id) -> dict | None``: what the router's network host must hold,
  None when the router record is gone or has no host (no network host registered):

  .. code-block:: python

     {"router_id": "...", "host": "net1",            # Router.host
      "networks": ["<net id>", ...],                # networks of its ports (bridges needed)
      "router": {                                   # stratus.cloud.router's arguments
          "router_id": "...", "mtu": 1450,
          "interfaces": [{network_id, port_id, mac, cidr, ip}, ...],
          "external_gateway": {network_id, port_id, mac, cidr, ip, gateway_ip,
                               enable_snat} | None,
          "routes": [{destination, nexthop}, ...]},
      "floating_ips": [{"floating_ip": "203.0.113.5", "fixed_ip": "10.0.0.5"}, ...],
      "floating_ips_gone": ["203.0.113.9", ...]}

  An interface is one fixed IP of a ``network:router_interface`` port (a port with an
  IPv4 and an IPv6 subnet gives two); the gateway is the first IPv4 address of the
  ``network:router_gateway`` port. Floating IPs are listed only while associated and
  while the router has a gateway (the ``floating_ip`` module needs its ``qg-`` device).

  ``floating_ips_gone`` lists the addresses the state recorded at the router's last
  converge mapped (differently or at all) and this one does not: they are removed
  first. The recorded state lives on the router's ``OS::Neutron::Router`` resource row
  (``attributes["router_state"]``): whoever plans a router's tasks records the new
  one with ``record(db, router_id, desired)`` (``previous(db, router_id)`` reads it).

- ``tasks(res, desired, state="present") -> list[dict]``: the tasks on
  ``desired["host"]`` (each has a ``when`` on ``inventory_hostname``, so they may sit in
  a play on several hosts). ``present``: the floating IPs gone removed, then the
  ``router`` module, then one ``floating_ip`` task per floating IP (gratuitous ARP on).
  ``absent`` (``desired`` is then the state recorded where it was): the router's
  namespace removed, its floating IPs with it.

These tasks need the router's networks present on its host (the segments of its
ports, which ``hostplan`` plans from the router ports bound to ``Router.host``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.jobs import Resource
from stratus.db.models.network import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    Router,
    RouterPort,
    Subnet,
)
from stratus.orchestration.functions import jinja_literal
from stratus.orchestration.resources import PlannedResource, task

INTERFACE = "network:router_interface"
GATEWAY = "network:router_gateway"
FLOATING = "network:floatingip"
STATE_KEY = "router_state"
PRESENT, ABSENT = "present", "absent"


def desired(db: Session, router_id: str) -> dict[str, Any] | None:
    router = db.get(Router, router_id)
    if router is None or not router.host:
        return None
    rows = db.execute(
        select(Port, IPAllocation, Subnet)
        .join(RouterPort, RouterPort.port_id == Port.id)
        .join(IPAllocation, IPAllocation.port_id == Port.id)
        .join(Subnet, Subnet.id == IPAllocation.subnet_id)
        .where(RouterPort.router_id == router_id)
        .order_by(Port.id, IPAllocation.ip_address)).all()
    interfaces, gateway, networks = [], None, []
    for port, alloc, subnet in rows:
        if port.network_id not in networks:
            networks.append(port.network_id)
        one = {"network_id": port.network_id, "port_id": port.id, "mac": port.mac_address,
               "cidr": subnet.cidr, "ip": alloc.ip_address}
        if port.device_owner == GATEWAY:
            if gateway is None and subnet.ip_version == 4:
                gateway = {**one, "gateway_ip": subnet.gateway_ip, "enable_snat": router.enable_snat}
        else:
            interfaces.append(one)
    mtus = [n.mtu for n in db.scalars(select(Network).where(Network.id.in_(networks)))] if networks else []
    fips = []
    if gateway is not None:
        fips = [{"floating_ip": f.floating_ip_address, "fixed_ip": f.fixed_ip_address}
                for f in db.scalars(select(FloatingIP).where(
                    FloatingIP.router_id == router_id, FloatingIP.fixed_port_id.is_not(None))
                    .order_by(FloatingIP.floating_ip_address))
                if f.fixed_ip_address]
    return {
        "router_id": router.id,
        "host": router.host,
        "networks": networks,
        "router": {"router_id": router.id, "mtu": min(mtus) if mtus else None,
                   "interfaces": interfaces, "external_gateway": gateway,
                   "routes": [{"destination": r["destination"], "nexthop": r["nexthop"]}
                              for r in router.routes or []]},
        "floating_ips": fips,
        "floating_ips_gone": _gone(previous(db, router_id), router.host, fips),
    }


def _gone(before: dict[str, Any] | None, host: str, fips: list[dict[str, str]]) -> list[str]:
    if not before or before.get("host") != host:
        return []
    now = {(f["floating_ip"], f["fixed_ip"]) for f in fips}
    return sorted({f["floating_ip"] for f in before.get("floating_ips") or []
                   if (f["floating_ip"], f["fixed_ip"]) not in now})


def previous(db: Session, router_id: str) -> dict[str, Any] | None:
    row = db.get(Resource, router_id)
    return (row.attributes or {}).get(STATE_KEY) if row is not None else None


def record(db: Session, router_id: str, state: dict[str, Any] | None) -> None:
    row = db.get(Resource, router_id)
    if row is not None:
        row.attributes = {**(row.attributes or {}), STATE_KEY: state}


def tasks(res: PlannedResource, desired: dict[str, Any] | None, state: str = PRESENT) -> list[dict[str, Any]]:
    if not desired or not desired.get("host"):
        return []
    host, router_id = desired["host"], desired["router_id"]
    if state == ABSENT:
        return [on_host(host, task(res, "stratus.cloud.router", {"router_id": router_id, "state": ABSENT},
                                   "router absent"))]
    out = [on_host(host, task(res, "stratus.cloud.floating_ip", {
        "router_id": router_id, "floating_ip": gone, "state": ABSENT}, f"floating ip {gone} absent"))
        for gone in desired.get("floating_ips_gone") or []]
    args = {k: v for k, v in desired["router"].items() if v is not None}
    out.append(on_host(host, task(res, "stratus.cloud.router", args, "router")))
    for fip in desired["floating_ips"]:
        out.append(on_host(host, task(res, "stratus.cloud.floating_ip", {
            "router_id": router_id, "floating_ip": fip["floating_ip"], "fixed_ip": fip["fixed_ip"],
            "gratuitous_arp": True}, f"floating ip {fip['floating_ip']}")))
    return out


def on_host(host: str, one: dict[str, Any]) -> dict[str, Any]:
    """``one`` task, run only on ``host`` (of a play on several hosts)."""
    one["when"] = f"inventory_hostname == {jinja_literal(host)}"
    return one
