"""The host state of the network service, computed from its records, and the tasks that
converge hosts to it.

Desired state (``converge``) is a plain dict computed from the DB when a request is
checked (so compiled tasks read no DB, and an offline compile needs none):

- a network's segment (bridge + VXLAN/VLAN/flat uplink) is present on every host with a
  bound port on it (compute ports, the DHCP port, router ports on network hosts) and
  absent from hosts that had it and have none left; VXLAN flood lists name exactly the
  other hosts that have it (their ``stratus_tunnel_ip``);
- a network with a DHCP-enabled subnet has dnsmasq in ``qdhcp-<id>`` on one network host
  (the ``network`` group of the host registry), with a fixed lease for every port;
- a router lives in ``qrouter-<id>`` on one network host, with its interfaces, gateway,
  SNAT, routes and floating IPs (``router_hosts``);
- a bound port is plugged on its host with port security and its security groups' rules
  (``sg_rules``).

Every converge job carries the whole desired state of what it touches (idempotent
modules), so a later job supersedes an earlier one; jobs on a network, router or
security group are serialised by their resource locks.

Contract (other files call these; keep the names):

- ``converge(db, *, networks=(), ports=(), routers=(), security_groups=(), only_host=None,
  previous=None, settings=None) -> dict``: the desired state of those objects (ids or
  rows; ports of the groups included); ``only_host`` limits it to one host (a server's
  own job); ``previous`` (an earlier state, e.g. the one a resource recorded) makes its
  ports and routers that are gone or moved absent where they were; ``settings`` the
  controller's (DNS domain, lease time; defaults without). Objects whose rows are gone
  are planned absent: a deleted network on the hosts its resource row kept.
- ``record(db, res, *, previous=False, **objects)``: what a type's check does — the
  state recorded in ``res.attributes["converge"]`` and ``res`` placed on its hosts;
  ``recorded_tasks(res, key="converge")``: its tasks; ``locks_of(state)``: what its
  job must lock (networks, ports, routers), so jobs planned later run later.
- ``hosts_of(state) -> list[str]``: every host the state touches.
- ``tasks(res, state) -> list[dict]``: the tasks, ordered: segments present → things
  removed (ports, DHCP, routers) → things present (DHCP, routers, ports + security
  groups) → segments removed.
- ``submit(db, *, networks=(), ports=(), routers=(), security_groups=(), previous=None,
  request_id=None, context=None, project_id=None) -> Job | None``: a converge job for
  changes that are not a resource's own create/update/delete (a port's DHCP lease after
  a server bound it elsewhere, a rule change reaching 200 ports), locking every object
  it touches (``orchestration.submit.submit_tasks``); None when nothing needs to run.
- ``network_hosts(db) -> list[str]``: the enabled hosts of the ``network`` group.

The state (JSON, recorded in ``res.attributes["converge"]``)::

    {"networks": {id: {"segment": {id, type, segmentation_id, physical_network, mtu},
                       "hosts": {host: "present" | "absent"},
                       "tunnel_ips": {host: ip}, "flood": [hosts]        # vxlan
                       "interfaces": {host: iface},                       # flat, vlan
                       "dhcp": {"host", "state", "port_id", "args"} | None}},
     "ports": [{"id", "host", "network_id", "state", "args", "security"}],
     "routers": [{"id", "host", "state", "desired"}]}

``converge`` also keeps the records this state rests on, in the caller's transaction:
the network's ``network:dhcp`` port (made through the ports service on the least
loaded network host when a DHCP-enabled subnet exists, deleted with the last one),
``Network.segment_hosts`` (where each segment is planned: a later converge removes it
from a host left without ports) and the hosts on the network's resource row (where its
delete cleans up). A host missing ``stratus_tunnel_ip`` or the physnet's mapping is
refused as ``HostNotReady`` (409 PortBindingFailed) naming the host and the variable.
Call it under the planner's lock (``orchestration.submit.PLACEMENT_LOCK``), as a type's
check and ``submit`` are, so that two requests never both make a network's DHCP port.

Parts of other services are imported when present (``router_hosts`` of h/routers,
``sg_rules`` of h/secgroups); without them no router or security group task is planned.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.locks import write_lock
from stratus.db.models.hosts import Host
from stratus.db.models.jobs import Resource
from stratus.db.models.network import IPAllocation, Network, Port, RouterPort, Subnet
from stratus.errors import Conflict
from stratus.network import ipam, metadata_relay
from stratus.network import ports as port_records
from stratus.orchestration.functions import jinja_literal
from stratus.orchestration.resources import PlannedResource, task

# Other services' parts, optional until their branches land: without them no router or
# security group state is planned (ports still get anti-spoofing from the port module).
try:
    from stratus.network import router_hosts
except ImportError:  # pragma: no cover - h/routers not merged
    router_hosts = None  # type: ignore[assignment]
try:
    from stratus.network import sg_rules
except ImportError:  # pragma: no cover - h/secgroups not merged
    sg_rules = None  # type: ignore[assignment]

DHCP_OWNER = "network:dhcp"
# Ports whose device a network-host module makes (dnsmasq's, a router's): their host
# gets the segment, the port module does not plug them.
SYSTEM_OWNER_PREFIX = "network:"
FAILED = "binding_failed"  # a port bound to a host that is not an enabled host: on none
CONVERGE = "converge"  # the resource name of a converge job's tasks
PRESENT, ABSENT = "present", "absent"


class HostNotReady(Conflict):
    """A host lacks a registry variable the network needs there (tunnel IP, physnet)."""

    type = "PortBindingFailed"


# --------------------------------------------------------------------- the desired state
def converge(db: Session, *, networks: Iterable[Any] = (), ports: Iterable[Any] = (),
             routers: Iterable[Any] = (), security_groups: Iterable[Any] = (),
             only_host: str | None = None, previous: dict[str, Any] | None = None,
             settings: Any = None) -> dict[str, Any]:
    """The desired host state of these objects (ids or rows). A port brings its network
    (segment, DHCP leases), a router the networks of its ports, a security group its
    ports (plug + security only). ``previous``: an earlier state of the same objects
    (a resource's recorded one): its ports and routers missing now are planned absent
    on the hosts they were on. ``settings``: the controller's (DNS domain, lease time).

    It also keeps the records the state depends on: the network's DHCP port (made on a
    network host when a DHCP-enabled subnet exists, deleted when none is left) and
    ``Network.segment_hosts`` (where each segment is planned)."""
    nets: dict[str, Network | str] = {}
    port_rows: dict[str, Port] = {}
    for ref in networks:
        row = _row(db, Network, ref)
        nets[_id(ref)] = row if row is not None else _id(ref)
    for ref in ports:
        row = _row(db, Port, ref)
        if row is not None:
            port_rows[row.id] = row
            nets.setdefault(row.network_id, db.get(Network, row.network_id) or row.network_id)
    router_entries = []
    for ref in routers:
        rid = _id(ref)
        desired = router_hosts.desired(db, rid) if router_hosts is not None else None
        before = router_hosts.previous(db, rid) if router_hosts is not None else None
        if desired:
            router_entries.append({"id": rid, "host": desired["host"], "state": PRESENT, "desired": desired})
        if before and before.get("host") and (not desired or desired["host"] != before["host"]):
            # gone, or moved to another network host: removed where its recorded state was
            router_entries.append({"id": rid, "host": before["host"], "state": ABSENT, "desired": before})
        for net_id in db.scalars(select(Port.network_id).join(RouterPort, RouterPort.port_id == Port.id)
                                 .where(RouterPort.router_id == rid)):
            nets.setdefault(net_id, db.get(Network, net_id) or net_id)
    group_ids = [_id(g) for g in security_groups]
    if group_ids and sg_rules is not None:
        for row in sg_rules.affected_ports(db, group_ids):
            port_rows.setdefault(row.id, row)

    state: dict[str, Any] = {"networks": {}, "ports": [],
                             "routers": [r for r in router_entries if only_host in (None, r["host"])]}
    for net_id, net in nets.items():
        entry = (_network_state(db, net, only_host, settings) if isinstance(net, Network)
                 else _gone_network_state(db, net_id, only_host))
        if entry is not None:
            state["networks"][net_id] = entry
    for row in port_rows.values():
        plugged = (row.binding_host_id and row.binding_vif_type != FAILED
                   and not row.device_owner.startswith(SYSTEM_OWNER_PREFIX))
        if plugged and only_host in (None, row.binding_host_id):
            state["ports"].append(_port_state(db, row))
    _add_previous(state, previous or {}, only_host)
    return state


def _add_previous(state: dict[str, Any], previous: dict[str, Any], only_host: str | None) -> None:
    """Ports and routers of ``previous`` that are not on the same host now: absent there."""
    here = {(p["id"], p["host"]) for p in state["ports"]}
    for p in previous.get("ports") or []:
        if p["state"] == PRESENT and (p["id"], p["host"]) not in here and only_host in (None, p["host"]):
            state["ports"].append({"id": p["id"], "host": p["host"], "network_id": p["network_id"],
                                   "state": ABSENT})
    routers = {(r["id"], r["host"]) for r in state["routers"]}
    for r in previous.get("routers") or []:
        if r["state"] == PRESENT and (r["id"], r["host"]) not in routers and only_host in (None, r["host"]):
            state["routers"].append({**r, "state": ABSENT})
            routers.add((r["id"], r["host"]))


def _network_state(db: Session, net: Network, only_host: str | None, settings: Any) -> dict[str, Any]:
    dhcp = metadata_relay.amend(_dhcp_state(db, net, settings), settings)
    bound = set(db.scalars(select(Port.binding_host_id).where(
        Port.network_id == net.id, Port.binding_host_id != "", Port.binding_vif_type != FAILED)))
    before = set(net.segment_hosts or [])
    if only_host is not None:
        present = bound & {only_host}
        absent = ({only_host} & before) - bound
    else:
        present, absent = bound, before - bound
    net.segment_hosts = sorted((before - absent) | present)
    serving = {dhcp["host"]} if dhcp and dhcp["state"] == PRESENT else set()
    _remember_hosts(db, net.id, set(net.segment_hosts) | serving)
    hosts = {**dict.fromkeys(sorted(absent), ABSENT), **dict.fromkeys(sorted(present), PRESENT)}
    segment = segment_of(net)
    if dhcp and only_host not in (None, dhcp["host"]):
        dhcp = None  # another host's work
    entry: dict[str, Any] = {"segment": segment, "hosts": dict(sorted(hosts.items())), "dhcp": dhcp}
    if segment["type"] == "vxlan":
        # every host of the segment floods to the others (all bound hosts, not only ours)
        entry["tunnel_ips"] = tunnel_ips(db, sorted(bound))
        entry["flood"] = sorted(bound)
    elif segment["type"] in ("flat", "vlan"):
        entry["interfaces"] = {h: physical_interface(db, h, segment["physical_network"])
                               for h, st in hosts.items() if st == PRESENT}
    return entry


def _gone_network_state(db: Session, net_id: str, only_host: str | None) -> dict[str, Any] | None:
    """A deleted network: its segment and DHCP server removed from every host it was on
    (the hosts kept on its resource row)."""
    row = db.get(Resource, net_id)
    hosts = sorted(h for h in (row.hosts if row is not None else []) or [] if only_host in (None, h))
    if not hosts:
        return None
    return {"segment": {"id": net_id, "type": "local", "segmentation_id": None, "physical_network": None,
                        "mtu": None},
            "hosts": dict.fromkeys(hosts, ABSENT), "dhcp": None, "gone_dhcp": hosts}


def _remember_hosts(db: Session, net_id: str, hosts: set[str]) -> None:
    """The network's resource row keeps the hosts it is planned on (its segment, its
    DHCP server), so that its delete, made after its rows are gone, knows where to clean."""
    row = db.get(Resource, net_id)
    if row is not None:
        row.hosts = sorted(hosts)


def segment_of(net: Network) -> dict[str, Any]:
    """The ``network`` module's view of a network's segment."""
    return {"id": net.id, "type": net.network_type, "segmentation_id": net.segmentation_id,
            "physical_network": net.physical_network, "mtu": net.mtu}


def _port_state(db: Session, port: Port) -> dict[str, Any]:
    cidrs = {s.id: s.cidr for s in db.scalars(select(Subnet).where(Subnet.network_id == port.network_id))}
    ips = [f"{a.ip_address}/{ipaddress.ip_network(cidrs[a.subnet_id]).prefixlen}"
           for a in ipam.addresses(db, port.id) if a.subnet_id in cidrs]
    args = {"port_id": port.id, "network_id": port.network_id, "mac_address": port.mac_address,
            "fixed_ips": ips, "port_security_enabled": bool(port.port_security_enabled),
            "allowed_address_pairs": list(port.allowed_address_pairs or [])}
    mtu = getattr(db.get(Network, port.network_id), "mtu", None)  # in the session's identity map
    if mtu:
        args["mtu"] = mtu
    security = None
    if sg_rules is not None and port.port_security_enabled:
        security = sg_rules.port_security(db, port)
    return {"id": port.id, "host": port.binding_host_id, "network_id": port.network_id, "state": PRESENT,
            "args": args, "security": security}


# --------------------------------------------------------------------------------- DHCP
def _dhcp_state(db: Session, net: Network, settings: Any) -> dict[str, Any] | None:
    """dnsmasq of the network: on the host of its DHCP port, with a lease for every port
    holding an address; absent where the port was when no DHCP subnet is left."""
    subnets = list(db.scalars(select(Subnet).where(Subnet.network_id == net.id)
                              .order_by(Subnet.created_at, Subnet.id)))
    served = [s for s in subnets if s.enable_dhcp]
    dhcp_ports = list(db.scalars(select(Port).where(Port.network_id == net.id, Port.device_owner == DHCP_OWNER)
                                 .order_by(Port.created_at, Port.id)))
    if not served:
        hosts = sorted({p.binding_host_id for p in dhcp_ports if p.binding_host_id})
        for p in dhcp_ports:
            port_records.delete_row(db, p)
        return {"host": hosts[0], "state": ABSENT} if hosts else None
    port = dhcp_ports[0] if dhcp_ports else _make_dhcp_port(db, net, served, settings)
    if port is None:
        return None  # no network host registered: the records are made, nothing runs
    held = {a.subnet_id for a in ipam.addresses(db, port.id)}
    missing = [{"subnet_id": s.id} for s in served if s.id not in held]
    if missing:  # a DHCP subnet added since
        ipam.allocate(db, port, missing)
    addresses = {a.subnet_id: a.ip_address for a in ipam.addresses(db, port.id)}
    leases: dict[str, dict[str, Any]] = {}  # one query for the whole network
    for other, ip in db.execute(select(Port, IPAllocation.ip_address)
                                .join(IPAllocation, IPAllocation.port_id == Port.id)
                                .where(Port.network_id == net.id, Port.id != port.id)
                                .order_by(Port.created_at, Port.id, IPAllocation.id)):
        leases.setdefault(other.id, {"id": other.id, "mac": other.mac_address, "ips": []})["ips"].append(ip)
    args = {
        "network_id": net.id,
        "port": {"id": port.id, "mac": port.mac_address,
                 "ips": [addresses[s.id] for s in served if s.id in addresses]},
        "subnets": [{"id": s.id, "cidr": s.cidr, "gateway_ip": s.gateway_ip or "",
                     "dns_nameservers": list(s.dns_nameservers or []),
                     "host_routes": list(s.host_routes or []), "enable_dhcp": bool(s.enable_dhcp),
                     **({"ipv6_address_mode": s.ipv6_address_mode} if s.ipv6_address_mode else {})}
                    for s in subnets],
        "ports": list(leases.values()),
        "mtu": net.mtu,
        "domain": _setting(settings, "network_dns_domain"),
        "lease_time": _setting(settings, "network_dhcp_lease_duration"),
    }
    return {"host": port.binding_host_id, "state": PRESENT, "port_id": port.id, "args": args}


def _setting(settings: Any, name: str) -> Any:
    if settings is not None:
        return getattr(settings, name)
    from stratus.config import Settings

    return Settings.model_fields[name].default


def dhcp_host(db: Session) -> str | None:
    """The network host with the fewest DHCP ports (Neutron's least-loaded scheduler)."""
    hosts = network_hosts(db)
    if not hosts:
        return None
    load = dict.fromkeys(hosts, 0)
    for h in db.scalars(select(Port.binding_host_id).where(Port.device_owner == DHCP_OWNER)):
        if h in load:
            load[h] += 1
    return min(hosts, key=lambda h: (load[h], h))


def _make_dhcp_port(db: Session, net: Network, subnets: list[Subnet], settings: Any) -> Port | None:
    """The network's ``network:dhcp`` port, bound to the least loaded network host, with
    an address in each DHCP subnet (Neutron's DHCP agent makes the same)."""
    host = dhcp_host(db)
    if host is None:
        return None
    attrs = {"network_id": net.id, "device_owner": DHCP_OWNER, "binding:host_id": host,
             "device_id": f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host)}-{net.id}",
             "fixed_ips": [{"subnet_id": s.id} for s in subnets]}
    port = port_records.write_row(db, None, attrs, project_id=net.project_id, settings=settings, internal=True)
    port.status = "ACTIVE"
    return port


# -------------------------------------------------------------------------------- hosts
def network_hosts(db: Session) -> list[str]:
    """The enabled hosts of the ``network`` group."""
    rows = db.scalars(select(Host).where(Host.enabled.is_(True)).order_by(Host.name))
    return [h.name for h in rows if "network" in (h.groups or [])]


def _host_vars(db: Session, host: str) -> dict[str, Any]:
    row = db.get(Host, host)
    return dict(row.vars or {}) if row is not None else {}


def tunnel_ips(db: Session, hosts: Iterable[str]) -> dict[str, str]:
    """``stratus_tunnel_ip`` of each host (its VXLAN local IP)."""
    out = {}
    for h in hosts:
        ip = _host_vars(db, h).get("stratus_tunnel_ip")
        if not ip:
            raise HostNotReady(f"Host {h} has no stratus_tunnel_ip in the host registry, so VXLAN networks "
                               "cannot reach it; set it in the inventory and run 'stratus host sync'.")
        out[h] = str(ip)
    return out


def physical_interface(db: Session, host: str, physnet: str | None) -> str:
    """The host interface of ``physnet`` from ``stratus_physical_interface_mappings``
    (a mapping, or Neutron's "physnet:iface,..." list)."""
    raw = _host_vars(db, host).get("stratus_physical_interface_mappings") or {}
    if isinstance(raw, str):
        raw = [raw]
    mapping = raw if isinstance(raw, dict) else dict(
        item.split(":", 1) for part in raw for item in str(part).split(",") if ":" in item)
    iface = mapping.get(physnet or "")
    if not iface:
        raise HostNotReady(f"Host {host} maps no interface to physical network {physnet!r} "
                           f"(stratus_physical_interface_mappings: {sorted(mapping)}); add it in the "
                           "inventory and run 'stratus host sync'.")
    return str(iface).strip()


def record(db: Session, res: PlannedResource, *, previous: bool = False, **objects: Any) -> dict[str, Any]:
    """Record in ``res`` the host state of ``objects`` (``converge``'s keywords) and place
    it on every host the state touches: what a type's check does. ``previous``: the
    state recorded before makes ports and routers absent where they no longer are (a
    port unbound, moved or deleted; a router gone) — only for types whose state names
    them by themselves (a port, a router), never for a group whose ports come and go."""
    before = (res.attributes.get("converge") or None) if previous else None
    state = converge(db, previous=before, settings=getattr(res.context, "settings", None), **objects)
    res.attributes["converge"] = state
    res.hosts, res.placed = hosts_of(state), True
    return state


def recorded_tasks(res: PlannedResource, key: str = "converge") -> list[dict[str, Any]]:
    """The tasks of the state a check recorded in the attribute ``key`` (none when it
    recorded none)."""
    state = res.attributes.get(key)
    return tasks(res, state) if state else []


def locks_of(state: dict[str, Any]) -> list[str]:
    """The networks, ports and routers a state touches: a job planned from it runs after
    the jobs already queued on them, so an older plan never lands after a newer one."""
    return [*(state.get("networks") or {}), *(p["id"] for p in state.get("ports") or []),
            *(r["id"] for r in state.get("routers") or [])]


def hosts_of(state: dict[str, Any]) -> list[str]:
    """Every host the state touches."""
    hosts: set[str] = set()
    for entry in (state.get("networks") or {}).values():
        hosts |= set(entry["hosts"])
        if entry.get("dhcp"):
            hosts.add(entry["dhcp"]["host"])
        hosts |= set(entry.get("gone_dhcp") or ())
    hosts |= {p["host"] for p in state.get("ports") or []}
    hosts |= {r["host"] for r in state.get("routers") or [] if r.get("host")}
    return sorted(hosts)


# -------------------------------------------------------------------------------- tasks
def tasks(res: PlannedResource, state: dict[str, Any]) -> list[dict[str, Any]]:
    """The tasks converging hosts to ``state``: segments present → things removed
    (ports, DHCP, routers) → things present (DHCP, routers, ports + security) →
    segments removed. Each runs on its own host only (``when``)."""
    nets = state.get("networks") or {}
    ports = state.get("ports") or []
    routers = state.get("routers") or []
    out: list[dict[str, Any]] = []
    for entry in nets.values():
        out += [_segment_task(res, entry, h) for h, st in entry["hosts"].items() if st == PRESENT]
    for p in ports:
        if p["state"] == ABSENT:
            out += _unplug_tasks(res, p)
    for entry in nets.values():
        dhcp = entry.get("dhcp")
        if dhcp and dhcp["state"] == ABSENT:
            out += _relay(res, entry["segment"]["id"], dhcp)
            out.append(_dhcp_absent(res, entry["segment"]["id"], dhcp["host"]))
        out += [_dhcp_absent(res, entry["segment"]["id"], h) for h in entry.get("gone_dhcp") or ()]
    if router_hosts is not None:
        for r in routers:
            if r["state"] == ABSENT:
                out += router_hosts.tasks(res, r["desired"], ABSENT)
    for entry in nets.values():
        dhcp = entry.get("dhcp")
        if dhcp and dhcp["state"] == PRESENT:
            out.append(_on(res, "stratus.cloud.dhcp", {**dhcp["args"], "state": PRESENT},
                           f"dhcp {_short(entry['segment']['id'])}", dhcp["host"]))
            out += _relay(res, entry["segment"]["id"], dhcp)
    if router_hosts is not None:
        for r in routers:
            if r["state"] == PRESENT:
                out += router_hosts.tasks(res, r["desired"], PRESENT)
    for p in ports:
        if p["state"] == PRESENT:
            out += _plug_tasks(res, p)
    for entry in nets.values():
        out += [_segment_task(res, entry, h) for h, st in entry["hosts"].items() if st == ABSENT]
    return out


def _relay(res: PlannedResource, net_id: str, dhcp: dict[str, Any]) -> list[dict[str, Any]]:
    """The network's metadata relay (``stratus.network.metadata_relay``), when on."""
    args = metadata_relay.task_args(net_id, dhcp, res.context.keys if res.context else None)
    return [] if args is None else [_on(res, metadata_relay.MODULE, args,
                                        f"metadata relay {_short(net_id)} {args['state']}", dhcp["host"])]


def _short(rid: str) -> str:
    return rid[:11]


def _on(res: PlannedResource, module: str, args: dict[str, Any], step: str, host: str) -> dict[str, Any]:
    return task(res, module, args, step, when=f"inventory_hostname == {jinja_literal(host)}")


def _segment_task(res: PlannedResource, entry: dict[str, Any], host: str) -> dict[str, Any]:
    seg = entry["segment"]
    state = entry["hosts"][host]
    args: dict[str, Any] = {"network_id": seg["id"], "state": state}
    if state == PRESENT:
        args["type"] = seg["type"]
        if seg["mtu"]:
            args["mtu"] = seg["mtu"]
        if seg["type"] == "vxlan":
            ips = entry["tunnel_ips"]
            args["segmentation_id"] = seg["segmentation_id"]
            args["local_ip"] = ips[host]
            args["remote_ips"] = sorted({ips[h] for h in entry["flood"] if h != host} - {ips[host]})
        elif seg["type"] in ("flat", "vlan"):
            args["physical_interface"] = entry["interfaces"][host]
            if seg["type"] == "vlan":
                args["segmentation_id"] = seg["segmentation_id"]
    return _on(res, "stratus.cloud.network", args, f"segment {_short(seg['id'])} {state}", host)


def _dhcp_absent(res: PlannedResource, net_id: str, host: str) -> dict[str, Any]:
    return _on(res, "stratus.cloud.dhcp", {"network_id": net_id, "state": ABSENT},
               f"dhcp {_short(net_id)} absent", host)


def _plug_tasks(res: PlannedResource, p: dict[str, Any]) -> list[dict[str, Any]]:
    out = [_on(res, "stratus.cloud.port", {**p["args"], "state": PRESENT}, f"port {_short(p['id'])}", p["host"])]
    if p.get("security") is not None:
        out.append(_on(res, "stratus.cloud.security_group",
                       {"port_id": p["id"], "device": "tap" + p["id"][:11], "state": PRESENT, **p["security"]},
                       f"security {_short(p['id'])}", p["host"]))
    return out


def _unplug_tasks(res: PlannedResource, p: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    if sg_rules is not None:
        out.append(_on(res, "stratus.cloud.security_group",
                       {"port_id": p["id"], "device": "tap" + p["id"][:11], "state": ABSENT},
                       f"security {_short(p['id'])} absent", p["host"]))
    out.append(_on(res, "stratus.cloud.port", {"port_id": p["id"], "network_id": p["network_id"],
                                               "state": ABSENT}, f"port {_short(p['id'])} absent", p["host"]))
    return out


# ------------------------------------------------------------------------------- submit
def submit(db: Session, *, networks: Iterable[Any] = (), ports: Iterable[Any] = (),
           routers: Iterable[Any] = (), security_groups: Iterable[Any] = (),
           previous: dict[str, Any] | None = None, request_id: str | None = None,
           context: Any = None, project_id: str | None = None):
    """A converge job for changes that are not a resource's own create/update/delete;
    None when nothing needs to run. It locks every network, port, router and group it
    touches, so it runs after (and supersedes) the jobs already queued on them."""
    from stratus.orchestration import submit as orchestration

    # one planner at a time, as a resource's submit: two converges never both make a
    # network's DHCP port
    write_lock(db, orchestration.PLACEMENT_LOCK)
    groups = [_id(g) for g in security_groups]
    state = converge(db, networks=networks, ports=ports, routers=routers, security_groups=groups,
                     previous=previous, settings=getattr(context, "settings", None))
    hosts = hosts_of(state)
    res = PlannedResource(CONVERGE, CONVERGE, CONVERGE, {}, hosts=hosts, placed=True, context=context)
    planned = tasks(res, state)
    if not planned:
        return None
    locks = [*locks_of(state), *groups]
    return orchestration.submit_tasks(db, CONVERGE, hosts, planned, locks=locks, kind=CONVERGE,
                                      project_id=project_id, request_id=request_id)


def _id(ref: Any) -> str:
    return ref if isinstance(ref, str) else ref.id


def _row(db: Session, model: Any, ref: Any) -> Any:
    if isinstance(ref, model):
        return ref
    return db.get(model, _id(ref))
