"""A running server's NICs and security groups: Nova's ``os-interface`` (list, show,
attach by ``port_id`` or ``net_id`` [+ ``fixed_ips``], detach), the server actions
``addSecurityGroup`` / ``removeSecurityGroup`` and ``GET
/servers/{id}/os-security-groups``.

Attach and detach change the server's ports as a create does (``stratus.compute.nics``:
a port made or claimed, bound on the server's host; a detached port deleted when Nova
made it, else unbound), record the guest's new NICs on its resource and run the
server's action ``interfaces``: the ``instance`` module hot-plugs the difference
(libvirt attach/detach-device on a running guest, the definition otherwise), the port
is plugged (or unplugged) with its security; a converge job of the network service
follows for the network's other hosts and DHCP. A security group change rewrites the
groups of every port of the server and converges those ports' rules.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.compute import instance_actions as ia
from stratus.compute import nics
from stratus.compute import states as st
from stratus.compute.actions import ActionCall, ActionResult, handles
from stratus.compute.power import authorize
from stratus.compute.validation import bad, check_unknown
from stratus.db.models.compute import Server
from stratus.db.models.jobs import Resource
from stratus.db.models.network import (
    IPAllocation,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
)
from stratus.errors import BadRequest, Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.orchestration.submit import _jsonable, planned_from, submit_action

ATTACH_INTERFACE, DETACH_INTERFACE = "attach_interface", "detach_interface"
# vm states Nova attaches and detaches interfaces in
PLUGGABLE = (st.ACTIVE, st.PAUSED, st.STOPPED)

_P = "os_compute_api:os-security-groups"
register_defaults([
    RuleDefault(f"{_P}:add", "rule:admin_or_member", "Add a security group to a server's ports"),
    RuleDefault(f"{_P}:remove", "rule:admin_or_member", "Remove a security group from a server's ports"),
    RuleDefault(f"{_P}:list", "rule:admin_or_reader", "List a server's security groups"),
])


# -- os-interface ---------------------------------------------------------------------------


def server_ports(db: Session, server: Server) -> list[Port]:
    return list(db.scalars(select(Port).where(Port.device_id == server.id,
                                              Port.device_owner.startswith(nics.OWNER_PREFIX))
                           .order_by(Port.created_at, Port.id)))


def attachment(db: Session, port: Port) -> dict[str, Any]:
    """Nova's ``interfaceAttachment`` of a port."""
    ips = db.scalars(select(IPAllocation).where(IPAllocation.port_id == port.id).order_by(IPAllocation.id))
    return {"port_state": port.status, "port_id": port.id, "net_id": port.network_id,
            "mac_addr": port.mac_address,
            "fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in ips]}


def show(db: Session, server: Server, port_id: str) -> dict[str, Any]:
    port = db.get(Port, port_id)
    if port is None or port.device_id != server.id:
        raise NotFound(f"Instance {server.id} does not have a port with id {port_id}")
    return attachment(db, port)


def parse_attach(body: Any) -> dict[str, Any]:
    """``{"interfaceAttachment": {"port_id"} | {"net_id"[, "fixed_ips"]}}`` as Nova checks it."""
    if not isinstance(body, dict):
        bad("interfaceAttachment", body, "It is not of type 'object'.")
    check_unknown(body, {"interfaceAttachment"})
    att = body.get("interfaceAttachment", {})
    if not isinstance(att, dict):
        bad("interfaceAttachment", att, "It is not of type 'object'.")
    check_unknown(att, {"port_id", "net_id", "fixed_ips"})
    if att.get("port_id") and att.get("net_id"):
        raise BadRequest("Must not input both network_id and port_id")
    if att.get("port_id") and att.get("fixed_ips"):
        raise BadRequest("Must input network_id when request IP address")
    fixed = att.get("fixed_ips")
    if fixed is not None and (not isinstance(fixed, list) or len(fixed) != 1 or not isinstance(fixed[0], dict)
                              or set(fixed[0]) != {"ip_address"}):
        bad("fixed_ips", fixed, "Give one address as [{\"ip_address\": ...}].")
    if not att.get("port_id") and not att.get("net_id"):
        raise BadRequest("Give port_id (an unused port of the project) or net_id (a network to "
                         "make a port on): automatic network allocation is not supported here.")
    return att


def attach(db: Session, ctx, server: Server, body: Any, *, plan, settings, request_id: str | None) -> Port:
    """A port made on ``net_id`` or the port ``port_id`` claimed, bound on the server's
    host and hot-plugged into its guest."""
    att = parse_attach(body)
    res = _resource(server, db, ATTACH_INTERFACE, ctx)
    planned = planned_from(res, plan)
    zone = server.availability_zone or settings.default_availability_zone
    if att.get("port_id"):
        port = nics.claim(db, ctx, str(att["port_id"]), server.id, zone)
        made = False
    else:
        entry = {"uuid": str(att["net_id"])}
        if att.get("fixed_ips"):
            entry["fixed_ip"] = str(att["fixed_ips"][0]["ip_address"])
        port = nics.make(db, ctx, entry, server.id, zone, None, context=plan)
        made = True
    planned.attributes["ports"] = [*(planned.attributes.get("ports") or []), {"id": port.id, "made": made}]
    nics.on_placed(db, planned)
    _run(db, ctx, server, res, planned, ATTACH_INTERFACE, request_id)
    return port


def detach(db: Session, ctx, server: Server, port_id: str, *, plan, request_id: str | None) -> None:
    """The port unplugged from the guest; deleted when Nova made it, else unbound."""
    res = _resource(server, db, DETACH_INTERFACE, ctx)
    port = db.get(Port, port_id)
    if port is None or port.device_id != server.id:
        raise NotFound(f"Port {port_id} is not attached")
    from stratus.network import ports

    planned = planned_from(res, plan)
    recorded = list(planned.attributes.get("ports") or [])
    made = any(p["id"] == port_id and p.get("made") for p in recorded)
    if made:
        ports.delete_row(db, port)
    else:
        ports.unbind(db, port)
    planned.attributes["ports"] = [p for p in recorded if p["id"] != port_id]
    rows = [r for p in planned.attributes["ports"] if (r := db.get(Port, p["id"])) is not None]
    nics.record_nics(db, planned, rows)
    _run(db, ctx, server, res, planned, DETACH_INTERFACE, request_id)


def _resource(server: Server, db: Session, action: str, ctx) -> Resource:
    st.check(server, action, PLUGGABLE, admin=ctx.is_admin)
    res = db.get(Resource, server.id)
    if res is None or not res.hosts:
        raise Conflict(f"Cannot '{action}' instance {server.id} while it is in vm_state {server.vm_state}")
    return res


def _run(db: Session, ctx, server: Server, res: Resource, planned, action: str, request_id: str | None) -> None:
    """Record the new NICs on the server's resource, run its ``interfaces`` action and
    let the network service converge the networks' other hosts and DHCP after it."""
    res.attributes = _jsonable(planned.attributes)
    job = submit_action(db, server.id, "interfaces", {}, project_id=server.project_id, request_id=request_id,
                        context=planned.context)
    ia.record(db, ctx, server, action, job.id, req_id=request_id)
    nics.follow(db, list(planned.attributes.get("networks") or []), context=planned.context,
                request_id=request_id, project_id=server.project_id)


# -- security groups ------------------------------------------------------------------------


def server_groups(db: Session, server: Server) -> list[SecurityGroup]:
    """The groups of the server's ports (each once, by name)."""
    ids = select(PortSecurityGroup.security_group_id).join(Port, Port.id == PortSecurityGroup.port_id).where(
        Port.device_id == server.id, Port.device_owner.startswith(nics.OWNER_PREFIX))
    return list(db.scalars(select(SecurityGroup).where(SecurityGroup.id.in_(ids))
                           .order_by(SecurityGroup.name, SecurityGroup.id)))


def group_view(db: Session, group: SecurityGroup) -> dict[str, Any]:
    """Nova's (proxied) security group: its ingress rules in Nova's shape."""
    rules = db.scalars(select(SecurityGroupRule).where(SecurityGroupRule.security_group_id == group.id,
                                                       SecurityGroupRule.direction == "ingress")
                       .order_by(SecurityGroupRule.created_at, SecurityGroupRule.id))
    out = []
    for r in rules:
        remote = db.get(SecurityGroup, r.remote_group_id) if r.remote_group_id else None
        out.append({"id": r.id, "parent_group_id": group.id, "ip_protocol": r.protocol,
                    "from_port": r.port_range_min, "to_port": r.port_range_max,
                    "group": {"name": remote.name, "tenant_id": remote.project_id} if remote else {},
                    "ip_range": {"cidr": r.remote_ip_prefix} if r.remote_ip_prefix else {}})
    return {"id": group.id, "name": group.name, "description": group.description or "",
            "tenant_id": group.project_id, "rules": out}


def _group_name(call: ActionCall) -> str:
    body = call.body
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
        raise BadRequest("Security group name cannot be empty")
    return body["name"].strip()


def _find_group(db: Session, ctx, project_id: str, name: str) -> SecurityGroup:
    """The server's project's group with that name or id (Nova's 404 / 409)."""
    rows = list(db.scalars(select(SecurityGroup).where(
        (SecurityGroup.id == name) | (SecurityGroup.name == name), SecurityGroup.project_id == project_id)))
    if not rows and name == "default":
        from stratus.network import security_groups

        rows = [security_groups.default_group(db, project_id)]
    if not rows:
        raise NotFound(f"Security group {name} not found.")
    if len(rows) > 1:
        raise Conflict(f"Multiple security group matches found for name '{name}', use an ID to be more specific.")
    return rows[0]


@handles("addSecurityGroup", "removeSecurityGroup")
def change_security_group(call: ActionCall) -> ActionResult:
    """The group added to (removed from) every port of the server with port security;
    the ports' rules converged on their host."""
    adding = call.name == "addSecurityGroup"
    authorize(call, f"{_P}:{'add' if adding else 'remove'}")
    name = _group_name(call)
    db, server = call.db, call.server
    group = _find_group(db, call.ctx, server.project_id, name)
    ports = [p for p in server_ports(db, server) if p.port_security_enabled]
    if not ports:
        raise BadRequest(f"Instance {server.id} has no port with port security to put in security group {name}.")
    have = {p.id for p in ports if db.get(PortSecurityGroup, (p.id, group.id)) is not None}
    if adding and len(have) == len(ports):
        raise BadRequest(f"Security group {name} is already associated with the instance {server.id}")
    if not adding and not have:
        raise BadRequest(f"Security group {name} not associated with the instance {server.id}")
    from stratus.network import attrs, hostplan

    for port in ports:
        row = db.get(PortSecurityGroup, (port.id, group.id))
        if adding and row is None:
            db.add(PortSecurityGroup(port_id=port.id, security_group_id=group.id))
        elif not adding and row is not None:
            db.delete(row)
        attrs.touch(port)
    db.flush()
    hostplan.submit(db, ports=[p.id for p in ports], request_id=call.request_id, context=call.plan,
                    project_id=server.project_id)
    return ActionResult(202)

