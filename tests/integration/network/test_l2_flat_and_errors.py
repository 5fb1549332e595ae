"""Flat networks on a veth 'physical' interface, guest taps, and bad input."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    IPWrapper,
    NetError,
    bridge_name,
    tap_name,
)
from tests.helpers.ansible import run_module
from tests.integration.network.conftest import (
    in_ns,
    network_direct,
    new_id,
    port_direct,
    vlan_supported,
)

pytestmark = pytest.mark.network


def host_with_physical(netns):
    """A host whose 'physical' phys0 leads to an 'external' namespace at 10.81.0.254."""
    host, ext = netns("host"), netns("ext")
    phys, peer = IPWrapper(host).add_veth("phys0", "ext0", peer_namespace=ext)
    peer.addr.add("10.81.0.254/24")
    peer.link.set_up()
    phys.link.set_up()
    return host, ext


def test_flat_network_bridged_to_a_physical_interface(netns):
    host, _ext = host_with_physical(netns)
    net, port = new_id(), new_id()
    args = {"network_id": net, "type": "flat", "physical_interface": "phys0", "namespace": host}
    assert run_module("network", args, check=True).changed
    assert not IPWrapper(host).device(bridge_name(net)).exists()
    made = run_module("network", args)
    assert made.changed and made["network"]["uplink"] == "phys0", made
    assert made["diff"]["after"]["members"] == ["phys0"]
    assert not run_module("network", args).changed
    guest = netns("guest")
    pa = {"port_id": port, "network_id": net, "kind": "namespace", "netns": guest,
          "mac_address": "fa:16:3e:00:81:05", "fixed_ips": ["10.81.0.5/24"],
          "gateway": "10.81.0.254", "namespace": host}
    checked = run_module("port", pa, check=True)
    assert checked.changed and checked["diff"]["after"]["fixed_ips"] == ["10.81.0.5/24"]
    assert not IPWrapper(host).device(tap_name(port)).exists()
    plugged = run_module("port", pa)
    assert plugged.changed and plugged["port_security"]["ipv4"] == ["10.81.0.5"], plugged
    assert not run_module("port", pa).changed
    # a changed address is reconciled (old one removed) and shows in the diff
    moved = run_module("port", dict(pa, fixed_ips=["10.81.0.6/24"]))
    assert moved.changed
    assert moved["diff"]["before"]["fixed_ips"] == ["10.81.0.5/24"]
    assert IPWrapper(guest).device("ns-" + port[:11]).addr.cidrs() == ["10.81.0.6/24"]
    ping = in_ns(guest, "ping", "-c", "1", "-W", "2", "10.81.0.254", check=False)
    assert ping.returncode == 0, ping.stdout
    assert run_module("port", dict(pa, state="absent")).changed
    gone = run_module("network", dict(args, state="absent"))
    assert gone.changed and gone["diff"]["before"]["type"] == "flat"
    phys = IPWrapper(host).device("phys0")
    assert phys.exists() and phys.link.master is None  # released, not deleted
    assert not IPWrapper(host).device(bridge_name(net)).exists()


def test_guest_tap_made_in_advance(netns):
    host = netns("host")
    net, port = new_id(), new_id()
    assert run_module("network", {"network_id": net, "type": "local", "namespace": host}).changed
    pa = {"port_id": port, "network_id": net, "mac_address": "fa:16:3e:00:82:01",
          "fixed_ips": ["10.82.0.4/24"], "mtu": 1400, "namespace": host}
    res = run_module("port", pa)
    assert res.changed and res["port"] == {"tap": tap_name(port), "bridge": bridge_name(net),
                                           "kind": "tap", "up": True, "mtu": 1400}, res
    assert not run_module("port", pa).changed
    rec = IPWrapper(host).device(tap_name(port)).link.show()
    assert rec["linkinfo"]["info_kind"] == "tun" and rec["master"] == bridge_name(net)
    assert run_module("port", dict(pa, state="absent")).changed
    assert not IPWrapper(host).device(tap_name(port)).exists()
    assert in_ns(host, "nft", "list", "ruleset").stdout.strip() == ""


def test_bad_input_fails_clearly_and_makes_nothing(netns):
    host, _ext = host_with_physical(netns)
    ip = IPWrapper(host)
    n1, n2 = new_id(), new_id()
    assert run_module("network", {"network_id": n1, "segmentation_id": 100,
                                  "namespace": host}).changed

    def fails(module, args, words, direct=False):
        """Through Ansible, or (to save seconds) through the module's own handlers."""
        links = sorted(r["ifname"] for r in ip.list_links())
        args = dict(args, namespace=host)
        if direct:
            with pytest.raises(NetError, match=words):
                (network_direct if module == "network" else port_direct)(args)
        else:
            res = run_module(module, args)
            assert res.failed and words in res.msg, res.msg
        assert sorted(r["ifname"] for r in ip.list_links()) == links  # nothing half-made

    fails("network", {"network_id": n2, "segmentation_id": 100}, "VNI 100 is already in use")
    fails("network", {"network_id": n2, "type": "flat", "physical_interface": "nope0"},
          "physical interface nope0 does not exist")
    fails("network", {"network_id": n2, "segmentation_id": 0}, "out of range", direct=True)
    fails("network", {"network_id": n2, "local_ip": "192.0.2.77", "segmentation_id": 7},
          "not an address of this host", direct=True)
    port = {"port_id": new_id(), "network_id": n1, "fixed_ips": ["10.83.0.4/24"]}
    fails("port", dict(port, mac_address="fa:16:3e:zz:00:01"), "not a MAC")
    fails("port", dict(port, mac_address="fa:16:3e:00:00:01", fixed_ips=["10.83.0.400/24"]),
          "not a CIDR", direct=True)
    fails("port", dict(port, mac_address="fa:16:3e:00:00:01", network_id=n2), "has no bridge")
    fails("port", dict(port, mac_address="fa:16:3e:00:00:01", kind="namespace"), "needs netns",
          direct=True)
    assert in_ns(host, "nft", "list", "ruleset").stdout.strip() == ""
    assert run_module("network", {"network_id": n1, "state": "absent", "namespace": host}).changed


def test_vlan_network_as_far_as_the_kernel_allows(netns):
    """With 8021q the VLAN network is made on phys0.100; without it the request fails
    with a message naming VLAN support and leaves nothing behind."""
    host, _ext = host_with_physical(netns)
    ip = IPWrapper(host)
    net = new_id()
    args = {"network_id": net, "type": "vlan", "segmentation_id": 100,
            "physical_interface": "phys0", "namespace": host}
    links = sorted(r["ifname"] for r in ip.list_links())
    if vlan_supported():
        made = network_direct(args)
        assert made.changed and made.after["uplink"] == "phys0.100", made
        rec = ip.device("phys0.100").link.show()
        assert rec["linkinfo"]["info_kind"] == "vlan" and rec["master"] == bridge_name(net)
        assert not network_direct(args).changed
        assert network_direct(dict(args, state="absent")).changed
    else:
        with pytest.raises(NetError, match="no VLAN support .*8021q"):
            network_direct(args)
    assert sorted(r["ifname"] for r in ip.list_links()) == links  # removed / nothing made
    assert ip.device("phys0").exists()  # the physical interface is kept either way


def test_ports_plugged_at_once_get_distinct_marks(netns):
    host = netns("host")
    net = new_id()
    assert run_module("network", {"network_id": net, "type": "local", "namespace": host}).changed
    args = [{"port_id": new_id(), "network_id": net, "mac_address": f"fa:16:3e:00:84:0{i}",
             "fixed_ips": [f"10.84.0.{i}/24"], "namespace": host} for i in range(1, 5)]
    with ThreadPoolExecutor(4) as pool:  # as concurrent jobs on one host would
        results = list(pool.map(lambda a: run_module("port", a), args))
    assert all(r.changed and not r.failed for r in results), results
    marks = [r["port_security"]["mark"] for r in results]
    assert sorted(marks) == [1, 2, 3, 4], marks
    with ThreadPoolExecutor(4) as pool:
        gone = list(pool.map(lambda a: run_module("port", dict(a, state="absent")), args))
    assert all(r.changed for r in gone)
    assert in_ns(host, "nft", "list", "ruleset").stdout.strip() == ""
