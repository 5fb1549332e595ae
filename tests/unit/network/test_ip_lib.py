import json

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net import ip_lib as L
from tests.helpers.commands import FakeRun

pytestmark = pytest.mark.network

NET = "3f2a9c1e-7b44-4d1a-9a8e-0c5d2f6b1a77"


def test_names_fit_fifteen_chars_and_follow_neutron():
    assert L.bridge_name(NET) == "brq3f2a9c1e-7b"
    assert L.tap_name(NET) == "tap3f2a9c1e-7b"
    assert L.qr_name(NET) == "qr-3f2a9c1e-7b"
    assert L.qg_name(NET) == "qg-3f2a9c1e-7b"
    assert L.ns_name(NET) == "ns-3f2a9c1e-7b"
    assert L.vxlan_name(16777215) == "vxlan-16777215"
    assert L.router_ns(NET) == f"qrouter-{NET}"
    assert L.dhcp_ns(NET) == f"qdhcp-{NET}"
    for name in (L.bridge_name(NET), L.tap_name(NET), L.vxlan_name(16777215)):
        assert len(name) <= L.DEV_NAME_MAX
    with pytest.raises(L.InvalidInput):
        L.vlan_name("enp0s31f6long", 4000)
    assert L.vlan_name("eth1", 100) == "eth1.100"


@pytest.mark.parametrize("bad", ["", "zz:00:00:00:00:00", "00:11:22:33:44", "0011.2233.4455"])
def test_bad_mac_is_invalid_input(bad):
    with pytest.raises(L.InvalidInput, match="not a MAC"):
        L.normalize_mac(bad)


def test_mac_and_cidr_normalised():
    assert L.normalize_mac("FA-16-3E-00-00-01") == "fa:16:3e:00:00:01"
    assert L.normalize_mac("fa163e000001") == "fa:16:3e:00:00:01"
    assert L.validate_cidr("10.0.0.5/24") == "10.0.0.5/24"
    assert L.validate_cidr("10.0.0.0/24", strict=True) == "10.0.0.0/24"
    with pytest.raises(L.InvalidInput):
        L.validate_cidr("10.0.0.5/24", strict=True)
    with pytest.raises(L.InvalidInput):
        L.validate_cidr("10.0.0.300/24")
    with pytest.raises(L.InvalidInput):
        L.validate_vni(0)


def test_namespace_commands_use_ip_n():
    run = FakeRun()
    ip = L.IPWrapper("qdhcp-x", run=run)
    ip.device("ns-1").addr.add("10.0.0.2/24")
    ip.execute(["nft", "list", "ruleset"])
    ip.device("vxlan-5").fdb.append("00:00:00:00:00:00", "192.0.2.1")
    assert run.calls == [
        ["ip", "-n", "qdhcp-x", "addr", "add", "10.0.0.2/24", "brd", "+", "dev", "ns-1"],
        ["ip", "netns", "exec", "qdhcp-x", "nft", "list", "ruleset"],
        ["bridge", "-n", "qdhcp-x", "fdb", "append", "00:00:00:00:00:00", "dev", "vxlan-5",
         "dst", "192.0.2.1"],
    ]


def test_vxlan_and_vlan_argv():
    run = FakeRun()
    ip = L.IPWrapper(run=run)
    ip.add_vxlan("vxlan-42", 42, local="192.0.2.1", dev="eth1")
    ip.add_vlan("eth1.100", "eth1", 100)
    assert run.calls == [
        ["ip", "link", "add", "vxlan-42", "type", "vxlan", "id", "42", "local", "192.0.2.1",
         "dev", "eth1", "dstport", "4789"],
        ["ip", "link", "add", "link", "eth1", "name", "eth1.100", "type", "vlan", "id", "100"],
    ]


@pytest.mark.parametrize(
    "stderr,cls",
    [
        ('Cannot find device "tapx"', L.DeviceNotFound),
        ("RTNETLINK answers: File exists", L.AlreadyExists),
        ('Cannot open network namespace "q": No such file or directory', L.NamespaceNotFound),
        ("Error: Unknown device type.", L.NotSupported),
        ("RTNETLINK answers: Operation not permitted", L.PermissionDenied),
        ("weird", L.CommandFailed),
    ],
)
def test_kernel_errors_become_typed_exceptions(stderr, cls):
    run = FakeRun().on(["ip"], rc=2, err=stderr)
    with pytest.raises(cls) as info:
        L.IPWrapper(run=run).device("tapx").link.set_up()
    assert type(info.value) is cls
    assert info.value.argv == ["ip", "link", "set", "dev", "tapx", "up"]
    assert info.value.rc == 2


def test_json_reads_and_ensure_addresses():
    show = [{"ifname": "ns-1", "addr_info": [
        {"family": "inet", "local": "10.0.0.9", "prefixlen": 24, "scope": "global"}]}]
    run = FakeRun().on(["ip", "-j", "addr"], out=json.dumps(show))
    dev = L.IPWrapper(run=run).device("ns-1")
    assert dev.addr.cidrs() == ["10.0.0.9/24"]
    assert dev.addr.ensure(["10.0.0.2/24"]) is True
    writes = [c for c in run.calls if "-j" not in c]
    assert writes == [
        ["ip", "addr", "del", "10.0.0.9/24", "dev", "ns-1"],
        ["ip", "addr", "add", "10.0.0.2/24", "brd", "+", "dev", "ns-1"],
    ]
