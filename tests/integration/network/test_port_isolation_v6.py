"""Guests cannot act as IPv6 routers or DHCPv6 servers from a port with port security.

Two guest namespaces are plugged with stratus.cloud.port into one local network of a
'host' namespace. The sender guest sends router advertisements, DHCPv6 replies and, as
controls, ICMPv6 echo requests and UDP from another port to ff02::1; the receiver
guest counts what arrives (an nft counter per kind on its input hook). With port
security on, RAs and DHCPv6 replies never arrive while the controls do; with it off
for the sender, the RAs and replies arrive (so the test can see them at all).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.ansible import run_module
from tests.integration.network.conftest import in_ns, network_direct, new_id

pytestmark = pytest.mark.network

TOOL = str(Path(__file__).with_name("nettool.py"))
PY = "/usr/bin/python3"
KINDS = {
    "ra": "icmpv6 type nd-router-advert",
    "dhcp6-reply": "udp sport 547 udp dport 546",
    "echo": "icmpv6 type echo-request",
    "udp-other": "udp sport 5547 udp dport 546",
}
COUNT_RULES = "table inet st_seen {\n  chain input {\n" \
    "    type filter hook input priority 0; policy accept;\n" + "".join(
        f'    {match} counter comment "{kind}"\n' for kind, match in KINDS.items()) + "  }\n}\n"


def counters(ns: str) -> dict[str, int]:
    out = in_ns(ns, "nft", "-j", "list", "table", "inet", "st_seen").stdout
    seen = {}
    for item in json.loads(out)["nftables"]:
        rule = item.get("rule")
        if rule:
            seen[rule["comment"]] = next(e["counter"]["packets"] for e in rule["expr"]
                                         if "counter" in e)
    return seen


def wait_link_local(ns: str, dev: str) -> None:
    for _ in range(50):
        out = in_ns(ns, "ip", "-6", "addr", "show", "dev", dev, "scope", "link").stdout
        if "fe80::" in out and "tentative" not in out:
            return
        time.sleep(0.1)
    raise AssertionError(f"no usable link-local address on {dev} in {ns}")


def test_guest_router_advertisements_and_dhcpv6_replies_are_dropped(netns):
    host, sender, receiver = netns("host"), netns("sender"), netns("receiver")
    net = new_id()
    network_direct({"network_id": net, "type": "local", "namespace": host})
    ports = {}
    for i, guest in enumerate((sender, receiver), start=1):
        in_ns(guest, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
        ports[guest] = {"port_id": new_id(), "network_id": net, "kind": "namespace",
                        "netns": guest, "mac_address": f"fa:16:3e:00:86:0{i}",
                        "fixed_ips": [f"10.86.0.{i}/24", f"fd00:86::{i}/64"],
                        "namespace": host}
        res = run_module("port", ports[guest])
        assert res.changed and not res.failed, res
    dev = "ns-" + ports[sender]["port_id"][:11]
    wait_link_local(sender, dev)
    done = subprocess.run(["ip", "netns", "exec", receiver, "nft", "-f", "-"],
                          input=COUNT_RULES, capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr

    def send_all() -> dict[str, int]:
        start = counters(receiver)
        for kind in KINDS:
            in_ns(sender, PY, TOOL, "send6", dev, kind)
        time.sleep(0.3)
        end = counters(receiver)
        return {kind: end[kind] - start[kind] for kind in KINDS}

    secured = send_all()
    assert secured["echo"] == 3 and secured["udp-other"] == 3, secured  # the path works
    assert secured["ra"] == 0 and secured["dhcp6-reply"] == 0, secured

    opened = run_module("port", dict(ports[sender], port_security_enabled=False))
    assert opened.changed and opened["port_security"] is None, opened
    unsecured = send_all()
    assert unsecured == {"ra": 3, "dhcp6-reply": 3, "echo": 3, "udp-other": 3}, unsecured

    assert run_module("port", ports[sender]).changed  # secured again: dropped again
    again = send_all()
    assert again["ra"] == 0 and again["dhcp6-reply"] == 0 and again["echo"] == 3, again
    for guest in (sender, receiver):
        assert run_module("port", dict(ports[guest], state="absent")).changed
