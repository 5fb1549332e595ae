"""Floating IPs: ``/v2.0/floatingips`` CRUD (allocate, associate, disassociate, release).

Each change writes the records (``stratus.network.floatingips``) and submits the floating
IP's ``OS::Neutron::FloatingIP`` resource, whose type converges the routers it touches.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy, plan_context
from stratus.db.models.network import FloatingIP
from stratus.network import floatingips as service
from stratus.network import query, routers
from stratus.orchestration.submit import submit, submit_delete, submit_update

router = APIRouter(tags=["network: floatingips"])

COLUMNS = {"id": FloatingIP.id, "floating_ip_address": FloatingIP.floating_ip_address,
           "floating_network_id": FloatingIP.floating_network_id, "router_id": FloatingIP.router_id,
           "port_id": FloatingIP.fixed_port_id, "fixed_ip_address": FloatingIP.fixed_ip_address,
           "status": FloatingIP.status, "project_id": FloatingIP.project_id,
           "tenant_id": FloatingIP.project_id, "description": FloatingIP.description,
           "revision_number": FloatingIP.revision_number,
           "created_at": FloatingIP.created_at, "updated_at": FloatingIP.updated_at}


def _props(row: FloatingIP) -> dict[str, Any]:
    return {"floating_network": row.floating_network_id, "port_id": row.fixed_port_id,
            "fixed_ip_address": row.fixed_ip_address}


@router.get("/floatingips")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession):
    q = query.parse(request.query_params.multi_items())
    rows, more = query.run(db, select(FloatingIP).where(service.visible(ctx)), FloatingIP, q, COLUMNS,
                           tag_type="floatingips")
    return query.answer(request, "floatingips", rows, q, more, lambda r: service.view(db, r))


@router.post("/floatingips", status_code=201)
def create(request: Request, ctx: Auth, policy: Policy, db: DbSession,
           body: Annotated[Any, Body()] = None):
    attrs = routers.check_attributes(body, service.ATTRIBUTES, "floatingip")
    policy.enforce("create_floatingip", {"project_id": attrs.get("project_id") or ctx.project_id})
    row = service.create(db, ctx, policy, attrs)
    submit(db, {"heat_template_version": "2018-08-31",
                "resources": {"floatingip": {"type": "OS::Neutron::FloatingIP", "properties": _props(row)}}},
           project_id=row.project_id, resource_ids={"floatingip": row.id}, request_id=ctx.request_id,
           context=plan_context(request))
    return {"floatingip": service.view(db, row)}


@router.get("/floatingips/{fip_id}")
def show(fip_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    row = service.get(db, ctx, fip_id)
    policy.enforce("get_floatingip", {"project_id": row.project_id})
    q = query.parse(request.query_params.multi_items())
    return {"floatingip": query.project(service.view(db, row), q.fields)}


@router.put("/floatingips/{fip_id}")
def update(fip_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
           body: Annotated[Any, Body()] = None):
    attrs = routers.check_attributes(body, service.ATTRIBUTES, "floatingip")
    row = service.get(db, ctx, fip_id)
    policy.enforce("update_floatingip", {"project_id": row.project_id})
    service.update(db, ctx, row, attrs)
    submit_update(db, row.id, _props(row), request_id=ctx.request_id, context=plan_context(request))
    return {"floatingip": service.view(db, row)}


@router.delete("/floatingips/{fip_id}", status_code=204)
def delete(fip_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    row = service.get(db, ctx, fip_id)
    policy.enforce("delete_floatingip", {"project_id": row.project_id})
    project = row.project_id
    service.delete(db, row)
    submit_delete(db, [fip_id], project_id=project, request_id=ctx.request_id, context=plan_context(request))
    return Response(status_code=204)
