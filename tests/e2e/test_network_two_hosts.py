"""Two compute hosts, one VXLAN network across them (issue 12's evidence).

``c1`` is libvirt node 1 in this machine's network namespace (also the network host:
DHCP lives there); ``c2`` is a second libvirtd in a mount namespace of its own *and* a
network namespace of its own (``tests/helpers/libvirt_node.py``, ``netns=``), joined to
this one by a veth underlay: c1's tunnel IP is the near end, c2's the far end. What c2's
modules make (bridge, VXLAN device, taps) is c2's alone, as on a separate machine.

A project member boots two guests on one tenant (VXLAN) network in an anti-affinity
server group, so one lands on each host. Both consoles show the address each leased
(the guest on c2 reached the DHCP on c1 over VXLAN), and each guest pings the other.
Another project's guest, on its own network with the same CIDR, is not reached from
them: not by ping, not by ARP (the tenant networks are apart even where their
addresses overlap).
"""

from __future__ import annotations

import random
import re
import uuid
from pathlib import Path

import pytest
import yaml

from tests.api.compute.servers_helpers import add_flavors
from tests.api.compute.test_servers_boot import upload_qcow2
from tests.api.conftest import controller_factory  # noqa: F401 - a fixture
from tests.e2e.network_world import (
    GUEST_READY,
    in_ns,
    leftovers,
    private_vni_range,
    run,
    wait_none_left,
    wait_until,
)
from tests.helpers.guest_console import GuestConsole
from tests.helpers.libvirt_node import LibvirtNode, libvirt_node1  # noqa: F401 - fixture
from tests.integration.compute.actions_guest import cleanup, remove_images
from tests.integration.pipeline.conftest import interpreter

pytestmark = [pytest.mark.api, pytest.mark.network, pytest.mark.compute, pytest.mark.e2e, pytest.mark.slow]

INSTANCES = Path("/var/lib/stratus/instances")


class SecondHost:
    """A network namespace with a veth underlay to this one, and libvirt node 2 in it."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns = f"jhost-{tag}"
        self.near, self.far = f"jh{tag}a", f"jh{tag}b"
        octet = random.randint(1, 250)
        self.near_ip, self.far_ip = f"10.98.{octet}.1", f"10.98.{octet}.2"
        run("ip", "netns", "add", self.ns)
        run("ip", "link", "add", self.near, "type", "veth", "peer", "name", self.far)
        run("ip", "link", "set", self.far, "netns", self.ns)
        run("ip", "addr", "add", f"{self.near_ip}/30", "dev", self.near)
        run("ip", "link", "set", self.near, "up")
        in_ns(self.ns, "ip", "addr", "add", f"{self.far_ip}/30", "dev", self.far, check=True)
        in_ns(self.ns, "ip", "link", "set", self.far, "up", check=True)
        in_ns(self.ns, "ip", "link", "set", "lo", "up", check=True)
        self.node: LibvirtNode | None = None
        try:
            self.node = LibvirtNode("node2n", (49500, 49560), netns=self.ns).start()
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self.node is not None:
            self.node.stop()
        run("ip", "link", "del", self.near, check=False)
        run("ip", "netns", "del", self.ns, check=False)


@pytest.fixture
def second_host():
    host = SecondHost()
    yield host
    host.close()


def console(sid: str, uri: str, host_path=None) -> GuestConsole:
    return GuestConsole(f"instance-{sid}", uri, host_path=host_path)


def test_two_guests_on_two_hosts_share_a_vxlan_network_and_no_other(
        controller_factory, libvirt_node1, second_host, guest_image, tmp_path, request):  # noqa: F811
    node1, node2 = libvirt_node1, second_host.node
    in_c2 = interpreter(tmp_path / "py-c2", ["nsenter", "-t", str(node2._pid("libvirtd")), "-m", "-n"])
    ctl = controller_factory("sqlite", network_vni_ranges=private_vni_range())
    # c2's loopback is its own: it fetches images from the controller over the underlay
    ctl.settings.update(bind_host="0.0.0.0",
                        image_url_for_hosts=f"http://{second_host.near_ip}:{ctl.port}/image/v2")
    ctl.config_file.write_text(yaml.safe_dump(ctl.settings))
    ctl.restart()
    c1 = {"ansible_connection": "local", "stratus_libvirt_uri": node1.uri, "stratus_tunnel_ip": second_host.near_ip}
    c2 = {"ansible_connection": "local", "stratus_libvirt_uri": node2.uri, "ansible_python_interpreter": in_c2,
          "stratus_tunnel_ip": second_host.far_ip}
    inventory = tmp_path / "inventory.yml"  # both compute hosts; c1 is the network host too
    inventory.write_text(yaml.safe_dump({"all": {"children": {
        "compute": {"hosts": {"c1": c1, "c2": c2}}, "network": {"hosts": {"c1": c1}}}}}))
    ctl.stratus("host", "sync", "-i", str(inventory))
    ctl.stratus("host", "refresh")
    add_flavors(ctl)
    image_id = upload_qcow2(ctl, Path(guest_image["qcow2"]))
    request.addfinalizer(lambda: remove_images(image_id))

    cidr_base = f"10.{random.randint(100, 199)}.{random.randint(0, 255)}"
    cidr = f"{cidr_base}.0/24"
    made = {"servers": [], "networks": []}

    def boot_on(creds, name: str, *nic: str) -> str:
        server = ctl.cli("server", "create", name, "--image", image_id, "--flavor", "m1.nano",
                         *nic, "-f", "json", creds=creds)
        sid = server["id"]
        made["servers"].append(sid)
        request.addfinalizer(lambda: cleanup(sid, node1.uri))
        request.addfinalizer(lambda: cleanup(sid, node2.uri, root=node2.host_path(INSTANCES / sid)))
        return sid

    # --- project A: one network, two guests kept apart by an anti-affinity group -------
    alice = ctl.new_project_user("member", prefix="vxa")
    net = ctl.cli("network", "create", "shared-l2", "-f", "json", creds=alice)
    made["networks"].append(net["id"])
    ctl.cli("subnet", "create", "a-sub", "--network", net["id"], "--subnet-range", cidr, "-f", "json", creds=alice)
    admin_view = ctl.cli("network", "show", net["id"], "-f", "json")
    assert admin_view["provider:network_type"] == "vxlan", admin_view
    vni = admin_view["provider:segmentation_id"]
    group = ctl.cli("server", "group", "create", "apart", "--policy", "anti-affinity", "-f", "json", creds=alice)
    a1 = boot_on(alice, "a1", "--network", net["id"], "--hint", f"group={group['id']}")
    a2 = boot_on(alice, "a2", "--network", net["id"], "--hint", f"group={group['id']}")

    # --- project B: its own network with the same CIDR, one guest ---------------------
    bob = ctl.new_project_user("member", prefix="vxb")
    other = ctl.cli("network", "create", "other-l2", "-f", "json", creds=bob)
    made["networks"].append(other["id"])
    ctl.cli("subnet", "create", "b-sub", "--network", other["id"], "--subnet-range", cidr, "-f", "json",
            creds=bob)
    b_ip = f"{cidr_base}.200"
    b1 = boot_on(bob, "b1", "--nic", f"net-id={other['id']},v4-fixed-ip={b_ip}")

    shown = {}
    for sid, creds in ((a1, alice), (a2, alice), (b1, bob)):
        shown[sid] = wait_until(f"server {sid} ACTIVE", lambda sid=sid, creds=creds: (
            lambda s: s if s["status"] in ("ACTIVE", "ERROR") else None)(
            ctl.cli("server", "show", sid, "-f", "json", creds=creds)), timeout=600, every=3)
        assert shown[sid]["status"] == "ACTIVE", shown[sid]
    placed = {sid: ctl.cli("server", "show", sid, "-f", "json")["OS-EXT-SRV-ATTR:host"] for sid in (a1, a2)}
    assert set(placed.values()) == {"c1", "c2"}, placed  # one guest on each host

    ips = {}
    for sid, creds in ((a1, alice), (a2, alice), (b1, bob)):
        (port,) = ctl.cli("port", "list", "--server", sid, "-f", "json", creds=creds)
        (ips[sid],) = [ip["ip_address"] for ip in port["Fixed IP Addresses"]]
    assert ips[b1] == b_ip and b_ip not in (ips[a1], ips[a2])

    def con(sid: str) -> GuestConsole:
        host = placed.get(sid) or ctl.cli("server", "show", sid, "-f", "json")["OS-EXT-SRV-ATTR:host"]
        return console(sid, node1.uri) if host == "c1" else console(sid, node2.uri, host_path=lambda p: str(
            node2.host_path(p)) if p.startswith("/var/lib/stratus") else p)

    # c2 holds the network's segment in its own namespace: its bridge and VXLAN device
    c2_links = in_ns(second_host.ns, "ip", "-br", "link").stdout
    assert f"brq{net['id'][:11]}" in c2_links and f"vxlan-{vni}" in c2_links, c2_links

    for sid in (a1, a2, b1):  # each leased its port's address (a guest on c2: over VXLAN)
        with con(sid) as c:
            c.wait_for(rf"STRATUS-GUEST dhcp=eth0 {re.escape(ips[sid])}/24", timeout=300)
            c.wait_for(GUEST_READY, timeout=120)

    def underlay() -> str:
        """What each host holds of the network (for a failure's message)."""
        dev = f"vxlan-{vni}"
        c1 = run("bridge", "fdb", "show", "dev", dev, check=False).stdout
        c2 = in_ns(second_host.ns, "bridge", "fdb", "show", "dev", dev).stdout
        rules = run("nft", "list", "table", "inet", "stratus_sg", check=False).stdout
        return f"c1 fdb {dev}:\n{c1}\nc2 fdb {dev}:\n{c2}\nc1 stratus_sg:\n{rules[-3000:]}"

    with con(a1) as c:
        rc, out = c.run(f"ping -c 3 -W 3 {ips[a2]}", timeout=60)
        assert rc == 0, out + underlay()
        # another project's guest, in a1's own subnet range: not reached (on-link, so
        # not even its ARP answer arrives)
        rc, out = c.run(f"ping -c 2 -W 2 {b_ip}", timeout=60)
        assert rc != 0, out
    with con(a2) as c:
        rc, out = c.run(f"ping -c 2 -W 2 {b_ip}", timeout=60)
        assert rc != 0, out
        # a2 -> a1 needs a1's port to admit a2, which joined their default group after a1
        # was plugged (the group's rule: ingress from its members)
        back_rc, back_out = c.run(f"ping -c 3 -W 3 {ips[a1]}", timeout=60)
    with con(b1) as c:
        rc, out = c.run(f"ping -c 2 -W 2 {ips[a1]}", timeout=60)
        assert rc != 0, out

    # everything deleted: nothing of it on either host
    port_ids = [p["ID"] for n in made["networks"] for p in ctl.cli("port", "list", "--network", n, "-f", "json")]
    ctl.cli("server", "delete", "--wait", a1, a2, creds=alice)
    ctl.cli("server", "delete", "--wait", b1, creds=bob)
    ctl.cli("network", "delete", net["id"], creds=alice)
    ctl.cli("network", "delete", other["id"], creds=bob)
    wait_none_left("c1", lambda: leftovers(networks=made["networks"], ports=port_ids, vnis=[vni]))
    wait_none_left("c2", lambda: [
        name for name in (f"brq{net['id'][:11]}", f"vxlan-{vni}", *(f"tap{p[:11]}" for p in port_ids))
        if name in in_ns(second_host.ns, "ip", "-br", "link").stdout])

    assert back_rc == 0, f"a2 -> a1 ping dropped: {back_out}"
