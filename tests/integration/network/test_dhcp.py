"""stratus.cloud.dhcp for real: dnsmasq in a qdhcp- namespace serving guest namespaces."""

import ipaddress
import json
import os
import time
import uuid

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import ns_name, tap_name
from tests.helpers.ansible import run_module
from tests.integration.network.l3_fixtures import (  # noqa: F401 (lab_fixture: fixture)
    in_ns,
    lab_fixture,
    links,
    namespaces,
    pids_of,
)

pytestmark = [pytest.mark.network]

MAC_A, MAC_B, MAC_DHCP = "fa:16:3e:aa:00:05", "fa:16:3e:aa:00:06", "fa:16:3e:aa:00:02"


def _args(net, port_id, ports, **kw):
    return {
        "network_id": net,
        "port": {"id": port_id, "mac": MAC_DHCP, "ips": ["10.41.0.2"]},
        "subnets": [{
            "id": "sub-v4", "cidr": "10.41.0.0/24", "gateway_ip": "10.41.0.1",
            "dns_nameservers": ["10.41.0.53"],
            "host_routes": [{"destination": "172.31.0.0/16", "nexthop": "10.41.0.9"}],
        }],
        "ports": ports,
        "mtu": 1400,
        **kw,
    }


def _read(path):
    with open(path) as f:
        return f.read()


def _assert_gone(net, port_id):
    assert f"qdhcp-{net}" not in namespaces()
    assert tap_name(port_id) not in links()
    assert not pids_of(f"pid-file=/var/lib/stratus/dhcp/{net}/pid")
    assert not os.path.exists(f"/var/lib/stratus/dhcp/{net}")


def test_leases_options_reload_and_removal(lab):
    net, port_id = lab.network_id(), str(uuid.uuid4())
    br = lab.bridge(net)
    port_a = {"id": "pa", "mac": MAC_A, "ips": ["10.41.0.5"], "hostname": "guest-a"}
    args = _args(net, port_id, [port_a])
    lab.cleanups.append(lambda: run_module("dhcp", {"network_id": net, "state": "absent"}))

    check = run_module("dhcp", args, check=True)
    assert check.changed and not check.failed, check.msg
    assert f"qdhcp-{net}" not in namespaces()  # check mode made nothing

    first = run_module("dhcp", args)
    assert first.changed and not first.failed, first.msg
    assert "start dnsmasq" in first["actions"]
    pid = first["pid"]
    assert pid and first["interface"] == ns_name(port_id)
    assert first["diff"]["before"] == {}
    assert "fa:16:3e:aa:00:05,10.41.0.5,guest-a" in first["diff"]["after"]["hosts"]
    assert os.path.exists(f"/var/lib/stratus/dhcp/{net}/pid")

    again = run_module("dhcp", args)
    assert not again.changed and again["pid"] == pid

    guest_a = lab.guest("ga", br, MAC_A)
    got = lab.udhcpc(guest_a)
    assert got["ip"] == "10.41.0.5" and got["mask"] == "24"
    assert got["router"] == "10.41.0.1"
    assert got["dns"] == "10.41.0.53"
    assert got["mtu"] == "1400"
    assert got["staticroutes"] == "172.31.0.0/16 10.41.0.9 0.0.0.0/0 10.41.0.1"
    assert got["hostname"] == "guest-a" and got["domain"] == "openstacklocal"
    assert got["serverid"] == "10.41.0.2"

    # an unknown MAC gets nothing: the range is static
    stranger = lab.guest("gx", br, "fa:16:3e:aa:00:99")
    with pytest.raises(AssertionError, match="no lease"):
        lab.udhcpc(stranger, tries=2)

    # a new port: files rewritten, SIGHUP, same dnsmasq, the old lease kept
    port_b = {"id": "pb", "mac": MAC_B, "ips": ["10.41.0.6"]}
    args_b = _args(net, port_id, [port_a, port_b])
    planned = run_module("dhcp", args_b, check=True)
    assert planned.changed and "reload dnsmasq" in planned["actions"]
    assert MAC_B not in _read(f"/var/lib/stratus/dhcp/{net}/host")
    added = run_module("dhcp", args_b)
    assert added.changed and added["actions"] == ["write files", "reload dnsmasq"]
    assert added["pid"] == pid
    assert MAC_B in added["diff"]["after"]["hosts"] and MAC_B not in added["diff"]["before"]["hosts"]
    guest_b = lab.guest("gb", br, MAC_B)
    assert lab.udhcpc(guest_b)["ip"] == "10.41.0.6"
    assert pids_of(f"pid-file=/var/lib/stratus/dhcp/{net}/pid") == [pid]
    leases = _read(f"/var/lib/stratus/dhcp/{net}/leases")
    assert MAC_A in leases and MAC_B in leases

    # a command-line change (MTU) restarts dnsmasq
    restarted = run_module("dhcp", {**args_b, "mtu": 1300})
    assert restarted.changed and "restart dnsmasq" in restarted["actions"]
    assert restarted["pid"] != pid
    assert lab.udhcpc(guest_a)["mtu"] == "1300"
    assert MAC_A in _read(f"/var/lib/stratus/dhcp/{net}/leases")

    gone_check = run_module("dhcp", {"network_id": net, "state": "absent"}, check=True)
    assert gone_check.changed and f"qdhcp-{net}" in namespaces()
    gone = run_module("dhcp", {"network_id": net, "state": "absent"})
    assert gone.changed and gone["diff"]["after"] == {}
    _assert_gone(net, port_id)
    assert not run_module("dhcp", {"network_id": net, "state": "absent"}).changed


def test_ipv6_slaac_guest_configures_its_address_from_the_ra(lab):
    net, port_id = lab.network_id(), str(uuid.uuid4())
    br = lab.bridge(net)
    prefix = f"fd{uuid.uuid4().hex[:2]}:{uuid.uuid4().hex[:4]}:1::"
    args = {
        "network_id": net,
        "port": {"id": port_id, "mac": MAC_DHCP, "ips": [f"{prefix}2"]},
        "subnets": [{"id": "sub-v6", "cidr": f"{prefix}/64", "ipv6_address_mode": "slaac"}],
        "ports": [{"mac": MAC_A, "ips": [f"{prefix}f816:3eff:feaa:5"]}],
        "mtu": 1400,
    }
    lab.cleanups.append(lambda: run_module("dhcp", {"network_id": net, "state": "absent"}))
    first = run_module("dhcp", args)
    assert first.changed and not first.failed, first.msg
    assert not run_module("dhcp", args).changed
    guest = lab.guest("g6", br, MAC_A)
    in_ns(guest, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_ra=1")
    want = ipaddress.ip_interface(f"{prefix}f816:3eff:feaa:5/64")
    for _ in range(100):
        out = in_ns(guest, "ip", "-6", "-j", "addr", "show", "dev", "eth0").stdout
        addrs = {ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}")
                 for rec in json.loads(out) for a in rec["addr_info"] if a["scope"] == "global"}
        if want in addrs:
            break
        time.sleep(0.2)
    assert want in addrs, addrs  # the EUI-64 address from the RA's prefix
    assert "1400" in in_ns(guest, "cat", "/proc/sys/net/ipv6/conf/eth0/mtu").stdout
    # dnsmasq announces prefixes, never itself as a default router
    assert "default" not in in_ns(guest, "ip", "-6", "route").stdout
    assert run_module("dhcp", {"network_id": net, "state": "absent"}).changed
    _assert_gone(net, port_id)


def test_missing_bridge_is_a_clear_error_and_leaves_nothing(lab):
    net, port_id = lab.network_id(), str(uuid.uuid4())
    result = run_module("dhcp", _args(net, port_id, []))
    assert result.failed
    assert "stratus.cloud.network first" in result.msg
    _assert_gone(net, port_id)


def test_ipv6_dhcpv6_stateful_guest_gets_its_fixed_address(lab, tmp_path):
    net, port_id = lab.network_id(), str(uuid.uuid4())
    br = lab.bridge(net)
    prefix = f"fd{uuid.uuid4().hex[:2]}:{uuid.uuid4().hex[:4]}:6::"
    args = {
        "network_id": net,
        "port": {"id": port_id, "mac": MAC_DHCP, "ips": [f"{prefix}2"]},
        "subnets": [{"id": "sub-v6", "cidr": f"{prefix}/64",
                     "ipv6_address_mode": "dhcpv6-stateful",
                     "dns_nameservers": [f"{prefix}53"]}],
        "ports": [{"mac": MAC_A, "ips": [f"{prefix}15"], "hostname": "six"}],
    }
    lab.cleanups.append(lambda: run_module("dhcp", {"network_id": net, "state": "absent"}))
    assert run_module("dhcp", args).changed
    assert not run_module("dhcp", args).changed
    guest = lab.guest("g6s", br, MAC_A)
    for _ in range(50):  # the client needs a usable link-local address
        if "tentative" not in in_ns(guest, "ip", "-6", "addr", "show", "dev", "eth0").stdout:
            break
        time.sleep(0.1)
    leases, pidfile = tmp_path / "dhclient6.leases", tmp_path / "dhclient6.pid"
    lab.cleanups.append(lambda: in_ns(guest, "pkill", "-F", str(pidfile), check=False))
    got = in_ns(guest, "timeout", "40", "dhclient", "-6", "-1", "-lf", str(leases),
                "-pf", str(pidfile), "-sf", "/bin/true", "eth0", check=False)
    assert got.returncode == 0, got.stderr
    lease = leases.read_text()
    assert f"iaaddr {ipaddress.ip_address(prefix + '15')} " in lease
    assert f"dhcp6.name-servers {ipaddress.ip_address(prefix + '53')};" in lease
    assert 'fqdn.hostname "six"' in lease
    assert run_module("dhcp", {"network_id": net, "state": "absent"}).changed
    _assert_gone(net, port_id)
