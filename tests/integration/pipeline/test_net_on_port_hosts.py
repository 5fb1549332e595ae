"""OS::Neutron::Net through the pipeline: the network exists on exactly the hosts that
have a port on it, and leaves a host with its last port there."""

from __future__ import annotations

import pytest

from stratus.db.models.jobs import DELETED, SUCCEEDED, Resource
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.submit import submit, submit_delete
from tests.unit.jobs.conftest import template, wait_final

pytestmark = [pytest.mark.orchestration, pytest.mark.network]


def run(db, fn, *args, **kw):
    with db.session() as s:
        job = fn(s, *args, **kw)
    done = wait_final(db, job.id, timeout=180)
    assert done.status == SUCCEEDED, done.status_reason
    return job


def flood(hosts, host: str, vni: int) -> set[str]:
    """Where the host's VXLAN device floods broadcast and unknown traffic (the all-zero
    FDB entries the network module manages; learned entries are left out)."""
    out = hosts.sh(host, "bridge", "fdb", "show", "dev", f"vxlan-{vni}")
    return {ln.split(" dst ")[1].split()[0] for ln in out.splitlines() if ln.startswith("00:00:00:00:00:00")}


def port(net_id: str, host: str) -> dict:
    return {"type": "OS::Neutron::Port", "properties": {"network": net_id, "binding_host": host}}


def test_net_follows_its_ports(db, make_worker, net_hosts):
    with db.session() as s:
        net_hosts.register(s)
    make_worker()
    job = run(db, submit, template(net={"type": "OS::Neutron::Net", "properties": {"name": "blue"}}),
              project_id="p1")
    net_id = job.resource_map["net"]
    bridge, vni = "brq" + net_id[:11], None
    with db.session() as s:
        vni = s.get(Resource, net_id).attributes["segmentation_id"]
    assert bridge not in net_hosts.links("netA") | net_hosts.links("netB")  # no port, no segment

    pa = run(db, submit, template(p=port(net_id, "netA")), project_id="p1").resource_map["p"]
    assert bridge in net_hosts.links("netA")
    assert bridge not in net_hosts.links("netB")  # only where a port is
    assert f"vxlan-{vni}" in net_hosts.links("netA")

    pb = run(db, submit, template(p=port(net_id, "netB")), project_id="p1").resource_map["p"]
    assert bridge in net_hosts.links("netB")
    # each host floods to the other: the FDB of netA's VXLAN device names netB's tunnel IP
    assert flood(net_hosts, "netA", vni) == {"10.99.7.2"}
    assert flood(net_hosts, "netB", vni) == {"10.99.7.1"}
    with db.session() as s:
        assert s.get(Resource, net_id).hosts == ["netA", "netB"]

    with pytest.raises(ResourceCheckFailed, match="has ports; delete them first"), db.session() as s:
        submit_delete(s, [net_id], project_id="p1")

    run(db, submit_delete, [pa], project_id="p1")
    assert bridge not in net_hosts.links("netA")  # its last port there went
    assert "tap" + pa[:11] not in net_hosts.links("netA")
    assert bridge in net_hosts.links("netB")
    assert flood(net_hosts, "netB", vni) == set()  # netA left the flood list
    with db.session() as s:
        assert s.get(Resource, net_id).hosts == ["netB"]

    run(db, submit_delete, [pb], project_id="p1")
    assert bridge not in net_hosts.links("netB")
    run(db, submit_delete, [net_id], project_id="p1")
    with db.session() as s:
        assert s.get(Resource, net_id).status == DELETED
