"""Ports: Neutron's port records, written in the request's transaction.

A port is a row of ``network_ports`` (its MAC unique per network), its fixed IPs
(``ipam``), its security groups (``network_port_security_groups``) and its allowed
address pairs. A port made through the API (or by Nova) also gets an ``OS::Neutron::Port``
resource with the same id: its job plugs the port on its binding host (a port bound to
no host runs nothing). Ports the system makes for itself (``internal=True``: DHCP,
router, floating IP ports) get no resource of their own; the owner's job realizes them.

Contract (routes, Nova, routers, DHCP and the ``OS::Neutron::Port`` type call these):

- ``create(db, ctx, attrs, *, project_id=None, internal=False, context=None,
  request_id=None) -> Port``: ``attrs`` as Neutron's port body (validated here);
- ``update(db, ctx, port, attrs, *, context=None, request_id=None) -> Port``;
- ``delete(db, ctx, port, *, context=None, request_id=None)``: the row and its resource;
- ``view(db, port, ctx=None, *, binding=None) -> dict``: Neutron's port document
  (``binding``: show the admin-only ``binding:*`` attributes; default: ``ctx.is_admin``);
- ``delete_row(db, port)``: the row, its addresses released (no job);
- ``bind(db, port, host, device_id, device_owner)`` / ``unbind(db, port)``: the
  binding a server's job realizes (no job of their own); ``settle_status(port,
  realized)``: the status once the job that plugs it ended (ACTIVE/ERROR/DOWN);
- ``find(db, ctx, port_id) -> Port``: 404 ``PortNotFound`` unless visible to ``ctx``;
- ``visible(ctx)``: the WHERE clause of the ports ``ctx`` may see.

Policy (rule names are Neutron's) is checked by the routes; the service refuses what
Neutron refuses whatever the caller (port security off with groups, a MAC in use ...).
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from stratus.db.models.hosts import Host
from stratus.db.models.jobs import Resource
from stratus.db.models.network import (
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
)
from stratus.errors import BadRequest, Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.network import access, ipam, macs, tags, unique
from stratus.network import attrs as attrs_
from stratus.network import pipeline as jobs

TYPE = "OS::Neutron::Port"
TAG_TYPE = "ports"
DEFAULT_BASE_MAC = "fa:16:3e:00:00:00"
ROUTER_INTERFACE = "network:router_interface"
VIF_TYPE = "bridge"  # linuxbridge: a tap on the network's brq bridge
VNIC_TYPES = ("normal",)

_ADMIN = "rule:admin_required"
_NET_OWNER = "rule:admin_required or rule:network_owner"
_OWNER = "rule:admin_required or project_id:%(project_id)s or rule:network_owner"
register_defaults([
    RuleDefault("network_owner", "project_id:%(network:project_id)s",
                "The project that owns the network of the target (Neutron's network_owner)."),
    RuleDefault("create_port", "rule:admin_or_member"),
    RuleDefault("create_port:mac_address", _NET_OWNER),
    RuleDefault("create_port:fixed_ips:ip_address", _NET_OWNER),
    RuleDefault("create_port:port_security_enabled", _NET_OWNER),
    RuleDefault("create_port:allowed_address_pairs", _NET_OWNER),
    RuleDefault("create_port:binding:host_id", _ADMIN),
    RuleDefault("create_port:binding:profile", _ADMIN),
    RuleDefault("get_port", _OWNER),
    RuleDefault("get_port:binding:vif_type", _ADMIN),
    RuleDefault("get_port:binding:vif_details", _ADMIN),
    RuleDefault("get_port:binding:host_id", _ADMIN),
    RuleDefault("get_port:binding:profile", _ADMIN),
    RuleDefault("update_port", _OWNER),
    RuleDefault("update_port:mac_address", _ADMIN),
    RuleDefault("update_port:fixed_ips:ip_address", _NET_OWNER),
    RuleDefault("update_port:port_security_enabled", _NET_OWNER),
    RuleDefault("update_port:allowed_address_pairs", _NET_OWNER),
    RuleDefault("update_port:binding:host_id", _ADMIN),
    RuleDefault("update_port:binding:profile", _ADMIN),
    RuleDefault("delete_port", _OWNER),
])

# attributes a body may carry on create / update (Neutron's attribute map, ports)
CREATE_ATTRS = {"network_id", "name", "description", "admin_state_up", "mac_address", "fixed_ips",
                "device_id", "device_owner", "project_id", "tenant_id", "security_groups",
                "allowed_address_pairs", "port_security_enabled", "binding:host_id",
                "binding:vnic_type", "binding:profile", "tags"}
UPDATE_ATTRS = CREATE_ATTRS - {"network_id", "project_id", "tenant_id", "tags"}
READ_ONLY = {"id", "status", "binding:vif_type", "binding:vif_details", "revision_number",
             "created_at", "updated_at"}
# attributes each policy rule guards (the routes check ``<verb>_port:<attr>``)
GUARDED = ("mac_address", "port_security_enabled", "allowed_address_pairs", "binding:host_id",
           "binding:profile")


def not_found(port_id: str) -> NotFound:
    return NotFound(f"Port {port_id} could not be found.", type="PortNotFound")


# --- validation ----------------------------------------------------------------------------


def check_attrs(doc: Any, allowed: set[str]) -> dict[str, Any]:
    """``doc`` as a dict of known, writable attributes: 400 for anything else (Neutron's words)."""
    if not isinstance(doc, Mapping):
        raise attrs_.invalid_op("'port' must be an object.")
    doc = dict(doc)
    attrs_.read_only(doc, sorted(READ_ONLY))
    attrs_.only(doc, allowed)
    return doc


def _string(doc: Mapping[str, Any], key: str) -> str | None:
    return attrs_.text(dict(doc), key)


def _bool(doc: Mapping[str, Any], key: str) -> bool | None:
    return attrs_.boolean(dict(doc), key)


def _fixed_ips(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise attrs_.invalid_op(f"Invalid data format for fixed IP: '{value}'; expected a list of "
                      "{'subnet_id': ..., 'ip_address': ...}.")
    out = []
    for item in value:
        if not isinstance(item, Mapping) or not item or set(item) - {"subnet_id", "ip_address"}:
            raise attrs_.invalid_op(f"Invalid data format for fixed IP: '{item}'; give subnet_id and/or ip_address.")
        out.append({k: str(v) for k, v in item.items() if v is not None})
    return out


def _address_pairs(value: Any) -> list[dict[str, str]]:
    """Neutron's allowed_address_pairs: [{ip_address (address or CIDR), mac_address?}],
    no duplicates."""
    if not isinstance(value, list):
        raise attrs_.invalid_op(f"Allowed address pairs must be a list, not '{value}'.")
    out, seen = [], set()
    for pair in value:
        if not isinstance(pair, Mapping):
            raise attrs_.invalid_op(f"Invalid data format for allowed address pair: '{pair}'.")
        extra = sorted(set(pair) - {"ip_address", "mac_address"})
        if extra:
            raise attrs_.invalid_op(f"Unrecognized attribute(s) '{', '.join(extra)}' in allowed address pair.")
        if "ip_address" not in pair:
            raise BadRequest("AllowedAddressPair must contain ip_address", type="AllowedAddressPairsMissingIP")
        ip = pair["ip_address"]
        try:
            text = str(ipaddress.ip_network(ip, strict=False)) if "/" in str(ip) else str(ipaddress.ip_address(ip))
        except ValueError:
            raise attrs_.invalid_op(f"'{ip}' is not a valid IP address or CIDR in allowed_address_pairs.") from None
        entry = {"ip_address": text}
        if pair.get("mac_address") is not None:
            entry["mac_address"] = macs.normalize(pair["mac_address"], what="allowed_address_pairs")
        key = (entry["ip_address"], entry.get("mac_address"))
        if key in seen:
            raise BadRequest("Request contains duplicate address pair: "
                             f"mac_address {entry.get('mac_address')} ip_address {text}.",
                             type="DuplicateAddressPairInRequest")
        seen.add(key)
        out.append(entry)
    return out


def _group_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise attrs_.invalid_op(f"'{value}' is not a list of security group ids (security_groups).")
    return list(dict.fromkeys(value))


def _check_security(enabled: bool, groups: list[str], pairs: list[dict[str, str]]) -> None:
    """Neutron's refusals of groups and pairs on a port without port security."""
    if enabled:
        return
    if groups:
        raise Conflict("Port security must be enabled and port must have an IP address in order "
                       "to use security groups.", type="PortSecurityAndIPRequiredForSecurityGroups")
    if pairs:
        raise Conflict("Port Security must be enabled in order to have allowed address pairs on a port.",
                       type="AddressPairAndPortSecurityRequired")


def _groups(db: Session, ctx, project_id: str, ids: list[str]) -> list[SecurityGroup]:
    """The groups by id: 404 SecurityGroupNotFound unless they are the port's project's
    (or the caller is an admin)."""
    out = []
    for gid in ids:
        group = db.get(SecurityGroup, gid)
        if group is None or (group.project_id != project_id and not _admin(ctx)):
            raise NotFound(f"Security group {gid} does not exist", type="SecurityGroupNotFound")
        out.append(group)
    return out


def default_group_ids(db: Session, project_id: str) -> list[str]:
    """The project's default security group (made on first use by the security groups
    service); none until that service is there."""
    try:
        from stratus.network import security_groups
    except ImportError:
        return []
    return [security_groups.default_group(db, project_id).id]


def _admin(ctx) -> bool:
    return ctx is None or bool(getattr(ctx, "is_admin", False))


def _owner_needs_groups(device_owner: str) -> bool:
    """Neutron gives no security groups to the ports the network service owns."""
    return not device_owner.startswith("network:")


# --- create --------------------------------------------------------------------------------


def create(db: Session, ctx, attrs: Mapping[str, Any], *, project_id: str | None = None,
           internal: bool = False, context=None, request_id: str | None = None) -> Port:
    """A port from Neutron's port body; submits its ``OS::Neutron::Port`` (unless
    ``internal``). Raises Neutron's refusals; the caller's rollback undoes everything."""
    attrs = check_attrs(attrs, CREATE_ATTRS)
    port = write_row(db, ctx, attrs, project_id=project_id, settings=getattr(context, "settings", None),
                     internal=internal)
    if not internal:
        jobs.create(db, TYPE, port, properties_of(db, port), settings=settings_of(context), context=context,
                    request_id=request_id)
    return port


def write_row(db: Session, ctx, attrs: Mapping[str, Any], *, project_id: str | None = None,
              settings=None, internal: bool = False, port_id: str | None = None) -> Port:
    """The port's rows (port, addresses, groups, tags) without its resource: what
    :func:`create` and the ``OS::Neutron::Port`` type of a stack share."""
    network_id = attrs.get("network_id")
    if not isinstance(network_id, str) or not network_id:
        raise attrs_.invalid_op("network_id is required to create a port.")
    network = access.network(db, ctx, network_id, admin=internal or _admin(ctx))
    owner = _project(ctx, attrs, project_id)
    device_owner = _string(attrs, "device_owner") or ""
    security = _bool(attrs, "port_security_enabled")
    security = network.port_security_enabled if security is None else security
    pairs = _address_pairs(attrs.get("allowed_address_pairs") or [])
    given_groups = "security_groups" in attrs and attrs["security_groups"] is not None
    group_ids = _group_ids(attrs.get("security_groups"))
    _check_security(security, group_ids, pairs)
    if not given_groups and security and _owner_needs_groups(device_owner):
        group_ids = default_group_ids(db, owner)
    groups = _groups(db, ctx, owner, group_ids)
    vnic = _vnic(attrs)
    fixed_ips = _fixed_ips(attrs["fixed_ips"]) if attrs.get("fixed_ips") is not None else None
    port = Port(id=port_id or str(uuid.uuid4()), project_id=owner, network_id=network.id,
                name=_string(attrs, "name") or "", description=_string(attrs, "description") or "",
                admin_state_up=_bool(attrs, "admin_state_up") is not False,
                device_id=_string(attrs, "device_id") or "", device_owner=device_owner,
                port_security_enabled=security, allowed_address_pairs=pairs, binding_vnic_type=vnic,
                binding_profile=_profile(attrs), status="DOWN", revision_number=1)
    _insert_with_mac(db, port, attrs.get("mac_address"), _base_mac(settings))
    ipam.allocate(db, port, fixed_ips)
    for group in groups:
        db.add(PortSecurityGroup(port_id=port.id, security_group_id=group.id))
    if attrs.get("tags") is not None:
        tags.replace(db, TAG_TYPE, port.id, attrs["tags"])
    host = _string(attrs, "binding:host_id")
    if host:
        _set_binding(db, port, host)
    db.flush()
    return port


def _project(ctx, doc: Mapping[str, Any], project_id: str | None) -> str:
    """The port's project: ``project_id``/``tenant_id`` of the body (another project
    than the caller's only for admins), else the given one, else the caller's."""
    if project_id and not (doc.get("project_id") or doc.get("tenant_id")):
        return project_id
    if ctx is None:
        return str(doc.get("project_id") or doc.get("tenant_id") or "")
    return attrs_.project_of(ctx, dict(doc), _admin(ctx))


def _vnic(attrs: Mapping[str, Any]) -> str:
    vnic = attrs.get("binding:vnic_type", "normal")
    if vnic not in VNIC_TYPES:
        raise attrs_.invalid_op(f"'{vnic}' is not in {list(VNIC_TYPES)} (binding:vnic_type): this cloud "
                      "plugs ports as taps on a bridge.")
    return vnic


def _profile(attrs: Mapping[str, Any]) -> dict[str, Any]:
    profile = attrs.get("binding:profile") or {}
    if not isinstance(profile, Mapping):
        raise attrs_.invalid_op(f"'{profile}' is not a dictionary (binding:profile).")
    return dict(profile)


def _base_mac(settings) -> str:
    return getattr(settings, "network_base_mac", None) or DEFAULT_BASE_MAC


def _insert_with_mac(db: Session, port: Port, given: Any, base_mac: str) -> None:
    """Insert ``port`` with the given MAC (409 MacAddressInUse when the network has it)
    or a generated one (another one while the constraint refuses it)."""
    if given is not None:
        port.mac_address = macs.normalize(given)
        if db.scalar(select(Port.id).where(Port.network_id == port.network_id,
                                           Port.mac_address == port.mac_address)) is not None:
            raise _mac_in_use(port)
        if not unique.try_add(db, port):
            raise _mac_in_use(port)
        return
    for _ in range(macs.ATTEMPTS):
        port.mac_address = macs.generate(base_mac)
        if unique.try_add(db, port):
            return
    raise Conflict(f"Unable to generate unique mac on network {port.network_id}.",
                   type="MacAddressGenerationFailure")


def _mac_in_use(port: Port) -> Conflict:
    return Conflict(f"Unable to complete operation for network {port.network_id}. "
                    f"The mac address {port.mac_address} is in use.", type="MacAddressInUse")


# --- binding -------------------------------------------------------------------------------


def _set_binding(db: Session, port: Port, host: str) -> None:
    """``binding:host_id``: an enabled host of the registry binds the port as a tap on
    the network's bridge there. Any other name is refused (Neutron would keep the port
    ``binding_failed``; here nothing could ever plug it)."""
    row = db.get(Host, host)
    if row is None or not row.enabled:
        raise BadRequest(f"Invalid input for binding:host_id. Reason: host '{host}' is not an enabled host "
                         "of the registry: give the name of a compute or network host ('openstack "
                         "compute service list'), or register it with 'stratus host sync'.",
                         type="InvalidInput")
    port.binding_host_id = host
    port.binding_vif_type = VIF_TYPE
    port.binding_vif_details = {"port_filter": True, "connectivity": "l2",
                                "bridge_name": "brq" + port.network_id[:11]}


def bind(db: Session, port: Port, host: str, device_id: str, device_owner: str) -> Port:
    """Bind ``port`` to ``host`` for a device (a server binds its ports on its host);
    the caller's job plugs it there."""
    port.device_id, port.device_owner = device_id, device_owner
    _set_binding(db, port, host)
    attrs_.touch(port)
    db.flush()
    return port


def settle_status(port: Port, realized: bool | None) -> None:
    """The port's status after a job that plugs it (its own or its server's):
    ACTIVE when ``realized`` on its binding host and administratively up, ERROR when
    the job failed (``realized`` False), else DOWN (unbound, down, or not run yet)."""
    bound = bool(port.binding_host_id) and port.binding_vif_type == VIF_TYPE
    if realized is False and bound:
        port.status = "ERROR"
    elif realized and bound and port.admin_state_up:
        port.status = "ACTIVE"
    else:
        port.status = "DOWN"


def unbind(db: Session, port: Port) -> Port:
    """Release ``port`` from its device and host (a server let go of a port it was given)."""
    port.device_id, port.device_owner, port.binding_host_id = "", "", ""
    port.binding_vif_type, port.binding_vif_details, port.status = "unbound", {}, "DOWN"
    attrs_.touch(port)
    db.flush()
    return port


# --- read ----------------------------------------------------------------------------------


def visible(ctx):
    """The ports ``ctx`` may see: its project's, and those on its project's networks
    (Neutron's network owner); everything for admins."""
    if _admin(ctx):
        return Port.id.is_not(None)
    own_nets = select(Network.id).where(Network.project_id == ctx.project_id)
    return or_(Port.project_id == ctx.project_id, Port.network_id.in_(own_nets))


def find(db: Session, ctx, port_id: str) -> Port:
    port = db.scalar(select(Port).where(Port.id == port_id, visible(ctx)))
    if port is None:
        raise not_found(port_id)
    return port


def fixed_ips(db: Session, port_id: str) -> list[dict[str, str]]:
    rows = db.scalars(select(IPAllocation).where(IPAllocation.port_id == port_id).order_by(IPAllocation.id))
    return [{"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in rows]


def group_ids(db: Session, port_id: str) -> list[str]:
    return list(db.scalars(select(PortSecurityGroup.security_group_id)
                           .where(PortSecurityGroup.port_id == port_id)
                           .order_by(PortSecurityGroup.security_group_id)))


def view(db: Session, port: Port, ctx=None, *, binding: bool | None = None) -> dict[str, Any]:
    """Neutron's port document; the ``binding:*`` attributes other than vnic_type only
    when ``binding`` (default: the caller is an admin)."""
    show_binding = _admin(ctx) if binding is None else binding
    doc: dict[str, Any] = {
        "id": port.id, "name": port.name, "network_id": port.network_id,
        "tenant_id": port.project_id, "project_id": port.project_id,
        "mac_address": port.mac_address, "admin_state_up": port.admin_state_up, "status": port.status,
        "device_id": port.device_id, "device_owner": port.device_owner,
        "fixed_ips": fixed_ips(db, port.id), "security_groups": group_ids(db, port.id),
        "allowed_address_pairs": [{"ip_address": p["ip_address"],
                                   "mac_address": p.get("mac_address") or port.mac_address}
                                  for p in port.allowed_address_pairs or []],
        "port_security_enabled": port.port_security_enabled,
        "binding:vnic_type": port.binding_vnic_type,
        **attrs_.standard(port, tags.of(db, TAG_TYPE, port.id)),
    }
    if show_binding:
        doc.update({"binding:host_id": port.binding_host_id, "binding:profile": port.binding_profile or {},
                    "binding:vif_type": port.binding_vif_type,
                    "binding:vif_details": port.binding_vif_details or {}})
    return doc


def fixed_ips_filter(values: Iterable[str]):
    """``?fixed_ips=ip_address=10.0.0.3&fixed_ips=subnet_id=...``: ports holding such
    an address (each value a condition; all must hold, as Neutron)."""
    conditions = []
    for value in values:
        key, sep, wanted = value.partition("=")
        if not sep or key not in ("ip_address", "subnet_id", "ip_address_substr"):
            raise BadRequest(f"Invalid input for operation: '{value}' is not a valid fixed_ips filter; "
                             "use ip_address=..., subnet_id=... or ip_address_substr=...",
                             type="InvalidInput")
        col = {"ip_address": IPAllocation.ip_address, "subnet_id": IPAllocation.subnet_id,
               "ip_address_substr": IPAllocation.ip_address}[key]
        test = col.contains(wanted) if key == "ip_address_substr" else col == wanted
        conditions.append(Port.id.in_(select(IPAllocation.port_id).where(test)))
    return and_(*conditions)


def groups_filter(values: Iterable[str]):
    return Port.id.in_(select(PortSecurityGroup.port_id)
                       .where(PortSecurityGroup.security_group_id.in_(list(values))))


# --- update --------------------------------------------------------------------------------


def update(db: Session, ctx, port: Port, attrs: Mapping[str, Any], *, context=None,
           request_id: str | None = None) -> Port:
    """Change the record as Neutron's ``PUT /ports/{id}`` and converge it (a new binding
    host plugs it there)."""
    attrs = check_attrs(attrs, UPDATE_ATTRS)
    apply_update(db, ctx, port, attrs)
    jobs.update(db, port.id, properties_of(db, port), settings=settings_of(context), context=context,
                request_id=request_id)
    return port


def apply_update(db: Session, ctx, port: Port, attrs: Mapping[str, Any]) -> None:
    for key in ("name", "description", "device_id", "device_owner"):
        value = _string(attrs, key)
        if value is not None:
            setattr(port, key, value)
    if "admin_state_up" in attrs:
        port.admin_state_up = bool(_bool(attrs, "admin_state_up"))
    security = _bool(attrs, "port_security_enabled")
    if security is not None:
        port.port_security_enabled = security
    if "allowed_address_pairs" in attrs:
        port.allowed_address_pairs = _address_pairs(attrs["allowed_address_pairs"] or [])
    groups = group_ids(db, port.id)
    if "security_groups" in attrs:
        groups = _group_ids(attrs["security_groups"])
        _groups(db, ctx, port.project_id, groups)
    # Neutron: turning port security off needs the groups and pairs removed in the same request
    _check_security(port.port_security_enabled, groups, port.allowed_address_pairs or [])
    if "security_groups" in attrs:
        db.execute(sql_delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port.id))
        for gid in groups:
            db.add(PortSecurityGroup(port_id=port.id, security_group_id=gid))
    if "binding:vnic_type" in attrs:
        port.binding_vnic_type = _vnic(attrs)
    if "binding:profile" in attrs:
        port.binding_profile = _profile(attrs)
    if "mac_address" in attrs and attrs["mac_address"] is not None:
        _change_mac(db, port, attrs["mac_address"])
    if "fixed_ips" in attrs and attrs["fixed_ips"] is not None:
        _change_fixed_ips(db, port, _fixed_ips(attrs["fixed_ips"]))
    if "binding:host_id" in attrs:
        host = _string(attrs, "binding:host_id")
        if host:
            _set_binding(db, port, host)
        else:
            port.binding_host_id, port.binding_vif_type, port.binding_vif_details = "", "unbound", {}
            port.status = "DOWN"
    attrs_.touch(port)
    db.flush()


def _change_mac(db: Session, port: Port, value: Any) -> None:
    mac = macs.normalize(value)
    if mac == port.mac_address:
        return
    if port.binding_vif_type not in ("unbound", "binding_failed"):
        raise Conflict(f"Port {port.id} is bound to host {port.binding_host_id}: its MAC cannot change "
                       "while bound; unbind it first.", type="PortBound")
    taken = db.scalar(select(Port.id).where(Port.network_id == port.network_id, Port.mac_address == mac,
                                            Port.id != port.id))
    if taken is not None:
        port.mac_address = mac
        raise _mac_in_use(port)
    port.mac_address = mac


def _change_fixed_ips(db: Session, port: Port, wanted: list[dict[str, str]]) -> None:
    """Keep the addresses still asked for, free the others, allocate the new ones."""
    have = fixed_ips(db, port.id)
    keep, new = [], []
    for item in wanted:
        match = next((h for h in have if h not in keep and _same(h, item)), None)
        (keep.append(match) if match else new.append(item))
    gone = [h for h in have if h not in keep]
    for h in gone:
        db.execute(sql_delete(IPAllocation).where(IPAllocation.port_id == port.id,
                                                  IPAllocation.subnet_id == h["subnet_id"],
                                                  IPAllocation.ip_address == h["ip_address"]))
    db.flush()
    if new:
        ipam.allocate(db, port, new)


def _same(have: dict[str, str], item: dict[str, str]) -> bool:
    if "ip_address" in item:
        try:
            same_ip = ipaddress.ip_address(item["ip_address"]) == ipaddress.ip_address(have["ip_address"])
        except ValueError:
            return False
        return same_ip and item.get("subnet_id", have["subnet_id"]) == have["subnet_id"]
    return False  # {subnet_id} alone asks for one more address in that subnet


# --- delete --------------------------------------------------------------------------------


def check_deletable(port: Port) -> None:
    if port.device_owner == ROUTER_INTERFACE:
        raise Conflict(f"Port {port.id} cannot be deleted directly via the port API: has device owner "
                       f"{port.device_owner}.", type="ServicePortInUse")


def delete(db: Session, ctx, port: Port, *, context=None, request_id: str | None = None) -> None:
    """``DELETE /ports/{id}``: the rows go now; the resource's delete job unplugs it."""
    check_deletable(port)
    port_id, project_id = port.id, port.project_id
    remember_host_state(db, port)
    delete_row(db, port)
    jobs.delete(db, [port_id], project_id=project_id, context=context, request_id=request_id)


def remember_host_state(db: Session, port: Port) -> None:
    """Before the record goes: record the port's host state as it is now in its
    resource, so that the delete job unplugs it where it is plugged (also when a
    server's job bound and plugged it, not the port's own)."""
    resource = db.get(Resource, port.id)
    from stratus.network import hostplan

    if resource is None or not hasattr(hostplan, "converge"):
        return
    state = hostplan.converge(db, networks=[port.network_id], ports=[port.id],
                              previous=(resource.attributes or {}).get("converge") or None)
    resource.attributes = {**(resource.attributes or {}), "converge": state}
    db.flush()


def delete_row(db: Session, port: Port) -> None:
    """The port's record, its addresses, groups and tags (no job)."""
    ipam.release(db, port.id)
    db.execute(sql_delete(PortSecurityGroup).where(PortSecurityGroup.port_id == port.id))
    tags.clear(db, TAG_TYPE, port.id)
    db.delete(port)
    db.flush()


# --- the resource --------------------------------------------------------------------------


def properties_of(db: Session, port: Port) -> dict[str, Any]:
    """The ``OS::Neutron::Port`` properties that describe the record."""
    props: dict[str, Any] = {
        "network": port.network_id, "name": port.name, "mac_address": port.mac_address,
        "fixed_ips": fixed_ips(db, port.id), "security_groups": group_ids(db, port.id),
        "allowed_address_pairs": list(port.allowed_address_pairs or []),
        "port_security_enabled": port.port_security_enabled, "admin_state_up": port.admin_state_up,
        "device_id": port.device_id, "device_owner": port.device_owner,
        "binding:vnic_type": port.binding_vnic_type, "binding:host_id": port.binding_host_id or "",
    }
    return props


def settings_of(context):
    """The controller's settings (the defaults when planning without a controller)."""
    settings = getattr(context, "settings", None)
    if settings is None:
        from stratus.config import Settings

        settings = Settings()
    return settings
