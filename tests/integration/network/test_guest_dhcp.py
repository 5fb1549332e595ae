"""A real tiny guest (libvirt + QEMU TCG) gets its lease from stratus.cloud.dhcp.

The guest's NIC is plugged by stratus.cloud.instance into a network bridge that the
DHCP module serves; the guest's console shows the address it leased
(``STRATUS-GUEST dhcp=eth0 IP/P``) and the route it was handed.
"""

import uuid

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute import config_drive as cd
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import tap_name
from tests.helpers.ansible import run_module
from tests.helpers.guest_console import GuestConsole
from tests.integration.compute.actions_guest import cache_image, remove_images
from tests.integration.network.l3_fixtures import (  # noqa: F401 (lab_fixture: fixture)
    absent,
    in_ns,
    lab_fixture,
    namespaces,
)

pytestmark = [pytest.mark.network, pytest.mark.compute, pytest.mark.slow]


def test_tiny_guest_leases_its_address_from_the_network_dhcp(lab, libvirt_daemon, guest_image):
    net, dhcp_port, guest_port, inst = (str(uuid.uuid4()) for _ in range(4))
    bridge = lab.bridge(net)
    h = uuid.uuid4().hex
    mac = f"fa:16:3e:{h[0:2]}:{h[2:4]}:{h[4:6]}"
    dhcp = {
        "network_id": net,
        "port": {"id": dhcp_port, "mac": "fa:16:3e:61:00:02", "ips": ["10.61.0.2"]},
        "subnets": [{"id": "sub", "cidr": "10.61.0.0/24", "gateway_ip": "10.61.0.1",
                     "dns_nameservers": ["10.61.0.53"]}],
        "ports": [{"id": guest_port, "mac": mac, "ips": ["10.61.0.23"], "hostname": "tiny"}],
        "mtu": 1450,
    }
    lab.cleanups.append(lambda: absent("dhcp", {"network_id": net}))
    served = run_module("dhcp", dhcp)
    assert served.changed and not served.failed, served.msg

    image_id = cache_image(guest_image["qcow2"], prefix="test-dhcp")
    lab.cleanups.append(lambda: remove_images(image_id))
    instance = {
        "uuid": inst, "display_name": "tiny", "image_id": image_id, "memory_mb": 256,
        "virt_type": "qemu", "shutdown_timeout": 0,
        "nics": [{"bridge": bridge, "mac": mac, "target": tap_name(guest_port)}],
        "network_data": cd.network_data([{"mac": mac, "dhcp": True}]),
    }
    lab.cleanups.append(lambda: absent("instance", {"uuid": inst}))
    booted = run_module("instance", instance, timeout=600)
    assert booted.changed and not booted.failed, booted.msg

    with GuestConsole(f"instance-{inst}", libvirt_daemon) as con:
        con.wait_for(r"STRATUS-GUEST dhcp=eth0 10\.61\.0\.23/24", timeout=240)
        rc, out = con.run("ip -4 route show default", timeout=60)
        assert rc == 0 and "default via 10.61.0.1" in out, out
    # the DHCP namespace reaches the guest at its leased address
    qdhcp = f"qdhcp-{net}"
    assert in_ns(qdhcp, "ping", "-c", "1", "-W", "5", "10.61.0.23", check=False).returncode == 0
    with open(f"/var/lib/stratus/dhcp/{net}/leases") as f:
        assert f"{mac} 10.61.0.23 tiny" in f.read()

    absent("instance", {"uuid": inst})
    absent("dhcp", {"network_id": net})
    assert qdhcp not in namespaces()
