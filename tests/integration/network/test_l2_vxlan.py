"""A VXLAN network joins two 'hosts' (namespaces joined by a veth underlay)."""

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    IPWrapper,
    bridge_name,
    tap_name,
)
from tests.helpers.ansible import run_module
from tests.integration.network.conftest import (
    in_ns,
    network_direct,
    new_id,
    port_direct,
    two_hosts,
)

pytestmark = pytest.mark.network


def test_vxlan_network_joins_two_hosts(netns):
    host_a, host_b = two_hosts(netns)
    net = new_id()
    vni = 4242
    args = {"network_id": net, "type": "vxlan", "segmentation_id": vni, "mtu": 1450,
            "physical_interface": "und0"}
    per_host = {host_a: ("192.0.2.1", "192.0.2.2", "10.77.0.1"),
                host_b: ("192.0.2.2", "192.0.2.1", "10.77.0.2")}
    ports, guests = {}, {}
    for host, (local, remote, guest_ip) in per_host.items():
        a = dict(args, namespace=host, local_ip=local, remote_ips=[remote])
        first = host == host_a  # the module on host A; its handlers in-process on B
        if first:
            checked = run_module("network", a, check=True)
            assert checked.changed and not checked.failed, checked
            assert not IPWrapper(host).device(bridge_name(net)).exists()  # made nothing
            made = run_module("network", a)
            assert made.changed, made
            assert made["diff"]["before"] == {}
            assert made["diff"]["after"]["uplink"] == f"vxlan-{vni}"
            assert made["network"]["remote_ips"] == [remote]
            again = run_module("network", a)
            assert not again.changed, again
        else:
            assert network_direct(a).changed
        # the FDB entry floods to the other host
        assert IPWrapper(host).device(f"vxlan-{vni}").fdb.destinations() == [remote]
        guest = guests[host] = netns("guest" + host[3:8])
        port = new_id()
        pa = {"port_id": port, "network_id": net, "kind": "namespace", "netns": guest,
              "mac_address": f"fa:16:3e:00:00:0{len(ports) + 1}",
              "fixed_ips": [f"{guest_ip}/24"], "mtu": 1450, "namespace": host}
        if first:
            plugged = run_module("port", pa)
            assert plugged.changed and plugged["port"]["bridge"] == bridge_name(net), plugged
            assert not run_module("port", pa).changed
        else:
            assert port_direct(pa).changed
        ports[host] = (port, pa)
    ping = in_ns(guests[host_a], "ping", "-c", "2", "-W", "3", "10.77.0.2", check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr

    # changing the flood list replaces the FDB entries exactly
    a = dict(args, namespace=host_a, local_ip="192.0.2.1", remote_ips=["192.0.2.9"])
    res = run_module("network", a)
    assert res.changed and res["diff"]["before"]["remote_ips"] == ["192.0.2.2"]
    assert IPWrapper(host_a).device(f"vxlan-{vni}").fdb.destinations() == ["192.0.2.9"]

    # delete everything; nothing is left behind
    for host, (port, pa) in ports.items():
        if host == host_a:
            gone = run_module("port", dict(pa, state="absent"))
            assert gone.changed, gone
            assert not run_module("port", dict(pa, state="absent")).changed
            res = run_module("network", {"network_id": net, "state": "absent",
                                         "namespace": host})
            assert res.changed and res["network"] is None
            assert not run_module("network", {"network_id": net, "state": "absent",
                                              "namespace": host}).changed
        else:
            assert port_direct(dict(pa, state="absent")).changed
            assert network_direct({"network_id": net, "state": "absent",
                                   "namespace": host}).changed
        assert not IPWrapper(host).device(tap_name(port)).exists()
        names = [r["ifname"] for r in IPWrapper(host).list_links()]
        assert sorted(names) == ["lo", "und0"], names
        assert in_ns(host, "nft", "list", "ruleset").stdout.strip() == ""


def test_vxlan_multicast_group_joins_two_hosts(netns):
    host_a, host_b = two_hosts(netns)
    net = new_id()
    guests = {}
    for i, host in enumerate((host_a, host_b), start=1):
        args = {"network_id": net, "segmentation_id": 4343, "multicast_group": "239.1.1.43",
                "physical_interface": "und0", "namespace": host}
        guests[host] = netns(f"mg{i}")
        pa = {"port_id": new_id(), "network_id": net, "kind": "namespace",
              "netns": guests[host], "mac_address": f"fa:16:3e:00:43:0{i}",
              "fixed_ips": [f"10.78.0.{i}/24"], "namespace": host,
              "port_security_enabled": False}
        if host == host_a:
            res = run_module("network", args)
            assert res.changed and res["network"]["multicast_group"] == "239.1.1.43", res
            assert res["network"]["remote_ips"] == []  # no unicast flood entries
            assert not run_module("network", args).changed
            res = run_module("port", pa)
            assert res.changed and res["port_security"] is None, res
        else:
            network_direct(args)
            port_direct(pa)
    ping = in_ns(guests[host_a], "ping", "-c", "2", "-W", "3", "10.78.0.2", check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert run_module("network", {"network_id": net, "state": "absent",
                                  "namespace": host_a}).changed
    network_direct({"network_id": net, "state": "absent", "namespace": host_b})
    for host in (host_a, host_b):
        assert not IPWrapper(host).device("vxlan-4343").exists()
