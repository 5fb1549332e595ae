"""The network hosts (controller and compute): forwarding on, bridged traffic through
nftables, the port-security and security-group tables in place."""

from __future__ import annotations

import json

from conftest import inventory

testinfra_hosts = sorted(set(inventory().get_hosts("network")) | set(inventory().get_hosts("compute")))


def test_the_host_forwards_and_filters_bridged_traffic(host):
    assert host.sysctl("net.ipv4.ip_forward") == 1
    assert host.sysctl("net.bridge.bridge-nf-call-iptables") == 1


def test_the_base_nftables_tables_are_there(host):
    tables = json.loads(host.check_output("nft -j list tables"))["nftables"]
    names = {t["table"]["name"] for t in tables if "table" in t}
    assert {"stratus_ports", "stratus_sg"} <= names
