"""A server on a tenant network behind a router with a floating IP, through the
`openstack` CLI, as a cloud's users build it (issue 12's evidence).

This machine is the cloud's one host (compute + network; its guests under a libvirtd of
the test's own, tests/helpers/libvirt_node.py). Its physical network
``ext<tag>`` is a veth whose far end is the "external" world: a namespace holding the
external subnet's gateway. The admin makes the external flat network and its subnet; a
project member makes a network and subnet (DHCP), a router with its gateway on the
external network and an interface on the subnet, a security group allowing ICMP and
TCP/22, and boots the tiny guest there. Then:

- the guest's console shows the address it leased from the network's DHCP, the one its
  port holds, and ``server show`` lists it;
- the guest reaches the external world through the router (SNAT);
- a floating IP associated with the server answers ping from the external namespace,
  and a TCP server on port 22 in the guest answers there while one on another port does
  not (the security group);
- disassociated, the floating IP answers no more;
- everything deleted in reverse order leaves no bridge, namespace, tap, VXLAN device,
  nft rule or dnsmasq of it on the host.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import re
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.api.compute.servers_helpers import add_flavors
from tests.api.conftest import controller_factory  # noqa: F401 - a fixture
from tests.e2e.network_world import (
    GUEST_READY,
    ExternalWorld,
    leftovers,
    network_cloud,
    pings,
    tcp_banner,
    wait_none_left,
    wait_until,
)
from tests.helpers.guest_console import GuestConsole
from tests.helpers.libvirt_node import libvirt_node1  # noqa: F401 - fixture
from tests.integration.compute.actions_guest import cleanup, remove_images

pytestmark = [pytest.mark.api, pytest.mark.network, pytest.mark.compute, pytest.mark.e2e, pytest.mark.slow]

EXTERNAL_CIDR = "203.0.113.0/24"  # TEST-NET-3: only inside the external namespace
EXTERNAL_GATEWAY = "203.0.113.1"


@pytest.fixture
def world(request):
    ext = ExternalWorld(f"{EXTERNAL_GATEWAY}/24")
    request.addfinalizer(ext.close)
    return ext


def test_a_server_behind_a_router_answers_on_its_floating_ip(controller_factory, guest_image, tmp_path,  # noqa: F811
                                                             world, libvirt_node1, request):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    physnet = f"ext{tag}"
    cloud = network_cloud(controller_factory, tmp_path, {"localhost": {
        "ansible_python_interpreter": "/usr/bin/python3",
        "stratus_libvirt_uri": libvirt_node1.uri,  # a libvirtd of the test's own
        "stratus_tunnel_ip": "127.0.0.1",
        "stratus_physical_interface_mappings": {physnet: world.interface}}})
    add_flavors(cloud)
    member = cloud.new_project_user("member", prefix="netj")
    made: dict[str, list[str]] = {"networks": [], "ports": [], "routers": [], "servers": []}
    request.addfinalizer(lambda: _remove_everything(cloud, made))

    def cli(*args, creds=member):
        return cloud.cli(*args, creds=creds)

    # --- the admin: the image and the external network --------------------------------
    image = cloud.cli("image", "create", f"tiny-{tag}", "--public", "--disk-format", "qcow2",
                      "--container-format", "bare", "--file", guest_image["qcow2"], "-f", "json")
    request.addfinalizer(lambda: remove_images(image["id"]))
    ext = cloud.cli("network", "create", f"ext-{tag}", "--external", "--provider-network-type", "flat",
                    "--provider-physical-network", physnet, "-f", "json")
    made["networks"].append(ext["id"])
    assert ext["router:external"] is True and ext["provider:network_type"] == "flat"
    assert ext["provider:physical_network"] == physnet and ext["status"] == "ACTIVE"
    ext_sub = cloud.cli("subnet", "create", f"ext-sub-{tag}", "--network", ext["id"], "--subnet-range",
                        EXTERNAL_CIDR, "--gateway", EXTERNAL_GATEWAY, "--no-dhcp", "--allocation-pool",
                        "start=203.0.113.100,end=203.0.113.150", "-f", "json")
    assert ext_sub["enable_dhcp"] is False and ext_sub["gateway_ip"] == EXTERNAL_GATEWAY

    # --- the member: network, subnet, router, security group -------------------------
    net = cli("network", "create", f"net-{tag}", "-f", "json")
    made["networks"].append(net["id"])
    assert net["status"] == "ACTIVE" and net["router:external"] is False
    cidr = f"10.{random.randint(100, 199)}.{random.randint(0, 255)}.0/24"
    sub = cli("subnet", "create", f"sub-{tag}", "--network", net["id"], "--subnet-range", cidr, "-f", "json")
    gateway = str(ipaddress.ip_network(cidr)[1])
    assert sub["enable_dhcp"] is True and sub["gateway_ip"] == gateway
    vni = cloud.cli("network", "show", net["id"], "-f", "json")["provider:segmentation_id"]  # admin's view

    router = cli("router", "create", f"r-{tag}", "-f", "json")
    made["routers"].append(router["id"])
    cli("router", "set", router["id"], "--external-gateway", ext["id"])
    cli("router", "add", "subnet", router["id"], sub["id"])
    router = cli("router", "show", router["id"], "-f", "json")
    (gw_ip,) = [ip["ip_address"] for ip in router["external_gateway_info"]["external_fixed_ips"]]
    assert ipaddress.ip_address(gw_ip) in ipaddress.ip_network(EXTERNAL_CIDR)
    interfaces = cli("port", "list", "--router", router["id"], "-f", "json")
    assert any(ip["ip_address"] == gateway for p in interfaces for ip in p["Fixed IP Addresses"]), interfaces

    sg = cli("security", "group", "create", f"sg-{tag}", "-f", "json")
    icmp = cli("security", "group", "rule", "create", sg["id"], "--protocol", "icmp", "-f", "json")
    ssh = cli("security", "group", "rule", "create", sg["id"], "--protocol", "tcp", "--dst-port", "22",
              "--remote-ip", "0.0.0.0/0", "-f", "json")
    assert icmp["direction"] == ssh["direction"] == "ingress"
    assert (ssh["port_range_min"], ssh["port_range_max"], ssh["protocol"]) == (22, 22, "tcp")

    # --- the server ------------------------------------------------------------------
    server = cli("server", "create", f"j-{tag}", "--image", image["id"], "--flavor", "m1.nano",
                 "--network", net["id"], "--security-group", sg["name"], "--wait", "-f", "json")
    sid = server["id"]
    made["servers"].append(sid)
    request.addfinalizer(lambda: cleanup(sid, libvirt_node1.uri))
    assert server["status"] == "ACTIVE"
    (port,) = cli("port", "list", "--server", sid, "-f", "json")
    made["ports"].append(port["ID"])
    (fixed,) = [ip["ip_address"] for ip in port["Fixed IP Addresses"]]
    assert ipaddress.ip_address(fixed) in ipaddress.ip_network(cidr)
    port = cli("port", "show", port["ID"], "-f", "json")
    assert port["device_owner"].startswith("compute:") and port["device_id"] == sid
    assert port["security_group_ids"] == [sg["id"]]
    wait_until("the server's port ACTIVE",
               lambda: cli("port", "show", port["id"], "-f", "json")["status"] == "ACTIVE")

    # the guest's console: the address it leased from the network's DHCP is its port's
    wait_until("the DHCP address on the guest's console",
               lambda: re.search(rf"STRATUS-GUEST dhcp=eth0 {re.escape(fixed)}/24",
                                 cli("console", "log", "show", sid) or ""), timeout=300, every=3)
    shown = cli("server", "show", sid, "-f", "json")
    assert fixed in str(shown["addresses"]) and f"net-{tag}" in str(shown["addresses"])

    with GuestConsole(f"instance-{sid}", libvirt_node1.uri) as con:
        con.wait_for(GUEST_READY, timeout=240)
        rc, out = con.run("ip -4 route show default", timeout=30)  # DHCP handed the router
        assert rc == 0 and f"default via {gateway}" in out, out
        rc, out = con.run(f"ping -c 1 -W 3 {EXTERNAL_GATEWAY}", timeout=30)  # out through SNAT
        assert rc == 0, out
        for port_number, text in ((22, "STRATUS-SSH"), (2222, "STRATUS-OTHER")):
            script = f"/tmp/banner{port_number}"
            rc, out = con.run(f"echo '#!/bin/sh' > {script}; echo 'echo {text}' >> {script}; "
                              f"chmod +x {script}; (nc -ll -p {port_number} -e {script} >/dev/null 2>&1 &)")
            assert rc == 0, out

    # --- the floating IP -------------------------------------------------------------
    fip = cli("floating", "ip", "create", ext["id"], "-f", "json")
    address = fip["floating_ip_address"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(EXTERNAL_CIDR)
    assert fip["status"] == "DOWN" and fip["port_id"] is None
    cli("server", "add", "floating", "ip", sid, address)
    wait_until("the floating IP ACTIVE",
               lambda: cli("floating", "ip", "show", fip["id"], "-f", "json")["status"] == "ACTIVE")
    shown = cli("floating", "ip", "show", fip["id"], "-f", "json")
    assert (shown["port_id"], shown["fixed_ip_address"]) == (port["id"], fixed)
    wait_until(f"{address} answering ping from the external namespace",
               lambda: pings(world.ns, address), timeout=120)
    assert tcp_banner(world.ns, address, 22) == "STRATUS-SSH"  # allowed: TCP/22
    assert tcp_banner(world.ns, address, 2222) == ""  # not allowed: the group drops it
    assert address in str(cli("server", "show", sid, "-f", "json")["addresses"])

    cli("server", "remove", "floating", "ip", sid, address)
    wait_until("the floating IP DOWN",
               lambda: cli("floating", "ip", "show", fip["id"], "-f", "json")["status"] == "DOWN")
    wait_until(f"{address} silent once disassociated", lambda: not pings(world.ns, address), timeout=60)

    # --- everything deleted, in reverse ---------------------------------------------
    cli("floating", "ip", "delete", fip["id"])
    cli("server", "delete", "--wait", sid)
    assert not list(cloud.conn(member).network.ports(device_id=sid))  # the port Nova made went with it
    cli("router", "remove", "subnet", router["id"], sub["id"])
    cli("router", "unset", "--external-gateway", router["id"])
    cli("router", "delete", router["id"])
    cli("subnet", "delete", sub["id"])
    cli("network", "delete", net["id"])
    cli("security", "group", "delete", sg["id"])
    cloud.cli("subnet", "delete", ext_sub["id"])
    cloud.cli("network", "delete", ext["id"])
    assert not [n for n in cloud.cli("network", "list", "-f", "json") if n["ID"] in made["networks"]]
    wait_none_left("the journey's objects on the host", lambda: leftovers(
        networks=made["networks"], ports=made["ports"] + [p["ID"] for p in interfaces],
        routers=made["routers"], vnis=[vni] if vni else []), timeout=180)
    made["networks"].clear()  # nothing for the finalizer to do


def _remove_everything(cloud, made: dict) -> None:
    """After a failure: delete what the journey made, through the API as the admin, then
    whatever the host still holds of it."""
    def listed(*args: str) -> list[dict]:
        r = cloud.cli(*args, "-f", "json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else []

    for sid in made["servers"]:
        cloud.cli("server", "delete", "--wait", sid, check=False)
    for fip in listed("floating", "ip", "list"):
        if fip["Floating Network"] in made["networks"]:
            cloud.cli("floating", "ip", "delete", fip["ID"], check=False)
    for rid in made["routers"]:
        cloud.cli("router", "unset", "--external-gateway", rid, check=False)
        for p in listed("port", "list", "--router", rid):
            cloud.cli("router", "remove", "port", rid, p["ID"], check=False)
        cloud.cli("router", "delete", rid, check=False)
    for nid in reversed(made["networks"]):
        for p in listed("port", "list", "--network", nid):
            cloud.cli("port", "delete", p["ID"], check=False)
        cloud.cli("network", "delete", nid, check=False)
    for nid in made["networks"]:  # the dnsmasq the network's DHCP started, by its pid file
        pid_file = Path(f"/var/lib/stratus/dhcp/{nid}/pid")
        try:
            pid = int(pid_file.read_text().strip())
            if nid in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
    for name in leftovers(networks=made["networks"], ports=made["ports"], routers=made["routers"]):
        if name.startswith(("qdhcp-", "qrouter-")):
            subprocess.run(["ip", "netns", "del", name], check=False)
        elif not name.startswith(("nft", "dnsmasq")):
            subprocess.run(["ip", "link", "del", name], check=False)
