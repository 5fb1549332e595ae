"""Routers (Neutron's L3): records, their gateway and interface ports, extra routes.

A router lives in ``qrouter-<id>`` on one network host: the enabled host of the
``network`` group with the fewest routers, chosen at create and kept in ``Router.host``
(None while no network host is registered: the records are made, nothing is planned).

- ``external_gateway_info``: a ``network:router_gateway`` port on an external network,
  its address from ``external_fixed_ips`` (admins) or the next free one; ``enable_snat``
  (false only where policy allows: admins by default).
- interfaces: by ``subnet_id`` (a new ``network:router_interface`` port holding the
  subnet's ``gateway_ip``) or by ``port_id`` (an unused port of the caller's, which the
  router takes over); subnets that overlap another of the router's subnets are refused,
  as is a subnet without a gateway.
- ``routes`` (extraroute): each nexthop on one of the router's subnets;
  ``add_extraroutes``/``remove_extraroutes`` change the set.
- delete: 409 RouterInUse while interfaces remain; its gateway port goes with it.

Every function checks and writes in the caller's transaction; the route submits the
``OS::Neutron::Router`` resource whose type plans the router's host state.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from stratus.db.models.hosts import Host
from stratus.db.models.network import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    Router,
    RouterPort,
    Subnet,
)
from stratus.errors import BadRequest, Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.network import access, ipam, ports, tags
from stratus.network import attrs as fields
from stratus.network.router_hosts import GATEWAY, INTERFACE

_ADMIN = "rule:admin_required"
_OWN = "rule:admin_or_member"
_READ = "rule:admin_or_reader or rule:project_member"

register_defaults([
    RuleDefault("create_router", _OWN),
    RuleDefault("get_router", _READ),
    RuleDefault("update_router", _OWN),
    RuleDefault("delete_router", _OWN),
    RuleDefault("add_router_interface", _OWN),
    RuleDefault("remove_router_interface", _OWN),
    RuleDefault("add_extraroutes", _OWN),
    RuleDefault("remove_extraroutes", _OWN),
    RuleDefault("create_router:external_gateway_info:enable_snat", _ADMIN),
    RuleDefault("create_router:external_gateway_info:external_fixed_ips", _ADMIN),
    RuleDefault("update_router:external_gateway_info:enable_snat", _ADMIN),
    RuleDefault("update_router:external_gateway_info:external_fixed_ips", _ADMIN),
])

ATTRIBUTES = {"name", "description", "admin_state_up", "external_gateway_info", "routes",
              "availability_zone_hints", "project_id", "tenant_id", "tags", "distributed", "ha",
              "flavor_id", "id"}
UPDATABLE = {"name", "description", "admin_state_up", "external_gateway_info", "routes"}


# --- lookups --------------------------------------------------------------------------------

def owned(db: Session, ctx, model, row_id: str, missing: NotFound):
    """The caller's row of ``model`` (any, for the cloud admin); else ``missing`` (404,
    as if it did not exist)."""
    row = db.get(model, row_id)
    if row is None or not (ctx.is_admin or row.project_id == ctx.project_id):
        raise missing
    return row


def owned_by(ctx, model):
    """The WHERE clause of the rows of ``model`` the caller may see."""
    return true() if ctx.is_admin else model.project_id == ctx.project_id


def get(db: Session, ctx, router_id: str) -> Router:
    return owned(db, ctx, Router, router_id,
                 NotFound(f"Router {router_id} could not be found.", type="RouterNotFound"))


def visible(ctx):
    return owned_by(ctx, Router)


def network(db: Session, ctx, network_id: Any) -> Network:
    if not isinstance(network_id, str):
        raise NotFound(f"Network {network_id} could not be found.", type="NetworkNotFound")
    return access.network(db, ctx, network_id)


def subnet(db: Session, ctx, subnet_id: Any) -> Subnet:
    if not isinstance(subnet_id, str):
        raise NotFound(f"Subnet {subnet_id} could not be found.", type="SubnetNotFound")
    return access.subnet(db, ctx, subnet_id)


def port_ips(db: Session, port_id: str) -> list[IPAllocation]:
    return ipam.addresses(db, port_id)


# --- the view ----------------------------------------------------------------------------------

def view(db: Session, row: Router) -> dict[str, Any]:
    gateway = None
    if row.gw_port_id:
        port = db.get(Port, row.gw_port_id)
        gateway = {"network_id": port.network_id, "enable_snat": row.enable_snat,
                   "external_fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                                          for a in port_ips(db, port.id)]}
    return {
        "id": row.id, "name": row.name, "status": row.status, "admin_state_up": row.admin_state_up,
        "external_gateway_info": gateway, "routes": list(row.routes or []),
        "availability_zone_hints": list(row.availability_zone_hints or []),
        "availability_zones": ["nova"] if row.host else [],
        **fields.standard(row, tags.of(db, "routers", row.id)),
    }


# --- validation -----------------------------------------------------------------------------------

def check_attributes(body: Any, allowed: set[str], resource: str) -> dict[str, Any]:
    """The ``resource`` document of a request body, with only ``allowed`` attributes."""
    doc = fields.section(body, resource)
    fields.only(doc, allowed)
    return doc


# --- create / update / delete -----------------------------------------------------------------------

def create(db: Session, ctx, policy, attrs: dict[str, Any], router_id: str | None = None) -> Router:
    project = fields.project_of(ctx, attrs, ctx.is_admin)
    hints = attrs.get("availability_zone_hints") or []
    if not isinstance(hints, list) or any(h != "nova" for h in hints):
        raise NotFound(f"AvailabilityZone {hints} could not be found.", type="AvailabilityZoneNotFound")
    row = Router(id=router_id or str(uuid.uuid4()), project_id=project, name=fields.text(attrs, "name", default=""),
                 description=fields.text(attrs, "description", default=""),
                 admin_state_up=fields.boolean(attrs, "admin_state_up", default=True),
                 availability_zone_hints=hints, routes=[], host=choose_host(db))
    db.add(row)
    db.flush()
    if attrs.get("external_gateway_info"):
        set_gateway(db, ctx, policy, row, attrs["external_gateway_info"], "create_router")
    if attrs.get("routes"):
        row.routes = check_routes(db, row, attrs["routes"])
    db.flush()
    return row


def update(db: Session, ctx, policy, row: Router, attrs: dict[str, Any]) -> None:
    fixed = sorted(set(attrs) - UPDATABLE)
    if fixed:
        raise BadRequest(f"Cannot update read-only attribute {fixed[0]}", type="HTTPBadRequest")
    for name in ("name", "description"):
        if name in attrs:
            setattr(row, name, fields.text(attrs, name))
    if "admin_state_up" in attrs:
        row.admin_state_up = fields.boolean(attrs, "admin_state_up")
    if "external_gateway_info" in attrs:
        info = attrs["external_gateway_info"]
        if not info:
            clear_gateway(db, row)
        else:
            set_gateway(db, ctx, policy, row, info, "update_router")
    if "routes" in attrs:
        row.routes = check_routes(db, row, attrs["routes"])
    fields.touch(row)
    db.flush()


def delete(db: Session, row: Router) -> None:
    if interface_ports(db, row.id):
        raise Conflict(f"Router {row.id} still has ports", type="RouterInUse")
    clear_gateway(db, row)
    db.delete(row)
    db.flush()


def choose_host(db: Session) -> str | None:
    """The enabled ``network`` host with the fewest routers (by name on a tie)."""
    hosts = sorted(h.name for h in db.scalars(select(Host).where(Host.enabled.is_(True)))
                   if "network" in (h.groups or []))
    if not hosts:
        return None
    counts = dict(db.execute(select(Router.host, func.count()).where(Router.host.in_(hosts))
                             .group_by(Router.host)).all())
    return min(hosts, key=lambda h: (counts.get(h, 0), h))


# --- the gateway ------------------------------------------------------------------------------------

def set_gateway(db: Session, ctx, policy, row: Router, info: Any, action: str) -> None:
    if not isinstance(info, dict) or not isinstance(info.get("network_id"), str):
        raise BadRequest("Invalid input for external_gateway_info. Reason: network_id is required.",
                         type="HTTPBadRequest")
    unknown = sorted(set(info) - {"network_id", "enable_snat", "external_fixed_ips", "qos_policy_id"})
    if unknown:
        raise BadRequest(f"Invalid input for external_gateway_info. Reason: Unexpected keys supplied: "
                         f"{', '.join(unknown)}.", type="HTTPBadRequest")
    snat = fields.boolean(info, "enable_snat")
    if snat is False:
        policy.enforce(f"{action}:external_gateway_info:enable_snat", {"project_id": row.project_id})
    fixed = info.get("external_fixed_ips")
    if fixed:
        policy.enforce(f"{action}:external_gateway_info:external_fixed_ips", {"project_id": row.project_id})
    net = network(db, ctx, info["network_id"])
    if not net.external:
        raise BadRequest(f"Bad router request: External network {net.id} is not reachable from "
                         f"subnet(s) of router {row.id}: it is not an external network "
                         "(router:external).", type="BadRequest")
    current = db.get(Port, row.gw_port_id) if row.gw_port_id else None
    if current is not None and current.network_id == net.id and not fixed:
        row.enable_snat = snat is not False
        return
    clear_gateway(db, row)
    port = system_port(db, net, row.project_id, GATEWAY, row.id, _fixed_ips(fixed) if fixed else None,
                       host=row.host)
    if not any(ipaddress.ip_address(a.ip_address).version == 4 for a in port_ips(db, port.id)):
        raise BadRequest(f"Bad router request: No IPv4 subnet on external network {net.id}.", type="BadRequest")
    check_overlaps(db, row, [db.get(Subnet, a.subnet_id) for a in port_ips(db, port.id)])
    db.add(RouterPort(router_id=row.id, port_id=port.id, port_type=GATEWAY))
    row.gw_port_id, row.enable_snat = port.id, snat is not False
    db.flush()


def _fixed_ips(fixed: Any) -> list[dict[str, str]]:
    if not isinstance(fixed, list) or not all(isinstance(f, dict) for f in fixed):
        raise BadRequest("Invalid input for external_fixed_ips. Reason: a list of "
                         "{subnet_id, ip_address} is expected.", type="HTTPBadRequest")
    return [{k: v for k, v in f.items() if k in ("subnet_id", "ip_address")} for f in fixed]


def clear_gateway(db: Session, row: Router) -> None:
    if not row.gw_port_id:
        return
    in_use = db.scalar(select(FloatingIP.id).where(FloatingIP.router_id == row.id,
                                                   FloatingIP.fixed_port_id.is_not(None)).limit(1))
    if in_use:
        raise Conflict(f"Gateway cannot be updated for router {row.id}, since a gateway to external "
                       f"network {db.get(Port, row.gw_port_id).network_id} is required by one or more "
                       "floating IPs.", type="RouterExternalGatewayInUseByFloatingIp")
    port = db.get(Port, row.gw_port_id)
    row.gw_port_id = None
    db.flush()
    if port is not None:
        delete_port(db, port)


# --- interfaces -----------------------------------------------------------------------------------

def interface_ports(db: Session, router_id: str) -> list[Port]:
    return list(db.scalars(select(Port).join(RouterPort, RouterPort.port_id == Port.id).where(
        RouterPort.router_id == router_id, RouterPort.port_type == INTERFACE).order_by(Port.created_at, Port.id)))


def router_subnets(db: Session, router_id: str) -> list[Subnet]:
    return list(db.scalars(select(Subnet).join(IPAllocation, IPAllocation.subnet_id == Subnet.id)
                           .join(RouterPort, RouterPort.port_id == IPAllocation.port_id)
                           .where(RouterPort.router_id == router_id).order_by(Subnet.id)).unique())


def check_overlaps(db: Session, row: Router, new: list[Subnet]) -> None:
    """Neutron's refusal of a subnet that overlaps one the router has already."""
    have = router_subnets(db, row.id)
    for b in new:
        nb = ipaddress.ip_network(b.cidr)
        for a in have:
            na = ipaddress.ip_network(a.cidr)
            if na.version == nb.version and na.overlaps(nb):
                raise BadRequest(f"Bad router request: Cidr {b.cidr} of subnet {b.id} overlaps with "
                                 f"cidr {a.cidr} of subnet {a.id}.", type="BadRequest")


def add_interface(db: Session, ctx, row: Router, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not (body.get("subnet_id") or body.get("port_id")):
        raise BadRequest("Bad router request: Either subnet_id or port_id must be specified.",
                         type="BadRequest")
    if body.get("subnet_id") and body.get("port_id"):
        raise BadRequest("Bad router request: Cannot specify both subnet-id and port-id.", type="BadRequest")
    if body.get("port_id"):
        port = _own_port(db, ctx, body["port_id"])
        if port.device_id or port.device_owner:
            raise Conflict(f"Port {port.id} is in use by {port.device_owner or 'a device'} "
                           f"{port.device_id}: it cannot be a router interface.", type="PortInUse")
        ips = port_ips(db, port.id)
        check_overlaps(db, row, [db.get(Subnet, a.subnet_id) for a in ips])
        if not ips:
            raise BadRequest("Bad router request: Router port must have at least one fixed IP.",
                             type="BadRequest")
        if row.host:
            ports.bind(db, port, row.host, row.id, INTERFACE)
        else:
            port.device_owner, port.device_id = INTERFACE, row.id
        sub = db.get(Subnet, ips[0].subnet_id)
    else:
        sub = subnet(db, ctx, body["subnet_id"])
        if not sub.gateway_ip:
            raise BadRequest("Bad router request: Subnet for router interface must have a gateway IP.",
                             type="BadRequest")
        already = db.scalar(select(IPAllocation.id).join(RouterPort, RouterPort.port_id == IPAllocation.port_id)
                            .where(RouterPort.router_id == row.id, IPAllocation.subnet_id == sub.id).limit(1))
        if already:
            raise BadRequest(f"Bad router request: Router already has a port on subnet {sub.id}.",
                             type="BadRequest")
        net = db.get(Network, sub.network_id)
        if net.external:
            raise BadRequest(f"Bad router request: Router {row.id} cannot have an interface on external "
                             f"network {net.id}: set it as the gateway instead.", type="BadRequest")
        check_overlaps(db, row, [sub])
        port = system_port(db, net, row.project_id, INTERFACE, row.id,
                           [{"subnet_id": sub.id, "ip_address": sub.gateway_ip}], host=row.host)
    db.add(RouterPort(router_id=row.id, port_id=port.id, port_type=INTERFACE))
    db.flush()
    fields.touch(row)
    subnet_ids = [a.subnet_id for a in port_ips(db, port.id)]
    return {"id": row.id, "tenant_id": row.project_id, "project_id": row.project_id, "port_id": port.id,
            "network_id": port.network_id, "subnet_id": sub.id, "subnet_ids": subnet_ids, "tags": []}


def remove_interface(db: Session, ctx, row: Router, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not (body.get("subnet_id") or body.get("port_id")):
        raise BadRequest("Bad router request: Either subnet_id or port_id must be specified.",
                         type="BadRequest")
    ports = interface_ports(db, row.id)
    if body.get("port_id"):
        port = next((p for p in ports if p.id == body["port_id"]), None)
        if port is None:
            raise NotFound(f"Router {row.id} does not have an interface with id {body['port_id']}",
                           type="RouterInterfaceNotFound")
        if body.get("subnet_id") and body["subnet_id"] not in [a.subnet_id for a in port_ips(db, port.id)]:
            raise Conflict(f"Subnet {body['subnet_id']} is not on port {port.id}.", type="SubnetMismatchForPort")
    else:
        sub = subnet(db, ctx, body["subnet_id"])
        port = next((p for p in ports if sub.id in [a.subnet_id for a in port_ips(db, p.id)]), None)
        if port is None:
            raise NotFound(f"Router {row.id} has no interface on subnet {sub.id}",
                           type="RouterInterfaceNotFoundForSubnet")
    ips = port_ips(db, port.id)
    _refuse_if_floating_ips_need(db, row, port.network_id)
    subnet_ids = [a.subnet_id for a in ips]
    answer = {"id": row.id, "tenant_id": row.project_id, "project_id": row.project_id, "port_id": port.id,
              "network_id": port.network_id, "subnet_id": subnet_ids[0] if subnet_ids else None,
              "subnet_ids": subnet_ids, "tags": []}
    remaining = [r for r in row.routes or [] if not _nexthop_on(r["nexthop"], [
        db.get(Subnet, s).cidr for s in subnet_ids])]
    if len(remaining) != len(row.routes or []):
        gone = [r for r in row.routes if r not in remaining][0]
        raise Conflict(f"Router interface for subnet {subnet_ids[0]} on router {row.id} cannot be deleted, "
                       f"as it is required by one or more routes (nexthop {gone['nexthop']}).",
                       type="RouterInterfaceInUseByRoute")
    delete_port(db, port)
    fields.touch(row)
    db.flush()
    return answer


def _refuse_if_floating_ips_need(db: Session, row: Router, network_id: str) -> None:
    used = db.scalar(select(FloatingIP.id).join(Port, Port.id == FloatingIP.fixed_port_id).where(
        FloatingIP.router_id == row.id, Port.network_id == network_id).limit(1))
    if used:
        raise Conflict(f"Router interface on network {network_id} of router {row.id} cannot be deleted, "
                       f"as it is required by floating IP {used}.", type="RouterInterfaceInUseByFloatingIP")


def _own_port(db: Session, ctx, port_id: Any) -> Port:
    port = db.get(Port, port_id) if isinstance(port_id, str) else None
    if port is None or not (ctx.is_admin or port.project_id == ctx.project_id):
        raise NotFound(f"Port {port_id} could not be found.", type="PortNotFound")
    return port


# --- routes ----------------------------------------------------------------------------------------

def check_routes(db: Session, row: Router, routes: Any) -> list[dict[str, str]]:
    """``routes`` normalized, each nexthop on one of the router's subnets."""
    cidrs = [s.cidr for s in router_subnets(db, row.id)]
    out = []
    for r in _route_list(routes):
        if not _nexthop_on(r["nexthop"], cidrs):
            raise BadRequest(f"Invalid format for routes: {r}, the nexthop is not connected with router",
                             type="InvalidRoutes")
        if r not in out:
            out.append(r)
    return out


def _nexthop_on(nexthop: str, cidrs: list[str]) -> bool:
    hop = ipaddress.ip_address(nexthop)
    return any(hop.version == ipaddress.ip_network(c).version and hop in ipaddress.ip_network(c) for c in cidrs)


def change_routes(db: Session, row: Router, routes: Any, *, add: bool) -> None:
    given = check_routes(db, row, routes) if add else _route_list(routes)
    current = list(row.routes or [])
    if add:
        row.routes = current + [r for r in given if r not in current]
    else:
        row.routes = [r for r in current if r not in given]
    fields.touch(row)
    db.flush()


def _route_list(routes: Any) -> list[dict[str, str]]:
    if not isinstance(routes, list) or not all(isinstance(r, dict) and set(r) == {"destination", "nexthop"}
                                               for r in routes):
        raise BadRequest("Invalid input for routes. Reason: a list of {destination, nexthop} is expected.",
                         type="HTTPBadRequest")
    out = []
    for r in routes:
        try:
            dest = ipaddress.ip_network(r["destination"], strict=False)
            hop = ipaddress.ip_address(r["nexthop"])
        except (TypeError, ValueError):
            raise BadRequest(f"Invalid input for routes. Reason: '{r}' has an invalid destination "
                             "or nexthop.", type="HTTPBadRequest") from None
        if dest.version != hop.version:
            raise BadRequest(f"Invalid input for routes. Reason: destination {dest} and nexthop {hop} "
                             "are of different IP versions.", type="HTTPBadRequest")
        out.append({"destination": str(dest), "nexthop": str(hop)})
    return out


# --- the router's own ports (gateway, interfaces, floating IPs) ------------------------------------

def system_port(db: Session, net: Network, project_id: str, owner: str, device_id: str,
                fixed_ips: list[dict[str, str]] | None, *, host: str | None = None) -> Port:
    """A port the network service makes for itself (``ports.create(internal=True)``):
    router ports bound to the router's host, floating IP ports bound nowhere."""
    attrs: dict[str, Any] = {"network_id": net.id, "device_owner": owner, "device_id": device_id,
                             "port_security_enabled": False}
    if fixed_ips is not None:
        attrs["fixed_ips"] = fixed_ips
    if host:
        attrs["binding:host_id"] = host
    port = ports.create(db, None, attrs, project_id=project_id, internal=True)
    if host:
        port.status = "ACTIVE"
    return port


def delete_port(db: Session, port: Port) -> None:
    ports.delete_row(db, port)


def routers_reaching(db: Session, network_id: str, external_network_id: str) -> list[Router]:
    """Routers with an interface on ``network_id`` and their gateway on the external
    network (a floating IP of it can reach a port of that network through them)."""
    gw = select(Port.id).where(Port.network_id == external_network_id, Port.device_owner == GATEWAY)
    on_net = select(RouterPort.router_id).join(Port, Port.id == RouterPort.port_id).where(
        Port.network_id == network_id, RouterPort.port_type == INTERFACE)
    return list(db.scalars(select(Router).where(Router.id.in_(on_net), or_(Router.gw_port_id.in_(gw)))
                           .order_by(Router.created_at, Router.id)))
