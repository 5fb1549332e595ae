"""Networks: ``/v2.0/networks`` CRUD with provider attributes, shared, router:external,
MTU, port security, zone hints; the records are ``stratus.network.networks``', the host
state follows through the ``OS::Neutron::Net`` resource of the same id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.routes.network._common import JsonBody, done, jobs, one
from stratus.db.models.network import Network
from stratus.network import access, attrs, networks, pipeline, query

router = APIRouter(tags=["network: networks"])
TYPE = "OS::Neutron::Net"


def _enforce_attrs(policy, action: str, names, doc: dict[str, Any], target: dict[str, Any]) -> None:
    """Neutron's per-attribute rules: an admin-only attribute set to a non-default value."""
    for name in names:
        if doc.get(name) not in (None, False):
            policy.enforce(f"{action}_network:{name}", target)
    if action == "update" and "shared" in doc:
        policy.enforce("update_network:shared", target)


def properties(row: Network) -> dict[str, Any]:
    """The ``OS::Neutron::Net`` properties of a record."""
    props = {"name": row.name, "admin_state_up": row.admin_state_up, "shared": row.shared,
             "port_security_enabled": row.port_security_enabled, "mtu": row.mtu,
             "network_type": row.network_type, "router_external": row.external,
             "availability_zone_hints": list(row.availability_zone_hints or [])}
    if row.physical_network:
        props["physical_network"] = row.physical_network
    if row.segmentation_id is not None:
        props["segmentation_id"] = row.segmentation_id
    return props


def _view(db, row, ctx, policy) -> dict[str, Any]:
    return networks.view(db, row, ctx, admin=policy.allowed("get_network:provider:network_type"))


@router.post("/networks", status_code=201)
def create(request: Request, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    doc = attrs.section(body, "network")
    spec = networks.parse_create(doc)
    project_id = attrs.project_of(ctx, doc, policy.allowed("admin_required"))
    target = {"project_id": project_id}
    policy.enforce("create_network", target)
    _enforce_attrs(policy, "create", networks.ADMIN_CREATE, doc, target)
    row = networks.create(db, project_id, spec, request.app.state.settings)
    pipeline.create(db, TYPE, row, properties(row), cloud_admin=ctx.is_admin, **jobs(request))
    done(request, db)
    return {"network": _view(db, row, ctx, policy)}


@router.get("/networks")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("get_network")
    q = query.parse(request.query_params.multi_items())
    stmt = select(Network).where(access.visible_networks(ctx))
    rows, more = query.run(db, stmt, Network, q, networks.COLUMNS, tag_type="networks")
    view = networks.views(db, rows, ctx, admin=policy.allowed("get_network:provider:network_type"))
    return query.answer(request, "networks", rows, q, more, view)


@router.get("/networks/{network_id}")
def show(network_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("get_network")
    row = access.network(db, ctx, network_id)
    return one(request, "network", _view(db, row, ctx, policy))


@router.put("/networks/{network_id}")
def update(network_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    row = access.network(db, ctx, network_id)
    doc = attrs.section(body, "network")
    spec = networks.parse_update(doc)
    target = {"project_id": row.project_id}
    policy.enforce("update_network", target)
    _enforce_attrs(policy, "update", networks.ADMIN_UPDATE, doc, target)
    networks.update(db, row, spec, request.app.state.settings)
    pipeline.update(db, row.id, properties(row), **jobs(request))
    done(request, db)
    return {"network": _view(db, row, ctx, policy)}


@router.delete("/networks/{network_id}", status_code=204)
def delete(network_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    row = access.network(db, ctx, network_id)
    policy.enforce("delete_network", {"project_id": row.project_id})
    project_id = row.project_id
    subnet_ids = networks.delete(db, row)
    pipeline.delete(db, [*subnet_ids, network_id], project_id=project_id, **jobs(request))
    done(request, db)
    return Response(status_code=204)
