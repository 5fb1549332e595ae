"""Security groups made through the API reach a port on a host: the rules the controller
computes for the port (``sg_rules.port_security``) applied by the real
``security_group`` module in a 'host' namespace, with real TCP between 'guest'
namespaces bridged there.

Groups and rules are made through the API; the port records (network, subnet, port,
fixed IP, group membership) are written in the controller's database, as the ports API
writes them (that API and the converge job belong to other parts of the service).
"""

from __future__ import annotations

import subprocess
import uuid

import pytest
from sqlalchemy import select

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import IPWrapper
from stratus.db.models.network import IPAllocation, Network, Port, PortSecurityGroup, Subnet
from stratus.db.session import Database
from stratus.network import sg_rules
from tests.integration.network.conftest import Namespaces, in_ns
from tests.integration.network.test_security_group import IPS, PY, TOOL, Lab

pytestmark = [pytest.mark.api, pytest.mark.network]

SG = "/network/v2.0/security-groups"
RULES = "/network/v2.0/security-group-rules"
ROLES = {"vm": "g1", "client": "g2", "stranger": "g3"}  # the lab's guests (10.80.0.1-3)


def _records(database_url: str, project_id: str, lab: Lab, groups: dict[str, str]) -> None:
    """The lab's network, subnet and ports in the controller's DB (ids, MACs and
    addresses as plugged), each port in the group ``groups[role]``."""
    db_ = Database(database_url)
    try:
        with db_.session() as db:
            db.add(Network(id=lab.net, project_id=project_id, name="sg-host", network_type="local"))
            db.flush()
            sub = Subnet(id=str(uuid.uuid4()), project_id=project_id, network_id=lab.net, ip_version=4,
                         cidr="10.80.0.0/24")
            db.add(sub)
            db.flush()
            for role, g in ROLES.items():
                db.add(Port(id=lab.ports[g], project_id=project_id, network_id=lab.net,
                            mac_address=lab.macs[g], binding_host_id="localhost"))
                db.flush()
                db.add(IPAllocation(network_id=lab.net, subnet_id=sub.id, port_id=lab.ports[g], ip_address=IPS[g]))
                db.add(PortSecurityGroup(port_id=lab.ports[g], security_group_id=groups[role]))
    finally:
        db_.dispose()


def _port_security(database_url: str, port_id: str) -> dict:
    db_ = Database(database_url)
    try:
        with db_.session() as db:
            return sg_rules.port_security(db, db.scalar(select(Port).where(Port.id == port_id)))
    finally:
        db_.dispose()


def test_rules_from_the_api_filter_real_traffic(sqlite_controller):
    c = sqlite_controller
    creds = c.new_project_user("member", prefix="sghost")
    token = c.token(creds)

    def post(path, key, body):
        r = c.request("POST", path, token=token, json={key: body})
        assert r.status_code == 201, r.text
        return r.json()[key]

    def tcp_rule(port, **remote):
        return post(RULES, "security_group_rule", {"security_group_id": web["id"], "direction": "ingress",
                                                   "protocol": "tcp", "port_range_min": port,
                                                   "port_range_max": port, **remote})

    default = c.request("GET", SG, token=token).json()["security_groups"][0]
    web = post(SG, "security_group", {"name": "web"})
    other = post(SG, "security_group", {"name": "other"})
    ssh = tcp_rule(22, remote_ip_prefix="0.0.0.0/0")
    tcp_rule(9001, remote_group_id=default["id"])

    def apply(role):
        g = ROLES[role]
        sec = _port_security(c.database_url, lab.ports[g])
        res = lab.apply(g, sec["security_groups"], sec["remote_groups"])
        assert not res.failed, res
        return res

    spaces = Namespaces()
    lab = None
    try:
        lab = Lab(spaces)  # guests g1-g3 plugged with port security, echo servers on 8001, 8002, 9001
        ssh_server = subprocess.Popen(["ip", "netns", "exec", lab.guests["g1"], PY, TOOL, "serve", "22"],
                                      stdout=subprocess.PIPE, text=True)
        lab.servers.append(ssh_server)
        assert ssh_server.stdout.readline().strip() == "ready"
        _records(c.database_url, creds.project_id, lab,
                 {"vm": web["id"], "client": default["id"], "stranger": other["id"]})
        for role in ("client", "stranger"):  # their own groups: egress anywhere
            apply(role)
        assert apply("vm").changed
        assert lab.tcp("g2", "g1", 22) and lab.tcp("g3", "g1", 22)      # TCP/22 from anywhere
        assert not lab.tcp("g2", "g1", 8002)                             # another port: dropped
        assert lab.tcp("g2", "g1", 9001) and not lab.tcp("g3", "g1", 9001)  # remote group: members only
        assert not apply("vm").changed  # the same records: nothing to do on the host

        # a rule change through the API reaches the port's nft rules
        tcp_rule(8002)
        r = c.request("DELETE", f"{RULES}/{ssh['id']}", token=token)
        assert r.status_code == 204, r.text
        changed = apply("vm")
        assert changed.changed
        ingress = " ".join(changed["rules"]["ingress"]) + " "
        assert "dport 8002 " in ingress and "dport 22 " not in ingress
        assert lab.tcp("g2", "g1", 8002) and not lab.tcp("g2", "g1", 22)
        chain = in_ns(lab.host, "nft", "list", "chain", "inet", "stratus_sg", "g-tap" + lab.ports["g1"][:11])
        assert "8002" in chain.stdout
    finally:
        if lab:
            lab.close()
        spaces.cleanup()
    assert not [n for n in IPWrapper().netns.list() if n.endswith(spaces.tag)]
