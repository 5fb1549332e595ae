"""A server's network interfaces: Nova's side of the network API.

A server's NICs are Neutron ports whose ``device_id`` is the server's id. The
``networks`` property of ``OS::Nova::Server`` (Heat's: ``network`` with an optional
``fixed_ip``, ``port``, or ``allocate_network`` ``auto``/``none``) says which:

- :func:`prepare` (the type's ``check``, in the request's transaction): a port made
  for each network entry through ``stratus.network.ports.create`` (``device_owner``
  ``compute:<zone>``, the request's security groups or the project's default group);
  a given port must be the project's (or the caller an admin) and not in use (Nova's
  409 "Port … is still in use."). The ports are recorded in the attribute ``ports``
  (``[{id, made}]``: Nova deletes the ports it made with the server, and only unbinds
  the ones it was given).
- :func:`on_placed` (after placement): the ports bound to the chosen host
  (``ports.bind``) and the NICs the ``instance`` module plugs recorded in ``nics``
  (mac, bridge ``brq`` + 11, tap ``tap`` + 11, mtu), the guest's ``network_data``
  (Nova's ``network_data.json``), and the host state of those ports
  (``hostplan.converge``) in ``segments`` (before the guest: its bridges) and
  ``converge`` (after: plugging with port security).
- :func:`release` (the server's delete): the ports it made deleted, the given ones
  unbound; the host state without them in ``converge``.

:func:`addresses` gives the server view its ``addresses``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.network import FloatingIP, IPAllocation, Network, Port, Subnet
from stratus.errors import ApiError, BadRequest, Conflict, NotFound
from stratus.orchestration.errors import ResourceCheckFailed

OWNER_PREFIX = "compute:"


# -- request checks (check) ---------------------------------------------------------------


def request_context(res):
    """The caller of the request that plans ``res`` as the network service sees it (its
    project, and whether it is a cloud admin): a server's ports are made in its name."""
    from stratus.identity.context import RequestContext

    plan = res.context
    admin = bool(plan and plan.cloud_admin)
    return RequestContext(user_id=(plan.user_id if plan else None) or "", user_name="", user_domain_id="",
                          roles=("admin", "member", "reader") if admin else ("member", "reader"),
                          project_id=res.project_id, system_scope="all" if admin else None)


def prepare(db: Session, res) -> None:
    """Make or claim the ports of ``res``'s ``networks`` (see the module docstring);
    once per server (a resize checks it again and keeps its ports)."""
    if "ports" in res.attributes:
        return
    where = ("resources", res.name, "properties", "networks")
    ctx = request_context(res)
    entries = _entries(db, ctx, res.properties.get("networks"), where)
    zone = (res.properties.get("availability_zone") or "").split(":")[0] or _default_zone(res)
    groups = (_security_group_ids(db, ctx, res.properties.get("security_groups") or [], where)
              if any("uuid" in e for e in entries) else None)
    ports: list[dict[str, Any]] = []
    for entry in entries:
        try:
            if "port" in entry:
                port = claim(db, ctx, entry["port"], res.resource_id, zone)
                ports.append({"id": port.id, "made": False})
            else:
                port = make(db, ctx, entry, res.resource_id, zone, groups, context=res.context)
                ports.append({"id": port.id, "made": True})
        except ApiError as exc:
            raise ResourceCheckFailed(exc.message, where, status=exc.status) from None
    res.attributes["ports"] = ports


def _default_zone(res) -> str:
    settings = res.context.settings if res.context is not None else None
    return getattr(settings, "default_availability_zone", None) or "nova"


def _entries(db: Session, ctx, networks: Any, where) -> list[dict[str, str]]:
    """The ``networks`` property as a list of {uuid[, fixed_ip]} / {port}; ``auto`` (or
    no property: Nova before 2.37) is the project's one network."""
    if networks is None:
        return _auto(db, ctx, where, required=False)
    out = []
    for n in networks:
        n = {**n}
        allocate = n.pop("allocate_network", None)
        if allocate == "none":
            continue
        if allocate == "auto":
            out += _auto(db, ctx, where, required=True)
            continue
        if n.get("port"):
            out.append({"port": str(n["port"])})
        elif n.get("network"):
            out.append({"uuid": str(n["network"]), **({"fixed_ip": str(n["fixed_ip"])} if n.get("fixed_ip") else {})})
    return out


def _auto(db: Session, ctx, where, *, required: bool) -> list[dict[str, str]]:
    """Nova's "auto": the one network the project may use (its own or shared, not
    external); 409 NetworkAmbiguous when there are several; none: 400 when asked for."""
    from sqlalchemy import or_

    from stratus.network import access

    mine = or_(Network.project_id == ctx.project_id, access.shared_with(ctx))
    ids = list(db.scalars(select(Network.id).where(mine, Network.external.is_(False)).order_by(Network.id)))
    if len(ids) > 1:
        raise ResourceCheckFailed("Multiple possible networks found, use a Network ID to be more specific.",
                                  where, status=409)
    if not ids:
        if required:
            raise ResourceCheckFailed(
                f"Unable to automatically allocate a network for project {ctx.project_id}: the project "
                "has no network; create one (openstack network create) or give \"none\".", where)
        return []
    return [{"uuid": ids[0]}]


def _security_group_ids(db: Session, ctx, names: list[str], where) -> list[str] | None:
    """The ids of the project's groups named (or with the id) ``names``; None: the
    network service's default."""
    from stratus.db.models.network import SecurityGroup

    if not names:
        return None
    ids = []
    for name in names:
        stmt = select(SecurityGroup).where((SecurityGroup.id == name) | (SecurityGroup.name == name))
        if not ctx.is_admin:
            stmt = stmt.where(SecurityGroup.project_id == ctx.project_id)
        rows = list(db.scalars(stmt))
        if name == "default" and not rows:
            from stratus.network import security_groups

            rows = [security_groups.default_group(db, ctx.project_id)]
        if not rows:
            raise ResourceCheckFailed(f"Security group {name} not found.", where)
        if len(rows) > 1:
            raise ResourceCheckFailed(f"Multiple security groups named {name} found: give its id.",
                                      where, status=409)
        ids.append(rows[0].id)
    return ids


def make(db: Session, ctx, entry: dict[str, str], server_id: str, zone: str,
         groups: list[str] | None, *, context=None) -> Port:
    """A port on the network ``entry["uuid"]`` for the server, in Nova's words when
    the network service refuses."""
    from stratus.network import access

    try:
        access.network(db, ctx, entry["uuid"], admin=ctx.is_admin)
    except NotFound:
        raise BadRequest(f"Network {entry['uuid']} could not be found.") from None
    from stratus.network import ports
    attrs: dict[str, Any] = {"network_id": entry["uuid"], "device_id": server_id,
                             "device_owner": OWNER_PREFIX + zone}
    if "fixed_ip" in entry:
        attrs["fixed_ips"] = [{"ip_address": entry["fixed_ip"]}]
    if groups is not None:
        attrs["security_groups"] = groups
    try:
        return ports.create(db, ctx, attrs, project_id=ctx.project_id, internal=True, context=context)
    except Conflict as exc:
        if exc.type == "IpAddressAlreadyAllocated":
            raise BadRequest(f"Fixed IP address {entry.get('fixed_ip')} is already in use on instance "
                             f"{_holder(db, entry)}.") from None
        raise
    except BadRequest as exc:
        if exc.type in ("InvalidIpForNetwork", "InvalidIpForSubnet"):
            raise BadRequest(f"Fixed IP address {entry.get('fixed_ip')} is not valid on network "
                             f"{entry['uuid']}: give an address inside one of its subnets.") from None
        raise


def _holder(db: Session, entry: dict[str, str]) -> str:
    port = db.scalar(select(Port).join(IPAllocation, IPAllocation.port_id == Port.id).where(
        IPAllocation.network_id == entry["uuid"], IPAllocation.ip_address == entry.get("fixed_ip")))
    return (port.device_id or port.id) if port is not None else "unknown"


def claim(db: Session, ctx, port_id: str, server_id: str, zone: str) -> Port:
    """A port the request gave: the caller's (or an admin's) and unused."""
    port = db.get(Port, port_id)
    if port is None or (not ctx.is_admin and port.project_id != ctx.project_id):
        raise BadRequest(f"Port id {port_id} could not be found.")
    if port.device_id and port.device_id != server_id:
        raise Conflict(f"Port {port_id} is still in use.")
    port.device_id, port.device_owner = server_id, OWNER_PREFIX + zone
    db.flush()
    return port


# -- placement (on_placed) ----------------------------------------------------------------


def port_ids(res) -> list[str]:
    return [p["id"] for p in res.attributes.get("ports") or []]


def on_placed(db: Session, res) -> None:
    """Bind the server's ports on its host and record its NICs, its network_data and
    the host state its tasks converge (see the module docstring)."""
    if not res.placed or not res.hosts or not port_ids(res):
        return
    from stratus.network import ports

    host = res.hosts[0]
    rows = [db.get(Port, pid) for pid in port_ids(res)]
    for port in rows:
        if port is not None and port.binding_host_id != host:
            ports.bind(db, port, host, res.resource_id, port.device_owner)
    record_nics(db, res, [p for p in rows if p is not None])


def record_nics(db: Session, res, rows: list[Port]) -> None:
    """``nics``, ``network_data``, ``networks``, ``segments`` and ``converge`` of ``res``
    for the ports ``rows`` (bound on ``res.hosts[0]``); ports of the state ``res``
    recorded before that are not in ``rows`` any more are planned unplugged."""
    from stratus.network import hostplan

    host = res.hosts[0]
    settings = res.context.settings if res.context is not None else None
    nets = {n.id: n for n in db.scalars(select(Network).where(Network.id.in_({p.network_id for p in rows})))}
    previous = res.attributes.get("converge") or {}
    gone = sorted({p["network_id"] for p in previous.get("ports") or []} - set(nets))
    res.attributes["nics"] = [nic(p, nets[p.network_id]) for p in rows]
    res.attributes["network_data"] = network_data(db, rows, nets)
    res.attributes["networks"] = sorted(set(nets) | set(gone))
    res.attributes["segments"] = (hostplan.converge(db, networks=sorted(nets), only_host=host, settings=settings)
                                  if nets else {})
    after = hostplan.converge(db, networks=gone, ports=[p.id for p in rows], only_host=host, previous=previous,
                              settings=settings)
    # the segments this server needs are planned before its guest; only those it leaves go after
    after["networks"] = {nid: e for nid, e in after["networks"].items() if nid in gone}
    res.attributes["converge"] = after


def on_state(db: Session, resource) -> None:
    """A server's job ended: its bound ports are ACTIVE once it is, DOWN when it failed."""
    from stratus.db.models.jobs import ACTIVE, ERROR

    if resource.status not in (ACTIVE, ERROR):
        return
    for port in db.scalars(select(Port).where(Port.device_id == resource.id, Port.binding_host_id != "",
                                              Port.device_owner.startswith(OWNER_PREFIX))):
        port.status = "ACTIVE" if resource.status == ACTIVE else "DOWN"


def nic(port: Port, net: Network) -> dict[str, Any]:
    """The ``instance`` module's NIC of ``port`` (Neutron linuxbridge's device names)."""
    return {"port_id": port.id, "mac": port.mac_address, "bridge": "brq" + net.id[:11],
            "target": "tap" + port.id[:11], "mtu": net.mtu}


def network_data(db: Session, rows: list[Port], nets: dict[str, Network]) -> dict[str, Any]:
    """Nova's ``network_data.json``: a link per port, a network per fixed IP (``ipv4_dhcp``
    on a DHCP subnet, else static with its routes), and the DNS servers."""
    links, networks, services = [], [], []
    for port in rows:
        link = "tap" + port.id[:11]
        links.append({"id": link, "vif_id": port.id, "type": "bridge", "mtu": nets[port.network_id].mtu,
                      "ethernet_mac_address": port.mac_address})
        allocs = db.scalars(select(IPAllocation).where(IPAllocation.port_id == port.id).order_by(IPAllocation.id))
        for alloc in allocs:
            subnet = db.get(Subnet, alloc.subnet_id)
            if subnet is None:
                continue
            networks.append(_network_entry(len(networks), link, port, subnet, alloc.ip_address))
            for dns in subnet.dns_nameservers or []:
                if {"type": "dns", "address": dns} not in services:
                    services.append({"type": "dns", "address": dns})
    return {"links": links, "networks": networks, "services": services}


def _network_entry(index: int, link: str, port: Port, subnet: Subnet, address: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": f"network{index}", "link": link, "network_id": port.network_id}
    if subnet.ip_version == 4 and subnet.enable_dhcp:
        return {**entry, "type": "ipv4_dhcp"}
    if subnet.ip_version == 6 and subnet.ipv6_address_mode:
        return {**entry, "type": f"ipv6_{subnet.ipv6_address_mode}"}
    cidr = ipaddress.ip_network(subnet.cidr)
    routes = [{"network": str(ipaddress.ip_network(r["destination"]).network_address),
               "netmask": str(ipaddress.ip_network(r["destination"]).netmask), "gateway": r["nexthop"]}
              for r in subnet.host_routes or []]
    if subnet.gateway_ip:
        anyroute = "0.0.0.0" if subnet.ip_version == 4 else "::"
        routes.append({"network": anyroute, "netmask": anyroute, "gateway": subnet.gateway_ip})
    return {**entry, "type": f"ipv{subnet.ip_version}", "ip_address": address, "netmask": str(cidr.netmask),
            "routes": routes,
            "services": [{"type": "dns", "address": d} for d in subnet.dns_nameservers or []]}


def networks_of(db: Session, server_ids: list[str]) -> list[str]:
    """The networks the servers' ports are on."""
    if not server_ids:
        return []
    return sorted(set(db.scalars(select(Port.network_id).where(Port.device_id.in_(server_ids),
                                                               Port.device_owner.startswith(OWNER_PREFIX)))))


def follow(db: Session, networks: list[str], *, context, request_id: str | None, project_id: str | None):
    """After a server's own job: the networks' other hosts (VXLAN flood lists) and their
    DHCP servers (a lease for each port) converged by a job of the network service,
    queued behind the server's (both lock the networks)."""
    if not networks:
        return None
    from stratus.network import hostplan

    return hostplan.submit(db, networks=networks, request_id=request_id, context=context, project_id=project_id)


# -- delete -------------------------------------------------------------------------------


def release(db: Session, server_id: str, res=None) -> list[str]:
    """Nova's deallocate: the ports it made deleted, the given ones unbound (device_id
    cleared); ``res`` (the server being deleted) gets the host state without them.
    The networks the ports were on (their other hosts and DHCP follow)."""
    made = {p["id"] for p in (res.attributes.get("ports") or []) if p.get("made")} if res is not None else set()
    rows = list(db.scalars(select(Port).where(Port.device_id == server_id,
                                              Port.device_owner.startswith(OWNER_PREFIX))))
    nets = sorted({p.network_id for p in rows})
    if rows:
        from stratus.network import ports
    for port in rows:
        if port.id in made:
            ports.delete_row(db, port)
        else:
            ports.unbind(db, port)
    db.flush()
    if res is not None:
        previous = res.attributes.get("converge") or {}
        nets = sorted(set(nets) | {p["network_id"] for p in previous.get("ports") or []})
        res.attributes["converge"] = {}
        if res.hosts and res.placed and nets:
            from stratus.network import hostplan

            settings = res.context.settings if res.context is not None else None
            res.attributes["converge"] = hostplan.converge(db, networks=nets, only_host=res.hosts[0],
                                                           previous=previous, settings=settings)
    return nets


# -- the server view ----------------------------------------------------------------------


def addresses(db: Session, server_ids: list[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Nova's ``addresses`` of each server: by network name, its fixed IPs and the
    floating IPs associated with them."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {sid: {} for sid in server_ids}
    if not server_ids:
        return out
    rows = db.execute(
        select(Port.device_id, Port.id, Port.mac_address, Network.name, Network.id, IPAllocation.ip_address)
        .join(Network, Network.id == Port.network_id)
        .join(IPAllocation, IPAllocation.port_id == Port.id)
        .where(Port.device_id.in_(server_ids), Port.device_owner.startswith(OWNER_PREFIX))
        .order_by(Port.created_at, Port.id, IPAllocation.id)).all()
    port_ids_ = {r[1] for r in rows}
    floating: dict[tuple[str, str], list[str]] = {}
    if port_ids_:
        for fip in db.scalars(select(FloatingIP).where(FloatingIP.fixed_port_id.in_(port_ids_))):
            floating.setdefault((fip.fixed_port_id, fip.fixed_ip_address or ""), []).append(fip.floating_ip_address)
    for sid, pid, mac, net_name, net_id, ip in rows:
        entries = out[sid].setdefault(net_name or net_id, [])
        entries.append(_address(ip, "fixed", mac))
        entries += [_address(f, "floating", mac) for f in floating.get((pid, ip), [])]
    return out


def _address(ip: str, kind: str, mac: str) -> dict[str, Any]:
    return {"version": ipaddress.ip_address(ip).version, "addr": ip, "OS-EXT-IPS:type": kind,
            "OS-EXT-IPS-MAC:mac_addr": mac}
