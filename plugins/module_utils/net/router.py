"""A router as Neutron's L3 agent makes it: a ``qrouter-<id>`` namespace.

* one ``qr-<port>`` device per attached subnet, plugged (as ``tap<port>``) into that
  network's bridge and holding the subnet's gateway IP;
* an optional external gateway ``qg-<port>`` on the external network's bridge with
  the router's external IP and a default route to the upstream gateway;
* SNAT of the attached IPv4 subnets to the gateway IP (nft table ``stratus_snat``);
* static routes (``proto static`` in the namespace's main table);
* IP forwarding on inside the namespace.

:class:`RouterSpec` validates the whole request before anything is touched
(overlapping subnets, a gateway IP outside its subnet, an unreachable nexthop).
:class:`Router` compares the host with the spec (``facts()`` vs ``spec.facts()``) and
changes only what differs; floating IP addresses on ``qg-`` (``/32`` with their own
nft table) belong to :mod:`.floating_ip` and are left alone.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.net import nat, service_port
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    QG_PREFIX,
    QR_PREFIX,
    InvalidInput,
    IPWrapper,
    NetError,
    normalize_mac,
    qg_name,
    qr_name,
    resource_id,
    router_ns,
    validate_cidr,
    validate_ip,
)


class InvalidRouter(NetError, ValueError):
    """The router request is inconsistent; nothing was changed."""


def _net(cidr: str, what: str):
    try:
        return ipaddress.ip_network(validate_cidr(cidr, strict=True, what="network"))
    except InvalidInput as exc:
        raise InvalidRouter(f"{what}: {exc}") from None


def _addr(ip: str, what: str):
    try:
        return ipaddress.ip_address(validate_ip(ip))
    except InvalidInput as exc:
        raise InvalidRouter(f"{what}: {exc}") from None


@dataclass(frozen=True)
class RouterPort:
    """A router port: its network, id, MAC, subnet and the router's IP in it."""

    network_id: str
    port_id: str
    mac: str
    cidr: str
    ip: str
    device: str

    @property
    def interface(self) -> str:
        return f"{self.ip}/{ipaddress.ip_network(self.cidr).prefixlen}"

    def facts(self) -> dict:
        return {"device": self.device, "mac": self.mac, "addresses": [self.interface]}


def _port(d: dict, name_fn, what: str) -> RouterPort:
    net = _net(d.get("cidr", ""), what)
    ip = _addr(d.get("ip", ""), what)
    if ip not in net:
        raise InvalidRouter(
            f"{what}: the router's IP {ip} is outside its subnet {net}; give an address "
            f"inside {net} (usually the subnet's gateway_ip)")
    if ip in (net.network_address, net.broadcast_address) and net.version == 4 \
            and net.prefixlen < 31:
        raise InvalidRouter(f"{what}: {ip} is the network or broadcast address of {net}")
    try:
        mac = normalize_mac(d.get("mac", ""))
        device = name_fn(d.get("port_id"))
        network_id = resource_id(d.get("network_id"), "network_id")
    except InvalidInput as exc:
        raise InvalidRouter(f"{what}: {exc}") from None
    return RouterPort(network_id=network_id, port_id=d["port_id"], mac=mac,
                      cidr=str(net), ip=str(ip), device=device)


@dataclass
class RouterSpec:
    router_id: str
    interfaces: list[RouterPort] = field(default_factory=list)
    gateway: RouterPort | None = None
    upstream: str | None = None  # the external network's gateway (default route)
    enable_snat: bool = True
    routes: list[tuple[str, str]] = field(default_factory=list)
    mtu: int | None = None

    @classmethod
    def from_params(cls, router_id: str, interfaces: list[dict], external_gateway: dict | None,
                    routes: list[dict], mtu: int | None = None) -> RouterSpec:
        try:
            router_ns(router_id)
        except InvalidInput as exc:
            raise InvalidRouter(str(exc)) from None
        ports = [_port(i, qr_name, f"router {router_id} interface {i.get('port_id')}")
                 for i in interfaces]
        gw = upstream = None
        snat = True
        if external_gateway:
            what = f"router {router_id} external gateway {external_gateway.get('port_id')}"
            gw = _port(external_gateway, qg_name, what)
            snat = bool(external_gateway.get("enable_snat", True))
            if external_gateway.get("gateway_ip"):
                hop = _addr(external_gateway["gateway_ip"], what)
                if hop not in ipaddress.ip_network(gw.cidr):
                    raise InvalidRouter(
                        f"{what}: gateway_ip {hop} is outside the external subnet {gw.cidr}; "
                        f"the upstream gateway must be on that subnet")
                upstream = str(hop)
        every = [*ports, *([gw] if gw else [])]
        for i, a in enumerate(every):
            for b in every[i + 1:]:
                na, nb = ipaddress.ip_network(a.cidr), ipaddress.ip_network(b.cidr)
                if na.version == nb.version and na.overlaps(nb):
                    raise InvalidRouter(
                        f"router {router_id}: subnets {na} (port {a.port_id}) and {nb} "
                        f"(port {b.port_id}) overlap; a router cannot route between "
                        "overlapping subnets: attach only one of them")
                if a.device == b.device:
                    raise InvalidRouter(f"router {router_id}: port {a.port_id} given twice")
        spec_routes = []
        for r in routes:
            dest = _net(r.get("destination", ""), f"router {router_id} route {r}")
            hop = _addr(r.get("nexthop", ""), f"router {router_id} route {r}")
            if not any(hop in ipaddress.ip_network(p.cidr) for p in every):
                raise InvalidRouter(
                    f"router {router_id}: route {dest} via {hop}: the nexthop is on none of "
                    "the router's subnets; attach its subnet first or fix the nexthop")
            spec_routes.append((str(dest), str(hop)))
        return cls(router_id=router_id, interfaces=ports, gateway=gw, upstream=upstream,
                   enable_snat=snat, routes=sorted(spec_routes), mtu=mtu)

    @property
    def namespace(self) -> str:
        return router_ns(self.router_id)

    def ports(self) -> list[RouterPort]:
        return [*self.interfaces, *([self.gateway] if self.gateway else [])]

    def all_routes(self) -> list[tuple[str, str]]:
        routes = list(self.routes)
        if self.upstream:
            default = "0.0.0.0/0" if ipaddress.ip_address(self.upstream).version == 4 else "::/0"
            routes.append((default, self.upstream))
        return sorted(routes)

    def snat_table(self) -> nat.Table | None:
        if not (self.gateway and self.enable_snat
                and ipaddress.ip_address(self.gateway.ip).version == 4):
            return None
        return nat.snat_table(self.gateway.device, self.gateway.ip,
                              [p.cidr for p in self.interfaces])

    def facts(self) -> dict:
        snat = self.snat_table()
        return {
            "namespace": self.namespace,
            "interfaces": sorted((p.facts() for p in self.interfaces), key=lambda f: f["device"]),
            "gateway": self.gateway.facts() if self.gateway else {},
            "routes": [{"destination": d, "nexthop": h} for d, h in self.all_routes()],
            "snat": snat.text() if snat else "",
            "ip_forward": True,
        }


def _norm_dst(dst: str, gateway: str) -> str:
    if dst == "default":
        return "0.0.0.0/0" if ipaddress.ip_address(gateway).version == 4 else "::/0"
    return str(ipaddress.ip_network(dst, strict=False))


class Router:
    """The router namespace on this host, driven through ``run(argv, data=None)``."""

    def __init__(self, run, router_id: str) -> None:
        self.run = run
        self.router_id = router_id
        self.namespace = router_ns(router_id)
        self.root = IPWrapper(run=run)
        self.ns = IPWrapper(self.namespace, run=run)
        self.nat = nat.NatTables.in_namespace(run, self.namespace)
        self._fips: list[str] = []

    # -- reading -------------------------------------------------------------------
    def exists(self) -> bool:
        return self.ns.namespace_exists()

    def devices(self, prefix: str) -> list[str]:
        return sorted(d.name for d in self.ns.get_devices() if d.name.startswith(prefix))

    def routes(self) -> list[dict]:
        out = []
        for fam in (4, 6):
            for r in self.ns.ip_json(f"-{fam}", "route", "show", "proto", "static"):
                if r.get("gateway"):
                    out.append({"destination": _norm_dst(r["dst"], r["gateway"]),
                                "nexthop": r["gateway"], "device": r.get("dev")})
        return sorted(out, key=lambda r: (r["destination"], r["nexthop"]))

    def floating_ips(self) -> list[str]:
        """Floating IPs of this router: the nft tables that :mod:`.floating_ip` made."""
        return sorted(t[len(nat.FIP_TABLE_PREFIX):].replace("_", ".")
                      for t in self.nat.names() if t.startswith(nat.FIP_TABLE_PREFIX))

    def _is_fip(self, cidr: str) -> bool:
        iface = ipaddress.ip_interface(cidr)
        return iface.network.prefixlen == iface.max_prefixlen and str(iface.ip) in self._fips

    def facts(self) -> dict:
        if not self.exists():
            return {}
        self._fips = self.floating_ips()
        gws = [service_port.port_facts(self.ns, d) for d in self.devices(QG_PREFIX)]
        for g in gws:
            g["addresses"] = [a for a in g["addresses"] if not self._is_fip(a)]
        snat = self.nat.get(nat.SNAT_TABLE)
        return {
            "namespace": self.namespace,
            "interfaces": [service_port.port_facts(self.ns, d) for d in self.devices(QR_PREFIX)],
            "gateway": gws[0] if gws else {},
            "routes": [{"destination": r["destination"], "nexthop": r["nexthop"]}
                       for r in self.routes()],
            "snat": snat.text() if snat else "",
            "ip_forward": self.ns.read_sysctl("net.ipv4.ip_forward") == "1",
        }

    # -- changing ------------------------------------------------------------------
    def ensure_present(self, spec: RouterSpec, *, check: bool = False) -> Outcome:
        """Actions name the parts that differ (``set routes``, ...)."""
        service_port.check(self.root, [self._spec(p, spec.mtu) for p in spec.ports()])
        before = self.facts()
        want = spec.facts()
        actions = ["create namespace"] if not before else []
        actions += [f"set {key}" for key, value in want.items()
                    if before and before.get(key) != value]
        if before == want or check:
            return Outcome(before != want, before, want, actions)
        created = self.ns.netns.ensure(self.namespace)
        try:
            self._apply(spec, before)
        except Exception:
            if created:
                self._remove()
            raise
        return Outcome(True, before, self.facts(), actions)

    def _spec(self, p: RouterPort, mtu: int | None):
        return service_port.spec(self.ns, p.network_id, p.port_id, p.device, p.mac,
                                  [p.interface], mtu)

    def _apply(self, spec: RouterSpec, before: dict) -> None:
        ns = self.ns
        ns.sysctl("net.ipv4.ip_forward", 1)
        ns.sysctl("net.ipv6.conf.all.forwarding", 1)
        ns.sysctl("net.ipv6.conf.default.accept_dad", 0)
        wanted = {p.device for p in spec.interfaces}
        if spec.gateway:
            wanted.add(spec.gateway.device)
        for dev in self.devices(QR_PREFIX) + self.devices(QG_PREFIX):
            if dev not in wanted:
                service_port.unplug_device(self.root, dev)
        self._fips = self.floating_ips()
        for p in spec.interfaces:
            service_port.plug(self.root, self._spec(p, spec.mtu))
        if spec.gateway:
            service_port.plug(self.root, self._spec(spec.gateway, spec.mtu), keep=self._is_fip)
        # routes: exactly the spec's (ours are proto static)
        want = set(spec.all_routes())
        for r in self.routes():
            if (r["destination"], r["nexthop"]) not in want:
                ns.ip("route", "del", r["destination"], "via", r["nexthop"], "proto", "static")
        for dest, hop in sorted(want, key=lambda r: r[0] != "0.0.0.0/0"):
            ns.ip("route", "replace", dest, "via", hop, "proto", "static")
        table = spec.snat_table()
        if table:
            self.nat.ensure(table)
        else:
            self.nat.delete(nat.SNAT_TABLE)

    def _remove(self) -> None:
        for dev in self.devices(QR_PREFIX) + self.devices(QG_PREFIX):
            service_port.unplug_device(self.root, dev)
        self.ns.netns.ensure_absent(self.namespace)

    def ensure_absent(self, *, check: bool = False) -> Outcome:
        before = self.facts()
        if before and not check:
            self._remove()
        return Outcome(bool(before), before, {},
                       ["delete namespace, devices and rules"] if before else [])
