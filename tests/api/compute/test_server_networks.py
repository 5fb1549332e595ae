"""Servers on tenant networks through the compute API, on a controller whose one
compute and network host is this machine (libvirt QEMU/TCG, bridges, dnsmasq in a
``qdhcp-`` namespace, nftables).

ONE server is booted (a module fixture) on a network with a DHCP subnet; the tests read
it in turn: its console shows the address its port holds, ``server show`` its
``addresses``, ``server add port`` / ``remove port`` change the guest's NICs (its domain
XML), ``server add/remove security group`` change its port's groups and nft rules, and
its delete removes the port it made and the tap. Refusals (another project's network, a
port in use, a fixed IP taken) answer as Nova does and leave nothing behind.

Networks, subnets, ports and groups are made with the `openstack` CLI; everything on
the host is made by the server's jobs and the network service's converge jobs, and is
gone once the network is deleted."""

from __future__ import annotations

import random
import subprocess
import time
import uuid

import pytest
import yaml
from sqlalchemy import func, select

from stratus.db.models.compute import Server
from stratus.db.models.network import (
    IPAllocation,
    Port,
    PortSecurityGroup,
)
from stratus.db.session import Database
from tests.api.compute.servers_helpers import Nova
from tests.api.conftest import _Factory
from tests.integration.compute.actions_guest import cleanup, remove_images

pytestmark = [pytest.mark.api, pytest.mark.compute, pytest.mark.network, pytest.mark.slow]
CIDR, GATEWAY = "10.231.7.0/24", "10.231.7.1"


def sh(*argv: str, check: bool = False) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=check).stdout


def link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def remove_host_objects(net_id: str, vni: int | None) -> None:
    """What the network leaves on this host when the test fails half way."""
    if vni is not None:
        subprocess.run(["ip", "link", "del", f"vxlan-{vni}"], capture_output=True)
    ns = f"qdhcp-{net_id}"
    for pid in sh("ip", "netns", "pids", ns).split():
        subprocess.run(["kill", pid], capture_output=True)
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    subprocess.run(["ip", "link", "del", "brq" + net_id[:11]], capture_output=True)


class Cloud:
    """The controller, its DB, a project member and the network records."""

    def __init__(self, ctl, creds, other) -> None:
        self.ctl, self.creds, self.other = ctl, creds, other
        self.db = Database(ctl.database_url)
        self.conn = ctl.conn(creds)
        self.nova = Nova(ctl, creds, version="2.79")
        self.project_id = self.conn.current_project_id

    def add_network(self, creds, name: str, cidr: str, *, dhcp: bool = True) -> tuple[str, str]:
        net = self.ctl.cli("network", "create", name, "-f", "json", creds=creds)
        sub = self.ctl.cli("subnet", "create", f"{name}-v4", "--network", net["id"], "--subnet-range", cidr,
                           "--dhcp" if dhcp else "--no-dhcp", "-f", "json", creds=creds)
        return net["id"], sub["id"]

    def add_port(self, net_id: str, *args: str) -> str:
        return self.ctl.cli("port", "create", "--network", net_id, *args, f"p-{uuid.uuid4().hex[:6]}",
                            "-f", "json", creds=self.creds)["id"]

    def ports(self, **where) -> list[Port]:
        with self.db.session() as s:
            stmt = select(Port)
            for k, v in where.items():
                stmt = stmt.where(getattr(Port, k) == v)
            rows = list(s.scalars(stmt))
            s.expunge_all()
            return rows

    def count(self, model) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(model))

    def port_ips(self, port_id: str) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(IPAllocation.ip_address).where(IPAllocation.port_id == port_id)))

    def port_groups(self, port_id: str) -> set[str]:
        with self.db.session() as s:
            return set(s.scalars(select(PortSecurityGroup.security_group_id)
                                 .where(PortSecurityGroup.port_id == port_id)))

    def wait(self, sid: str, wanted: str, timeout: float = 400) -> dict:
        deadline = time.monotonic() + timeout
        got: dict = {}
        while time.monotonic() < deadline:
            r = self.nova("GET", f"/servers/{sid}")
            if r.status_code == 404 and wanted == "gone":
                return {}
            got = r.json()["server"]
            if got["status"] == wanted:
                return got
            assert got["status"] != "ERROR", got
            time.sleep(1)
        raise AssertionError(f"server {sid} not {wanted} after {timeout}s: {got}")

    def jobs_settle(self, timeout: float = 300) -> None:
        """Every job of the controller finished (converge jobs follow a server's)."""
        from stratus.db.models.jobs import Job

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.session() as s:
                busy = list(s.scalars(select(Job).where(Job.status.in_(("QUEUED", "RUNNING")))))
                failed = [(j.kind, j.status_reason) for j in s.scalars(select(Job).where(Job.status == "FAILED"))]
            assert not failed, failed
            if not busy:
                return
            time.sleep(1)
        raise AssertionError("jobs still running")


@pytest.fixture(scope="module")
def cloud(request, tmp_path_factory, guest_image, libvirt_daemon):
    factory = _Factory(request, tmp_path_factory.mktemp("servernets"))
    # VNIs of their own: other controllers on this machine start at 1001 too
    first = random.randrange(100_000, 16_000_000)
    ctl = factory("sqlite", network_vni_ranges=[f"{first}:{first + 20}"])
    host = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
            "stratus_tunnel_ip": "127.0.0.1"}
    inv = {"all": {"children": {g: {"hosts": {"localhost": dict(host)}} for g in ("compute", "network")}}}
    path = ctl.workdir / "inventory.yml"
    path.write_text(yaml.safe_dump(inv))
    ctl.stratus("host", "sync", "-i", str(path))
    ctl.stratus("host", "refresh")
    tag = uuid.uuid4().hex[:6]
    image = ctl.cli("image", "create", f"tiny-{tag}", "--public", "--disk-format", "qcow2",
                    "--container-format", "bare", "--file", guest_image["qcow2"], "-f", "json")
    ctl.cli("flavor", "create", f"nets.small-{tag}", "--vcpus", "1", "--ram", "128", "--disk", "1")
    c = Cloud(ctl, ctl.new_project_user("member", prefix="nets"), ctl.new_project_user("member", prefix="other"))
    c.image_id, c.flavor, c.tag = image["id"], f"nets.small-{tag}", tag
    c.net_id, c.subnet_id = c.add_network(c.creds, f"tenant-{tag}", CIDR)
    vni = c.ctl.cli("network", "show", c.net_id, "-f", "json")["provider:segmentation_id"]
    yield c
    remove_images(image["id"])
    remove_host_objects(c.net_id, vni)
    c.db.dispose()
    factory.close()


@pytest.fixture(scope="module")
def booted(cloud, request):
    """The one server: booted on the tenant network with `openstack server create --network`."""
    got = cloud.ctl.cli("server", "create", f"vm-{cloud.tag}", "--image", cloud.image_id, "--flavor",
                        cloud.flavor, "--network", cloud.net_id, "--wait", "-f", "json", creds=cloud.creds)
    request.addfinalizer(lambda: cleanup(got["id"]))
    assert got["status"] == "ACTIVE", got
    cloud.jobs_settle()
    return got["id"]


def wait_console(cloud: Cloud, sid: str, text: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = cloud.conn.compute.get_server_console_output(sid)["output"]
        if text in out:
            return out
        time.sleep(3)
    raise AssertionError(f"{text!r} not on the console of {sid} after {timeout}s:\n{out[-2000:]}")


def domain_macs(sid: str) -> list[str]:
    xml = sh("virsh", "-c", "qemu:///system", "dumpxml", f"instance-{sid}")
    import xml.etree.ElementTree as ET

    return [m.get("address") for m in ET.fromstring(xml).findall("./devices/interface/mac")]


# -- refusals (no guest) ------------------------------------------------------------------


def test_refusals_answer_as_nova_and_leave_nothing(cloud):
    # no DHCP: a network without ports or DHCP is on no host, and none is left behind
    theirs, _ = cloud.add_network(cloud.other, f"theirs-{cloud.tag}", "10.231.8.0/24", dhcp=False)
    used = cloud.add_port(cloud.net_id, "--device", str(uuid.uuid4()), "--device-owner", "compute:nova")
    taken = cloud.add_port(cloud.net_id)
    taken_ip = cloud.port_ips(taken)[0]
    before = (cloud.count(Port), cloud.count(IPAllocation), cloud.count(Server))
    base = {"name": "refused", "imageRef": cloud.image_id, "flavorRef": cloud.flavor}
    cases = [
        ({"networks": [{"uuid": theirs}]}, 400, f"Network {theirs} could not be found."),
        ({"networks": [{"port": used}]}, 409, f"Port {used} is still in use."),
        ({"networks": [{"uuid": cloud.net_id, "fixed_ip": taken_ip}]}, 400,
         f"Fixed IP address {taken_ip} is already in use"),
        ({"networks": [{"uuid": cloud.net_id, "fixed_ip": "10.99.0.5"}]}, 400, "is not valid on network"),
        ({"networks": [{"port": taken, "fixed_ip": taken_ip}]}, 400, "cannot be specified together"),
        ({"networks": [{"uuid": "not-a-uuid"}]}, 400, "network uuid is not in proper format"),
        ({"networks": [{"port": used}], "max_count": 2}, 400, "single configured port ID"),
        ({"networks": [{"uuid": cloud.net_id}], "security_groups": [{"name": "nope"}]}, 400,
         "Security group nope not found."),
    ]
    for extra, status, words in cases:
        r = cloud.nova("POST", "/servers", json={"server": {**base, **extra}})
        assert r.status_code == status, (extra, r.text)
        fault = next(iter(r.json().values()))
        assert words in fault["message"], (extra, fault)
    assert (cloud.count(Port), cloud.count(IPAllocation), cloud.count(Server)) == before
    with cloud.db.session() as s:  # the given port is untouched
        assert s.get(Port, used).binding_host_id == "" and s.get(Port, taken).device_id == ""


# -- the booted server --------------------------------------------------------------------


def test_the_guest_gets_the_dhcp_address_its_port_holds(cloud, booted):
    (port,) = cloud.ports(device_id=booted)
    (ip,) = cloud.port_ips(port.id)
    assert port.device_owner == "compute:nova" and port.binding_host_id == "localhost"
    assert port.status == "ACTIVE" and port.binding_vif_type == "bridge"
    # udhcpc keeps asking in the background when the first tries go unanswered
    wait_console(cloud, booted, f"STRATUS-GUEST dhcp=eth0 {ip}/24")
    assert port.mac_address in domain_macs(booted)
    tap = "tap" + port.id[:11]
    assert f"master brq{cloud.net_id[:11]}" in sh("ip", "-o", "link", "show", tap)

    shown = cloud.ctl.cli("server", "show", booted, "-f", "json", creds=cloud.creds)
    addresses = shown["addresses"]
    assert addresses == {f"tenant-{cloud.tag}": [ip]}, addresses
    server = cloud.nova("GET", f"/servers/{booted}").json()["server"]
    assert server["addresses"] == {f"tenant-{cloud.tag}": [
        {"version": 4, "addr": ip, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port.mac_address}]}
    listed = cloud.nova("GET", f"/servers/{booted}/os-interface").json()["interfaceAttachments"]
    assert listed == [{"port_state": "ACTIVE", "port_id": port.id, "net_id": cloud.net_id,
                       "mac_addr": port.mac_address,
                       "fixed_ips": [{"subnet_id": cloud.subnet_id, "ip_address": ip}]}]
    assert cloud.nova("GET", f"/servers/{booted}/os-interface/{uuid.uuid4()}").status_code == 404


def test_server_add_and_remove_port_change_the_guests_nics(cloud, booted):
    extra = cloud.add_port(cloud.net_id)
    (mine,) = cloud.ports(device_id=booted)
    cloud.ctl.cli("server", "add", "port", booted, extra, creds=cloud.creds)
    cloud.jobs_settle()
    (row,) = cloud.ports(id=extra)
    assert (row.device_id, row.binding_host_id, row.status) == (booted, "localhost", "ACTIVE")
    assert domain_macs(booted) == [mine.mac_address, row.mac_address]
    assert link_exists("tap" + extra[:11])
    shown = cloud.nova("GET", f"/servers/{booted}").json()["server"]["addresses"][f"tenant-{cloud.tag}"]
    assert [a["OS-EXT-IPS-MAC:mac_addr"] for a in shown] == [mine.mac_address, row.mac_address]

    cloud.ctl.cli("server", "remove", "port", booted, extra, creds=cloud.creds)
    cloud.jobs_settle()
    (row,) = cloud.ports(id=extra)  # a port it was given is let go, not deleted
    assert (row.device_id, row.binding_host_id, row.status) == ("", "", "DOWN")
    assert domain_macs(booted) == [mine.mac_address]
    assert not link_exists("tap" + extra[:11])


def test_server_add_and_remove_security_group_change_the_ports_rules(cloud, booted):
    (port,) = cloud.ports(device_id=booted)
    group_id = cloud.ctl.cli("security", "group", "create", f"web-{cloud.tag}", "-f", "json", creds=cloud.creds)["id"]
    cloud.ctl.cli("security", "group", "rule", "create", group_id, "--protocol", "tcp", "--dst-port", "2222",
                  "--remote-ip", "0.0.0.0/0", creds=cloud.creds)
    assert "2222" not in sh("nft", "list", "table", "inet", "stratus_sg")
    cloud.ctl.cli("server", "add", "security", "group", booted, f"web-{cloud.tag}", creds=cloud.creds)
    cloud.jobs_settle()
    assert group_id in cloud.port_groups(port.id)
    assert "2222" in sh("nft", "list", "table", "inet", "stratus_sg")
    listed = cloud.nova("GET", f"/servers/{booted}/os-security-groups").json()["security_groups"]
    assert {g["name"] for g in listed} == {"default", f"web-{cloud.tag}"}

    cloud.ctl.cli("server", "remove", "security", "group", booted, f"web-{cloud.tag}", creds=cloud.creds)
    cloud.jobs_settle()
    assert group_id not in cloud.port_groups(port.id)
    assert "2222" not in sh("nft", "list", "table", "inet", "stratus_sg")
    r = cloud.nova("POST", f"/servers/{booted}/action", json={"removeSecurityGroup": {"name": f"web-{cloud.tag}"}})
    assert r.status_code == 400 and "not associated" in r.text


def test_deleting_the_server_deletes_the_port_it_made_and_its_tap(cloud, booted):
    (port,) = cloud.ports(device_id=booted)
    tap = "tap" + port.id[:11]
    assert link_exists(tap)
    cloud.ctl.cli("server", "delete", "--wait", booted, creds=cloud.creds)
    cloud.jobs_settle()
    assert cloud.ports(id=port.id) == [] and cloud.port_ips(port.id) == []
    assert not link_exists(tap)
    assert f"instance-{booted}" not in sh("virsh", "-c", "qemu:///system", "list", "--all", "--name")
    assert tap not in sh("nft", "list", "ruleset")


def test_deleting_the_network_leaves_nothing_on_the_host(cloud):
    """Last: with the server gone, the subnet and network deleted leave no bridge,
    namespace or dnsmasq behind."""
    for port in cloud.ports(network_id=cloud.net_id):
        if not port.device_owner.startswith("network:"):
            cloud.ctl.cli("port", "delete", port.id, creds=cloud.creds)
    cloud.ctl.cli("subnet", "delete", cloud.subnet_id, creds=cloud.creds)
    cloud.ctl.cli("network", "delete", cloud.net_id, creds=cloud.creds)
    cloud.jobs_settle()
    assert not link_exists("brq" + cloud.net_id[:11])
    assert f"qdhcp-{cloud.net_id}" not in sh("ip", "netns", "list")
    assert cloud.net_id not in sh("ps", "-eo", "args")
