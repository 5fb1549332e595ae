"""Floating IPs: an address of an external network, held by a ``network:floatingip``
port, mapped 1:1 to a fixed IP of a port behind a router.

- allocate: ``floating_network_id`` (an external network), optionally ``subnet_id`` and,
  for admins, ``floating_ip_address``; with ``port_id`` it is associated at once;
- associate (``port_id`` + optional ``fixed_ip_address``): the port's network must reach
  the external network through a router with an interface on it and its gateway there
  (404 ExternalGatewayForFloatingIPNotFound otherwise); one floating IP per fixed IP;
- disassociate (``port_id: null``), release (delete).

Status: DOWN while not associated; an association realised on the router's host makes
it ACTIVE (the ``OS::Neutron::Router`` converge of its router).
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.network import FloatingIP, Network, Port, Router, Subnet
from stratus.errors import BadRequest, Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.network import attrs as fields
from stratus.network import routers, tags
from stratus.network.router_hosts import FLOATING

register_defaults([
    RuleDefault("create_floatingip", "rule:admin_or_member"),
    RuleDefault("create_floatingip:floating_ip_address", "rule:admin_required"),
    RuleDefault("get_floatingip", "rule:admin_or_reader or rule:project_member"),
    RuleDefault("update_floatingip", "rule:admin_or_member"),
    RuleDefault("delete_floatingip", "rule:admin_or_member"),
])

ATTRIBUTES = {"floating_network_id", "floating_ip_address", "subnet_id", "port_id", "fixed_ip_address",
              "description", "project_id", "tenant_id", "tags", "dns_name", "dns_domain", "qos_policy_id"}
UPDATABLE = {"port_id", "fixed_ip_address", "description"}


def get(db: Session, ctx, fip_id: str) -> FloatingIP:
    return routers.owned(db, ctx, FloatingIP, fip_id,
                         NotFound(f"Floating IP {fip_id} could not be found", type="FloatingIPNotFound"))


def visible(ctx):
    return routers.owned_by(ctx, FloatingIP)


def view(db: Session, row: FloatingIP) -> dict[str, Any]:
    return {
        "id": row.id, "floating_ip_address": row.floating_ip_address,
        "floating_network_id": row.floating_network_id, "router_id": row.router_id,
        "port_id": row.fixed_port_id, "fixed_ip_address": row.fixed_ip_address, "status": row.status,
        "port_forwardings": [], **fields.standard(row, tags.of(db, "floatingips", row.id)),
    }


def create(db: Session, ctx, policy, attrs: dict[str, Any], fip_id: str | None = None) -> FloatingIP:
    project = fields.project_of(ctx, attrs, ctx.is_admin)
    if not isinstance(attrs.get("floating_network_id"), str):
        raise BadRequest("Failed to parse request. Required attribute 'floating_network_id' not specified",
                         type="HTTPBadRequest")
    net = routers.network(db, ctx, attrs["floating_network_id"])
    if not net.external:
        raise BadRequest(f"Bad floatingip request: Network {net.id} is not a valid external network.",
                         type="BadRequest")
    want: dict[str, str] = {}
    if attrs.get("subnet_id") is not None:
        sub = db.get(Subnet, attrs["subnet_id"]) if isinstance(attrs["subnet_id"], str) else None
        if sub is None or sub.network_id != net.id:
            raise BadRequest(f"Bad floatingip request: Subnet {attrs['subnet_id']} is not on external "
                             f"network {net.id}.", type="BadRequest")
        want["subnet_id"] = sub.id
    if attrs.get("floating_ip_address") is not None:
        policy.enforce("create_floatingip:floating_ip_address", {"project_id": project})
        want["ip_address"] = _address(attrs["floating_ip_address"], "floating_ip_address")
    if not want:
        want["subnet_id"] = _v4_subnet(db, net)
    fid = fip_id or str(uuid.uuid4())
    port = routers.system_port(db, net, project, FLOATING, fid, [want])
    address = routers.port_ips(db, port.id)[0].ip_address
    row = FloatingIP(id=fid, project_id=project, floating_network_id=net.id, floating_ip_address=address,
                     floating_port_id=port.id, description=fields.text(attrs, "description", default=""), status="DOWN")
    db.add(row)
    db.flush()
    if attrs.get("port_id") is not None:
        associate(db, ctx, row, attrs["port_id"], attrs.get("fixed_ip_address"))
    return row


def update(db: Session, ctx, row: FloatingIP, attrs: dict[str, Any]) -> str | None:
    """Apply ``attrs``; returns the router whose host state changed besides the
    floating IP's new router (the one it left), if any."""
    fixed = sorted(set(attrs) - UPDATABLE)
    if fixed:
        raise BadRequest(f"Cannot update read-only attribute {fixed[0]}", type="HTTPBadRequest")
    if "description" in attrs:
        row.description = fields.text(attrs, "description")
    left = None
    if "port_id" in attrs:
        left = row.router_id
        if attrs["port_id"] is None:
            disassociate(row)
        else:
            associate(db, ctx, row, attrs["port_id"], attrs.get("fixed_ip_address"))
        left = left if left != row.router_id else None
    fields.touch(row)
    db.flush()
    return left


def delete(db: Session, row: FloatingIP) -> None:
    port = db.get(Port, row.floating_port_id) if row.floating_port_id else None
    db.delete(row)
    db.flush()
    if port is not None:
        routers.delete_port(db, port)


def disassociate(row: FloatingIP) -> None:
    row.fixed_port_id = row.fixed_ip_address = row.router_id = None
    row.status = "DOWN"


def associate(db: Session, ctx, row: FloatingIP, port_id: Any, fixed_ip: Any) -> None:
    port = db.get(Port, port_id) if isinstance(port_id, str) else None
    if port is None or not (ctx.is_admin or port.project_id == ctx.project_id):
        raise NotFound(f"Port {port_id} could not be found.", type="PortNotFound")
    ips = [a.ip_address for a in routers.port_ips(db, port.id)
           if ipaddress.ip_address(a.ip_address).version == 4]
    if fixed_ip is not None:
        fixed_ip = _address(fixed_ip, "fixed_ip_address")
        if fixed_ip not in ips:
            raise BadRequest(f"Bad floatingip request: Port {port.id} does not have fixed ip {fixed_ip}.",
                             type="BadRequest")
    elif not ips:
        raise BadRequest(f"Bad floatingip request: Port {port.id} does not have any IPv4 address.",
                         type="BadRequest")
    elif len(ips) > 1:
        raise BadRequest(f"Bad floatingip request: Port {port.id} has multiple fixed IPv4 addresses.  "
                         "Must provide a specific IPv4 address when assigning a floating IP.",
                         type="BadRequest")
    fixed_ip = fixed_ip or ips[0]
    if port.device_owner.startswith("network:"):
        raise BadRequest(f"Bad floatingip request: Port {port.id} is owned by {port.device_owner}: "
                         "a floating IP maps to a port of a server or of your own.", type="BadRequest")
    reaching = routers.routers_reaching(db, port.network_id, row.floating_network_id)
    if not reaching:
        sub = db.scalar(select(Subnet.id).join(Network, Network.id == Subnet.network_id).where(
            Subnet.network_id == port.network_id, Subnet.ip_version == 4).order_by(Subnet.id).limit(1))
        raise NotFound(f"External network {row.floating_network_id} is not reachable from subnet {sub}.  "
                       f"Therefore, cannot associate Port {port.id} with a Floating IP.",
                       type="ExternalGatewayForFloatingIPNotFound")
    taken = db.scalar(select(FloatingIP.id).where(
        FloatingIP.floating_network_id == row.floating_network_id, FloatingIP.fixed_port_id == port.id,
        FloatingIP.fixed_ip_address == fixed_ip, FloatingIP.id != row.id))
    if taken:
        raise Conflict(f"Cannot associate floating IP {row.floating_ip_address} ({row.id}) with port "
                       f"{port.id} using fixed IP {fixed_ip}, as that fixed IP already has a floating "
                       f"IP on external network {row.floating_network_id}.", type="FloatingIPPortAlreadyAssociated")
    row.fixed_port_id, row.fixed_ip_address, row.router_id = port.id, fixed_ip, reaching[0].id


def realized(db: Session, router_id: str, ok: bool) -> None:
    """The router's converge finished: its associated floating IPs are ACTIVE (or ERROR;
    DOWN while the router is on no network host: nothing realises them)."""
    router = db.get(Router, router_id)
    status = ("ACTIVE" if ok else "ERROR") if router is not None and router.host else "DOWN"
    for row in db.scalars(select(FloatingIP).where(FloatingIP.router_id == router_id,
                                                   FloatingIP.fixed_port_id.is_not(None))):
        row.status = status


def _v4_subnet(db: Session, net: Network) -> str:
    sid = db.scalar(select(Subnet.id).where(Subnet.network_id == net.id, Subnet.ip_version == 4)
                    .order_by(Subnet.created_at, Subnet.id).limit(1))
    if sid is None:
        raise BadRequest(f"Bad floatingip request: Network {net.id} has no IPv4 subnet.", type="BadRequest")
    return sid


def _address(value: Any, name: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is not a valid IP address.",
                         type="HTTPBadRequest") from None
    if address.version != 4:
        raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is not an IPv4 address.",
                         type="HTTPBadRequest")
    return str(address)
