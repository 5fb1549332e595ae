"""Inputs that must never reach the host, refused through the real modules.

Every case runs a module through Ansible with one bad value (an id that is a path, a
newline or separator in a dnsmasq field, an IPv6 address with a scope id, nft syntax in
a device name) and asserts the refusal names the field, and that nothing changed:
namespaces, devices, the nft ruleset and the files under the DHCP state base (and the
sentinel directory a path id would reach) are the same before and after.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import IPWrapper
from tests.helpers.ansible import run_module
from tests.integration.network.conftest import (
    Namespaces,
    in_ns,
    network_direct,
    new_id,
    port_direct,
    sh,
)

pytestmark = pytest.mark.network

NFT_INJECTION = 'tap1" ; flush ruleset ; "'


class Host:
    """A 'host' namespace with a local network and one secured port (so there is a
    ruleset to lose), and a DHCP state base whose neighbours hold sentinel files."""

    def __init__(self, spaces: Namespaces, root: Path):
        self.ns = spaces("host")
        self.guest = spaces("guest")
        self.net, self.port = new_id(), new_id()
        network_direct({"network_id": self.net, "type": "local", "namespace": self.ns})
        port_direct({"port_id": self.port, "network_id": self.net, "kind": "namespace",
                     "netns": self.guest, "mac_address": "fa:16:3e:00:90:01",
                     "fixed_ips": ["10.90.0.1/24"], "namespace": self.ns})
        self.root = root
        self.base = root / "lvl1" / "lvl2"  # <base>/../../etc is root/etc
        (self.base / "kept-net").mkdir(parents=True)
        (self.base / "kept-net" / "host").write_text("fa:16:3e:00:00:01,10.0.0.5,kept\n")
        (root / "etc").mkdir()
        (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
        (root / "victim").mkdir()
        (root / "victim" / "keep").write_text("tenant data\n")

    def snapshot(self) -> dict:
        files = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            files[dirpath] = sorted(dirnames)
            for name in filenames:
                files[os.path.join(dirpath, name)] = Path(dirpath, name).read_text()
        service_ns = sorted(n for n in sh("ip", "netns", "list").stdout.split()
                            if n.startswith(("qdhcp-", "qrouter-")))
        return {
            "files": files,
            "service_namespaces": service_ns,
            "host_links": sorted(r["ifname"] for r in IPWrapper(self.ns).list_links()),
            "host_ruleset": in_ns(self.ns, "nft", "list", "ruleset").stdout,
            "guest_links": sorted(r["ifname"] for r in IPWrapper(self.guest).list_links()),
        }


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    spaces = Namespaces()
    try:
        yield Host(spaces, tmp_path_factory.mktemp("refused"))
    finally:
        spaces.cleanup()


def dhcp(h: Host, **kw) -> dict:
    args = {"network_id": new_id(), "state_dir": str(h.base),
            "port": {"id": new_id(), "mac": "fa:16:3e:00:90:02", "ips": ["10.90.0.2"]},
            "subnets": [{"id": "sub4", "cidr": "10.90.0.0/24", "gateway_ip": "10.90.0.1",
                         "dns_nameservers": ["10.90.0.53"]}],
            "ports": [{"id": "p1", "mac": "fa:16:3e:00:90:05", "ips": ["10.90.0.5"],
                       "hostname": "web1"}]}
    for key, value in kw.items():
        if key in ("subnet", "lease"):
            target = args["subnets"][0] if key == "subnet" else args["ports"][0]
            target.update(value)
        else:
            args[key] = value
    return args


def router(**kw) -> dict:
    iface = {"network_id": new_id(), "port_id": new_id(), "mac": "fa:16:3e:00:91:01",
             "cidr": "10.91.0.0/24", "ip": "10.91.0.1"}
    return {"router_id": str(uuid.uuid4()), "interfaces": [dict(iface, **kw.pop("iface", {}))],
            **kw}


# (module, args(host), check mode, words the message must hold)
CASES = {
    # ids used as paths: the DHCP state directory, namespaces
    "dhcp network_id ../../etc (delete)": (
        "dhcp", lambda h: {"network_id": "../../etc", "state": "absent",
                           "state_dir": str(h.base)}, False, "network id '../../etc' is not a valid id"),
    "dhcp network_id ../../victim (delete)": (
        "dhcp", lambda h: {"network_id": "../../../victim", "state": "absent",
                           "state_dir": str(h.base)}, False, "is not a valid id"),
    # check mode: were the refusal ever lost, "/" would still not be removed
    "dhcp network_id / (delete)": (
        "dhcp", lambda h: {"network_id": "/", "state": "absent", "state_dir": str(h.base)},
        True, "network id '/' is not a valid id"),
    "dhcp network_id ../../etc (create)": (
        "dhcp", lambda h: dhcp(h, network_id="../../etc"), False, "is not a valid id"),
    # newlines and separators in what dnsmasq reads
    "dhcp option: newline after a scoped DNS server": (
        "dhcp", lambda h: dhcp(h, subnet={"dns_nameservers": ["fe80::1%x\ndhcp-option=3,6.6.6.6"]}),
        False, "dns_nameservers"),
    "dhcp option: scope id in a host route nexthop": (
        "dhcp", lambda h: dhcp(h, subnet={"cidr": "fd00:90::/64", "gateway_ip": None,
                                          "dns_nameservers": [],
                                          "host_routes": [{"destination": "fd00:99::/64",
                                                           "nexthop": "fe80::1%eth0"}]}),
        False, "scope id"),
    "dhcp domain with a newline": (
        "dhcp", lambda h: dhcp(h, domain="example.org\ndhcp-script=/tmp/x"), False,
        "domain 'example.org\\ndhcp-script=/tmp/x' is not a DNS name"),
    "dhcp hostname with a comma": (
        "dhcp", lambda h: dhcp(h, lease={"hostname": "web1,10.90.0.9"}), False,
        "hostname 'web1,10.90.0.9' is not a DNS name"),
    "dhcp hostname with a newline": (
        "dhcp", lambda h: dhcp(h, lease={"hostname": "web1\ndhcp-host=x"}), False,
        "is not a DNS name"),
    "dhcp subnet id with a separator": (
        "dhcp", lambda h: dhcp(h, subnet={"id": "s1,set:evil"}), False,
        "subnet id 's1,set:evil' is not a valid id"),
    "dhcp lease IP with a scope id": (
        "dhcp", lambda h: dhcp(h, lease={"ips": ["fe80::5%x"]}), False, "scope id"),
    "dhcp DHCP port IP with a scope id": (
        "dhcp", lambda h: dhcp(h, port={"id": new_id(), "mac": "fa:16:3e:00:90:02",
                                        "ips": ["10.90.0.2%x"]}), False, "scope id"),
    "dhcp port MAC with a newline": (
        "dhcp", lambda h: dhcp(h, lease={"mac": "fa:16:3e:00:90:05\nx"}), False,
        "is not a MAC address"),
    # routers and floating IPs
    "router id ../../etc": ("router", lambda h: router(router_id="../../etc"), False,
                            "router id '../../etc' is not a valid id"),
    "router IP with a scope id": (
        "router", lambda h: router(iface={"cidr": "fd00:91::/64", "ip": "fd00:91::1%x"}),
        False, "scope id"),
    "router network id /": ("router", lambda h: router(iface={"network_id": "/"}), False,
                            "network_id '/' is not a valid id"),
    "floating IP router id /": (
        "floating_ip", lambda h: {"router_id": "/", "floating_ip": "203.0.113.9",
                                  "fixed_ip": "10.91.0.5"}, False, "router id '/' is not a valid id"),
    # the host's own modules, in the test's host namespace
    "network id ../../etc": (
        "network", lambda h: {"network_id": "../../etc", "type": "local", "namespace": h.ns},
        False, "is not a valid id"),
    "network remote IP with a scope id": (
        "network", lambda h: {"network_id": new_id(), "segmentation_id": 901,
                              "remote_ips": ["fe80::2%und0"], "namespace": h.ns},
        False, "scope id"),
    "network physical interface with nft syntax": (
        "network", lambda h: {"network_id": new_id(), "type": "flat",
                              "physical_interface": NFT_INJECTION, "namespace": h.ns},
        False, "is not a device name"),
    "port id /": (
        "port", lambda h: {"port_id": "/", "network_id": h.net, "namespace": h.ns,
                           "mac_address": "fa:16:3e:00:90:07"}, False, "is not a valid id"),
    "port netns ../../etc": (
        "port", lambda h: {"port_id": new_id(), "network_id": h.net, "namespace": h.ns,
                           "kind": "namespace", "netns": "../../etc",
                           "mac_address": "fa:16:3e:00:90:07"}, False,
        "netns (a namespace name) '../../etc' is not a valid id"),
    "port fixed IP with a scope id": (
        "port", lambda h: {"port_id": new_id(), "network_id": h.net, "namespace": h.ns,
                           "mac_address": "fa:16:3e:00:90:07", "fixed_ips": ["fe80::7%x/64"]},
        False, "scope id"),
    "port allowed address pair with a scope id": (
        "port", lambda h: {"port_id": new_id(), "network_id": h.net, "namespace": h.ns,
                           "mac_address": "fa:16:3e:00:90:07",
                           "allowed_address_pairs": [{"ip_address": "fe80::8%x"}]},
        False, "scope id"),
    # nft syntax in a security group's device, group id or member IP
    "security group device with nft syntax": (
        "security_group", lambda h: {"port_id": h.port, "device": NFT_INJECTION,
                                     "namespace": h.ns, "security_groups": [{"id": "web"}],
                                     "remote_groups": {"web": []}},
        False, "is not a device name"),
    "security group device with nft syntax (delete)": (
        "security_group", lambda h: {"port_id": h.port, "device": NFT_INJECTION,
                                     "namespace": h.ns, "state": "absent"},
        False, "is not a device name"),
    "security group id with a newline": (
        "security_group", lambda h: {"port_id": h.port, "namespace": h.ns,
                                     "security_groups": [{"id": "web\nflush ruleset"}],
                                     "remote_groups": {"web\nflush ruleset": []}},
        False, "security group id"),
    "security group member with a scope id": (
        "security_group", lambda h: {"port_id": h.port, "namespace": h.ns,
                                     "security_groups": [{"id": "web"}],
                                     "remote_groups": {"web": ["fe80::9%x"]}},
        False, "scope id"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_and_nothing_changed(host, case):
    module, make_args, check, words = CASES[case]
    before = host.snapshot()
    res = run_module(module, make_args(host), check=check)
    assert res.failed, res
    assert words in res.msg, res.msg
    assert "Traceback" not in str(res.get("module_stderr", "")), res
    assert host.snapshot() == before
