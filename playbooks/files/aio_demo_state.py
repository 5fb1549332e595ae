"""What of the all-in-one's demo the cloud already has, in one look through its API.

    .venv/bin/python playbooks/files/aio_demo_state.py state     # before the demo's steps
    .venv/bin/python playbooks/files/aio_demo_state.py summary   # after them

``state`` prints one JSON object that playbooks/aio.yml decides every step from (each
resource is made only when missing, so a second `make aio` changes nothing): image,
flavors {name: bool}, keypair, public {network, subnet}, demo {network, subnet, router,
gateway, interface}, rules {icmp, ssh}, server (its status or null), fip (null or
{address, port}), volume (null or {status, size, bootable, devices}), object_store (the
catalog has one), container, object.
``summary`` prints the demo member's token (project, expiry), the demo project's servers
and the catalog's services. The clouds are clouds.yaml's ``stratus-admin`` (the admin)
and ``stratus`` (the demo member), as the `openstack` CLI uses them: one process and two
logins instead of twenty CLI runs.
"""

from __future__ import annotations

import json
import sys

import openstack
from openstack import exceptions

FLAVORS = ("m1.tiny", "m1.small")


def _exists(call, *args, **kwargs) -> bool:
    try:
        call(*args, **kwargs)
    except exceptions.NotFoundException:
        return False
    return True


def state(admin, demo) -> dict:
    out: dict = {
        "image": admin.image.find_image("stratus-tiny") is not None,
        "flavors": {name: admin.compute.find_flavor(name) is not None for name in FLAVORS},
        "keypair": demo.compute.find_keypair("aio-demo") is not None,
        "public": {"network": admin.network.find_network("public") is not None,
                   "subnet": admin.network.find_subnet("public-v4") is not None},
    }
    network = demo.network.find_network("demo-net")
    router = demo.network.find_router("demo-router")
    out["demo"] = {
        "network": network is not None,
        "subnet": demo.network.find_subnet("demo-subnet") is not None,
        "router": router is not None,
        "gateway": bool(router and router.external_gateway_info),
        "interface": bool(router and network and any(
            p.device_owner == "network:router_interface"
            for p in demo.network.ports(device_id=router.id, network_id=network.id))),
    }
    group = demo.network.find_security_group("default")
    rules = list(demo.network.security_group_rules(security_group_id=group.id, direction="ingress")) if group else []
    anywhere = [r for r in rules if r.remote_ip_prefix == "0.0.0.0/0" and r.ether_type == "IPv4"]
    out["rules"] = {
        "icmp": any(r.protocol == "icmp" for r in anywhere),
        "ssh": any(r.protocol == "tcp" and r.port_range_min == 22 and r.port_range_max == 22 for r in anywhere),
    }
    server = demo.compute.find_server("aio-demo")
    out["server"] = demo.compute.get_server(server.id).status if server else None
    ips = list(demo.network.ips(tags=["aio-demo"]))
    out["fip"] = {"address": ips[0].floating_ip_address, "port": ips[0].port_id} if ips else None
    volume = demo.block_storage.find_volume("aio-demo-vol")
    if volume:
        volume = demo.block_storage.get_volume(volume.id)
        out["volume"] = {"status": volume.status, "size": volume.size, "bootable": volume.is_bootable,
                         "devices": [a.get("device") for a in volume.attachments or []]}
    else:
        out["volume"] = None
    try:
        out["container"] = _exists(demo.object_store.get_container_metadata, "aio-demo")
    except exceptions.ServiceDisabledException:  # no object-store in the catalog: no Swift
        out["object_store"] = out["container"] = out["object"] = False
        return out
    out["object_store"] = True
    out["object"] = out["container"] and _exists(demo.object_store.get_object_metadata, "hello.txt",
                                                 container="aio-demo")
    return out


def summary(admin, demo) -> dict:
    token = demo.session.get_token()
    access = demo.session.auth.get_access(demo.session)
    return {
        "project_id": demo.current_project_id,
        "token_expires": access.expires.isoformat() if access.expires else None,
        "token_ok": bool(token),
        "servers": [{"name": s.name, "status": s.status} for s in demo.compute.servers()],
        "catalog": sorted({entry["type"] for entry in access.service_catalog.catalog}),
    }


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "state"
    admin = openstack.connect(cloud="stratus-admin")
    demo = openstack.connect(cloud="stratus")
    print(json.dumps(state(admin, demo) if what == "state" else summary(admin, demo)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
