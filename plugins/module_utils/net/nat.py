"""NAT in router namespaces with nftables: a router's SNAT and floating IPs' 1:1 NAT.

Each concern owns one nft table inside the router's ``qrouter-`` namespace:

* ``stratus_snat`` — the router's source NAT: traffic from each attached subnet that
  leaves through the gateway device (``qg-…``) gets the gateway IP as its source.
* ``stratus_fip_<a_b_c_d>`` — one floating IP: DNAT of the floating IP to the port's
  fixed IP (prerouting, and output for the namespace's own traffic) and SNAT of the
  fixed IP to the floating IP on the way out. Its postrouting chain runs before the
  router's (priority ``srcnat - 10``): the first NAT chain that binds a connection
  wins, so a port with a floating IP leaves with the floating IP, not the gateway IP.

A table is built as a :class:`Table` of :class:`Chain` objects whose rules are lists
of nft JSON expressions (the form ``nft -j list`` shows), rendered to nft's syntax and
applied atomically with one ``nft -f -`` script (:class:`.nft.Nft`: add the table,
delete it, add it with all its chains and rules); "changed" is decided by comparing
the wanted expressions with what ``nft -j list table`` shows.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import NetError
from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import Nft

SNAT_TABLE = "stratus_snat"
FIP_TABLE_PREFIX = "stratus_fip_"
PRIO_DSTNAT = -100
PRIO_SRCNAT = 100


class NatError(NetError):
    """NAT rules could not be built or applied."""


# --------------------------------------------------------------------------- expressions


def _addr_right(cidr: str):
    net = ipaddress.ip_network(cidr, strict=False)
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return {"prefix": {"addr": str(net.network_address), "len": net.prefixlen}}


def match_addr(field_: str, cidr: str) -> dict:
    """``ip saddr|daddr <cidr>``."""
    return {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": field_}},
                      "right": _addr_right(cidr)}}


def match_meta(key: str, value: str) -> dict:
    """``oifname|iifname "<value>"``."""
    return {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": value}}


def snat(addr: str) -> dict:
    return {"snat": {"addr": str(ipaddress.ip_address(addr))}}


def dnat(addr: str) -> dict:
    return {"dnat": {"addr": str(ipaddress.ip_address(addr))}}


def render_expr(expr: dict) -> str:
    """nft text for one JSON expression (those this module makes; others as JSON)."""
    if "match" in expr:
        m = expr["match"]
        left, right = m["left"], m["right"]
        if "payload" in left:
            lhs = f"{left['payload']['protocol']} {left['payload']['field']}"
        elif "meta" in left:
            lhs = left["meta"]["key"]
        else:
            return json.dumps(expr, sort_keys=True)
        if isinstance(right, dict) and "prefix" in right:
            rhs = f"{right['prefix']['addr']}/{right['prefix']['len']}"
        elif isinstance(right, str) and "payload" not in left:
            rhs = f'"{right}"'
        else:
            rhs = str(right)
        op = "" if m.get("op") == "==" else f"{m.get('op')} "
        return f"{lhs} {op}{rhs}"
    for verb in ("snat", "dnat"):
        if verb in expr and set(expr[verb]) == {"addr"}:
            return f"{verb} to {expr[verb]['addr']}"
    if "masquerade" in expr:
        return "masquerade"
    if "accept" in expr:
        return "accept"
    return json.dumps(expr, sort_keys=True)


# --------------------------------------------------------------------------- model


@dataclass
class Chain:
    name: str
    hook: str
    prio: int
    rules: list[list[dict]] = field(default_factory=list)
    type: str = "nat"
    policy: str = "accept"

    def header(self) -> dict:
        return {"type": self.type, "hook": self.hook, "prio": self.prio, "policy": self.policy}

    def lines(self) -> list[str]:
        head = f"type {self.type} hook {self.hook} priority {self.prio}; policy {self.policy};"
        return [head] + [" ".join(render_expr(e) for e in rule) for rule in self.rules]


@dataclass
class Table:
    name: str
    chains: list[Chain] = field(default_factory=list)
    family: str = "ip"

    def key(self) -> dict:
        """A comparable form: chain headers and rule expressions, without handles."""
        return {c.name: {"header": c.header(), "rules": c.rules} for c in self.chains}

    def text(self) -> str:
        """nft-like text, used as the diff's before/after."""
        out = [f"table {self.family} {self.name} {{"]
        for c in sorted(self.chains, key=lambda c: c.name):
            out.append(f"  chain {c.name} {{")
            out += [f"    {line}" for line in c.lines()]
            out.append("  }")
        out.append("}")
        return "\n".join(out) + "\n"

    def script(self) -> str:
        """An ``nft -f`` script that replaces the table in one transaction."""
        head = f"table {self.family} {self.name} {{}}\ndelete table {self.family} {self.name}\n"
        return head + self.text()

    @classmethod
    def from_json(cls, data: dict, name: str, family: str = "ip") -> Table:
        """The table ``name`` as ``nft -j list table`` shows it."""
        chains: dict[str, Chain] = {}
        order: list[str] = []
        for item in data.get("nftables", []):
            if "chain" in item:
                c = item["chain"]
                chains[c["name"]] = Chain(
                    name=c["name"], hook=c.get("hook", ""), prio=c.get("prio", 0),
                    type=c.get("type", ""), policy=c.get("policy", "accept"))
                order.append(c["name"])
            elif "rule" in item:
                r = item["rule"]
                chains[r["chain"]].rules.append(r["expr"])
        return cls(name=name, family=family, chains=[chains[n] for n in order])


def snat_table(gateway_device: str, gateway_ip: str, subnets: list[str]) -> Table:
    """The router's SNAT: each IPv4 subnet leaves ``gateway_device`` as ``gateway_ip``."""
    rules = [
        [match_addr("saddr", cidr), match_meta("oifname", gateway_device), snat(gateway_ip)]
        for cidr in sorted(
            (c for c in subnets if ipaddress.ip_network(c, strict=False).version == 4),
            key=lambda c: ipaddress.ip_network(c, strict=False))
    ]
    return Table(SNAT_TABLE, [Chain("postrouting", "postrouting", PRIO_SRCNAT, rules)])


def fip_table_name(floating_ip: str) -> str:
    return FIP_TABLE_PREFIX + str(ipaddress.IPv4Address(floating_ip)).replace(".", "_")


def fip_table(floating_ip: str, fixed_ip: str, gateway_device: str) -> Table:
    """1:1 NAT of ``floating_ip`` to ``fixed_ip`` (in and out through ``gateway_device``)."""
    fip = str(ipaddress.IPv4Address(floating_ip))
    fixed = str(ipaddress.IPv4Address(fixed_ip))
    return Table(fip_table_name(fip), [
        Chain("prerouting", "prerouting", PRIO_DSTNAT, [[match_addr("daddr", fip), dnat(fixed)]]),
        Chain("output", "output", PRIO_DSTNAT, [[match_addr("daddr", fip), dnat(fixed)]]),
        Chain("postrouting", "postrouting", PRIO_SRCNAT - 10,
              [[match_addr("saddr", fixed), match_meta("oifname", gateway_device), snat(fip)]]),
    ])


# --------------------------------------------------------------------------- nft


class NatTables:
    """The NAT tables of one namespace, read and written through :class:`.nft.Nft`."""

    def __init__(self, nft: Nft) -> None:
        self.nft = nft

    @classmethod
    def in_namespace(cls, run, namespace: str | None) -> NatTables:
        return cls(Nft(run, namespace))

    def names(self, family: str = "ip") -> list[str]:
        return [i["table"]["name"] for i in self.nft.list_json("tables", family) if "table" in i]

    def get(self, name: str, family: str = "ip") -> Table | None:
        items = self.nft.list_json("table", family, name)
        if not items:
            return None
        return Table.from_json({"nftables": items}, name, family)

    def apply(self, table: Table) -> None:
        """Replace ``table`` atomically (one transaction: nothing half-applied)."""
        self.nft.apply(table.script())

    def delete(self, name: str, family: str = "ip") -> bool:
        if name not in self.names(family):
            return False
        self.nft.apply(f"delete table {family} {name}\n")
        return True

    def ensure(self, table: Table, *, check: bool = False) -> tuple[bool, str, str]:
        """Make ``table`` exactly as given; returns (changed, before text, after text)."""
        current = self.get(table.name, table.family)
        before = current.text() if current else ""
        if current is not None and current.key() == table.key():
            return False, before, before
        if not check:
            self.apply(table)
        return True, before, table.text()
