"""``OS::Neutron::Net`` (and ``OS::Neutron::Subnet``): a network is a record and a segment id
until its first port; it exists on exactly the hosts that have a port on it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from stratus.db.models.hosts import Host
from stratus.db.models.jobs import DELETED, DELETING, Resource
from stratus.db.models.quotas import Allocation
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import BOOLEAN, INTEGER, STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType, task

VNI_RANGE = (1001, 16_000_000)
GONE = (DELETING, DELETED)


class Net(ResourceType):
    type_name = "OS::Neutron::Net"
    description = "A layer-2 network (VXLAN or flat), present on the hosts of its ports."
    properties_schema = {
        "name": Schema(STRING, "The network's name.", update_allowed=True),
        "network_type": Schema(STRING, "provider:network_type.", default="vxlan",
                               allowed_values=("vxlan", "flat")),
        "physical_network": Schema(STRING, "flat only: the host interface of the provider network."),
        "segmentation_id": Schema(INTEGER, "vxlan only: the VNI (allocated when not given)."),
        "mtu": Schema(INTEGER, "The MTU (default 1450 for vxlan, 1500 for flat)."),
        "shared": Schema(BOOLEAN, "Other projects may put ports on it.", default=False),
    }
    attributes_schema = {"segmentation_id": "The VNI.", "hosts": "Hosts the net is on.",
                         "show": "All attributes."}

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        p = res.properties
        if p.get("network_type") == "flat" and not p.get("physical_network"):
            raise ResourceCheckFailed("a flat network needs physical_network",
                                      ("resources", res.name, "properties", "physical_network"))
        if p.get("network_type", "vxlan") != "vxlan":
            return
        used = set(db.scalars(select(Allocation.amount).where(
            Allocation.resource == "vxlan_vni", Allocation.consumer_id != res.resource_id)))
        vni = p.get("segmentation_id")
        if vni is None:
            vni = next(n for n in range(VNI_RANGE[0], VNI_RANGE[1]) if n not in used)
        elif vni in used:
            raise ResourceCheckFailed(f"VNI {vni} is in use by another network; choose another "
                                      "or leave segmentation_id out", status=409)
        res.attributes["segmentation_id"] = vni

    @classmethod
    def allocations(cls, res: PlannedResource) -> dict[str, int]:
        vni = res.attributes.get("segmentation_id")
        return {"vxlan_vni": vni} if vni else {}

    @classmethod
    def hosts(cls, db, res):
        return []  # nowhere until a port is bound

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        if live_ports(db, res.resource_id):
            raise ResourceCheckFailed(f"network {res.resource_id} has ports; delete them first",
                                      status=409)


def live_ports(db, net_id: str, *, excluding: str | None = None) -> list[Resource]:
    rows = db.scalars(select(Resource).where(Resource.type == "OS::Neutron::Port", Resource.status.not_in(GONE)))
    return [r for r in rows if r.properties.get("network") == net_id and r.id != excluding]


def segment_facts(net: Resource | PlannedResource) -> dict[str, Any]:
    p = net.properties
    vxlan = p.get("network_type", "vxlan") == "vxlan"
    return {"id": getattr(net, "id", None) or net.resource_id, "type": "vxlan" if vxlan else "flat",
            "segmentation_id": net.attributes.get("segmentation_id"),
            "physical_network": p.get("physical_network"),
            "mtu": p.get("mtu") or (1450 if vxlan else 1500)}


def segment_task(res: PlannedResource, state_on: dict[str, str]) -> dict[str, Any]:
    """The ``network`` task of a port's net on every host of ``state_on`` (host →
    present/absent): VXLAN peers are the tunnel IPs of the hosts where it stays."""
    seg, peers = res.attributes["segment"], res.attributes.get("peers") or {}
    args: dict[str, Any] = {"network_id": seg["id"], "type": seg["type"], "mtu": seg["mtu"]}
    templated: dict[str, str] = {}
    if seg["type"] == "vxlan":
        staying = sorted(peers[h] for h, st in state_on.items() if st == "present" and h in peers)
        args["segmentation_id"] = seg["segmentation_id"]
        templated = {"local_ip": "{{ stratus_tunnel_ip }}",
                     "remote_ips": "{{ " + json.dumps(staying) + " | difference([stratus_tunnel_ip]) }}"}
    else:
        args["physical_interface"] = seg["physical_network"]
    absent = sorted(h for h, st in state_on.items() if st == "absent")
    if absent:
        templated["state"] = "{{ 'absent' if inventory_hostname in " + json.dumps(absent) + " else 'present' }}"
    return task(res, "stratus.cloud.network", args, "network", templated=templated,
                register="stratus_segment")


def tunnel_ips(db, hosts: list[str]) -> dict[str, str]:
    out = {}
    for h in hosts:
        row = db.get(Host, h)
        ip = (row.vars or {}).get("stratus_tunnel_ip") if row else None
        if not ip:
            raise ResourceCheckFailed(f"host {h!r} has no stratus_tunnel_ip in the registry; set it in "
                                      "the inventory and run 'stratus host sync'")
        out[h] = ip
    return out


def resource_mapping():
    return {c.type_name: c for c in (Net,)}
