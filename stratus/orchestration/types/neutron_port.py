"""``OS::Neutron::Net`` and ``OS::Neutron::Port``: a network exists on exactly the
hosts that have a port on it.

A net is a record and a segment id until its first port: creating it runs nothing.
A port is bound to a host (``binding:host_id``); creating it brings the net's segment
(bridge + VXLAN) to that host, refreshes the flood list (``remote_ips``) on the net's
other hosts, and plugs the port. Deleting the last port of a net on a host removes the
segment from that host. Port jobs lock their net, so they never interleave. VXLAN peers
are the hosts' ``stratus_tunnel_ip`` registry variables.

The network API grows these types (subnets, DHCP, security groups, routers).
"""

from __future__ import annotations

from stratus.db.models.hosts import Host
from stratus.db.models.jobs import Resource
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.functions import jinja_literal
from stratus.orchestration.properties import LIST, STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType, task
from stratus.orchestration.types.neutron_net import (
    GONE,
    Net,
    live_ports,
    segment_facts,
    segment_task,
    tunnel_ips,
)


class Port(ResourceType):
    type_name = "OS::Neutron::Port"
    description = "A port on a network, bound to a host (a tap device there)."
    properties_schema = {
        "network": Schema(STRING, "The network's id.", required=True),
        "name": Schema(STRING, "The port's name.", update_allowed=True),
        "binding_host": Schema(STRING, "binding:host_id: the host the port is plugged on.", required=True),
        "mac_address": Schema(STRING, "The MAC (generated from the id when not given)."),
        "fixed_ips": Schema(LIST, "Addresses as CIDRs.", default=[]),
    }
    attributes_schema = {"mac_address": "The MAC.", "device": "The tap device.", "show": "All attributes."}

    @classmethod
    def check(cls, db, res: PlannedResource, planned: dict[str, PlannedResource] | None = None) -> None:
        """The net exists (or is planned in the same request) and may be used, the host is
        known; records the segment and its peers (hosts with the net after this port)."""
        p = res.properties
        sibling = (planned or {}).get(p.get("network"))
        if sibling is not None and sibling.type == Net.type_name:
            net, net_hosts = sibling, []  # made by the same request: on no host yet
        else:
            net = db.get(Resource, p.get("network"))
            if net is None or net.type != Net.type_name or net.status in GONE:
                raise ResourceCheckFailed(f"network {p.get('network')!r} could not be found",
                                          ("resources", res.name, "properties", "network"), status=404)
            if res.project_id is not None and net.project_id != res.project_id and not net.properties.get("shared"):
                raise ResourceCheckFailed(f"network {net.id} belongs to another project and is not shared",
                                          ("resources", res.name, "properties", "network"), status=404)
            net_hosts = net.hosts or []
        host = db.get(Host, p.get("binding_host"))
        if host is None or not host.enabled:
            raise ResourceCheckFailed(f"binding host {p.get('binding_host')!r} is not an enabled host",
                                      ("resources", res.name, "properties", "binding_host"))
        seg = segment_facts(net)
        hosts = sorted(set(net_hosts) | {host.name})
        res.attributes["segment"] = seg
        res.attributes["peers"] = tunnel_ips(db, hosts) if seg["type"] == "vxlan" else dict.fromkeys(hosts, "")

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        """Where the net stays after this port goes: hosts with another live port."""
        net = db.get(Resource, res.properties.get("network"))
        if net is None:
            res.attributes["stay"] = {}
            return
        host = res.properties["binding_host"]
        keep = {p.properties["binding_host"] for p in live_ports(db, net.id, excluding=res.resource_id)}
        hosts = sorted(set(net.hosts or []) | {host})
        res.attributes["segment"] = segment_facts(net)
        if res.attributes["segment"]["type"] == "vxlan":
            res.attributes["peers"] = tunnel_ips(db, hosts)
        res.attributes["stay"] = {h: ("present" if h in keep else "absent") for h in hosts}
        res.hosts = hosts

    @classmethod
    def locks(cls, res):
        return [res.properties["network"]]

    @classmethod
    def plan_attributes(cls, res):
        rid = res.resource_id.replace("-", "")
        mac = res.properties.get("mac_address") or "fa:16:3e:" + ":".join(rid[i:i + 2] for i in (0, 2, 4))
        return {"mac_address": mac, "device": "tap" + res.resource_id[:11]}

    @classmethod
    def hosts(cls, db, res):
        return sorted(res.attributes["peers"])

    @classmethod
    def _port(cls, res, state, step):
        host = res.properties["binding_host"]
        return task(res, "stratus.cloud.port",
                    {"port_id": res.resource_id, "network_id": res.properties["network"],
                     "mac_address": res.attributes["mac_address"],
                     "fixed_ips": res.properties.get("fixed_ips") or [], "state": state},
                    step, when=f"inventory_hostname == {jinja_literal(host)}")

    @classmethod
    def plan_create(cls, res):
        return [segment_task(res, dict.fromkeys(res.attributes["peers"], "present")),
                cls._port(res, "present", "plug")]

    @classmethod
    def plan_delete(cls, res):
        if not res.attributes.get("stay"):
            return []
        return [cls._port(res, "absent", "unplug"), segment_task(res, res.attributes["stay"])]

    @classmethod
    def on_state(cls, db, resource) -> None:
        """Keep the net's host list to the hosts of its live ports."""
        net = db.get(Resource, resource.properties.get("network"))
        if net is None:
            return
        bound = {p.properties.get("binding_host") for p in live_ports(db, net.id) if p.status != "ERROR"}
        net.hosts = sorted(h for h in bound if h)
        net.attributes = {**net.attributes, "hosts": net.hosts}


def resource_mapping():
    return {c.type_name: c for c in (Port,)}
