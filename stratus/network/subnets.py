"""Subnets: the records behind ``/v2.0/subnets`` and ``OS::Neutron::Subnet``.

IPv4 and IPv6 (SLAAC, DHCPv6-stateful/stateless with Neutron's rules), the CIDR given
or allocated from a subnet pool (``subnetpool_id``, ``use_default_subnet_pool``,
``prefixlen``), the gateway (default: the first address; null: none), allocation pools
(default: the CIDR without its network and broadcast addresses and the gateway),
DNS servers and host routes.

- ``parse_create(doc)``/``parse_update(doc)``: validated attributes;
- ``create(db, ctx, network, spec, *, project_id, admin) -> Subnet``;
- ``update(db, subnet, spec)``; ``delete(db, subnet)``: 409 SubnetInUse while a port
  other than DHCP's holds an address in it (the DHCP ports' addresses are released);
- ``view``/``views``; ``COLUMNS``.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.network import IPAllocation, Network, Port, Subnet
from stratus.errors import BadRequest, Conflict
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.network import attrs, ipam, subnetpools, tags
from stratus.quotas import release as release_quota

IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
MAX_DNS = 5
MAX_ROUTES = 20
CREATE_ATTRS = {"name", "network_id", "ip_version", "cidr", "gateway_ip", "allocation_pools",
                "dns_nameservers", "host_routes", "enable_dhcp", "ipv6_ra_mode", "ipv6_address_mode",
                "subnetpool_id", "use_default_subnet_pool", "prefixlen", "description", "project_id",
                "tenant_id", "segment_id", "service_types", "dns_publish_fixed_ip"}
UPDATE_ATTRS = {"name", "gateway_ip", "allocation_pools", "dns_nameservers", "host_routes", "enable_dhcp",
                "description", "service_types", "segment_id"}

register_defaults([
    RuleDefault("create_subnet", "rule:admin_or_member", "Create a subnet (on an own network)"),
    RuleDefault("get_subnet", "rule:admin_or_reader", "Show a subnet"),
    RuleDefault("update_subnet", "rule:admin_or_member", "Update a subnet"),
    RuleDefault("delete_subnet", "rule:admin_or_member", "Delete a subnet"),
])

COLUMNS = {
    "id": Subnet.id, "name": Subnet.name, "network_id": Subnet.network_id, "ip_version": Subnet.ip_version,
    "cidr": Subnet.cidr, "gateway_ip": Subnet.gateway_ip, "enable_dhcp": Subnet.enable_dhcp,
    "ipv6_ra_mode": Subnet.ipv6_ra_mode, "ipv6_address_mode": Subnet.ipv6_address_mode,
    "subnetpool_id": Subnet.subnetpool_id, "project_id": Subnet.project_id, "tenant_id": Subnet.project_id,
    "description": Subnet.description, "revision_number": Subnet.revision_number,
    "created_at": Subnet.created_at, "updated_at": Subnet.updated_at,
}


# --- attribute validation -------------------------------------------------------------


def _ip(field: str, value: Any, version: int | None = None) -> str:
    try:
        if not isinstance(value, str) or "%" in value:
            raise ValueError
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise attrs.invalid(field, f"'{value}' is not a valid IP address") from None
    if version and addr.version != version:
        raise attrs.invalid(field, f"'{value}' is not an IPv{version} address")
    return str(addr)


def _cidr(field: str, value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise attrs.invalid(field, f"'{value}' is not a valid IP subnet") from None
    if field == "cidr" and str(net) != str(ipaddress.ip_interface(value)):
        raise attrs.invalid(field, f"'{value}' isn't a recognized IP subnet cidr, '{net}' is recommended")
    return net


def _pools(value: Any, version: int | None) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise attrs.invalid("allocation_pools", f"'{value}' is not a list")
    out = []
    for pool in value:
        if not isinstance(pool, dict) or set(pool) != {"start", "end"}:
            raise attrs.invalid("allocation_pools", f"'{pool}' must have exactly the keys start and end")
        out.append({"start": _ip("allocation_pools", pool["start"], version),
                    "end": _ip("allocation_pools", pool["end"], version)})
    return out


def _nameservers(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise attrs.invalid("dns_nameservers", f"'{value}' is not a list")
    out: list[str] = []
    for ns in value:
        ip = _ip("dns_nameservers", ns)
        if ip in out:
            raise attrs.invalid("dns_nameservers", f"Duplicate nameserver '{ns}'")
        out.append(ip)
    if len(out) > MAX_DNS:
        raise BadRequest(f"Unable to complete operation for the subnet. The number of DNS nameservers "
                         f"exceeds the limit {MAX_DNS}.", type="DNSNameServersExhausted")
    return out


def _routes(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise attrs.invalid("host_routes", f"'{value}' is not a list")
    out: list[dict[str, str]] = []
    for route in value:
        if not isinstance(route, dict) or set(route) != {"destination", "nexthop"}:
            raise attrs.invalid("host_routes", f"'{route}' must have exactly the keys destination and nexthop")
        item = {"destination": str(_cidr("host_routes", route["destination"])),
                "nexthop": _ip("host_routes", route["nexthop"])}
        if item in out:
            raise attrs.invalid("host_routes", f"Duplicate hostroute '{route}'")
        out.append(item)
    if len(out) > MAX_ROUTES:
        raise BadRequest(f"Unable to complete operation for the subnet. The number of host routes exceeds "
                         f"the limit {MAX_ROUTES}.", type="HostRoutesExhausted")
    return out


def _common(doc: dict[str, Any], version: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in (("name", attrs.text(doc, "name")),
                         ("description", attrs.text(doc, "description", max_len=attrs.DESCRIPTION_MAX)),
                         ("enable_dhcp", attrs.boolean(doc, "enable_dhcp"))):
        if value is not None:
            out[field] = value
    if "gateway_ip" in doc:
        out["gateway_ip"] = None if doc["gateway_ip"] is None else _ip("gateway_ip", doc["gateway_ip"], version)
    if doc.get("allocation_pools") is not None:
        out["allocation_pools"] = _pools(doc["allocation_pools"], version)
    if "dns_nameservers" in doc:
        out["dns_nameservers"] = _nameservers(doc["dns_nameservers"] or [])
    if "host_routes" in doc:
        out["host_routes"] = _routes(doc["host_routes"] or [])
    if doc.get("service_types"):
        raise attrs.invalid_op("service_types are not supported by this cloud.")
    if doc.get("segment_id"):
        raise attrs.invalid_op("routed networks (segment_id) are not supported by this cloud.")
    return out


def parse_create(doc: dict[str, Any]) -> dict[str, Any]:
    attrs.only(doc, CREATE_ATTRS)
    if not isinstance(doc.get("network_id"), str) or not doc["network_id"]:
        raise attrs.invalid_op("Failed to parse request. Required attribute 'network_id' not specified")
    version = attrs.integer(doc, "ip_version")
    if version is not None and version not in (4, 6):
        raise attrs.invalid("ip_version", f"{version} is not in valid_values [4, 6]")
    out = _common(doc, version)
    out.update(network_id=doc["network_id"], ip_version=version)
    if doc.get("cidr") is not None:
        out["cidr"] = _cidr("cidr", doc["cidr"])
    for field in ("ipv6_ra_mode", "ipv6_address_mode"):
        value = doc.get(field)
        if value is not None and value not in IPV6_MODES:
            raise attrs.invalid(field, f"{value} is not in valid_values {list(IPV6_MODES)}")
        out[field] = value
    out["subnetpool_id"] = doc.get("subnetpool_id")
    out["use_default_subnet_pool"] = attrs.boolean(doc, "use_default_subnet_pool", False)
    out["prefixlen"] = attrs.integer(doc, "prefixlen", low=0, high=128)
    return out


def parse_update(doc: dict[str, Any], subnet: Subnet) -> dict[str, Any]:
    attrs.read_only(doc, ("id", "cidr", "ip_version", "network_id", "project_id", "tenant_id",
                          "ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id"))
    attrs.only(doc, UPDATE_ATTRS)
    return _common(doc, subnet.ip_version)


# --- checks -----------------------------------------------------------------------------


def default_pools(net, gateway: str | None) -> list[dict[str, str]]:
    """The CIDR without its network address (and IPv4 broadcast) and the gateway."""
    first = int(net.network_address) + 1
    last = int(net.broadcast_address) - (1 if net.version == 4 else 0)
    if net.version == 4 and net.prefixlen >= 31:
        first, last = int(net.network_address), int(net.broadcast_address)
    cls = type(net.network_address)
    ranges = [(first, last)]
    if gateway is not None:
        g = int(ipaddress.ip_address(gateway))
        ranges = [r for a, b in ranges for r in ((a, g - 1), (g + 1, b)) if a <= g <= b] or ranges
        ranges = [(a, b) for a, b in ranges if a <= b]
    return [{"start": str(cls(a)), "end": str(cls(b))} for a, b in ranges]


def _check_pools(net, pools: list[dict[str, str]], gateway: str | None) -> None:
    spans = []
    for pool in pools:
        a, b = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        if a.version != net.version or b.version != net.version or a > b:
            raise BadRequest(f"The allocation pool {pool['start']}-{pool['end']} is not valid.",
                             type="InvalidAllocationPool")
        if a not in net or b not in net or a == net.network_address or (
                net.version == 4 and net.prefixlen < 31 and b == net.broadcast_address):
            raise BadRequest(f"The allocation pool {pool['start']}-{pool['end']} spans beyond the subnet "
                             f"cidr {net}.", type="OutOfBoundsAllocationPool")
        spans.append((a, b, pool))
    spans.sort(key=lambda s: s[0])
    for (_, b1, p1), (a2, _, p2) in zip(spans, spans[1:], strict=False):
        if a2 <= b1:
            raise Conflict(f"Found overlapping allocation pools: {p1['start']}-{p1['end']} and "
                           f"{p2['start']}-{p2['end']} for subnet {net}.", type="OverlappingAllocationPools")
    if gateway is not None:
        g = ipaddress.ip_address(gateway)
        for a, b, pool in spans:
            if a <= g <= b:
                raise Conflict(f"Gateway ip {gateway} conflicts with allocation pool "
                               f"{pool['start']}-{pool['end']}.", type="GatewayConflictWithAllocationPools")


def _check_gateway(net, gateway: str | None) -> None:
    if gateway is None:
        return
    g = ipaddress.ip_address(gateway)
    if g not in net or g == net.network_address or (net.version == 4 and net.prefixlen < 31
                                                     and g == net.broadcast_address):
        raise attrs.invalid_op(f"Gateway IP {gateway} is not a valid address of subnet {net}: give an "
                               "address inside the CIDR (not its network or broadcast address), or null.")


def _check_ipv6_modes(version: int, ra: str | None, addr: str | None, enable_dhcp: bool, net) -> None:
    if version == 4:
        if ra or addr:
            raise attrs.invalid_op("ipv6_ra_mode and ipv6_address_mode are only valid for IPv6 subnets "
                                   "(ip_version 6).")
        return
    if ra and addr and ra != addr:
        raise attrs.invalid_op(f"ipv6_ra_mode set to '{ra}' with ipv6_address_mode set to '{addr}' is not "
                               "valid. If both attributes are set, they must be the same value")
    if not enable_dhcp and (ra or addr):
        raise attrs.invalid_op("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set "
                               "to False.")
    if (addr in ipam.AUTO_ADDRESS_MODES or ra in ipam.AUTO_ADDRESS_MODES) and net.prefixlen != 64:
        raise attrs.invalid_op(f"Invalid CIDR {net} for IPv6 address mode. OpenStack uses the EUI-64 "
                               "address format, which requires the prefix to be /64")


def _check_overlap(db: Session, network_id: str, net, exclude: str | None = None) -> None:
    for other in db.scalars(select(Subnet).where(Subnet.network_id == network_id)):
        if other.id == exclude:
            continue
        theirs = ipaddress.ip_network(other.cidr)
        if theirs.version == net.version and theirs.overlaps(net):
            raise attrs.invalid_op(f"Requested subnet with cidr: {net} for network: {network_id} overlaps "
                                   f"with another subnet ({other.id}, {other.cidr}).")


def _version_of(spec: dict[str, Any], net) -> int:
    version = spec.get("ip_version")
    if version is None:
        raise attrs.invalid_op("Failed to parse request. Required attribute 'ip_version' not specified")
    if net is not None and net.version != version:
        raise attrs.invalid_op(f"Cidr {net} and ip_version {version} do not match.")
    return version


# --- changes ----------------------------------------------------------------------------


def create(db: Session, ctx, network: Network, spec: dict[str, Any], *, project_id: str,
           subnet_id: str | None = None, tag_list: list[str] | None = None) -> Subnet:
    net = spec.get("cidr")
    pool = None
    if spec.get("subnetpool_id") or spec.get("use_default_subnet_pool"):
        if spec.get("subnetpool_id") and spec.get("use_default_subnet_pool"):
            raise attrs.invalid_op("subnetpool_id and use_default_subnet_pool cannot both be given.")
        pool = (subnetpools.get(db, ctx, spec["subnetpool_id"]) if spec.get("subnetpool_id")
                else subnetpools.default(db, ctx, spec.get("ip_version") or 4))
        if spec.get("ip_version") is not None and spec["ip_version"] != pool.ip_version:
            raise attrs.invalid_op(f"Cannot allocate IPv{spec['ip_version']} subnet from IPv{pool.ip_version} "
                                   "subnet pool")
        spec = {**spec, "ip_version": pool.ip_version}
        net = subnetpools.allocate(db, pool, net, spec.get("prefixlen"))
    elif net is None:
        raise attrs.invalid_op("A cidr must be specified in the absence of a subnet pool")
    version = _version_of(spec, net)
    if version == 4 and net.prefixlen > 30:
        raise attrs.invalid_op(f"The prefix length of {net} leaves no address for ports: use /30 or shorter.")
    if version == 6 and net.prefixlen > 126:
        raise attrs.invalid_op(f"The prefix length of {net} leaves no address for ports: use /126 or shorter.")
    enable_dhcp = spec.get("enable_dhcp", True)
    _check_ipv6_modes(version, spec.get("ipv6_ra_mode"), spec.get("ipv6_address_mode"), enable_dhcp, net)
    if version == 6 and network.mtu < 1280:
        raise attrs.invalid_op(f"IPv6 needs an MTU of at least 1280; network {network.id} has {network.mtu}.")
    gateway = spec["gateway_ip"] if "gateway_ip" in spec else str(net.network_address + 1)
    _check_gateway(net, gateway)
    pools = spec.get("allocation_pools") or default_pools(net, gateway)
    _check_pools(net, pools, gateway)
    _check_overlap(db, network.id, net)
    for route in spec.get("host_routes") or []:
        if ipaddress.ip_network(route["destination"]).version != version or \
                ipaddress.ip_address(route["nexthop"]).version != version:
            raise attrs.invalid_op(f"Host route {route} does not match the subnet's IP version {version}.")
    row = Subnet(id=subnet_id or str(uuid.uuid4()), project_id=project_id, network_id=network.id,
                 name=spec.get("name", ""), description=spec.get("description", ""), ip_version=version,
                 cidr=str(net), gateway_ip=gateway, enable_dhcp=enable_dhcp,
                 ipv6_ra_mode=spec.get("ipv6_ra_mode"), ipv6_address_mode=spec.get("ipv6_address_mode"),
                 subnetpool_id=pool.id if pool else None, dns_nameservers=spec.get("dns_nameservers") or [],
                 host_routes=spec.get("host_routes") or [], allocation_pools=pools, revision_number=1)
    db.add(row)
    db.flush()
    if tag_list:
        tags.replace(db, "subnets", row.id, tag_list)
    return row


def update(db: Session, row: Subnet, spec: dict[str, Any]) -> None:
    net = ipaddress.ip_network(row.cidr)
    gateway = spec.get("gateway_ip", row.gateway_ip)
    if "gateway_ip" in spec:
        _check_gateway(net, gateway)
        if gateway and gateway != row.gateway_ip and db.scalar(select(IPAllocation.id).where(
                IPAllocation.subnet_id == row.id, IPAllocation.ip_address == gateway)):
            raise Conflict(f"Gateway ip {gateway} is already in use by a port of subnet {row.id}.",
                           type="GatewayIpInUse")
    pools = spec.get("allocation_pools", row.allocation_pools)
    if "allocation_pools" in spec or "gateway_ip" in spec:
        _check_pools(net, pools, gateway)
    if "enable_dhcp" in spec and not spec["enable_dhcp"] and (row.ipv6_ra_mode or row.ipv6_address_mode):
        raise attrs.invalid_op("Cannot disable enable_dhcp with ipv6 attributes set")
    for route in spec.get("host_routes") or []:
        if ipaddress.ip_network(route["destination"]).version != row.ip_version:
            raise attrs.invalid_op(f"Host route {route} does not match the subnet's IP version {row.ip_version}.")
    row.gateway_ip, row.allocation_pools = gateway, pools
    for field in ("name", "description", "enable_dhcp", "dns_nameservers", "host_routes"):
        if field in spec:
            setattr(row, field, spec[field])
    attrs.touch(row)
    db.flush()


def delete(db: Session, row: Subnet) -> None:
    if ipam.subnet_in_use(db, row.id):
        raise Conflict(f"Unable to complete operation on subnet {row.id}: One or more ports have an IP "
                       "allocation from this subnet.", type="SubnetInUse")
    for port_id in list(db.scalars(select(IPAllocation.port_id).where(IPAllocation.subnet_id == row.id))):
        ipam.release(db, port_id, [row.id])  # the DHCP port's address
    tags.clear(db, "subnets", row.id)
    release_quota(db, row.id)
    db.delete(row)
    db.flush()


def dhcp_ports(db: Session, network_id: str) -> list[Port]:
    return list(db.scalars(select(Port).where(Port.network_id == network_id, Port.device_owner == "network:dhcp")))


# --- views ------------------------------------------------------------------------------


def view(db: Session, row: Subnet, *, tag_list: list[str] | None = None) -> dict[str, Any]:
    if tag_list is None:
        tag_list = tags.of(db, "subnets", row.id)
    return {"id": row.id, "name": row.name, "network_id": row.network_id, "ip_version": row.ip_version,
            "cidr": row.cidr, "gateway_ip": row.gateway_ip,
            "allocation_pools": [dict(p) for p in row.allocation_pools or []],
            "dns_nameservers": list(row.dns_nameservers or []),
            "host_routes": [dict(r) for r in row.host_routes or []], "enable_dhcp": row.enable_dhcp,
            "ipv6_ra_mode": row.ipv6_ra_mode, "ipv6_address_mode": row.ipv6_address_mode,
            "subnetpool_id": row.subnetpool_id, "service_types": [], "segment_id": None,
            "dns_publish_fixed_ip": False, **attrs.standard(row, tag_list)}


def views(db: Session, rows: list[Subnet]):
    tag_map = tags.of_many(db, "subnets", [r.id for r in rows])
    return lambda r: view(db, r, tag_list=tag_map[r.id])


def heat_spec(props: dict[str, Any], network_id: str) -> dict[str, Any]:
    """A Heat ``OS::Neutron::Subnet``'s properties as a create request's attributes."""
    doc = {k: v for k, v in props.items() if k in CREATE_ATTRS and v is not None}
    doc["network_id"] = network_id
    if props.get("subnetpool") is not None:
        doc["subnetpool_id"] = props["subnetpool"]
    doc.pop("network", None)
    if "gateway_ip" in props and props["gateway_ip"] is None:
        doc.pop("gateway_ip", None)
    return parse_create(doc)
