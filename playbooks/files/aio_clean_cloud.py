"""Delete every server, volume, floating IP, router and network of the all-in-one cloud.

    .venv/bin/python playbooks/files/aio_clean_cloud.py [CLOUD]    # CLOUD: stratus-admin

As the admin of clouds.yaml's CLOUD, through the API (openstacksdk), every project's:
servers (deleted, then waited for), volumes (once detached), floating IPs, routers (their
interfaces and gateway first), ports other than DHCP's and routers', and networks. The
hosts' guests, NBD exports, bridges, namespaces, dnsmasq and relays go with them, the
way they came. Prints one JSON object: {"ids": {servers, networks, routers, ports,
segments}, "deleted": [...], "failed": [...]}; rc 1 when something could not be deleted.
make aio-clean then removes from the host what is named from those ids
(tools/aio_host_state.py restore --cloud-ids).
"""

from __future__ import annotations

import json
import sys
import time

import openstack

WAIT = 300


def main(argv: list[str]) -> int:
    conn = openstack.connect(cloud=argv[0] if argv else "stratus-admin")
    deleted: list[str] = []
    failed: list[str] = []

    def attempt(what: str, call, *args, **kwargs) -> bool:
        try:
            call(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - each failure is reported, the rest goes on
            failed.append(f"{what}: {exc}")
            return False
        deleted.append(what)
        return True

    servers = list(conn.compute.servers(all_projects=True))
    networks = list(conn.network.networks())
    ids = {
        "servers": [server.id for server in servers],
        "networks": [network.id for network in networks],
        "routers": [router.id for router in conn.network.routers()],
        "ports": [port.id for port in conn.network.ports()],
        "segments": [network.provider_segmentation_id for network in networks
                     if network.provider_network_type == "vxlan" and network.provider_segmentation_id],
    }
    for server in servers:
        attempt(f"server {server.name} ({server.id})", conn.compute.delete_server, server)
    for server in servers:
        try:
            conn.compute.wait_for_delete(server, wait=WAIT)
        except Exception as exc:  # noqa: BLE001
            failed.append(f"server {server.name} ({server.id}) still there: {exc}")

    volumes = list(conn.block_storage.volumes(all_projects=True))
    deadline = time.monotonic() + WAIT
    for volume in volumes:
        while volume.status not in ("available", "error") and time.monotonic() < deadline:
            time.sleep(2)
            volume = conn.block_storage.get_volume(volume)
        if attempt(f"volume {volume.name} ({volume.id})", conn.block_storage.delete_volume, volume):
            try:
                conn.block_storage.wait_for_delete(volume, wait=WAIT)
            except Exception as exc:  # noqa: BLE001
                failed.append(f"volume {volume.name} ({volume.id}) still there: {exc}")

    for ip in conn.network.ips():
        attempt(f"floating IP {ip.floating_ip_address}", conn.network.delete_ip, ip)

    for router in conn.network.routers():
        for port in conn.network.ports(device_id=router.id):
            if port.device_owner == "network:router_interface":
                attempt(f"router {router.name} interface {port.id}", conn.network.remove_interface_from_router,
                        router, port_id=port.id)
        if router.external_gateway_info:
            attempt(f"router {router.name} gateway", conn.network.update_router, router, external_gateway_info={})
        attempt(f"router {router.name} ({router.id})", conn.network.delete_router, router)

    for network in networks:
        for port in conn.network.ports(network_id=network.id):
            if not (port.device_owner or "").startswith(("network:dhcp", "network:router")):
                attempt(f"port {port.id} on {network.name}", conn.network.delete_port, port)
        attempt(f"network {network.name} ({network.id})", conn.network.delete_network, network)

    print(json.dumps({"ids": ids, "deleted": deleted, "failed": failed}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
