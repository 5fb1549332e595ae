"""dnsmasq config generation: flags, hosts file and opts file from subnets and ports."""

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net import dnsmasq as D

pytestmark = pytest.mark.network


def _cfg(subnets, hosts=(), **kw):
    return D.DhcpConfig(
        network_id="net1", interface="ns-abc", state_dir="/var/lib/stratus/dhcp/net1",
        subnets=[D.Subnet.from_dict(s) for s in subnets],
        hosts=[D.Host.from_dict(h) for h in hosts], **kw)


V4 = {"id": "s4", "cidr": "10.0.0.0/24", "gateway_ip": "10.0.0.1",
      "dns_nameservers": ["10.0.0.53", "10.0.0.54"],
      "host_routes": [{"destination": "172.16.0.0/16", "nexthop": "10.0.0.9"}]}


def test_ipv4_static_range_and_forced_mtu():
    argv = _cfg([V4], mtu=1450).argv()
    assert "--dhcp-range=set:subnet-s4,10.0.0.0,static,255.255.255.0,86400s" in argv
    assert "--dhcp-option-force=option:mtu,1450" in argv
    assert "--interface=ns-abc" in argv and "--port=0" in argv
    assert "--pid-file=/var/lib/stratus/dhcp/net1/pid" in argv
    assert "--dhcp-leasefile=/var/lib/stratus/dhcp/net1/leases" in argv
    assert not any(a.startswith("--enable-ra") for a in argv)


def test_opts_router_dns_and_classless_routes_include_default():
    opts = _cfg([V4]).opts_file().splitlines()
    assert "tag:subnet-s4,option:router,10.0.0.1" in opts
    assert "tag:subnet-s4,option:dns-server,10.0.0.53,10.0.0.54" in opts
    # RFC 3442: option 121 replaces option 3 at the client, so it carries the default too
    assert ("tag:subnet-s4,option:classless-static-route,"
            "172.16.0.0/16,10.0.0.9,0.0.0.0/0,10.0.0.1") in opts
    assert "tag:subnet-s4,249,172.16.0.0/16,10.0.0.9,0.0.0.0/0,10.0.0.1" in opts


def test_no_gateway_sends_an_empty_router_option():
    opts = _cfg([{**V4, "gateway_ip": None, "host_routes": []}]).opts_file()
    assert "tag:subnet-s4,option:router\n" in opts
    assert "classless" not in opts


def test_hosts_file_one_line_per_port_sorted_with_default_hostname():
    cfg = _cfg([V4, {"id": "s6", "cidr": "2001:db8::/64"}], [
        {"mac": "FA:16:3E:00:00:09", "ips": ["10.0.0.9", "2001:db8::9"], "hostname": "vm9"},
        {"mac": "fa:16:3e:00:00:05", "ips": ["10.0.0.5"]},
    ])
    assert cfg.hosts_file() == (
        "fa:16:3e:00:00:05,10.0.0.5,host-10-0-0-5\n"
        "fa:16:3e:00:00:09,10.0.0.9,[2001:db8::9],vm9\n"
    )


def test_ipv6_modes_make_ra_only_stateless_or_static_ranges():
    cfg = _cfg([
        {"id": "a", "cidr": "2001:db8:a::/64", "ipv6_address_mode": "slaac"},
        {"id": "b", "cidr": "2001:db8:b::/64", "ipv6_address_mode": "dhcpv6-stateless"},
        {"id": "c", "cidr": "2001:db8:c::/64", "ipv6_address_mode": "dhcpv6-stateful",
         "dns_nameservers": ["2001:db8::53"]},
    ], [{"mac": "fa:16:3e:00:00:01", "ips": ["2001:db8:a::1", "2001:db8:c::1"]}], mtu=1400)
    argv = cfg.argv()
    assert "--dhcp-range=set:subnet-a,2001:db8:a::,ra-only,64" in argv
    assert "--dhcp-range=set:subnet-b,2001:db8:b::,ra-stateless,64" in argv
    assert "--dhcp-range=set:subnet-c,2001:db8:c::,static,64,86400s" in argv
    assert "--enable-ra" in argv
    assert "--ra-param=ns-abc,mtu:1400,30,0" in argv  # lifetime 0: not a default router
    # the SLAAC address is the guest's own (EUI-64): no lease line for it
    assert cfg.hosts_file() == "fa:16:3e:00:00:01,[2001:db8:c::1],host-2001-db8-a--1\n"
    assert "tag:subnet-c,option6:dns-server,[2001:db8::53]" in cfg.opts_file()


@pytest.mark.parametrize("subnet, words", [
    ({**V4, "gateway_ip": "10.9.0.1"}, "outside its cidr"),
    ({**V4, "cidr": "10.0.0.1/24"}, "its network address.*not a CIDR"),
    ({"id": "x", "cidr": "10.0.0.0/24", "ipv6_address_mode": "slaac"}, "for IPv6"),
    ({"id": "x", "cidr": "2001:db8::/64", "ipv6_address_mode": "bogus"}, "must be one of"),
])
def test_bad_subnets_say_what_to_fix(subnet, words):
    with pytest.raises(D.InvalidDhcpConfig, match=words):
        D.Subnet.from_dict(subnet)


def test_overlapping_subnets_and_shared_ips_are_refused():
    with pytest.raises(D.InvalidDhcpConfig, match="overlap"):
        _cfg([V4, {"id": "t", "cidr": "10.0.0.128/25"}])
    with pytest.raises(D.InvalidDhcpConfig, match="given to both"):
        _cfg([V4], [{"mac": "fa:16:3e:00:00:01", "ips": ["10.0.0.5"]},
                    {"mac": "fa:16:3e:00:00:02", "ips": ["10.0.0.5"]}])
    with pytest.raises(D.InvalidDhcpConfig, match="hostname"):
        D.Host.from_dict({"mac": "fa:16:3e:00:00:01", "ips": ["10.0.0.5"], "hostname": "a.b"})
    with pytest.raises(D.InvalidDhcpConfig, match="enable_dhcp"):
        _cfg([{**V4, "enable_dhcp": False}])


def test_start_runs_dnsmasq_in_the_namespace_and_reports_failure(tmp_path):
    calls = []

    def run(argv, data=None):
        calls.append(argv)
        return 2, "", "dnsmasq: bad option"

    d = D.Dnsmasq(run, "qdhcp-net1", str(tmp_path))
    with pytest.raises(D.DnsmasqFailed, match="bad option"):
        d.start(["dnsmasq", "--x"])
    assert calls == [["ip", "netns", "exec", "qdhcp-net1", "env", "-i", f"PATH={D.DAEMON_PATH}",
                      "dnsmasq", "--x"]]
    assert d.pid() is None  # no pid file: not running


def test_dhcp_port_needs_an_ip_in_every_served_subnet():
    from ansible_collections.stratus.cloud.plugins.module_utils.net.dhcp import DhcpService

    svc = DhcpService(lambda argv, data=None: (0, "", ""), "net1", "/tmp/none")
    port = {"id": "p", "mac": "fa:16:3e:00:00:02", "ips": ["10.0.0.2"]}
    cfg = svc.config(port, [D.Subnet.from_dict(V4), D.Subnet.from_dict({"id": "s6",
                                                                          "cidr": "2001:db8::/64"})], [])
    assert cfg.interface == "ns-p" and cfg.pidfile == "/tmp/none/net1/pid"
    with pytest.raises(D.InvalidDhcpConfig, match="no IP in subnet s6"):
        svc.port_cidrs(cfg, port)
    assert svc.port_cidrs(cfg, {**port, "ips": ["10.0.0.2", "2001:db8::2"]}) == [
        "10.0.0.2/24", "2001:db8::2/64"]
    with pytest.raises(D.InvalidDhcpConfig, match="none of the network's subnets"):
        svc.port_cidrs(cfg, {**port, "ips": ["10.9.0.2", "2001:db8::2"]})
