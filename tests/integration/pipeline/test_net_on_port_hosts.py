"""OS::Neutron::Net and OS::Neutron::Port through the jobs API: the network exists on
exactly the hosts that have a port on it, each host floods to exactly the others, and
the network leaves a host with its last port there."""

from __future__ import annotations

import pytest

from .conftest import Api, sync_hosts

pytestmark = [pytest.mark.orchestration, pytest.mark.network, pytest.mark.api]


def flood(hosts, host: str, vni: int) -> set[str]:
    """Where the host's VXLAN device floods broadcast and unknown traffic (the all-zero
    FDB entries the network module manages; learned entries are left out)."""
    out = hosts.sh(host, "bridge", "fdb", "show", "dev", f"vxlan-{vni}")
    return {ln.split(" dst ")[1].split()[0] for ln in out.splitlines() if ln.startswith("00:00:00:00:00:00")}


def port(net_id: str, host: str) -> dict:
    return {"type": "OS::Neutron::Port", "properties": {"network": net_id, "binding:host_id": host}}


def test_net_follows_its_ports(controller_factory, net_hosts, tmp_path):
    ctl = controller_factory("sqlite")
    sync_hosts(ctl, tmp_path, net_hosts.vars(), ["compute"])
    api = Api(ctl)
    net_id = api.create(net={"type": "OS::Neutron::Net", "properties": {"name": "blue"}})["resources_by_name"]["net"]
    bridge = "brq" + net_id[:11]
    vni = api.resource(net_id)["attributes"]["segmentation_id"]
    assert bridge not in net_hosts.links("netA") | net_hosts.links("netB")  # no port, no segment

    pa = api.create(p=port(net_id, "netA"))["resources_by_name"]["p"]
    assert bridge in net_hosts.links("netA") and f"vxlan-{vni}" in net_hosts.links("netA")
    assert bridge not in net_hosts.links("netB")  # only where a port is
    assert "tap" + pa[:11] in net_hosts.links("netA")

    pb = api.create(p=port(net_id, "netB"))["resources_by_name"]["p"]
    assert bridge in net_hosts.links("netB")
    assert flood(net_hosts, "netA", vni) == {"10.99.7.2"}  # each floods to the other
    assert flood(net_hosts, "netB", vni) == {"10.99.7.1"}
    assert api.resource(net_id)["hosts"] == ["netA", "netB"]

    refused = api.call("DELETE", f"/resources/{net_id}", expect=409)
    assert "has ports; delete them first" in refused["error"]["message"]

    api.run("DELETE", f"/resources/{pa}")
    assert bridge not in net_hosts.links("netA")  # its last port there went
    assert "tap" + pa[:11] not in net_hosts.links("netA")
    assert bridge in net_hosts.links("netB")
    assert flood(net_hosts, "netB", vni) == set()  # netA left the flood list
    assert api.resource(net_id)["hosts"] == ["netB"]

    api.run("DELETE", f"/resources/{pb}")
    assert bridge not in net_hosts.links("netB")
    api.run("DELETE", f"/resources/{net_id}")
    assert api.resource(net_id)["status"] == "DELETED"
