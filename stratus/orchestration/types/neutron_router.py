"""``OS::Neutron::Router``, ``RouterInterface``, ``FloatingIP`` and
``FloatingIPAssociation``: routers in qrouter- namespaces on a network host.

Each type's ``check`` finds its Neutron record (the API wrote it in the request's
transaction) or, in a stack, writes it through the same service (``stratus.network.
routers`` / ``floatingips``); then it records the host state of the routers it touches
(``hostplan.record(db, res, routers=...)``, with the networks the router's last state
had, so it leaves those it left) and runs on their hosts. A router's last state is kept
on its resource row (``router_hosts.record``) so a later converge removes floating IPs
that went away.
"""

from __future__ import annotations

from dataclasses import dataclass

from stratus.db.models.jobs import ACTIVE, ERROR
from stratus.db.models.network import FloatingIP as FloatingIPRow
from stratus.db.models.network import Router as RouterRow
from stratus.errors import ApiError
from stratus.network import floatingips, hostplan, router_hosts, routers
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import BOOLEAN, MAP, STRING, Schema
from stratus.orchestration.resources import PlannedResource
from stratus.orchestration.types.neutron_net import Converging, _failed

ADMIN_ONLY = ("enable_snat", "external_fixed_ips", "floating_ip_address")


@dataclass(frozen=True)
class Caller:
    """The request context a template's resources act as (the stack's project)."""

    project_id: str | None
    is_admin: bool = False


class TemplatePolicy:
    """A stack's sub-attribute policy: what Neutron leaves to admins stays with admins."""

    def __init__(self, admin: bool) -> None:
        self.admin = admin

    def enforce(self, rule: str, target: dict | None = None) -> None:
        if not self.admin and rule.endswith(ADMIN_ONLY):
            raise ResourceCheckFailed(f"only a cloud administrator may set {rule.rsplit(':', 1)[-1]}",
                                      status=403)


def caller(res: PlannedResource) -> tuple[Caller, TemplatePolicy]:
    admin = bool(res.context and res.context.cloud_admin)
    return Caller(res.project_id, admin), TemplatePolicy(admin)


def _service(res: PlannedResource, fn, *args):
    """Run a service function for a stack's resource: its refusals become check failures."""
    try:
        return fn(*args)
    except ApiError as exc:
        raise _failed(res, exc) from exc


# --- the routers' host state -------------------------------------------------------------------

def converge(db, res: PlannedResource, router_ids, planned: dict[str, PlannedResource] | None = None) -> None:
    """Record in ``res`` the host state of ``router_ids`` (with their networks, and
    what their last recorded state had that is gone now) and run it on their hosts.
    ``planned``: the request's other resources by id (a router made by the same stack
    records its new state in its planned attributes: its row is written after)."""
    ids = [r for r in dict.fromkeys(router_ids) if r]
    same = {rid: p for rid, p in (planned or {}).items() if rid in ids and rid != res.resource_id}
    if res.resource_id in ids:
        same[res.resource_id] = res
    before = {rid: same[rid].attributes.get(router_hosts.STATE_KEY) if rid in same
              else router_hosts.previous(db, rid) for rid in ids}
    networks = sorted({n for b in before.values() if b for n in b.get("networks") or ()})
    hostplan.record(db, res, previous=True, routers=ids, networks=networks)
    for rid in ids:  # a router planned in this request records it through its attributes
        now = router_hosts.desired(db, rid)
        if rid in same:
            same[rid].attributes[router_hosts.STATE_KEY] = now
        else:
            router_hosts.record(db, rid, now)
    res.attributes["routers"] = ids


def settle_floating_ips(db, resource) -> None:
    """A converge job ended: its routers' associated floating IPs are ACTIVE (or ERROR)."""
    if resource.status in (ACTIVE, ERROR):
        for rid in (resource.attributes or {}).get("routers", []):
            floatingips.realized(db, rid, resource.status == ACTIVE)


def map_to(res: PlannedResource, db, ctx, row: FloatingIPRow, port_id: str | None, fixed: str | None) -> None:
    """A stack's floating IP mapped as its properties say (unless it is already)."""
    if (row.fixed_port_id, row.fixed_ip_address) != (port_id, fixed or (row.fixed_ip_address if port_id else None)):
        _service(res, floatingips.update, db, ctx, row, {"port_id": port_id, "fixed_ip_address": fixed})


def follow_router(db, res: PlannedResource, row: FloatingIPRow, planned=None) -> None:
    """Converge the floating IP's router, and the one it left (``router_id`` recorded at
    its last plan)."""
    left = res.attributes.get("router_id")
    res.attributes["router_id"] = row.router_id
    converge(db, res, [row.router_id, left], planned)


class _Converging(Converging):
    """What the four types share beyond every Neutron type's: their jobs also lock the
    routers they converge; a job's end settles the floating IPs' status."""

    @classmethod
    def locks(cls, res: PlannedResource) -> list[str]:
        return [*super().locks(res), *(r for r in res.attributes.get("routers", []) if r != res.resource_id)]

    @classmethod
    def on_state(cls, db, resource) -> None:
        settle_floating_ips(db, resource)


# --- the types ----------------------------------------------------------------------------------

class Router(_Converging):
    type_name = "OS::Neutron::Router"
    description = "A router (qrouter- namespace on a network host) with an optional external gateway."
    properties_schema = {
        "name": Schema(STRING, "The router's name.", update_allowed=True),
        "admin_state_up": Schema(BOOLEAN, "The administrative state.", default=True, update_allowed=True),
        "external_gateway_info": Schema(MAP, "{network, enable_snat, external_fixed_ips}: the gateway.",
                                        update_allowed=True),
        "description": Schema(STRING, "A description.", update_allowed=True),
    }
    attributes_schema = {"external_gateway_info": "The gateway.", "status": "The status.",
                         "name": "The name.", "show": "All attributes."}

    @classmethod
    def quota_usage(cls, props, attributes=None):
        return {"router": 1}

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        ensure_router(db, res)
        converge(db, res, [res.resource_id])

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        row = db.get(RouterRow, res.resource_id)
        if row is not None:  # a stack's router: the API deleted its record already
            _service(res, routers.delete, db, row)
        converge(db, res, [res.resource_id])


def ensure_router(db, res: PlannedResource) -> RouterRow:
    """The router's record: the API's, or a stack's written (and updated) here."""
    row = db.get(RouterRow, res.resource_id)
    if row is not None and not res.attributes.get("from_template"):
        return row
    ctx, policy = caller(res)
    p = res.properties
    attrs = {k: p[k] for k in ("name", "admin_state_up", "description") if p.get(k) is not None}
    gw = p.get("external_gateway_info")
    if gw:
        attrs["external_gateway_info"] = {"network_id": gw.get("network"), **{
            k: gw[k] for k in ("enable_snat", "external_fixed_ips") if gw.get(k) is not None}}
    if row is None:
        res.attributes["from_template"] = True
        return _service(res, routers.create, db, ctx, policy, attrs, res.resource_id)
    attrs.setdefault("external_gateway_info", None)
    _service(res, routers.update, db, ctx, policy, row, attrs)
    return row


class RouterInterface(_Converging):
    type_name = "OS::Neutron::RouterInterface"
    property_aliases = {"router_id": "router", "subnet_id": "subnet", "port_id": "port"}  # Heat's deprecated names
    description = "A router's interface on a subnet (or on a given port)."
    properties_schema = {
        "router": Schema(STRING, "The router's id.", required=True),
        "subnet": Schema(STRING, "The subnet (the router takes its gateway_ip)."),
        "port": Schema(STRING, "A port the router takes over (instead of subnet)."),
    }
    attributes_schema = {"port_id": "The router's port on the subnet.", "show": "All attributes."}

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        p = res.properties
        if bool(p.get("subnet")) == bool(p.get("port")):
            raise ResourceCheckFailed("give the interface exactly one of subnet and port",
                                      ("resources", res.name, "properties"))
        if not res.attributes.get("port_id"):
            ctx, _ = caller(res)
            row = _service(res, routers.get, db, ctx, p["router"])
            body = {"subnet_id": p["subnet"]} if p.get("subnet") else {"port_id": p["port"]}
            res.attributes["port_id"] = _service(res, routers.add_interface, db, ctx, row, body)["port_id"]
        converge(db, res, [p["router"]], planned)

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        ctx, _ = caller(res)
        row = db.get(RouterRow, res.properties["router"])
        if row is not None and res.attributes.get("port_id"):
            try:
                routers.remove_interface(db, ctx, row, {"port_id": res.attributes["port_id"]})
            except ApiError as exc:
                if exc.status != 404:  # gone already is fine
                    raise ResourceCheckFailed(exc.message, ("resources", res.name), status=exc.status) from exc
        converge(db, res, [res.properties["router"]])


class FloatingIP(_Converging):
    type_name = "OS::Neutron::FloatingIP"
    property_aliases = {"floating_network_id": "floating_network"}  # Heat's deprecated name
    description = "An address of an external network, optionally mapped to a port's fixed IP."
    properties_schema = {
        "floating_network": Schema(STRING, "The external network.", required=True),
        "floating_subnet": Schema(STRING, "The external network's subnet to take it from."),
        "floating_ip_address": Schema(STRING, "The address (admins)."),
        "port_id": Schema(STRING, "The port it maps to.", update_allowed=True),
        "fixed_ip_address": Schema(STRING, "The port's fixed IP it maps to.", update_allowed=True),
    }
    attributes_schema = {"floating_ip_address": "The address.", "router_id": "Its router.",
                         "show": "All attributes."}

    @classmethod
    def quota_usage(cls, props, attributes=None):
        return {"floatingip": 1}

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        row = db.get(FloatingIPRow, res.resource_id)
        ctx, policy = caller(res)
        p = res.properties
        if row is None:
            res.attributes["from_template"] = True
            attrs = {"floating_network_id": p["floating_network"], "subnet_id": p.get("floating_subnet"),
                     "floating_ip_address": p.get("floating_ip_address"), "port_id": p.get("port_id"),
                     "fixed_ip_address": p.get("fixed_ip_address")}
            row = _service(res, floatingips.create, db, ctx, policy,
                           {k: v for k, v in attrs.items() if v is not None}, res.resource_id)
        elif res.attributes.get("from_template"):
            map_to(res, db, ctx, row, p.get("port_id"), p.get("fixed_ip_address"))
        res.attributes["floating_ip_address"] = row.floating_ip_address
        follow_router(db, res, row, planned)

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        row = db.get(FloatingIPRow, res.resource_id)
        if row is not None:
            floatingips.delete(db, row)
        converge(db, res, res.attributes.get("routers", []))


class FloatingIPAssociation(_Converging):
    type_name = "OS::Neutron::FloatingIPAssociation"
    description = "Maps a floating IP to a port's fixed IP."
    properties_schema = {
        "floatingip_id": Schema(STRING, "The floating IP.", required=True),
        "port_id": Schema(STRING, "The port.", required=True, update_allowed=True),
        "fixed_ip_address": Schema(STRING, "The port's fixed IP.", update_allowed=True),
    }

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        ctx, _ = caller(res)
        p = res.properties
        row = _service(res, floatingips.get, db, ctx, p["floatingip_id"])
        map_to(res, db, ctx, row, p["port_id"], p.get("fixed_ip_address"))
        follow_router(db, res, row, planned)

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        row = db.get(FloatingIPRow, res.properties["floatingip_id"])
        if row is not None and row.fixed_port_id == res.properties["port_id"]:
            floatingips.disassociate(row)
        converge(db, res, res.attributes.get("routers", []))


def resource_mapping():
    return {c.type_name: c for c in (Router, RouterInterface, FloatingIP, FloatingIPAssociation)}
