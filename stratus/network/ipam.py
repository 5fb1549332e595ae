"""IPAM in the database: the fixed IPs of ports, never given twice.

An address is a row of ``network_ip_allocations``, unique per (subnet, address). A
request picks the first free address of the subnet's allocation pools and inserts it
inside a SAVEPOINT; when a concurrent request took the same address first, the unique
constraint refuses the insert (PostgreSQL makes the second insert wait for the first
transaction, then fails it), the SAVEPOINT is rolled back and the request picks again
(at random among the next free addresses, so that racing requests spread out). The
constraint alone decides; no lock is taken.

Contract (ports, routers, floating IPs and DHCP call these):

- ``allocate(db, port, fixed_ips) -> list[IPAllocation]``: ``port`` is a ``Port`` row
  already added to the session (its id, network_id, mac_address and device_owner are
  read); ``fixed_ips`` as Neutron's request (``[{"subnet_id"}, {"ip_address"},
  {"subnet_id", "ip_address"}]``) or None: one address from every IPv4 subnet and every
  IPv6 subnet that is not SLAAC; ``[]``: no address. SLAAC/DHCPv6-stateless subnets always give the port its
  EUI-64 address (from its MAC), except router ports, which only get what they ask for.
- ``release(db, port_id, subnet_ids=None) -> list[str]``: free the port's addresses
  (only those of ``subnet_ids`` when given); the addresses freed.
- ``subnet_in_use(db, subnet_id, *, ignore_owners=("network:dhcp",)) -> bool``: a port
  other than those owners holds an address in the subnet.
- ``eui64(cidr, mac)``, ``in_pools(subnet, ip)``, ``is_auto_address(subnet)``: helpers.

Refusals carry Neutron's exception types: ``IpAddressAlreadyAllocated`` (409),
``InvalidIpForSubnet``/``InvalidIpForNetwork`` (400), ``IpAddressGenerationFailure`` (409,
a pool exhausted), ``InvalidInput`` (400, a malformed request or a subnet of another
network), ``SubnetNotFound`` (404).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stratus.db.models.network import IPAllocation, Port, Subnet
from stratus.errors import BadRequest, Conflict, NotFound

AUTO_ADDRESS_MODES = ("slaac", "dhcpv6-stateless")
ROUTER_OWNERS = ("network:router_interface", "network:router_gateway",
                 "network:router_interface_distributed", "network:ha_router_replicated_interface")
MAX_ATTEMPTS = 64  # picks per address before a busy subnet counts as exhausted
SPREAD = 32  # after a collision, pick among this many next free addresses


def invalid(message: str) -> BadRequest:
    """Neutron's 400 InvalidInput."""
    return BadRequest(f"Invalid input for operation: {message}", type="InvalidInput")


def is_auto_address(subnet: Subnet) -> bool:
    """An IPv6 subnet whose addresses the hosts make themselves (SLAAC)."""
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in AUTO_ADDRESS_MODES


def eui64(cidr: str, mac: str) -> str:
    """The modified EUI-64 address of ``mac`` in the (/64) prefix ``cidr``."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    iid = bytes(octets[:3] + [0xFF, 0xFE] + octets[3:])
    net = ipaddress.ip_network(cidr, strict=False)
    return str(ipaddress.IPv6Address(int(net.network_address) | int.from_bytes(iid, "big")))


def valid_in_subnet(subnet: Subnet, ip: str, owner: str = "") -> bool:
    """``ip`` may be a port's address in ``subnet``: inside the CIDR, not its network
    address (IPv6: except for router ports, as Neutron) nor the IPv4 broadcast."""
    addr = ipaddress.ip_address(ip)
    net = ipaddress.ip_network(subnet.cidr, strict=False)
    if addr.version != net.version or addr not in net:
        return False
    if net.version == 6:
        return addr != net.network_address or owner in (*ROUTER_OWNERS, "")
    return net.prefixlen >= 31 or addr not in (net.network_address, net.broadcast_address)


def in_pools(subnet: Subnet, ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    return any(ipaddress.ip_address(p["start"]) <= addr <= ipaddress.ip_address(p["end"])
               for p in subnet.allocation_pools or [])


def _pool_addresses(subnet: Subnet) -> Iterator[str]:
    for pool in subnet.allocation_pools or []:
        start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        cls = type(start)
        for n in range(int(start), int(end) + 1):
            yield str(cls(n))


def _allocated(db: Session, subnet_id: str) -> set[str]:
    return set(db.scalars(select(IPAllocation.ip_address).where(IPAllocation.subnet_id == subnet_id)))


def _free(db: Session, subnet: Subnet, count: int) -> list[str]:
    """Up to ``count`` free addresses of the subnet's pools, in pool order."""
    taken = _allocated(db, subnet.id)
    if subnet.gateway_ip:
        taken.add(str(ipaddress.ip_address(subnet.gateway_ip)))
    out = []
    for ip in _pool_addresses(subnet):
        if ip not in taken:
            out.append(ip)
            if len(out) >= count:
                break
    return out


def _insert(db: Session, port: Port, subnet: Subnet, ip: str) -> IPAllocation | None:
    """The allocation row, or None when another request holds the address."""
    row = IPAllocation(network_id=port.network_id, subnet_id=subnet.id, port_id=port.id, ip_address=ip)
    sp = db.begin_nested()
    try:
        db.add(row)
        db.flush()
    except IntegrityError:
        sp.rollback()
        return None
    sp.commit()
    return row


def _take(db: Session, port: Port, subnet: Subnet, ip: str) -> IPAllocation:
    row = _insert(db, port, subnet, ip)
    if row is None:
        raise Conflict(f"IP address {ip} already allocated in subnet {subnet.id}",
                       type="IpAddressAlreadyAllocated")
    return row


def _next_free(db: Session, port: Port, subnet: Subnet) -> IPAllocation:
    for attempt in range(MAX_ATTEMPTS):
        candidates = _free(db, subnet, 1 if attempt == 0 else SPREAD)
        if not candidates:
            break
        row = _insert(db, port, subnet, candidates[0] if attempt == 0 else random.choice(candidates))
        if row is not None:
            return row
    raise Conflict(f"No more IP addresses available on network {port.network_id}.",
                   type="IpAddressGenerationFailure")


def _normalize(ip: Any) -> str:
    if not isinstance(ip, str):
        raise invalid(f"'{ip}' is not a valid IP address.")
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise invalid(f"'{ip}' is not a valid IP address.") from None
    return str(addr)


def _requested(db: Session, port: Port, subnets: list[Subnet], fixed_ips: list[Any]
               ) -> list[tuple[Subnet, str | None]]:
    """``fixed_ips`` as (subnet, address or None) pairs, validated."""
    by_id = {s.id: s for s in subnets}
    out: list[tuple[Subnet, str | None]] = []
    if not isinstance(fixed_ips, list):
        raise invalid(f"Invalid data format for fixed IP: '{fixed_ips}'")
    for entry in fixed_ips:
        if not isinstance(entry, dict) or not entry or set(entry) - {"subnet_id", "ip_address"}:
            raise invalid(f"Invalid data format for fixed IP: '{entry}'")
        subnet_id, ip = entry.get("subnet_id"), entry.get("ip_address")
        ip = _normalize(ip) if ip is not None else None
        if subnet_id is not None:
            subnet = by_id.get(subnet_id) if isinstance(subnet_id, str) else None
            if subnet is None:
                if isinstance(subnet_id, str) and db.get(Subnet, subnet_id) is None:
                    raise NotFound(f"Subnet {subnet_id} could not be found.", type="SubnetNotFound")
                raise invalid(f"Failed to create port on network {port.network_id}, because "
                              f"fixed_ips included invalid subnet {subnet_id}.")
            if ip is not None and not valid_in_subnet(subnet, ip, port.device_owner or ""):
                raise BadRequest(f"IP address {ip} is not a valid IP for the specified subnet.",
                                 type="InvalidIpForSubnet")
        elif ip is not None:
            subnet = next((s for s in subnets if valid_in_subnet(s, ip, port.device_owner or "")), None)
            if subnet is None:
                raise BadRequest(f"IP address {ip} is not a valid IP for any of the subnets on the "
                                 "specified network.", type="InvalidIpForNetwork")
        else:
            raise invalid(f"Invalid data format for fixed IP: '{entry}'")
        if ip is not None and is_auto_address(subnet) and port.device_owner not in ROUTER_OWNERS:
            raise invalid(f"IPv6 address {ip} cannot be directly assigned to a port on subnet "
                          f"{subnet.id} as the subnet is configured for automatic addresses")
        if ip is not None and any(ip == other for _, other in out):
            raise invalid(f"Duplicate IP address '{ip}'")
        out.append((subnet, ip))
    return out


def allocate(db: Session, port: Port, fixed_ips: list[dict] | None) -> list[IPAllocation]:
    """Give ``port`` its fixed IPs (see the module docstring) and return the new rows."""
    if fixed_ips == []:  # asked for no address at all
        return []
    subnets = list(db.scalars(select(Subnet).where(Subnet.network_id == port.network_id)
                              .order_by(Subnet.ip_version, Subnet.created_at, Subnet.id)))
    router = port.device_owner in ROUTER_OWNERS
    if fixed_ips is None:
        wanted: list[tuple[Subnet, str | None]] = [
            (s, None) for s in subnets if not is_auto_address(s) and (s.ip_version == 4 or not router)]
        if router:  # a router port without fixed_ips takes one address of the first subnet
            wanted = wanted[:1]
    else:
        wanted = _requested(db, port, subnets, fixed_ips)
    if not router:  # SLAAC addresses come with every port
        chosen = {s.id for s, _ in wanted}
        wanted += [(s, None) for s in subnets if is_auto_address(s) and s.id not in chosen]
    db.flush()  # the port row exists before its addresses reference it
    rows = []
    for subnet, ip in wanted:
        if ip is None and is_auto_address(subnet):
            ip = eui64(subnet.cidr, port.mac_address)
        rows.append(_next_free(db, port, subnet) if ip is None else _take(db, port, subnet, ip))
    return rows


def release(db: Session, port_id: str, subnet_ids: Iterable[str] | None = None) -> list[str]:
    """Free ``port_id``'s addresses (of ``subnet_ids`` only when given)."""
    cond = [IPAllocation.port_id == port_id]
    if subnet_ids is not None:
        cond.append(IPAllocation.subnet_id.in_(list(subnet_ids)))
    freed = list(db.scalars(select(IPAllocation.ip_address).where(*cond)))
    db.execute(delete(IPAllocation).where(*cond).execution_options(synchronize_session="fetch"))
    return freed


def subnet_in_use(db: Session, subnet_id: str, *, ignore_owners: Iterable[str] = ("network:dhcp",)) -> bool:
    """A port other than ``ignore_owners``' holds an address in the subnet."""
    stmt = select(exists().where(IPAllocation.subnet_id == subnet_id, IPAllocation.port_id == Port.id,
                                 Port.device_owner.not_in(list(ignore_owners))))
    return bool(db.scalar(stmt))


def addresses(db: Session, port_id: str) -> list[IPAllocation]:
    """The port's fixed IPs, in a stable order."""
    return list(db.scalars(select(IPAllocation).where(IPAllocation.port_id == port_id)
                           .order_by(IPAllocation.id)))
