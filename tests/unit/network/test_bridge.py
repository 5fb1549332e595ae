"""LinuxBridgeNetwork at the argv level (a kernel without 8021q is faked by the runner)."""

import json

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net import bridge as B
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    InvalidInput,
    IPWrapper,
)
from tests.helpers.commands import FakeRun

pytestmark = pytest.mark.network

NET = "3f2a9c1e-7b44-4d1a-9a8e-0c5d2f6b1a77"
BR = "brq3f2a9c1e-7b"


def links(*recs):
    base = [{"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP"], "mtu": 65536},
            {"ifindex": 2, "ifname": "eth1", "flags": ["UP"], "mtu": 1500}]
    return json.dumps(base + list(recs))


def driver(link_json):
    run = FakeRun().on(["ip", "-j", "-d", "link", "show"], out=link_json)
    return B.LinuxBridgeNetwork(IPWrapper(run=run)), run


def writes(run):
    return [c for c in run.calls if "-j" not in c]


def test_vlan_network_commands():
    d, run = driver(links())
    seg = B.Segment(NET, "vlan", 100, physical_interface="eth1", mtu=1500)
    before, actions = d.plan(seg)
    assert before is None
    d.apply(seg, actions)
    assert writes(run) == [
        ["ip", "link", "add", BR, "type", "bridge"],
        ["ip", "link", "set", "dev", BR, "type", "bridge", "stp_state", "0", "forward_delay", "0"],
        ["ip", "link", "add", "link", "eth1", "name", "eth1.100", "type", "vlan", "id", "100"],
        ["ip", "link", "set", "dev", "eth1.100", "master", BR],
        ["ip", "link", "set", "dev", "eth1.100", "mtu", "1500"],
        ["ip", "link", "set", "dev", "eth1.100", "up"],
        ["ip", "link", "set", "dev", BR, "mtu", "1500"],
        ["ip", "link", "set", "dev", BR, "up"],
    ]


def test_existing_vlan_network_is_unchanged_and_deleted_with_its_device():
    recs = [
        {"ifindex": 5, "ifname": BR, "flags": ["UP"], "mtu": 1500,
         "linkinfo": {"info_kind": "bridge"}},
        {"ifindex": 6, "ifname": "eth1.100", "flags": ["UP"], "mtu": 1500, "master": BR,
         "link": "eth1", "linkinfo": {"info_kind": "vlan", "info_data": {"id": 100}}},
    ]
    d, run = driver(links(*recs))
    seg = B.Segment(NET, "vlan", 100, physical_interface="eth1")
    changed, before, _ = d.ensure_present(seg)
    assert not changed and before["type"] == "vlan" and before["uplink"] == "eth1.100"
    assert writes(run) == []
    changed, _, _ = d.ensure_absent(NET)
    assert changed and writes(run) == [["ip", "link", "delete", "dev", "eth1.100"],
                                       ["ip", "link", "delete", "dev", BR]]


def test_vlan_failure_rolls_back_the_bridge():
    d, run = driver(links())
    run.on(["ip", "link", "add", "link"], rc=2, err="Error: Unknown device type.")
    seg = B.Segment(NET, "vlan", 100, physical_interface="eth1")
    with pytest.raises(B.SegmentConflict, match="8021q"):
        d.ensure_present(seg)
    assert writes(run)[-1] == ["ip", "link", "delete", "dev", BR]


def test_vxlan_commands_with_unicast_flooding():
    d, run = driver(links())
    seg = B.Segment(NET, "vxlan", 42, remote_ips=["192.0.2.3", "192.0.2.2"])
    d.apply(seg, d.plan(seg)[1])
    w = writes(run)
    assert ["ip", "link", "add", "vxlan-42", "type", "vxlan", "id", "42", "dstport", "4789"] in w
    assert [c for c in w if c[0] == "bridge"] == [
        ["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vxlan-42", "dst", "192.0.2.2"],
        ["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vxlan-42", "dst", "192.0.2.3"],
    ]


def test_vni_of_another_network_is_a_conflict():
    other = {"ifindex": 7, "ifname": "vxlan-42", "flags": ["UP"], "master": "brqother00000",
             "linkinfo": {"info_kind": "vxlan", "info_data": {"id": 42, "port": 4789}}}
    d, run = driver(links(other))
    with pytest.raises(B.SegmentConflict, match="VNI 42 is already in use .* brqother00000"):
        d.ensure_present(B.Segment(NET, "vxlan", 42))
    assert writes(run) == []


@pytest.mark.parametrize("seg,words", [
    (B.Segment(NET, "vxlan"), "needs segmentation_id"),
    (B.Segment(NET, "flat"), "needs physical_interface"),
    (B.Segment(NET, "vlan", 5000, physical_interface="eth1"), "out of range"),
    (B.Segment(NET, "vxlan", 5, multicast_group="10.0.0.1", physical_interface="eth1"),
     "not a multicast"),
    (B.Segment(NET, "local", mtu=20), "mtu"),
    (B.Segment(NET, "geneve"), "not one of"),
])
def test_bad_segments(seg, words):
    with pytest.raises(InvalidInput, match=words):
        seg.validate()


VXLAN_NET = [
    {"ifindex": 5, "ifname": BR, "flags": ["UP"], "mtu": 1450,
     "linkinfo": {"info_kind": "bridge"}},
    {"ifindex": 6, "ifname": "vxlan-42", "flags": ["UP"], "mtu": 1450, "master": BR,
     "linkinfo": {"info_kind": "vxlan",
                  "info_data": {"id": 42, "local": "192.0.2.1", "port": 4789}}},
]


def test_vxlan_to_local_removes_the_uplink():
    d, run = driver(links(*VXLAN_NET))
    changed, before, _ = d.ensure_present(B.Segment(NET, "local", mtu=1450))
    assert changed and before["type"] == "vxlan"
    assert writes(run) == [["ip", "link", "delete", "dev", "vxlan-42"]]


def test_changed_local_ip_remakes_the_vxlan_device():
    d, run = driver(links(*VXLAN_NET))
    seg = B.Segment(NET, "vxlan", 42, local_ip="192.0.2.5", mtu=1450)
    d._has_local_address = lambda ip: True
    _, actions = d.plan(seg)
    assert [a[0] for a in actions] == ["remove_uplink", "add_vxlan", "set_mtu", "set_up"]
    d.apply(seg, actions)
    assert ["ip", "link", "add", "vxlan-42", "type", "vxlan", "id", "42", "local", "192.0.2.5",
            "dstport", "4789"] in writes(run)


def test_check_mode_plans_without_writing():
    d, run = driver(links())
    planned = d.ensure_present(B.Segment(NET, "vxlan", 7), check=True)
    assert planned.changed and planned.before == {} and planned.after["uplink"] == "vxlan-7"
    assert "add_vxlan vxlan-7" in planned.actions
    assert writes(run) == []
