"""Security group rules: Neutron's validation of a rule, its view, and what a port gets
on its host.

Contract (``hostplan`` calls these; keep the names):

- ``port_security(db, port) -> {"security_groups": [{"id", "rules"}], "remote_groups":
  {group_id: [ips]}}``: the arguments of the ``stratus.cloud.security_group`` module for a
  port: every group of the port with all its rules (``rules`` is always a list, possibly
  empty = nothing allowed), and the member addresses (fixed IPs and allowed address
  pairs of the groups' ports) of every group a rule names as ``remote_group_id``. A port
  with port security off gets ``None`` (the module's ``state: absent``).
- ``affected_ports(db, group_ids) -> list[Port]``: the ports whose rules change when
  those groups change: their members, and the members of every group with a rule naming
  one of them as remote (a member joining or leaving changes their sets). Sorted by id.

Rule creation (``create``) checks as Neutron does: direction, ethertype, protocol by
name or number 0..255, port ranges for TCP/UDP/SCTP/DCCP, ICMP type/code, a remote
prefix (normalized; its IP version must match the ethertype) or a remote group (not
both), and refuses a duplicate (409 SecurityGroupRuleExists naming the existing rule).
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.network import (
    IPAllocation,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
)
from stratus.errors import BadRequest, Conflict
from stratus.network import attrs

# Neutron's protocol names (neutron_lib constants) and their IANA numbers.
PROTOCOLS: dict[str, int] = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2,
    "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58,
    "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46,
    "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}
ANY = ("any",)
PORT_PROTOCOLS = {6, 17, 132, 33}  # tcp, udp, sctp, dccp: what the host module matches ports of
ICMP = {1, 58}
ETHERTYPES = {"IPv4": 4, "IPv6": 6}
DIRECTIONS = ("ingress", "egress")
# A rule's optional columns, all unset (a rule given as {direction, ethertype} is this plus them).
EMPTY_RULE = {"protocol": None, "port_range_min": None, "port_range_max": None,
              "remote_ip_prefix": None, "remote_group_id": None, "description": ""}
ATTRIBUTES = ("security_group_id", "direction", "ethertype", "protocol", "port_range_min",
              "port_range_max", "remote_ip_prefix", "remote_group_id", "description",
              "project_id", "tenant_id", "remote_address_group_id")


def protocol_number(protocol: str | None) -> int | None:
    """The IANA number of a stored protocol (name or number), None for any."""
    if protocol is None:
        return None
    text = str(protocol).lower()
    return PROTOCOLS[text] if text in PROTOCOLS else int(text)


def normalize_protocol(value: Any) -> str | None:
    """A protocol as Neutron keeps it: a lower-case name, a number 0..255 as a string,
    or None for any."""
    if value is None or (isinstance(value, str) and value.lower() in ANY) or value == "":
        return None
    if isinstance(value, bool):
        value = str(value)
    text = str(value).strip().lower()
    if text in PROTOCOLS:
        return text
    if text.isdigit() and 0 <= int(text) <= 255:
        return str(int(text))
    raise BadRequest(f"Security group rule protocol {value} not supported. Only protocol values "
                     f"{sorted([*PROTOCOLS, *ANY])} and integer representations [0 to 255] are "
                     "supported.", type="SecurityGroupRuleInvalidProtocol")


def validate(body: dict[str, Any]) -> dict[str, Any]:
    """The rule's columns from a request body (Neutron's checks and words); the caller
    has checked the group and the remote group exist."""
    direction = body.get("direction")
    if direction not in DIRECTIONS:
        raise attrs.invalid("direction", f"'{direction}' is not in {list(DIRECTIONS)}")
    ethertype = body.get("ethertype") or "IPv4"
    ethertype = {"ipv4": "IPv4", "ipv6": "IPv6"}.get(str(ethertype).lower(), ethertype)
    if ethertype not in ETHERTYPES:
        raise BadRequest(f"Security group rule for ethertype '{ethertype}' not supported. "
                         f"Allowed values are {list(ETHERTYPES)}.", type="SecurityGroupRuleInvalidEtherType")
    protocol = normalize_protocol(body.get("protocol"))
    number = protocol_number(protocol)
    if number == 58 and ethertype == "IPv4":
        raise BadRequest(f"Invalid ethertype {ethertype} for protocol {protocol}.",
                         type="SecurityGroupEthertypeConflictWithProtocol")
    lo = attrs.integer(body, "port_range_min")
    hi = attrs.integer(body, "port_range_max")
    _check_ports(protocol, number, lo, hi)
    prefix, remote_group = body.get("remote_ip_prefix"), body.get("remote_group_id")
    if prefix is not None and remote_group is not None:
        raise BadRequest("Only remote_ip_prefix or remote_group_id may be provided.",
                         type="SecurityGroupRemoteGroupAndRemoteIpPrefix")
    if prefix is not None:
        prefix = _prefix(prefix, ethertype)
    description = attrs.text(body, "description", max_len=attrs.DESCRIPTION_MAX, default="")
    return {"direction": direction, "ethertype": ethertype, "protocol": protocol,
            "port_range_min": lo, "port_range_max": hi, "remote_ip_prefix": prefix,
            "remote_group_id": remote_group, "description": description}


def _check_ports(protocol: str | None, number: int | None, lo: int | None, hi: int | None) -> None:
    if lo is None and hi is None:
        return
    if number is None:
        raise BadRequest("Must also specify protocol if port range is given.",
                         type="SecurityGroupProtocolRequiredWithPorts")
    if number in PORT_PROTOCOLS:
        for p in (lo, hi):
            if p is None or not 1 <= p <= 65535:
                raise BadRequest(f"Invalid value for port {p}: give port_range_min and "
                                 "port_range_max between 1 and 65535.", type="SecurityGroupInvalidPortValue")
        if lo > hi:
            raise BadRequest(f"For TCP/UDP protocols, port_range_min must be <= port_range_max "
                             f"(got {lo} > {hi}).", type="SecurityGroupInvalidPortRange")
    elif number in ICMP:
        for field, attr, value in (("type", "port_range_min", lo), ("code", "port_range_max", hi)):
            if value is not None and not 0 <= value <= 255:
                raise BadRequest(f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255.",
                                 type="SecurityGroupInvalidIcmpValue")
        if lo is None:
            raise BadRequest(f"ICMP code (port-range-max) {hi} is provided but ICMP type "
                             "(port-range-min) is missing.", type="SecurityGroupMissingIcmpType")
    else:
        raise BadRequest(f"Invalid protocol {protocol} for port range, only supported for TCP, UDP, "
                         "SCTP and DCCP protocols (and ICMP type/code).",
                         type="SecurityGroupInvalidProtocolForPortRange")


def _prefix(value: Any, ethertype: str) -> str:
    try:
        if not isinstance(value, str) or "%" in value:
            raise ValueError
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise attrs.invalid("remote_ip_prefix", f"'{value}' is not a valid IP subnet") from None
    if net.version != ETHERTYPES[ethertype]:
        raise BadRequest(f"Conflicting value ethertype {ethertype} for CIDR {value}",
                         type="SecurityGroupRuleParameterConflict")
    return str(net)


def _key(group_id: str, values: dict[str, Any]) -> tuple:
    """What makes two rules the same (any-prefixes are no prefix, protocols by number)."""
    prefix = values.get("remote_ip_prefix")
    if prefix and ipaddress.ip_network(prefix).prefixlen == 0:
        prefix = None
    return (group_id, values["direction"], values["ethertype"], protocol_number(values.get("protocol")),
            values.get("port_range_min"), values.get("port_range_max"), prefix,
            values.get("remote_group_id"))


def add(db: Session, group: SecurityGroup, values: dict[str, Any], *, project_id: str | None = None,
        rule_id: str | None = None) -> SecurityGroupRule:
    """Write a validated rule in ``group`` (409 SecurityGroupRuleExists for a duplicate)."""
    key = _key(group.id, values)
    for other in rules_of(db, [group.id]):
        if _key(group.id, view_values(other)) == key:
            raise Conflict(f"Security group rule already exists. Rule id is {other.id}.",
                           type="SecurityGroupRuleExists")
    rule = SecurityGroupRule(id=rule_id or str(uuid.uuid4()), project_id=project_id or group.project_id,
                             security_group_id=group.id, **values)
    db.add(rule)
    attrs.touch(group)
    db.flush()
    return rule


def default_rules(group_id: str) -> list[dict[str, Any]]:
    """Neutron's rules of a ``default`` group: egress anywhere, ingress from its members."""
    out = []
    for ethertype in ETHERTYPES:
        out.append({"direction": "egress", "ethertype": ethertype})
        out.append({"direction": "ingress", "ethertype": ethertype, "remote_group_id": group_id})
    return out


def egress_rules() -> list[dict[str, Any]]:
    """The rules Neutron gives every new group: egress anywhere, IPv4 and IPv6."""
    return [{"direction": "egress", "ethertype": e} for e in ETHERTYPES]


def view_values(rule: SecurityGroupRule) -> dict[str, Any]:
    return {"direction": rule.direction, "ethertype": rule.ethertype, "protocol": rule.protocol,
            "port_range_min": rule.port_range_min, "port_range_max": rule.port_range_max,
            "remote_ip_prefix": rule.remote_ip_prefix, "remote_group_id": rule.remote_group_id}


def view(rule: SecurityGroupRule, default_group_ids: set[str] = frozenset()) -> dict[str, Any]:
    """Neutron's document of a rule."""
    return {"id": rule.id, "security_group_id": rule.security_group_id, **view_values(rule),
            "remote_address_group_id": None, "normalized_cidr": rule.remote_ip_prefix,
            "belongs_to_default_sg": rule.security_group_id in default_group_ids,
            **{k: v for k, v in attrs.standard(rule, []).items() if k != "tags"}}


def rules_of(db: Session, group_ids) -> list[SecurityGroupRule]:
    ids = list(group_ids)
    if not ids:
        return []
    return list(db.scalars(select(SecurityGroupRule).where(SecurityGroupRule.security_group_id.in_(ids))
                           .order_by(SecurityGroupRule.created_at, SecurityGroupRule.id)))


# --- what a port gets on its host ------------------------------------------------------


def module_rule(rule: SecurityGroupRule) -> dict[str, Any]:
    """A rule as the ``security_group`` module takes it (the protocol as its number)."""
    out: dict[str, Any] = {"direction": rule.direction, "ethertype": rule.ethertype}
    number = protocol_number(rule.protocol)
    if number is not None:
        out["protocol"] = number
    for key in ("port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id"):
        value = getattr(rule, key)
        if value is not None:
            out[key] = value
    return out


def group_ids_of(db: Session, port_id: str) -> list[str]:
    return list(db.scalars(select(PortSecurityGroup.security_group_id)
                           .where(PortSecurityGroup.port_id == port_id)
                           .order_by(PortSecurityGroup.security_group_id)))


def member_ips(db: Session, group_ids) -> dict[str, list[str]]:
    """{group id: sorted addresses of its ports} (fixed IPs and allowed address pairs)."""
    ids = sorted(set(group_ids))
    out: dict[str, set[str]] = {g: set() for g in ids}
    if not ids:
        return {}
    rows = db.execute(select(PortSecurityGroup.security_group_id, Port)
                      .join(Port, Port.id == PortSecurityGroup.port_id)
                      .where(PortSecurityGroup.security_group_id.in_(ids)))
    ports: dict[str, list[str]] = {}
    for gid, port in rows:
        ports.setdefault(port.id, []).append(gid)
        for pair in port.allowed_address_pairs or []:
            if pair.get("ip_address"):
                out[gid].add(str(pair["ip_address"]))
    if ports:
        for port_id, ip in db.execute(select(IPAllocation.port_id, IPAllocation.ip_address)
                                      .where(IPAllocation.port_id.in_(list(ports)))):
            for gid in ports[port_id]:
                out[gid].add(ip)
    return {g: sorted(v, key=_addr_key) for g, v in out.items()}


def _addr_key(text: str):
    try:
        net = ipaddress.ip_network(text, strict=False)
        return (net.version, int(net.network_address), net.prefixlen)
    except ValueError:
        return (9, 0, 0)


def port_security(db: Session, port: Port) -> dict[str, Any] | None:
    """The ``security_group`` module's arguments for ``port`` (see the module docstring);
    None when the port has port security off."""
    if not port.port_security_enabled:
        return None
    gids = group_ids_of(db, port.id)
    by_group: dict[str, list[dict[str, Any]]] = {g: [] for g in gids}
    remotes: set[str] = set()
    for rule in rules_of(db, gids):
        by_group[rule.security_group_id].append(module_rule(rule))
        if rule.remote_group_id:
            remotes.add(rule.remote_group_id)
    return {"security_groups": [{"id": g, "rules": by_group[g]} for g in gids],
            "remote_groups": member_ips(db, remotes)}


def affected_ports(db: Session, group_ids) -> list[Port]:
    """Ports in ``group_ids`` and ports of groups whose rules name one of them as remote."""
    ids = set(group_ids)
    if not ids:
        return []
    referring = set(db.scalars(select(SecurityGroupRule.security_group_id)
                               .where(SecurityGroupRule.remote_group_id.in_(ids))))
    members = select(PortSecurityGroup.port_id).where(
        PortSecurityGroup.security_group_id.in_(sorted(ids | referring)))
    return list(db.scalars(select(Port).where(Port.id.in_(members)).order_by(Port.id)))
