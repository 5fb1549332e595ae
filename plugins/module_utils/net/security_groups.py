"""Stateful security groups per port with nftables (``table inet stratus_sg``).

Design: the bridge family has no conntrack, so :mod:`.port_security` marks every
bridged frame in ``table bridge stratus_ports``: the low 16 bits of the packet mark are
the number of the port that sent it, the high 16 bits the number of the port it goes
to. With br_netfilter on (``modprobe br_netfilter``;
``net.bridge.bridge-nf-call-iptables=1``, ``...-ip6tables=1``) bridged IP packets then
cross the inet ``forward`` hook, where ``ct state`` works but ``iifname`` is the bridge;
there this driver's base chain dispatches on the marks::

    meta mark & 0x0000ffff vmap @egress    # -> chain e-<tap>: what the port may send
    meta mark & 0xffff0000 vmap @ingress   # -> chain g-<tap>: what the port may receive

``e-<tap>`` returns (so that a packet between two ports of the host is checked against
the receiver's ingress too) for established/related packets, DHCP requests, IPv6
neighbour discovery and the allowed rules, and drops the rest. ``g-<tap>`` accepts
established/related, DHCP replies, neighbour discovery and the allowed rules and drops
the rest. Rule changes replace a port's chains in one ``nft -f`` transaction; the
established/related rule comes first in both chains, so existing flows survive.

A remote group is a named set per IP version (``rg4-<group id>``, ``rg6-<group id>``)
holding its members' IPs, shared by the ports whose rules name it and refilled with
every apply; a membership change rewrites the set, not the chains.

Rules take Neutron's shape: direction, ethertype (IPv4/IPv6), protocol (tcp, udp, icmp,
icmpv6, sctp, any or a number), port_range_min/max (for ICMP: type/code),
remote_ip_prefix or remote_group_id (its members' IPs are input, ``remote_groups``).
A group given without rules gets Neutron's default group rules: egress anywhere (IPv4
and IPv6), ingress only from members of the same group.

Limitation: there are no conntrack zones per network, so overlapping IPs of two
networks on one host share conntrack entries.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    InvalidInput,
    NetError,
    device_name,
    resource_id,
    validate_cidr,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import (
    Nft,
    NftError,
    delete_chain,
    digest,
    dispatch_table,
    replace_chain,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.port_security import (
    PortSecurity,
)

FAMILY = "inet"
TABLE = "stratus_sg"

PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132,
             "dccp": 33, "gre": 47, "esp": 50, "ah": 51}
PORT_PROTOCOLS = {6, 17, 132, 33}
ETHERTYPES = {"IPv4": 4, "IPv6": 6}


class PortNotSecured(NetError):
    """The port has no mark: plug it with port security before applying groups."""


def base_script() -> str:
    return dispatch_table(FAMILY, TABLE, 0, "mark", "meta mark & 0x0000ffff",
                          "meta mark & 0xffff0000")


def egress_chain(device: str) -> str:
    return f"e-{device}"


def ingress_chain(device: str) -> str:
    return f"g-{device}"


@dataclass
class Rule:
    direction: str = "ingress"
    ethertype: str = "IPv4"
    protocol: str | int | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None

    @classmethod
    def from_dict(cls, d: dict) -> Rule:
        if not isinstance(d, dict):
            raise InvalidInput(f"a rule must be a mapping, got {d!r}")
        unknown = set(d) - set(cls.__dataclass_fields__) - {"id", "security_group_id",
                                                             "description"}
        if unknown:
            raise InvalidInput(f"rule {d!r}: unknown keys {sorted(unknown)}")
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__}).validate()

    def validate(self) -> Rule:
        where = f"rule {self.direction} {self.ethertype} {self.protocol}"
        if self.direction not in ("ingress", "egress"):
            raise InvalidInput(f"{where}: direction must be ingress or egress")
        if self.ethertype not in ETHERTYPES:
            raise InvalidInput(f"{where}: ethertype must be IPv4 or IPv6")
        self.protocol = self._proto_number()
        if self.remote_ip_prefix and self.remote_group_id:
            raise InvalidInput(f"{where}: give remote_ip_prefix or remote_group_id, not both")
        if self.remote_group_id is not None:
            self.remote_group_id = resource_id(self.remote_group_id, f"{where}: remote_group_id")
        if self.remote_ip_prefix:
            net = ipaddress.ip_interface(validate_cidr(
                self.remote_ip_prefix, what=f"{where}: remote_ip_prefix")).network
            if net.version != ETHERTYPES[self.ethertype]:
                raise InvalidInput(f"{where}: remote_ip_prefix {net} is not {self.ethertype}")
            self.remote_ip_prefix = str(net)
        lo, hi = self.port_range_min, self.port_range_max
        if self.protocol in PORT_PROTOCOLS:
            if lo is None and hi is not None:
                raise InvalidInput(f"{where}: port_range_max without port_range_min")
            for p in (lo, hi):
                if p is not None and not 1 <= int(p) <= 65535:
                    raise InvalidInput(f"{where}: port {p} is out of range 1..65535")
            if lo is not None and hi is not None and int(lo) > int(hi):
                raise InvalidInput(f"{where}: port_range_min {lo} > port_range_max {hi}")
        elif self.protocol in (1, 58):
            for p in (lo, hi):
                if p is not None and not 0 <= int(p) <= 255:
                    raise InvalidInput(f"{where}: ICMP type/code {p} is out of range 0..255")
            if lo is None and hi is not None:
                raise InvalidInput(f"{where}: an ICMP code needs a type (port_range_min)")
        elif lo is not None or hi is not None:
            raise InvalidInput(f"{where}: port ranges need protocol tcp, udp, sctp, dccp or icmp")
        return self

    def _proto_number(self) -> int | None:
        p = self.protocol
        if p is None or str(p).lower() in ("", "any", "all"):
            return None
        if isinstance(p, int) or str(p).isdigit():
            n = int(p)
            if not 0 <= n <= 255:
                raise InvalidInput(f"protocol number {n} is out of range 0..255")
        elif str(p).lower() in PROTOCOLS:
            n = PROTOCOLS[str(p).lower()]
        else:
            raise InvalidInput(f"protocol {p!r} is not tcp, udp, icmp, icmpv6, sctp, any "
                               "or a number 0..255")
        if n == 1 and self.ethertype == "IPv6":
            n = 58  # Neutron accepts icmp with IPv6 and means ICMPv6
        return n

    def render(self, remote_groups: dict[str, list[str]]) -> str:
        """The rule's nft match (without verdict). A remote group is the named set
        ``group_set(id, version)``, filled by ``group_sets``."""
        ver = ETHERTYPES[self.ethertype]
        ipkw = "ip" if ver == 4 else "ip6"
        addr = "saddr" if self.direction == "ingress" else "daddr"
        parts = [f"meta nfproto {'ipv4' if ver == 4 else 'ipv6'}"]
        if self.protocol is not None:
            parts.append(f"meta l4proto {self.protocol}")
            lo, hi = self.port_range_min, self.port_range_max
            if self.protocol in PORT_PROTOCOLS and lo is not None:
                hi = lo if hi is None else hi
                parts.append(f"th dport {lo}" if int(lo) == int(hi) else f"th dport {lo}-{hi}")
            elif self.protocol in (1, 58) and lo is not None:
                kw = "icmp" if self.protocol == 1 else "icmpv6"
                parts.append(f"{kw} type {int(lo)}")
                if hi is not None:
                    parts.append(f"{kw} code {int(hi)}")
        if self.remote_ip_prefix and ipaddress.ip_network(self.remote_ip_prefix).prefixlen:
            parts.append(f"{ipkw} {addr} {self.remote_ip_prefix}")
        elif self.remote_group_id:
            if self.remote_group_id not in remote_groups:
                raise InvalidInput(
                    f"rule refers to remote group {self.remote_group_id} but remote_groups "
                    "does not list its members; pass remote_groups."
                    f"{self.remote_group_id} (a list of IPs, possibly empty)")
            parts.append(f"{ipkw} {addr} @{group_set(self.remote_group_id, ver)}")
        return " ".join(parts)


def group_set(group_id: str, version: int) -> str:
    """Name of the set holding a remote group's member IPs of one IP version."""
    return f"rg{version}-{resource_id(group_id, 'security group id')}"


def group_sets(rules: list[Rule], remote_groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """{set name: sorted member IPs} for every remote group the rules use."""
    sets: dict[str, list[str]] = {}
    for rule in rules:
        if not rule.remote_group_id:
            continue
        ver = ETHERTYPES[rule.ethertype]
        members = set()
        for m in remote_groups.get(rule.remote_group_id) or []:
            iface = ipaddress.ip_interface(validate_cidr(m))
            if iface.version == ver:
                members.add(str(iface.ip))
        sets[group_set(rule.remote_group_id, ver)] = sorted(
            members, key=lambda a: ipaddress.ip_address(a))
    return sets


def default_rules(group_id: str) -> list[Rule]:
    """Neutron's default group: egress anywhere, ingress from the same group."""
    return [Rule("egress", "IPv4"), Rule("egress", "IPv6"),
            Rule("ingress", "IPv4", remote_group_id=group_id),
            Rule("ingress", "IPv6", remote_group_id=group_id)]


@dataclass
class PortGroupsSpec:
    device: str
    security_groups: list[dict] = field(default_factory=list)  # [{id, rules?}]
    remote_groups: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        device_name(self.device, "security group device")  # before any nft text is built

    def rules(self) -> list[Rule]:
        rules: list[Rule] = []
        for group in self.security_groups:
            if not isinstance(group, dict) or not group.get("id"):
                raise InvalidInput(f"security group {group!r} needs an id")
            resource_id(group["id"], "security group id")
            if group.get("rules") is None:
                rules += default_rules(str(group["id"]))
            else:
                rules += [Rule.from_dict(r) for r in group["rules"]]
        return rules


FIXED_EGRESS = [
    "ct state established,related return",
    "ct state invalid drop",
    "meta nfproto ipv4 udp sport 68 udp dport 67 return",
    "meta nfproto ipv6 icmpv6 type { nd-router-solicit, nd-neighbor-solicit, "
    "nd-neighbor-advert, mld-listener-report, mld2-listener-report } return",
]
FIXED_INGRESS = [
    "ct state established,related accept",
    "ct state invalid drop",
    "meta nfproto ipv4 udp sport 67 udp dport 68 accept",
    "meta nfproto ipv6 icmpv6 type { nd-router-advert, nd-neighbor-solicit, "
    "nd-neighbor-advert } accept",
]


def chain_rules(spec: PortGroupsSpec) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(egress rule texts, ingress rule texts, remote group sets) of a port."""
    egress, ingress = list(FIXED_EGRESS), list(FIXED_INGRESS)
    rules = spec.rules()
    seen = set()
    for rule in rules:
        text = rule.render(spec.remote_groups or {})
        target = egress if rule.direction == "egress" else ingress
        line = f"{text} {'return' if rule.direction == 'egress' else 'accept'}"
        if (rule.direction, line) in seen:
            continue
        seen.add((rule.direction, line))
        target.append(line)
    egress.append("drop")
    ingress.append("drop")
    return egress, ingress, group_sets(rules, spec.remote_groups or {})


class SecurityGroups:
    """Per-port security group chains of one host (or namespace)."""

    def __init__(self, nft: Nft):
        self.nft = nft
        self.ports = PortSecurity(nft)

    def read(self, device: str, sets: list[str] | tuple = ()) -> dict | None:
        """The port's chains (rule digests), mark and the named ``sets`` as found."""
        device_name(device, "security group device")
        eg = self.nft.chain_rules(FAMILY, TABLE, egress_chain(device))
        ig = self.nft.chain_rules(FAMILY, TABLE, ingress_chain(device))
        if eg is None and ig is None:
            return None
        emap = self.nft.map_elements(FAMILY, TABLE, "egress")
        marks = [int(k) for k, v in emap.items()
                 if isinstance(v, dict) and v.get("jump", {}).get("target") == egress_chain(device)]
        return {"device": device, "mark": marks[0] if marks else None,
                "egress": [r.get("comment") for r in eg or []],
                "ingress": [r.get("comment") for r in ig or []],
                "sets": {name: self.set_elements(name) for name in sets}}

    def set_elements(self, name: str) -> list[str] | None:
        for item in self.nft.list_json("set", FAMILY, TABLE, name):
            if "set" in item:
                return sorted((str(e) for e in item["set"].get("elem", [])),
                              key=lambda a: ipaddress.ip_address(a))
        return None

    def render(self, spec: PortGroupsSpec, mark: int) -> tuple[str, dict, dict]:
        egress, ingress, sets = chain_rules(spec)
        t = f"{FAMILY} {TABLE}"
        ec, gc = egress_chain(spec.device), ingress_chain(spec.device)
        lines = [base_script()]
        for name, members in sets.items():
            kind = "ipv4_addr" if name.startswith("rg4-") else "ipv6_addr"
            lines += [f"add set {t} {name} {{ type {kind}; }}", f"flush set {t} {name}"]
            if members:
                lines.append(f"add element {t} {name} {{ {', '.join(members)} }}")
        lines += replace_chain(FAMILY, TABLE, ec, egress) + replace_chain(FAMILY, TABLE, gc, ingress)
        lines += [f"add element {t} egress {{ {mark:#x} : jump {ec} }}",
                  f"add element {t} ingress {{ {mark << 16:#x} : jump {gc} }}"]
        want = {"device": spec.device, "mark": mark,
                "egress": [digest(r) for r in egress], "ingress": [digest(r) for r in ingress],
                "sets": sets}
        return "\n".join(lines) + "\n", want, {"egress": egress, "ingress": ingress,
                                               "sets": sets}

    def mark_of(self, device: str) -> int | None:
        """The port's number in the packet marks (None without port security)."""
        return self.ports.mark_of(device)

    def ensure_present(self, spec: PortGroupsSpec, *, check: bool = False) -> Outcome:
        """Before/after are the port's rules by direction as nft prints them (after: as
        rendered, in check mode); "changed" is decided from the rule digests."""
        mark = self.ports.mark_of(spec.device)
        if mark is None:
            raise PortNotSecured(
                f"port device {spec.device} has no port security on this host; plug it with "
                "stratus.cloud.port (port_security_enabled: true) before applying groups")
        script, want, texts = self.render(spec, mark)
        before_text = self.rules_text(spec.device)
        before = self.read(spec.device, list(want["sets"]))
        if before == want:
            return Outcome(False, before_text, before_text)
        if check:
            return Outcome(True, before_text, {"egress": texts["egress"],
                                               "ingress": texts["ingress"]},
                           [f"replace the rules of {spec.device}"])
        self.nft.apply(script)
        return Outcome(True, before_text, self.rules_text(spec.device),
                       [f"replace the rules of {spec.device}"])

    def rules_text(self, device: str) -> dict:
        """The port's chains as nft prints them (for diffs)."""
        device_name(device, "security group device")
        return {
            "egress": _rule_lines(self.nft.list_text("chain", FAMILY, TABLE, egress_chain(device))),
            "ingress": _rule_lines(self.nft.list_text("chain", FAMILY, TABLE,
                                                      ingress_chain(device))),
        }

    def remove_script(self, device: str) -> str:
        t = f"{FAMILY} {TABLE}"
        lines = []
        for name, chain in (("egress", egress_chain(device)), ("ingress", ingress_chain(device))):
            for key, value in self.nft.map_elements(FAMILY, TABLE, name).items():
                if isinstance(value, dict) and value.get("jump", {}).get("target") == chain:
                    lines.append(f"delete element {t} {name} {{ {int(key):#x} }}")
            if self.nft.chain_rules(FAMILY, TABLE, chain) is not None:
                lines += delete_chain(FAMILY, TABLE, chain)
        return "\n".join(lines) + "\n" if lines else ""

    def ensure_absent(self, device: str, *, check: bool = False) -> Outcome:
        before_text = self.rules_text(device)
        if self.read(device) is None:
            return Outcome(False, before_text, {})
        if not check:
            self.nft.apply(self.remove_script(device))
            if self.nft.table_exists(FAMILY, TABLE) and not \
                    self.nft.map_elements(FAMILY, TABLE, "egress"):
                self.nft.apply(f"delete table {FAMILY} {TABLE}\n")
            else:
                self.delete_unused_sets()
        return Outcome(True, before_text, {}, [f"remove the rules of {device}"])

    def delete_unused_sets(self) -> list[str]:
        """Delete remote group sets no rule refers to any more (the kernel refuses to
        delete a set in use, which is how "in use" is found out)."""
        deleted = []
        for item in self.nft.list_json("sets", FAMILY, terse=True):
            info = item.get("set", {})
            if info.get("table") != TABLE or not info.get("name", "").startswith("rg"):
                continue
            try:
                self.nft.apply(f"delete set {FAMILY} {TABLE} {info['name']}\n")
                deleted.append(info["name"])
            except NftError:
                pass
        return deleted


def _rule_lines(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("table ", "chain ", "}")):
            continue
        lines.append(line.split(" comment ")[0])
    return lines

