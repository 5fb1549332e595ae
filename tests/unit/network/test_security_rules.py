"""Rendering of port security and security group rules (pure functions + argv)."""

import json

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net import security_groups as S
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import InvalidInput
from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import Nft
from ansible_collections.stratus.cloud.plugins.module_utils.net.port_security import (
    PortSecurity,
    PortSecuritySpec,
    port_rules,
)
from tests.helpers.commands import FakeRun

pytestmark = pytest.mark.network


def render(rule, groups=None):
    return S.Rule.from_dict(rule).render(groups or {})


@pytest.mark.parametrize("rule,text", [
    ({"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
     "meta nfproto ipv4 meta l4proto 6 th dport 22"),
    ({"direction": "ingress", "protocol": "udp", "port_range_min": 1000,
      "port_range_max": 2000, "remote_ip_prefix": "10.0.0.7/24"},
     "meta nfproto ipv4 meta l4proto 17 th dport 1000-2000 ip saddr 10.0.0.0/24"),
    ({"direction": "egress", "protocol": "icmp", "port_range_min": 8, "port_range_max": 0},
     "meta nfproto ipv4 meta l4proto 1 icmp type 8 icmp code 0"),
    ({"direction": "ingress", "ethertype": "IPv6", "protocol": "icmp"},
     "meta nfproto ipv6 meta l4proto 58"),
    ({"direction": "egress", "protocol": "112", "remote_ip_prefix": "0.0.0.0/0"},
     "meta nfproto ipv4 meta l4proto 112"),
    ({"direction": "egress", "ethertype": "IPv6", "remote_ip_prefix": "2001:db8::/64"},
     "meta nfproto ipv6 ip6 daddr 2001:db8::/64"),
])
def test_rule_texts(rule, text):
    assert render(rule) == text


def test_remote_group_is_a_named_set_of_members_by_family():
    rule = S.Rule.from_dict({"direction": "ingress", "remote_group_id": "g"})
    groups = {"g": ["10.0.0.9", "10.0.0.10/24", "2001:db8::1"]}
    assert rule.render(groups) == "meta nfproto ipv4 ip saddr @rg4-g"
    v6 = S.Rule.from_dict({"direction": "egress", "ethertype": "IPv6", "remote_group_id": "g"})
    assert v6.render(groups) == "meta nfproto ipv6 ip6 daddr @rg6-g"
    assert S.group_sets([rule, v6], groups) == {"rg4-g": ["10.0.0.9", "10.0.0.10"],
                                                "rg6-g": ["2001:db8::1"]}
    with pytest.raises(InvalidInput, match="remote_groups"):
        rule.render({})


def test_default_group_is_egress_any_ingress_same_group():
    spec = S.PortGroupsSpec("tapx", [{"id": "default"}], {"default": ["10.0.0.5"]})
    egress, ingress, sets = S.chain_rules(spec)
    assert sets == {"rg4-default": ["10.0.0.5"], "rg6-default": []}
    assert egress[0] == "ct state established,related return" and egress[-1] == "drop"
    assert "meta nfproto ipv4 return" in egress and "meta nfproto ipv6 return" in egress
    assert ingress[0] == "ct state established,related accept" and ingress[-1] == "drop"
    assert "meta nfproto ipv4 ip saddr @rg4-default accept" in ingress


@pytest.mark.parametrize("rule", [
    {"direction": "sideways"},
    {"ethertype": "IPv5"},
    {"protocol": "tcp", "port_range_min": 0},
    {"protocol": "tcp", "port_range_max": 80},
    {"protocol": "gre", "port_range_min": 1},
    {"protocol": 300},
    {"protocol": "icmp", "port_range_min": 300},
    {"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "x"},
    {"colour": "red"},
])
def test_bad_rules(rule):
    with pytest.raises(InvalidInput):
        S.Rule.from_dict(rule)


def test_anti_spoofing_rules():
    spec = PortSecuritySpec("tapx", "FA:16:3E:00:00:01", ["10.0.0.5/24"],
                            [{"ip_address": "10.1.0.0/16", "mac_address": "fa:16:3e:00:00:02"}])
    out, inn = port_rules(spec.validate(), 3)
    assert out[0] == "ether saddr != { fa:16:3e:00:00:01, fa:16:3e:00:00:02 } drop"
    assert "ether type ip ip saddr != { 10.0.0.5, 10.1.0.0/16 } drop" in out
    assert "ether type arp arp saddr ip != { 10.0.0.5, 10.1.0.0/16 } drop" in out
    one = port_rules(PortSecuritySpec("tapx", "fa:16:3e:00:00:01", ["10.0.0.5"]).validate(), 1)[0]
    assert "ether type ip ip saddr != 10.0.0.5 drop" in one  # no set for a single IP
    assert out[-1] == "meta mark set meta mark & 0xffff0000 | 0x3"
    assert inn == ["meta mark set meta mark & 0x0000ffff | 0x30000"]
    v6only = PortSecuritySpec("tapx", "fa:16:3e:00:00:01", ["2001:db8::5/64"]).validate()
    assert "ether type ip drop" in port_rules(v6only, 1)[0]
    assert "ether type ip6 ip6 saddr != 2001:db8::5 drop" in port_rules(v6only, 1)[0]


def test_guests_send_no_router_advertisements_or_dhcpv6_replies():
    out, _ = port_rules(PortSecuritySpec("tapx", "fa:16:3e:00:00:01", ["2001:db8::5"]).validate(), 1)
    link_local = out.index("ether type ip6 ip6 saddr fe80::/64 meta mark set meta mark & "
                           "0xffff0000 | 0x1 return")
    # dropped before link-local sources (where RAs and DHCPv6 replies come from) return
    assert out.index("ether type ip6 icmpv6 type nd-router-advert drop") < link_local
    assert out.index("ether type ip6 udp sport 547 udp dport 546 drop") < link_local


def test_port_security_is_one_transaction_and_unchanged_when_equal():
    run = FakeRun()
    ps = PortSecurity(Nft(run, namespace="h1"))
    spec = PortSecuritySpec("tapx", "fa:16:3e:00:00:01", ["10.0.0.5"])
    changed, before, after = ps.ensure_present(spec)
    applies = [c for c in run.calls if c[-2:] == ["-f", "-"]]
    assert changed and before == {} and len(applies) == 1
    assert applies[0][:4] == ["ip", "netns", "exec", "h1"]
    script = run.inputs[run.calls.index(applies[0])]
    assert 'add element bridge stratus_ports marks { "tapx" : 1 }' in script
    # read back: the same digests and mark -> unchanged, nothing applied
    rules = [{"rule": {"comment": d}} for d in after["out_rules"]]
    run2 = FakeRun()
    run2.on(["ip", "netns", "exec", "h1", "nft", "-j", "list", "map", "bridge", "stratus_ports",
             "marks"], out=json.dumps({"nftables": [{"map": {"elem": [["tapx", 1]]}}]}))
    run2.on(["ip", "netns", "exec", "h1", "nft", "-j", "list", "chain", "bridge",
             "stratus_ports", "o-tapx"], out=json.dumps({"nftables": rules}))
    run2.on(["ip", "netns", "exec", "h1", "nft", "-j", "list", "chain", "bridge",
             "stratus_ports", "i-tapx"],
            out=json.dumps({"nftables": [{"rule": {"comment": d}} for d in after["in_rules"]]}))
    changed, _, _ = PortSecurity(Nft(run2, namespace="h1")).ensure_present(spec)
    assert not changed
    assert not [c for c in run2.calls if c[-2:] == ["-f", "-"]]
