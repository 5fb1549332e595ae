"""Security groups and port security on real traffic between 'guest' namespaces.

One 'host' namespace holds a local network's bridge; three guest namespaces are
plugged into it with port security. Traffic is made with nettool.py (TCP/UDP echo)
and ping, all with timeouts of a few seconds.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net.bridge import (
    LinuxBridgeNetwork,
    Segment,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.interface import (
    BridgeInterfaceDriver,
    PortSpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import IPWrapper, tap_name
from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import Nft
from ansible_collections.stratus.cloud.plugins.module_utils.net.port_security import (
    PortSecurity,
    PortSecuritySpec,
)
from tests.helpers.ansible import run_module
from tests.integration.network.conftest import Namespaces, in_ns, new_id

pytestmark = pytest.mark.network

TOOL = str(Path(__file__).with_name("nettool.py"))
PY = "/usr/bin/python3"
IPS = {"g1": "10.80.0.1", "g2": "10.80.0.2", "g3": "10.80.0.3"}
IP6 = {"g1": "fd00:80::1", "g2": "fd00:80::2", "g3": "fd00:80::3"}


class Lab:
    def __init__(self, spaces: Namespaces):
        self.host = spaces("host")
        IPWrapper(self.host).sysctl("net.bridge.bridge-nf-call-iptables", 1)
        IPWrapper(self.host).sysctl("net.bridge.bridge-nf-call-ip6tables", 1)
        self.net = new_id()
        LinuxBridgeNetwork(IPWrapper(self.host)).ensure_present(Segment(self.net, "local"))
        self.guests, self.ports, self.macs = {}, {}, {}
        self.servers = []
        for i, g in enumerate(IPS, start=1):
            ns = self.guests[g] = spaces(g)
            port = self.ports[g] = new_id()
            mac = self.macs[g] = f"fa:16:3e:00:80:0{i}"
            spec = PortSpec(port, self.net, "namespace", mac, [f"{IPS[g]}/24", f"{IP6[g]}/64"],
                            netns=ns)
            BridgeInterfaceDriver(IPWrapper(self.host)).ensure_present(spec)
            PortSecurity(Nft(namespace=self.host)).ensure_present(
                PortSecuritySpec(tap_name(port), mac, [IPS[g], IP6[g]]))
            server = subprocess.Popen(["ip", "netns", "exec", ns, PY, TOOL, "serve", "8001",
                                       "8002", "9001"], stdout=subprocess.PIPE, text=True)
            assert server.stdout.readline().strip() == "ready"
            self.servers.append(server)

    def apply(self, g, groups, remote_groups=None, **kw):
        args = {"port_id": self.ports[g], "namespace": self.host, "security_groups": groups,
                "remote_groups": remote_groups or {}}
        return run_module("security_group", args, **kw)

    def wait_dad(self):
        for _ in range(50):  # IPv6 addresses are usable once duplicate detection is over
            if not any(in_ns(ns, "ip", "-6", "addr", "show", "tentative").stdout.strip()
                       for ns in self.guests.values()):
                return
            time.sleep(0.1)
        raise AssertionError("IPv6 addresses still tentative")

    def tcp(self, src, dst, port, spoof=None, v6=False) -> bool:
        argv = [PY, TOOL, "tcp", (IP6 if v6 else IPS)[dst], str(port)] + \
            ([spoof] if spoof else [])
        return in_ns(self.guests[src], *argv, check=False).returncode == 0

    def udp(self, src, dst, port) -> bool:
        return in_ns(self.guests[src], PY, TOOL, "udp", IPS[dst], str(port),
                     check=False).returncode == 0

    def ping(self, src, dst) -> bool:
        return in_ns(self.guests[src], "ping", "-c", "1", "-W", "1", IPS[dst],
                     check=False).returncode == 0

    def close(self):
        for s in self.servers:
            s.kill()
            s.wait()


@pytest.fixture(scope="module")
def lab():
    spaces = Namespaces()
    lab = None
    try:
        lab = Lab(spaces)
        yield lab
    finally:
        if lab:
            lab.close()
        spaces.cleanup()


WEB_RULES = [
    {"direction": "ingress", "protocol": "tcp", "port_range_min": 8001, "port_range_max": 8001},
    {"direction": "ingress", "protocol": "udp", "port_range_min": 9001,
     "remote_ip_prefix": "10.80.0.3/32"},
    {"direction": "ingress", "protocol": "icmp", "port_range_min": 8, "remote_group_id": "web"},
    {"direction": "egress", "ethertype": "IPv4"},
]
REMOTE = {"web": [IPS["g1"], IPS["g2"]], "other": [IPS["g3"]]}


def test_rules_allow_and_deny_tcp_udp_icmp(lab):
    # before any group: open
    assert lab.tcp("g3", "g1", 8002)
    checked = lab.apply("g1", [{"id": "web", "rules": WEB_RULES}], REMOTE, check=True)
    assert checked.changed and lab.tcp("g3", "g1", 8002)  # check mode applied nothing
    res = lab.apply("g1", [{"id": "web", "rules": WEB_RULES}], REMOTE)
    assert res.changed and not res.failed, res
    assert any("8001" in r for r in res["rules"]["ingress"]), res["rules"]
    assert res["diff"]["before"] == {"egress": [], "ingress": []}
    again = lab.apply("g1", [{"id": "web", "rules": WEB_RULES}], REMOTE)
    assert not again.changed, again
    assert again["diff"]["before"] == again["diff"]["after"]
    for g, grp in (("g2", "web"), ("g3", "other")):  # default groups: egress any
        assert lab.apply(g, [{"id": grp}], REMOTE).changed

    assert lab.tcp("g3", "g1", 8001)          # tcp 8001 from anywhere
    assert not lab.tcp("g3", "g1", 8002)      # other tcp port: denied
    assert lab.udp("g3", "g1", 9001)          # udp 9001 from 10.80.0.3/32
    assert not lab.udp("g2", "g1", 9001)      # ... but not from g2
    assert lab.ping("g2", "g1")               # icmp echo from remote group web
    assert not lab.ping("g3", "g1")           # g3 is not in web
    assert lab.ping("g1", "g2")               # default group: ingress from same group
    assert not lab.ping("g1", "g3")           # g3's group is "other"
    assert lab.tcp("g1", "g3", 8001) is False  # ingress to g3 only from "other"


def test_spoofed_ip_and_mac_are_dropped(lab):
    lab.apply("g1", [{"id": "web", "rules": WEB_RULES}], REMOTE)
    assert lab.tcp("g3", "g1", 8001)
    g3 = lab.guests["g3"]
    in_ns(g3, "ip", "addr", "add", "10.80.0.99/24", "dev", "ns-" + lab.ports["g3"][:11])
    try:
        assert not lab.tcp("g3", "g1", 8001, spoof="10.80.0.99")
    finally:
        in_ns(g3, "ip", "addr", "del", "10.80.0.99/24", "dev", "ns-" + lab.ports["g3"][:11])
    dev = "ns-" + lab.ports["g3"][:11]
    in_ns(g3, "ip", "link", "set", "dev", dev, "address", "fa:16:3e:99:99:99")
    try:
        in_ns(g3, "ip", "neigh", "flush", "all")
        assert not lab.tcp("g3", "g1", 8001)
    finally:
        in_ns(g3, "ip", "link", "set", "dev", dev, "address", lab.macs["g3"])
    assert lab.tcp("g3", "g1", 8001)


def test_allowed_address_pair_may_send(lab):
    lab.apply("g1", [{"id": "web", "rules": WEB_RULES}], REMOTE)
    g3, dev = lab.guests["g3"], "ns-" + lab.ports["g3"][:11]
    port = {"port_id": lab.ports["g3"], "network_id": lab.net, "kind": "namespace",
            "netns": g3, "mac_address": lab.macs["g3"], "namespace": lab.host,
            "fixed_ips": [f"{IPS['g3']}/24", f"{IP6['g3']}/64"]}
    assert not run_module("port", port).changed  # same as the lab made it
    paired = dict(port, allowed_address_pairs=[{"ip_address": "10.80.0.99"}])
    res = run_module("port", paired, check=True)
    assert res.changed and res["port_security"]["ipv4"] == ["10.80.0.3", "10.80.0.99"], res
    assert run_module("port", paired).changed
    assert not run_module("port", paired).changed

    def from_pair() -> bool:  # the module keeps only the port's own addresses: add it now
        in_ns(g3, "ip", "addr", "add", "10.80.0.99/24", "dev", dev)
        in_ns(g3, "ip", "neigh", "flush", "all")
        try:
            return lab.tcp("g3", "g1", 8001, spoof="10.80.0.99")
        finally:
            in_ns(g3, "ip", "addr", "del", "10.80.0.99/24", "dev", dev)

    assert from_pair()  # the pair may send
    assert run_module("port", port).changed
    assert not from_pair()  # and no more once the pair is gone


def test_ipv6_rules_and_spoofing(lab):
    lab.wait_dad()
    rules = [
        {"direction": "ingress", "ethertype": "IPv6", "protocol": "tcp", "port_range_min": 8001},
        {"direction": "ingress", "ethertype": "IPv6", "protocol": "icmp",
         "remote_group_id": "web"},
        {"direction": "egress", "ethertype": "IPv6"},
    ]
    res = lab.apply("g1", [{"id": "web", "rules": rules}], {"web": [IP6["g2"]], "other": []})
    assert not res.failed, res
    for g, grp in (("g2", "web"), ("g3", "other")):
        lab.apply(g, [{"id": grp}], {"web": [IP6["g2"]], "other": [IP6["g3"]]})
    assert lab.tcp("g3", "g1", 8001, v6=True)
    assert not lab.tcp("g3", "g1", 8002, v6=True)
    assert not lab.tcp("g3", "g1", 8001)  # the IPv4 twin is not allowed by these rules
    ping6 = [("g2", True), ("g3", False)]
    for src, ok in ping6:
        done = in_ns(lab.guests[src], "ping", "-6", "-c", "1", "-W", "1", IP6["g1"], check=False)
        assert (done.returncode == 0) is ok, (src, done.stdout)
    g3, dev = lab.guests["g3"], "ns-" + lab.ports["g3"][:11]
    in_ns(g3, "ip", "addr", "add", "fd00:80::99/64", "dev", dev, "nodad")
    try:
        assert not lab.tcp("g3", "g1", 8001, spoof="fd00:80::99", v6=True)
    finally:
        in_ns(g3, "ip", "addr", "del", "fd00:80::99/64", "dev", dev)
    assert lab.tcp("g3", "g1", 8001, v6=True)


def test_remote_group_membership_change(lab):
    rules = [{"direction": "ingress", "protocol": "tcp", "remote_group_id": "web"}]
    lab.apply("g1", [{"id": "web", "rules": rules}], REMOTE)
    assert lab.tcp("g2", "g1", 8002) and not lab.tcp("g3", "g1", 8002)
    res = lab.apply("g1", [{"id": "web", "rules": rules}], {"web": [IPS["g1"], IPS["g3"]]})
    assert res.changed
    assert lab.tcp("g3", "g1", 8002) and not lab.tcp("g2", "g1", 8002)


def test_rule_change_keeps_established_connection(lab):
    lab.apply("g1", [{"id": "web", "rules": WEB_RULES}], REMOTE)
    hold = subprocess.Popen(
        ["ip", "netns", "exec", lab.guests["g3"], PY, TOOL, "hold", IPS["g1"], "8001"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert hold.stdout.readline().strip() == "connected"
        hold.stdin.write("one\n")
        hold.stdin.flush()
        assert hold.stdout.readline().strip() == "echo one"
        only_icmp = [r for r in WEB_RULES if r.get("protocol") != "tcp"]
        assert lab.apply("g1", [{"id": "web", "rules": only_icmp}], REMOTE).changed
        assert not lab.tcp("g3", "g1", 8001)  # new connections: denied now
        hold.stdin.write("two\n")
        hold.stdin.flush()
        assert hold.stdout.readline().strip() == "echo two"  # the old one lives on
    finally:
        hold.kill()
        hold.wait()


def test_bad_rules_fail_clearly_and_change_nothing(lab):
    before = in_ns(lab.host, "nft", "list", "ruleset").stdout
    bad = [
        ({"direction": "ingress", "protocol": "tcp", "port_range_min": 90,
          "port_range_max": 80}, "port_range_min 90 > port_range_max 80"),
        ({"direction": "ingress", "remote_ip_prefix": "10.0.0.300/24"}, "is not a CIDR"),
        ({"direction": "ingress", "protocol": "bogus"}, "is not tcp, udp"),
        ({"direction": "ingress", "remote_group_id": "nobody"}, "remote_groups"),
        ({"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
         "is not IPv6"),
    ]
    for rule, words in bad:
        res = lab.apply("g1", [{"id": "web", "rules": [rule]}], REMOTE)
        assert res.failed and words in res.msg, (rule, res.msg)
    assert in_ns(lab.host, "nft", "list", "ruleset").stdout == before


def test_delete_leaves_no_rule_behind(lab):
    g2 = {"port_id": lab.ports["g2"], "namespace": lab.host, "state": "absent"}
    assert not lab.tcp("g3", "g2", 8002)  # g2's default group: ingress from "web" only
    assert run_module("security_group", g2, check=True).changed
    assert not lab.tcp("g3", "g2", 8002)  # check mode removed nothing
    assert run_module("security_group", g2).changed
    assert not run_module("security_group", g2).changed
    assert lab.tcp("g3", "g2", 8002)  # open again
    # unplugging a port also removes its security group chains
    for g in ("g1", "g2", "g3"):
        res = run_module("port", {"port_id": lab.ports[g], "network_id": lab.net,
                                  "namespace": lab.host, "state": "absent"})
        assert res.changed, res
    nft = Nft(namespace=lab.host)
    assert not nft.table_exists("inet", "stratus_sg")
    assert not nft.table_exists("bridge", "stratus_ports")
    assert in_ns(lab.host, "nft", "list", "ruleset").stdout.strip() == ""
    assert not [r for r in IPWrapper(lab.host).list_links() if r["ifname"].startswith("tap")]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
