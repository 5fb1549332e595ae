"""The network service's desired host state, computed from Neutron's records: segments
exactly on the hosts of bound ports (VXLAN flood lists of the others' tunnel IPs,
flat/VLAN uplinks from the host's physnet mappings), removed where none is left, the
DHCP port and dnsmasq's leases on a network host, and the order of the tasks."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from stratus.db.models.hosts import Host
from stratus.db.models.jobs import Job, JobResource, Resource
from stratus.db.models.network import IPAllocation, Network, Port, Subnet
from stratus.network import hostplan
from stratus.orchestration.resources import PlannedResource
from tests.helpers.db import sqlite_session

pytestmark = pytest.mark.network


@pytest.fixture
def db(tmp_path):
    with sqlite_session(tmp_path) as s:
        s.add_all([
            Host(name="a", groups=["compute"], vars={"stratus_tunnel_ip": "10.0.0.1",
                                                     "stratus_physical_interface_mappings": {"ext": "eth1"}}),
            Host(name="b", groups=["compute"], vars={"stratus_tunnel_ip": "10.0.0.2"}),
            Host(name="n", groups=["network", "compute"],
                 vars={"stratus_tunnel_ip": "10.0.0.3", "stratus_physical_interface_mappings": "ext:br-ex"}),
        ])
        s.flush()
        yield s


def network(db, *, type_="vxlan", vni=5000, physnet=None, dhcp=True, cidr="10.1.0.0/24") -> Network:
    net = Network(id=str(uuid.uuid4()), project_id="p", name="blue", network_type=type_, mtu=1450,
                  segmentation_id=vni, physical_network=physnet)
    db.add(net)
    db.flush()
    db.add(Subnet(id=str(uuid.uuid4()), project_id="p", network_id=net.id, ip_version=4, cidr=cidr,
                  gateway_ip=cidr.replace("0/24", "1"), enable_dhcp=dhcp,
                  allocation_pools=[{"start": cidr.replace("0/24", "10"), "end": cidr.replace("0/24", "20")}]))
    db.flush()
    return net


def port(db, net: Network, host: str, ip: str | None = None, owner: str = "compute:nova") -> Port:
    pid = str(uuid.uuid4())
    p = Port(id=pid, project_id="p", network_id=net.id, mac_address="fa:16:3e:" + ":".join([pid[:2], pid[2:4], pid[4:6]]),
             binding_host_id=host, device_owner=owner, device_id="srv")
    db.add(p)
    db.flush()
    if ip:
        subnet = db.scalars(select(Subnet).where(Subnet.network_id == net.id)).first()
        db.add(IPAllocation(network_id=net.id, subnet_id=subnet.id, port_id=p.id, ip_address=ip))
        db.flush()
    return p


def res() -> PlannedResource:
    return PlannedResource("net", "OS::Neutron::Net", "rid", {}, placed=True)


def segment_args(tasks: list[dict], host: str, state: str = "present") -> dict:
    found = [t["stratus.cloud.network"] for t in tasks if "stratus.cloud.network" in t
             and t["when"] == f'inventory_hostname == "{host}"']
    return next(a for a in map(unsafe, found) if a["state"] == state)


def unsafe(value):
    """A task's arguments as plain data (the compiler marks them unsafe)."""
    if isinstance(value, dict) and set(value) == {"__ansible_unsafe"}:
        return unsafe(value["__ansible_unsafe"])
    if isinstance(value, dict):
        return {k: unsafe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsafe(v) for v in value]
    return value


def modules(tasks: list[dict]) -> list[tuple[str, str, str]]:
    """(module, state, host) of each task, in order."""
    out = []
    for t in tasks:
        (mod,) = [k for k in t if k.startswith("stratus.cloud.")]
        out.append((mod.rsplit(".", 1)[1], unsafe(t[mod]).get("state", "present"), t["when"].split('"')[1]))
    return out


def test_segment_is_on_the_hosts_of_bound_ports_and_floods_to_the_others(db):
    net = network(db)
    port(db, net, "a", "10.1.0.11")
    port(db, net, "b", "10.1.0.12")
    port(db, net, "", "10.1.0.13")  # unbound: on no host
    state = hostplan.converge(db, networks=[net.id])
    entry = state["networks"][net.id]
    assert entry["hosts"] == {"a": "present", "b": "present", "n": "present"}  # n: the DHCP port
    assert hostplan.hosts_of(state) == ["a", "b", "n"]
    tasks = hostplan.tasks(res(), state)
    a = segment_args(tasks, "a")
    assert a == {"network_id": net.id, "state": "present", "type": "vxlan", "mtu": 1450,
                 "segmentation_id": 5000, "local_ip": "10.0.0.1", "remote_ips": ["10.0.0.2", "10.0.0.3"]}
    assert segment_args(tasks, "n")["remote_ips"] == ["10.0.0.1", "10.0.0.2"]
    assert net.segment_hosts == ["a", "b", "n"]
    assert db.get(Resource, net.id) is None  # no resource row: nothing else to remember


def test_segment_leaves_a_host_with_its_last_port_and_the_flood_lists_follow(db):
    net = network(db, dhcp=False)
    pa = port(db, net, "a")
    pb = port(db, net, "b")
    hostplan.converge(db, ports=[pa, pb])
    db.delete(pb)
    db.flush()
    state = hostplan.converge(db, networks=[net.id])
    assert state["networks"][net.id]["hosts"] == {"a": "present", "b": "absent"}
    tasks = hostplan.tasks(res(), state)
    assert segment_args(tasks, "a")["remote_ips"] == []  # b left the flood list
    assert segment_args(tasks, "b", "absent") == {"network_id": net.id, "state": "absent"}
    assert net.segment_hosts == ["a"]
    # once removed, b is not visited again
    assert hostplan.converge(db, networks=[net.id])["networks"][net.id]["hosts"] == {"a": "present"}


def test_port_is_plugged_with_its_addresses_and_unplugged_where_it_was(db):
    net = network(db, dhcp=False)
    p = port(db, net, "a", "10.1.0.11")
    first = hostplan.converge(db, ports=[p])
    (entry,) = first["ports"]
    assert entry["host"] == "a" and entry["state"] == "present"
    assert entry["args"] == {"port_id": p.id, "network_id": net.id, "mac_address": p.mac_address,
                             "fixed_ips": ["10.1.0.11/24"], "port_security_enabled": True,
                             "allowed_address_pairs": [], "mtu": 1450}
    p.binding_host_id = "b"  # moved: plugged on b, unplugged from a, segment follows
    db.flush()
    moved = hostplan.converge(db, ports=[p], previous=first)
    assert [(e["host"], e["state"]) for e in moved["ports"]] == [("b", "present"), ("a", "absent")]
    assert moved["networks"][net.id]["hosts"] == {"a": "absent", "b": "present"}
    assert modules(hostplan.tasks(res(), moved)) == [
        ("network", "present", "b"),   # segments present
        ("port", "absent", "a"),       # things removed
        ("port", "present", "b"),      # things present
        ("network", "absent", "a"),    # segments removed
    ]


def test_dhcp_port_is_made_once_on_a_network_host_with_a_lease_for_every_port(db):
    net = network(db)
    p = port(db, net, "a", "10.1.0.15")
    state = hostplan.converge(db, networks=[net])
    dhcp = state["networks"][net.id]["dhcp"]
    dport = db.get(Port, dhcp["port_id"])
    assert dport.device_owner == "network:dhcp" and dport.binding_host_id == "n"
    assert dhcp["host"] == "n" and dhcp["state"] == "present"
    args = dhcp["args"]
    assert args["port"] == {"id": dport.id, "mac": dport.mac_address, "ips": ["10.1.0.10"]}  # first of the pool
    assert args["ports"] == [{"id": p.id, "mac": p.mac_address, "ips": ["10.1.0.15"]}]
    assert args["subnets"][0]["gateway_ip"] == "10.1.0.1" and args["mtu"] == 1450
    assert args["domain"] == "openstacklocal" and args["lease_time"] == 86400
    again = hostplan.converge(db, networks=[net])["networks"][net.id]["dhcp"]
    assert again["port_id"] == dport.id  # one DHCP port per network
    assert db.scalar(select(func.count()).select_from(Port).where(Port.device_owner == "network:dhcp")) == 1
    # a second network goes to the least loaded network host (the only one here)
    assert hostplan.dhcp_host(db) == "n"
    # the order: segments, then dnsmasq, then ports
    assert [m for m, _, _ in modules(hostplan.tasks(res(), state))] == ["network", "network", "dhcp"]


def test_dhcp_goes_away_with_the_last_dhcp_subnet(db):
    net = network(db)
    hostplan.converge(db, networks=[net])
    subnet = db.scalars(select(Subnet).where(Subnet.network_id == net.id)).one()
    subnet.enable_dhcp = False
    db.flush()
    state = hostplan.converge(db, networks=[net])
    entry = state["networks"][net.id]
    assert entry["dhcp"] == {"host": "n", "state": "absent"}
    assert entry["hosts"] == {"n": "absent"}  # the DHCP port was its only port there
    assert db.scalar(select(func.count()).select_from(Port)) == 0
    assert db.scalar(select(func.count()).select_from(IPAllocation)) == 0
    assert modules(hostplan.tasks(res(), state)) == [("dhcp", "absent", "n"), ("network", "absent", "n")]


def test_without_a_network_host_records_are_made_and_no_dhcp_is_planned(db):
    db.get(Host, "n").enabled = False
    db.flush()
    net = network(db)
    state = hostplan.converge(db, networks=[net])
    assert state["networks"][net.id]["dhcp"] is None and state["networks"][net.id]["hosts"] == {}
    assert hostplan.tasks(res(), state) == []
    assert hostplan.network_hosts(db) == []
    assert db.scalar(select(func.count()).select_from(Port)) == 0


def test_flat_and_vlan_use_the_hosts_physnet_mapping(db):
    flat = network(db, type_="flat", vni=None, physnet="ext", dhcp=False)
    port(db, flat, "a")
    port(db, flat, "n")
    tasks = hostplan.tasks(res(), hostplan.converge(db, networks=[flat]))
    assert segment_args(tasks, "a")["physical_interface"] == "eth1"  # a mapping
    assert segment_args(tasks, "n")["physical_interface"] == "br-ex"  # Neutron's "physnet:iface"
    vlan = network(db, type_="vlan", vni=100, physnet="ext", dhcp=False, cidr="10.2.0.0/24")
    port(db, vlan, "a")
    args = segment_args(hostplan.tasks(res(), hostplan.converge(db, networks=[vlan])), "a")
    assert (args["type"], args["segmentation_id"], args["physical_interface"]) == ("vlan", 100, "eth1")


@pytest.mark.parametrize("host,kind,words", [
    ("b", "flat", "Host b maps no interface to physical network 'ext'"),
    ("c", "vxlan", "Host c has no stratus_tunnel_ip in the host registry"),
])
def test_a_host_without_its_registry_vars_is_refused_by_name(db, host, kind, words):
    db.add(Host(name="c", groups=["compute"], vars={}))
    net = network(db, type_=kind, vni=None if kind == "flat" else 5001, physnet="ext", dhcp=False)
    port(db, net, host)
    with pytest.raises(hostplan.HostNotReady) as err:
        hostplan.converge(db, networks=[net])
    assert words in str(err.value) and "stratus host sync" in str(err.value)
    assert err.value.type == "PortBindingFailed"


def test_only_host_limits_the_state_to_one_host(db):
    net = network(db)
    pa = port(db, net, "a", "10.1.0.11")
    port(db, net, "b", "10.1.0.12")
    state = hostplan.converge(db, ports=[pa], only_host="a")
    entry = state["networks"][net.id]
    assert entry["hosts"] == {"a": "present"}
    assert entry["flood"] == ["a", "b", "n"]  # a still floods to every other host
    assert entry["dhcp"] is None  # the DHCP host's work is another job's
    assert hostplan.hosts_of(state) == ["a"]
    assert segment_args(hostplan.tasks(res(), state), "a")["remote_ips"] == ["10.0.0.2", "10.0.0.3"]


def test_a_deleted_network_is_cleaned_from_the_hosts_its_resource_row_kept(db):
    net = network(db)
    db.add(Resource(id=net.id, name="net", type="OS::Neutron::Net", project_id="p"))
    port(db, net, "a", "10.1.0.11")
    hostplan.converge(db, networks=[net])
    assert db.get(Resource, net.id).hosts == ["a", "n"]
    db.execute(Port.__table__.delete())
    db.delete(net)
    db.flush()
    state = hostplan.converge(db, networks=[net.id])
    assert modules(hostplan.tasks(res(), state)) == [
        ("dhcp", "absent", "a"), ("dhcp", "absent", "n"), ("network", "absent", "a"), ("network", "absent", "n")]


def test_submit_queues_one_job_locking_what_it_touches_or_none(db):
    net = network(db, dhcp=False)
    assert hostplan.submit(db, networks=[net]) is None  # no port: nothing runs
    p = port(db, net, "a")
    job = hostplan.submit(db, ports=[p], request_id="req-1")
    assert job.kind == "converge" and job.request_id == "req-1"
    assert set(db.scalars(select(JobResource.resource_id).where(JobResource.job_id == job.id))) == {net.id, p.id}
    (play,) = db.get(Job, job.id).playbook
    assert play["hosts"] == "a"
    assert [t["name"] for t in play["tasks"]] == [f"converge: segment {net.id[:11]} present",
                                                  f"converge: port {p.id[:11]}"]


def test_a_port_whose_binding_failed_is_on_no_host(db):
    net = network(db, dhcp=False)
    p = port(db, net, "nowhere")
    p.binding_vif_type = "binding_failed"
    db.flush()
    state = hostplan.converge(db, ports=[p])
    assert state["ports"] == [] and state["networks"][net.id]["hosts"] == {}


class FakeRouters:
    """router_hosts' contract: a router on n, and one that was on n and is gone."""

    def desired(self, db, rid):
        return {"router_id": rid, "host": "n", "networks": []} if rid == "r-live" else None

    def previous(self, db, rid):
        return {"router_id": rid, "host": "n", "networks": []} if rid == "r-gone" else None

    def tasks(self, res, desired, state="present"):
        return [{"name": f"router {desired['router_id']} {state}", "stratus.cloud.router": {"state": state},
                 "when": f'inventory_hostname == "{desired["host"]}"'}]


class FakeRules:
    """sg_rules' contract: the security group module's arguments, the affected ports."""

    def __init__(self, ports):
        self.ports = ports

    def port_security(self, db, port):
        return {"security_groups": [{"id": "g1", "rules": []}], "remote_groups": {}}

    def affected_ports(self, db, group_ids):
        return self.ports if group_ids == ["g1"] else []


def test_tasks_keep_their_order_across_segments_ports_dhcp_routers_and_groups(db, monkeypatch):
    net = network(db)
    pa = port(db, net, "a", "10.1.0.11")
    first = hostplan.converge(db, ports=[pa])
    pa.binding_host_id = "b"
    db.flush()
    monkeypatch.setattr(hostplan, "router_hosts", FakeRouters())
    monkeypatch.setattr(hostplan, "sg_rules", FakeRules([pa]))
    state = hostplan.converge(db, ports=[pa], routers=["r-live", "r-gone"], security_groups=["g1"],
                              previous=first)
    assert [(r["id"], r["state"]) for r in state["routers"]] == [("r-live", "present"), ("r-gone", "absent")]
    order = modules(hostplan.tasks(res(), state))
    assert order == [
        ("network", "present", "b"), ("network", "present", "n"),         # segments present
        ("security_group", "absent", "a"), ("port", "absent", "a"),       # removed: ports,
        ("router", "absent", "n"),                                        # routers
        ("dhcp", "present", "n"), ("router", "present", "n"),             # present: DHCP, routers,
        ("port", "present", "b"), ("security_group", "present", "b"),     # ports + security
        ("network", "absent", "a"),                                       # segments removed
    ]
    (plugged,) = [p for p in state["ports"] if p["state"] == "present"]
    assert plugged["security"] == {"security_groups": [{"id": "g1", "rules": []}], "remote_groups": {}}
    # a rule change reaches the group's ports: one job, locking the group and its ports
    job = hostplan.submit(db, security_groups=["g1"])
    locked = set(db.scalars(select(JobResource.resource_id).where(JobResource.job_id == job.id)))
    assert locked == {"g1", pa.id}
