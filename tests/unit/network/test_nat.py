"""nft NAT tables for routers and floating IPs: rules, atomic batch, change detection."""

import json

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net import nat as N
from tests.helpers.commands import FakeRun

pytestmark = pytest.mark.network


def test_snat_table_rules_per_ipv4_subnet_through_the_gateway_device():
    t = N.snat_table("qg-1", "203.0.113.10", ["10.1.0.0/24", "10.0.0.0/24", "2001:db8::/64"])
    assert t.text().splitlines()[2:5] == [
        "    type nat hook postrouting priority 100; policy accept;",
        '    ip saddr 10.0.0.0/24 oifname "qg-1" snat to 203.0.113.10',
        '    ip saddr 10.1.0.0/24 oifname "qg-1" snat to 203.0.113.10',
    ]


def test_fip_table_dnat_in_snat_out_before_the_router_snat():
    t = N.fip_table("203.0.113.20", "10.0.0.5", "qg-1")
    assert t.name == "stratus_fip_203_0_113_20"
    text = t.text()
    assert "ip daddr 203.0.113.20 dnat to 10.0.0.5" in text
    assert 'ip saddr 10.0.0.5 oifname "qg-1" snat to 203.0.113.20' in text
    post = next(c for c in t.chains if c.name == "postrouting")
    assert post.prio < N.PRIO_SRCNAT  # the first NAT chain that binds wins


def test_script_replaces_the_table_in_one_transaction():
    script = N.snat_table("qg-1", "203.0.113.10", ["10.0.0.0/24"]).script()
    assert script.splitlines()[:3] == [
        "table ip stratus_snat {}", "delete table ip stratus_snat", "table ip stratus_snat {"]


def _listing(table):
    items = [{"metainfo": {}}, {"table": {"family": "ip", "name": table.name}}]
    for i, c in enumerate(table.chains):
        items.append({"chain": {"family": "ip", "table": table.name, "name": c.name,
                                "handle": i, **c.header()}})
        for r in c.rules:
            items.append({"rule": {"family": "ip", "table": table.name, "chain": c.name,
                                   "handle": 9, "expr": r}})
    return json.dumps({"nftables": items})


def test_ensure_compares_with_nft_json_and_applies_once():
    want = N.fip_table("203.0.113.20", "10.0.0.5", "qg-1")
    run = FakeRun().on(["ip", "netns", "exec", "qr", "nft", "-j", "list", "table"],
                       out=_listing(want))
    tables = N.NatTables.in_namespace(run, "qr")
    changed, before, after = tables.ensure(want)
    assert not changed and before == after
    other = N.fip_table("203.0.113.20", "10.0.0.6", "qg-1")
    changed, before, after = tables.ensure(other, check=True)
    assert changed and "10.0.0.5" in before and "10.0.0.6" in after
    assert not any("-f" in c for c in run.calls)  # check mode applies nothing
    tables.ensure(other)
    assert run.calls[-1] == ["ip", "netns", "exec", "qr", "nft", "-f", "-"]
    assert run.inputs[-1] == other.script()


def test_missing_table_is_none_and_failures_carry_argv():
    run = FakeRun().on(["nft", "-j", "list", "table"], rc=1,
                       err="Error: No such file or directory")
    assert N.NatTables.in_namespace(run, None).get("stratus_snat") is None
    run = FakeRun().on(["nft"], rc=1, err="Error: syntax")
    with pytest.raises(N.NetError, match="syntax"):
        N.NatTables.in_namespace(run, None).names()
