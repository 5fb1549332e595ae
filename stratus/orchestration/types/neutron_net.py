"""``OS::Neutron::Net`` and ``OS::Neutron::Subnet``: a network is a record and a segment
until its first port; it exists on exactly the hosts that have a port on it.

Each type's resource id is its record's id. The API writes the record, then submits
the one-resource template (the check finds the row); a stack's resource writes the
record in its check through the same service functions (``stratus.network.networks``,
``subnets``). Either way the check records ``hostplan.converge`` of the network and
the plan emits ``hostplan.tasks`` (a subnet's DHCP; nothing until ports are bound).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import object_session

from stratus.db.models.jobs import DELETED, DELETING, Resource
from stratus.db.models.network import Network as NetworkRow
from stratus.db.models.network import Subnet as SubnetRow
from stratus.errors import ApiError
from stratus.network import hostplan
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import BOOLEAN, INTEGER, LIST, STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType

GONE = (DELETING, DELETED)
ANY_PROVIDER = ("network_type", "physical_network", "segmentation_id", "router_external")


def _settings(res: PlannedResource):
    context = res.context
    if context is not None and context.settings is not None:
        return context.settings
    from stratus.config import Settings

    return Settings()


def _admin(res: PlannedResource) -> bool:
    return bool(res.context and res.context.cloud_admin)


def _failed(res: PlannedResource, exc: ApiError) -> ResourceCheckFailed:
    return ResourceCheckFailed(exc.message, ("resources", res.name), status=exc.status)


class Converging(ResourceType):
    """A Neutron record whose create, update and delete converge hosts to ``hostplan``'s
    state (recorded by the check: ``hostplan.record``), on the hosts it touches; its jobs
    lock what the state touches. Every ``OS::Neutron::*`` type is one."""

    model: Any = None  # the record's table

    @classmethod
    def recorded(cls, row) -> dict[str, Any]:
        """The resource attributes a record gives."""
        return {}

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        """Find the record the API wrote (a stack update: it follows the properties),
        or write a stack's; then record the network's host state."""
        row = db.get(cls.model, res.resource_id)
        if row is None:
            row = cls._ensure_row(db, res)
        else:
            cls._follow(db, res, row)
        res.attributes.update(cls.recorded(row))
        hostplan.record(db, res, networks=[getattr(row, "network_id", row.id)])

    @classmethod
    def _ensure_row(cls, db, res: PlannedResource):
        raise NotImplementedError

    @classmethod
    def _follow(cls, db, res: PlannedResource, row) -> None:
        raise NotImplementedError

    @classmethod
    def hosts(cls, db, res):
        return list(res.hosts) if res.placed else []

    @classmethod
    def locks(cls, res: PlannedResource) -> list[str]:
        return hostplan.locks_of(res.attributes.get("converge") or {})

    @classmethod
    def plan_create(cls, res: PlannedResource) -> list[dict[str, Any]]:
        return hostplan.recorded_tasks(res)

    @classmethod
    def plan_update(cls, res: PlannedResource, prop_diff: dict[str, Any]) -> list[dict[str, Any]]:
        return hostplan.recorded_tasks(res)

    @classmethod
    def plan_delete(cls, res: PlannedResource) -> list[dict[str, Any]]:
        return hostplan.recorded_tasks(res)


class Net(Converging):
    """The record is ``stratus.network.networks``'; the API writes it before submitting
    (the check finds it), a stack's resource writes it in its check."""

    type_name = "OS::Neutron::Net"
    description = "A network (VXLAN, VLAN, flat or local): a record, present on the hosts of its ports."
    properties_schema = {
        "name": Schema(STRING, "The network's name.", update_allowed=True),
        "admin_state_up": Schema(BOOLEAN, "Administrative state.", default=True, update_allowed=True),
        "shared": Schema(BOOLEAN, "Every project may use it (admin).", default=False, update_allowed=True),
        "port_security_enabled": Schema(BOOLEAN, "Ports get port security by default.", update_allowed=True),
        "dns_domain": Schema(STRING, "DNS domain of the network.", update_allowed=True),
        "tags": Schema(LIST, "Tags.", update_allowed=True),
        "availability_zone_hints": Schema(LIST, "Availability zones (nova)."),
        "mtu": Schema(INTEGER, "The MTU (default: the underlay's, less 50 for VXLAN).", update_allowed=True),
        # OS::Neutron::ProviderNet's properties (admin)
        "network_type": Schema(STRING, "provider:network_type.", allowed_values=("local", "flat", "vlan", "vxlan")),
        "physical_network": Schema(STRING, "provider:physical_network (flat, vlan)."),
        "segmentation_id": Schema(INTEGER, "provider:segmentation_id (VLAN id, VNI)."),
        "router_external": Schema(BOOLEAN, "router:external (admin).", update_allowed=True),
    }
    attributes_schema = {"segmentation_id": "The VNI or VLAN id.", "mtu": "The MTU.", "status": "ACTIVE.",
                         "subnets": "Ids of its subnets.", "hosts": "Hosts the net is on.",
                         "show": "All attributes."}

    model = NetworkRow

    @classmethod
    def recorded(cls, row) -> dict[str, Any]:
        subnets = object_session(row).scalars(select(SubnetRow.id).where(SubnetRow.network_id == row.id)
                                              .order_by(SubnetRow.created_at, SubnetRow.id))
        return {"segmentation_id": row.segmentation_id, "mtu": row.mtu, "status": row.status,
                "network_type": row.network_type, "subnets": list(subnets)}

    @classmethod
    def _ensure_row(cls, db, res: PlannedResource):
        """A stack's network: the record made as the API makes it."""
        from stratus.network import networks

        p = res.properties
        if not _admin(res) and any(p.get(k) not in (None, False) for k in (*ANY_PROVIDER, "shared")):
            raise ResourceCheckFailed("only a cloud administrator may set network_type, physical_network, "
                                      "segmentation_id, router_external or shared",
                                      ("resources", res.name), status=403)
        if res.project_id is None:
            raise ResourceCheckFailed("a network belongs to a project: submit it in one", ("resources", res.name))
        try:
            spec = networks.heat_spec({k: v for k, v in p.items() if k != "tags"})
            return networks.create(db, res.project_id, spec, _settings(res), network_id=res.resource_id,
                                   tag_list=p.get("tags") or None)
        except ApiError as exc:
            raise _failed(res, exc) from exc

    @classmethod
    def _follow(cls, db, res: PlannedResource, row) -> None:
        """A stack update: the record takes the changed properties (the API's own
        submits carry the record's values, so nothing changes)."""
        from stratus.network import networks, tags

        p = res.properties
        doc = {k: p[k] for k in ("name", "admin_state_up", "port_security_enabled", "dns_domain", "mtu")
               if k in p and p[k] != getattr(row, k)}
        if doc:
            try:
                networks.update(db, row, networks.parse_update(doc), _settings(res))
            except ApiError as exc:
                raise _failed(res, exc) from exc
        if "tags" in p and sorted(p["tags"] or []) != tags.of(db, "networks", row.id):
            tags.replace(db, "networks", row.id, p["tags"] or [])

    @classmethod
    def quota_usage(cls, props, attributes=None):
        return {"network": 1}

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        out = {k: res.attributes[k] for k in ("segmentation_id", "mtu", "status", "subnets") if k in res.attributes}
        out["hosts"] = list(res.hosts) if res.placed else []
        return out

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        """The API deleted the record already; a stack's delete deletes it here (409
        while ports other than DHCP's are on it)."""
        from stratus.network import networks

        if live_ports(db, res.resource_id):  # port resources without records (a stack's)
            raise ResourceCheckFailed(f"network {res.resource_id} has ports; delete them first", status=409)
        row = db.get(NetworkRow, res.resource_id)
        if row is not None:
            try:
                networks.delete(db, row)
            except ApiError as exc:
                raise _failed(res, exc) from exc
        hostplan.record(db, res, networks=[res.resource_id])


class Subnet(Converging):
    """A subnet's record (``stratus.network.subnets``); creating, changing or deleting
    it converges its network (DHCP) through hostplan."""

    type_name = "OS::Neutron::Subnet"
    property_aliases = {"network_id": "network"}  # Heat's deprecated name
    description = "An IPv4 or IPv6 subnet of a network (allocation pools, gateway, DHCP)."
    properties_schema = {
        "network": Schema(STRING, "The network (id).", required=True),
        "name": Schema(STRING, "The subnet's name.", update_allowed=True),
        "cidr": Schema(STRING, "The CIDR (or take one from subnetpool)."),
        "ip_version": Schema(INTEGER, "4 or 6.", default=4, allowed_values=(4, 6)),
        "gateway_ip": Schema(STRING, "The gateway (default: the first address).", update_allowed=True),
        "allocation_pools": Schema(LIST, "[{start, end}].", update_allowed=True),
        "dns_nameservers": Schema(LIST, "DNS servers.", update_allowed=True),
        "host_routes": Schema(LIST, "[{destination, nexthop}].", update_allowed=True),
        "enable_dhcp": Schema(BOOLEAN, "DHCP on the network for this subnet.", default=True, update_allowed=True),
        "ipv6_ra_mode": Schema(STRING, "slaac, dhcpv6-stateful, dhcpv6-stateless.",
                               allowed_values=("slaac", "dhcpv6-stateful", "dhcpv6-stateless")),
        "ipv6_address_mode": Schema(STRING, "slaac, dhcpv6-stateful, dhcpv6-stateless.",
                                    allowed_values=("slaac", "dhcpv6-stateful", "dhcpv6-stateless")),
        "subnetpool": Schema(STRING, "A subnet pool (id) to take the CIDR from."),
        "prefixlen": Schema(INTEGER, "Prefix length of the CIDR taken from the pool."),
        "tags": Schema(LIST, "Tags.", update_allowed=True),
    }
    attributes_schema = {"cidr": "The CIDR.", "gateway_ip": "The gateway.", "network_id": "The network.",
                         "allocation_pools": "The pools.", "show": "All attributes."}

    model = SubnetRow

    @classmethod
    def recorded(cls, row) -> dict[str, Any]:
        return {"cidr": row.cidr, "gateway_ip": row.gateway_ip, "network_id": row.network_id,
                "allocation_pools": row.allocation_pools}

    @classmethod
    def _ensure_row(cls, db, res: PlannedResource):
        from stratus.identity.context import RequestContext
        from stratus.network import access, subnets

        p = res.properties
        ctx = RequestContext(user_id="", user_name="", user_domain_id="", project_id=res.project_id,
                             roles=("admin",) if _admin(res) else (), is_admin_project=_admin(res))
        try:
            net = access.network(db, ctx, p["network"], admin=_admin(res))
            if not access.is_owner(ctx, net) and not _admin(res):
                raise ResourceCheckFailed(f"network {net.id} belongs to another project: only its owner may "
                                          "add subnets", ("resources", res.name, "properties", "network"),
                                          status=403)
            spec = subnets.heat_spec({k: v for k, v in p.items() if k != "tags"}, net.id)
            return subnets.create(db, ctx, net, spec, project_id=res.project_id, subnet_id=res.resource_id,
                                  tag_list=p.get("tags") or None)
        except ApiError as exc:
            raise _failed(res, exc) from exc

    @classmethod
    def _follow(cls, db, res: PlannedResource, row) -> None:
        from stratus.network import subnets, tags

        p = res.properties
        doc = {k: p[k] for k in ("name", "gateway_ip", "allocation_pools", "dns_nameservers", "host_routes",
                                 "enable_dhcp") if k in p and p[k] != getattr(row, k)}
        if doc:
            try:
                subnets.update(db, row, subnets.parse_update(doc, row))
            except ApiError as exc:
                raise _failed(res, exc) from exc
        if "tags" in p and sorted(p["tags"] or []) != tags.of(db, "subnets", row.id):
            tags.replace(db, "subnets", row.id, p["tags"] or [])

    @classmethod
    def quota_usage(cls, props, attributes=None):
        return {"subnet": 1}

    @classmethod
    def locks(cls, res: PlannedResource) -> list[str]:
        net = res.attributes.get("network_id") or res.properties.get("network")
        return [*super().locks(res), *([net] if isinstance(net, str) else [])]

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        return {k: res.attributes[k] for k in ("cidr", "gateway_ip", "network_id", "allocation_pools")
                if k in res.attributes}

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        from stratus.network import subnets

        row = db.get(SubnetRow, res.resource_id)
        network_id = row.network_id if row is not None else res.attributes.get("network_id")
        if row is not None:
            try:
                subnets.delete(db, row)
            except ApiError as exc:
                raise _failed(res, exc) from exc
        hostplan.record(db, res, networks=[network_id] if network_id else [])


def live_ports(db, net_id: str, *, excluding: str | None = None) -> list[Resource]:
    rows = db.scalars(select(Resource).where(Resource.type == "OS::Neutron::Port", Resource.status.not_in(GONE)))
    return [r for r in rows if r.properties.get("network") == net_id and r.id != excluding]


def resource_mapping():
    return {c.type_name: c for c in (Net, Subnet)}
