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
from pathlib import Path

import pytest
from sqlalchemy import select

from ansible_collections.stratus.cloud.plugins.module_utils.net.bridge import (
    LinuxBridgeNetwork,
    Segment,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.interface import (
    BridgeInterfaceDriver,
    PortSpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import IPWrapper
from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import Nft
from ansible_collections.stratus.cloud.plugins.module_utils.net.port_security import (
    PortSecurity,
    PortSecuritySpec,
)
from stratus.db.models.network import IPAllocation, Network, Port, PortSecurityGroup, Subnet
from stratus.db.session import Database
from stratus.network import sg_rules
from tests.helpers.ansible import run_module
from tests.integration.network.conftest import Namespaces, in_ns

pytestmark = [pytest.mark.api, pytest.mark.network]

TOOL = str(Path(__file__).parents[2] / "integration" / "network" / "nettool.py")
PY = "/usr/bin/python3"
IPS = {"vm": "10.81.0.10", "client": "10.81.0.20", "stranger": "10.81.0.30"}
SG = "/network/v2.0/security-groups"
RULES = "/network/v2.0/security-group-rules"


class Lab:
    """A host namespace with a bridge; one guest namespace per port, plugged with port
    security; the vm guest serves TCP on 22, 8022 and 9001."""

    def __init__(self, spaces: Namespaces, net_id: str, ports: dict[str, str]):
        self.host = spaces("sghost")
        IPWrapper(self.host).sysctl("net.bridge.bridge-nf-call-iptables", 1)
        IPWrapper(self.host).sysctl("net.bridge.bridge-nf-call-ip6tables", 1)
        LinuxBridgeNetwork(IPWrapper(self.host)).ensure_present(Segment(net_id, "local"))
        self.guests, self.server = {}, None
        for i, (g, port_id) in enumerate(ports.items(), start=1):
            ns = self.guests[g] = spaces(g)
            mac = f"fa:16:3e:00:81:0{i}"
            BridgeInterfaceDriver(IPWrapper(self.host)).ensure_present(
                PortSpec(port_id, net_id, "namespace", mac, [f"{IPS[g]}/24"], netns=ns))
            PortSecurity(Nft(namespace=self.host)).ensure_present(
                PortSecuritySpec("tap" + port_id[:11], mac, [IPS[g]]))
        self.server = subprocess.Popen(["ip", "netns", "exec", self.guests["vm"], PY, TOOL, "serve", "22",
                                        "8022", "9001"], stdout=subprocess.PIPE, text=True)
        assert self.server.stdout.readline().strip() == "ready"

    def tcp(self, src: str, port: int) -> bool:
        return in_ns(self.guests[src], PY, TOOL, "tcp", IPS["vm"], str(port), check=False).returncode == 0

    def close(self):
        if self.server:
            self.server.kill()
            self.server.wait()


def _records(database_url: str, project_id: str, groups: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A network, subnet and one port per guest in the controller's DB; the vm's port in
    the group ``groups['vm']``, the others in theirs."""
    db_ = Database(database_url)
    try:
        with db_.session() as db:
            net = Network(id=str(uuid.uuid4()), project_id=project_id, name="sg-host", network_type="local")
            db.add(net)
            db.flush()
            sub = Subnet(id=str(uuid.uuid4()), project_id=project_id, network_id=net.id, ip_version=4,
                         cidr="10.81.0.0/24")
            db.add(sub)
            db.flush()
            ports = {}
            for i, g in enumerate(IPS, start=1):
                port = Port(id=str(uuid.uuid4()), project_id=project_id, network_id=net.id,
                            mac_address=f"fa:16:3e:00:81:0{i}", binding_host_id="localhost")
                db.add(port)
                db.flush()
                db.add(IPAllocation(network_id=net.id, subnet_id=sub.id, port_id=port.id, ip_address=IPS[g]))
                db.add(PortSecurityGroup(port_id=port.id, security_group_id=groups[g]))
                ports[g] = port.id
            return net.id, ports
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

    default = c.request("GET", SG, token=token).json()["security_groups"][0]
    web = post(SG, "security_group", {"name": "web"})
    other = post(SG, "security_group", {"name": "other"})
    ssh = post(RULES, "security_group_rule", {"security_group_id": web["id"], "direction": "ingress",
                                              "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
                                              "remote_ip_prefix": "0.0.0.0/0"})
    post(RULES, "security_group_rule", {"security_group_id": web["id"], "direction": "ingress",
                                        "protocol": "tcp", "port_range_min": 9001, "port_range_max": 9001,
                                        "remote_group_id": default["id"]})
    net_id, ports = _records(c.database_url, creds.project_id,
                             {"vm": web["id"], "client": default["id"], "stranger": other["id"]})

    def apply(**kw):
        args = {"port_id": ports["vm"], "namespace": lab.host, **_port_security(c.database_url, ports["vm"])}
        res = run_module("security_group", args, **kw)
        assert not res.failed, res
        return res

    spaces = Namespaces()
    lab = None
    try:
        lab = Lab(spaces, net_id, ports)
        for g in ("client", "stranger"):  # their own groups: egress anywhere
            sec = _port_security(c.database_url, ports[g])
            assert not run_module("security_group", {"port_id": ports[g], "namespace": lab.host, **sec}).failed
        first = apply()
        assert first.changed
        assert lab.tcp("client", 22) and lab.tcp("stranger", 22)      # TCP/22 from anywhere
        assert not lab.tcp("client", 8022)                              # another port: dropped
        assert lab.tcp("client", 9001) and not lab.tcp("stranger", 9001)  # remote group: members only
        assert not apply().changed  # the same records: nothing to do on the host

        # a rule change through the API reaches the port's nft rules
        post(RULES, "security_group_rule", {"security_group_id": web["id"], "direction": "ingress",
                                            "protocol": "tcp", "port_range_min": 8022, "port_range_max": 8022})
        r = c.request("DELETE", f"{RULES}/{ssh['id']}", token=token)
        assert r.status_code == 204, r.text
        changed = apply()
        assert changed.changed
        ingress = " ".join(changed["rules"]["ingress"])
        assert "8022" in ingress and "dport 22 " not in ingress + " "
        assert lab.tcp("client", 8022) and not lab.tcp("client", 22)
        nft = in_ns(lab.host, "nft", "list", "chain", "inet", "stratus_sg", "g-tap" + ports["vm"][:11]).stdout
        assert "8022" in nft
    finally:
        if lab:
            lab.close()
        spaces.cleanup()
    assert not [n for n in IPWrapper().netns.list() if n.endswith(spaces.tag)]
