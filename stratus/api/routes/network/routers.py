"""Routers: ``/v2.0/routers`` CRUD, add/remove_router_interface, extra routes.

Each change writes the records (``stratus.network.routers``) and submits the router's
``OS::Neutron::Router`` resource (create, update, delete) in the same transaction; the
answer is the record, at once, as Neutron's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy, plan_context
from stratus.db.models.network import Router
from stratus.network import query
from stratus.network import routers as service
from stratus.orchestration.submit import submit, submit_delete, submit_update

router = APIRouter(tags=["network: routers"])

COLUMNS = {"id": Router.id, "name": Router.name, "description": Router.description,
           "status": Router.status, "admin_state_up": Router.admin_state_up,
           "project_id": Router.project_id, "tenant_id": Router.project_id,
           "revision_number": Router.revision_number, "enable_snat": Router.enable_snat,
           "created_at": Router.created_at, "updated_at": Router.updated_at}


def _target(row: Router) -> dict[str, str]:
    return {"project_id": row.project_id}


def converge(request: Request, db, ctx, row: Router, *, created: bool = False) -> None:
    """Submit the router's host state (its resource's create or update)."""
    if created:
        submit(db, {"heat_template_version": "2018-08-31", "resources": {"router": {"type": "OS::Neutron::Router",
                                             "properties": {"name": row.name}}}},
               project_id=row.project_id, resource_ids={"router": row.id}, request_id=ctx.request_id,
               context=plan_context(request))
    else:
        submit_update(db, row.id, {"name": row.name}, request_id=ctx.request_id, context=plan_context(request))


@router.get("/routers")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession):
    q = query.parse(request.query_params.multi_items())
    rows, more = query.run(db, select(Router).where(service.visible(ctx)), Router, q, COLUMNS,
                           tag_type="routers")
    return query.answer(request, "routers", rows, q, more, lambda r: service.view(db, r))


@router.post("/routers", status_code=201)
def create(request: Request, ctx: Auth, policy: Policy, db: DbSession,
           body: Annotated[Any, Body()] = None):
    attrs = service.check_attributes(body, service.ATTRIBUTES, "router")
    policy.enforce("create_router", {"project_id": attrs.get("project_id") or ctx.project_id})
    row = service.create(db, ctx, policy, attrs)
    converge(request, db, ctx, row, created=True)
    return {"router": service.view(db, row)}


@router.get("/routers/{router_id}")
def show(router_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    row = service.get(db, ctx, router_id)
    policy.enforce("get_router", _target(row))
    q = query.parse(request.query_params.multi_items())
    return {"router": query.project(service.view(db, row), q.fields)}


@router.put("/routers/{router_id}")
def update(router_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
           body: Annotated[Any, Body()] = None):
    attrs = service.check_attributes(body, service.ATTRIBUTES, "router")
    row = service.get(db, ctx, router_id)
    policy.enforce("update_router", _target(row))
    service.update(db, ctx, policy, row, attrs)
    converge(request, db, ctx, row)
    return {"router": service.view(db, row)}


@router.delete("/routers/{router_id}", status_code=204)
def delete(router_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    row = service.get(db, ctx, router_id)
    policy.enforce("delete_router", _target(row))
    service.delete(db, row)
    submit_delete(db, [router_id], project_id=row.project_id, request_id=ctx.request_id,
                  context=plan_context(request))
    return Response(status_code=204)


@router.put("/routers/{router_id}/add_router_interface")
def add_router_interface(router_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
                         body: Annotated[Any, Body()] = None):
    return _act(router_id, request, ctx, policy, db, "add_router_interface",
                lambda row: service.add_interface(db, ctx, row, body))


@router.put("/routers/{router_id}/remove_router_interface")
def remove_router_interface(router_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
                            body: Annotated[Any, Body()] = None):
    return _act(router_id, request, ctx, policy, db, "remove_router_interface",
                lambda row: service.remove_interface(db, ctx, row, body))


@router.put("/routers/{router_id}/add_extraroutes")
def add_extraroutes(router_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
                    body: Annotated[Any, Body()] = None):
    routes = service.check_attributes(body, {"routes"}, "router").get("routes")
    return _act(router_id, request, ctx, policy, db, "add_extraroutes",
                lambda row: _routes(db, row, routes, add=True))


@router.put("/routers/{router_id}/remove_extraroutes")
def remove_extraroutes(router_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
                       body: Annotated[Any, Body()] = None):
    routes = service.check_attributes(body, {"routes"}, "router").get("routes")
    return _act(router_id, request, ctx, policy, db, "remove_extraroutes",
                lambda row: _routes(db, row, routes, add=False))


def _routes(db, row: Router, routes, *, add: bool) -> dict[str, Any]:
    service.change_routes(db, row, routes, add=add)
    return {"router": service.view(db, row)}


def _act(router_id: str, request: Request, ctx, policy, db, rule: str, change):
    """A router action: the caller's router, the rule, the change, the router's converge."""
    row = service.get(db, ctx, router_id)
    policy.enforce(rule, _target(row))
    answer = change(row)
    converge(request, db, ctx, row)
    return answer
