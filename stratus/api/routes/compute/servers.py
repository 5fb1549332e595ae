"""Nova ``servers``: ``POST /servers`` (202, the new server's id, links and adminPass, or
``{"reservation_id"}`` with ``return_reservation_id``), ``GET /servers`` and
``/servers/detail`` (filters, sorting, paging: ``stratus.compute.listing``),
``GET /servers/{id}``, ``PUT /servers/{id}``, ``DELETE /servers/{id}`` (204).
The documents are ``stratus.compute.views``; the work is ``stratus.compute``'s."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from stratus import log
from stratus.api.deps import ApiVersion, Auth, DbSession, Policy, plan_context
from stratus.compute import create as creating
from stratus.compute import listing, views
from stratus.compute import servers as service
from stratus.compute.lookup import get_server
from stratus.errors import BadRequest
from stratus.identity.policy import RuleDefault, register_defaults

router = APIRouter(tags=["compute: servers"])

register_defaults([
    RuleDefault("os_compute_api:servers:index", "rule:admin_or_reader"),
    RuleDefault("os_compute_api:servers:detail", "rule:admin_or_reader"),
    RuleDefault("os_compute_api:servers:index:get_all_tenants", "rule:admin_required"),
    RuleDefault("os_compute_api:servers:detail:get_all_tenants", "rule:admin_required"),
    RuleDefault("os_compute_api:servers:show", "rule:admin_or_reader"),
    RuleDefault("os_compute_api:servers:show:host_status", "rule:admin_required"),
    RuleDefault("os_compute_api:servers:create", "rule:admin_or_member"),
    RuleDefault("os_compute_api:servers:create:forced_host", "rule:admin_required"),
    RuleDefault("os_compute_api:servers:update", "rule:admin_or_member"),
    RuleDefault("os_compute_api:servers:delete", "rule:admin_or_member"),
])


def _view(request: Request, db, ctx, version) -> views.View:
    settings = request.app.state.settings
    return views.View(db, version, admin=ctx.is_admin, base_url=settings.endpoint_url,
                      default_zone=settings.default_availability_zone)


# The body as JSON (any shape: the services check it and answer in Nova's words).
JsonBody = Annotated[Any, Body()]


def _notify(request: Request) -> None:
    worker = getattr(request.app.state, "jobs_worker", None)
    if worker is not None:
        worker.notify()


@router.post("/servers", status_code=202)
def create_server(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion,
                  body: JsonBody = None):
    policy.enforce("os_compute_api:servers:create")
    settings = request.app.state.settings
    req = creating.parse(body, version, admin=policy.allowed("os_compute_api:servers:create:forced_host"),
                         default_zone=settings.default_schedule_zone)
    if req.max_count > settings.compute_max_count:
        raise BadRequest(f"Invalid input for field/attribute max_count. Value: {req.max_count}. "
                         f"At most {settings.compute_max_count} servers per request "
                         "(compute_max_count).")
    made = creating.create(db, ctx, req, settings=settings, plan_context=plan_context(request),
                           request_id=log.request_id.get())
    db.commit()
    _notify(request)
    if req.return_reservation_id:
        return {"reservation_id": made.reservation_id}
    view = _view(request, db, ctx, version)
    first = made.ids[0]
    doc = {"id": first, "links": view.links("servers", first), "OS-DCF:diskConfig": req.disk_config,
           "security_groups": [{"name": "default"}], "adminPass": made.admin_pass}
    return Response(json.dumps({"server": doc}), status_code=202, media_type="application/json",
                    headers={"Location": doc["links"][0]["href"]})


@router.get("/servers")
def list_servers(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:servers:index")
    return _listing(request, ctx, db, version, detail=False)


@router.get("/servers/detail")
def list_servers_detail(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:servers:detail")
    return _listing(request, ctx, db, version, detail=True)


def _listing(request: Request, ctx, db, version, *, detail: bool) -> dict[str, Any]:
    params = list(request.query_params.multi_items())
    page, limit = listing.servers(db, ctx, params, version)
    view = _view(request, db, ctx, version)
    out: dict[str, Any] = {"servers": view.servers(page.servers) if detail else
                           [view.brief(s) for s in page.servers]}
    if page.next_marker:
        base = f"{view.root}/v2.1/servers" + ("/detail" if detail else "")
        out["servers_links"] = listing.next_link(base, params, page.next_marker, limit)
    return out


@router.get("/servers/{server_id}")
def show_server(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
                version: ApiVersion):
    server = get_server(db, ctx, server_id)
    policy.enforce("os_compute_api:servers:show", {"project_id": server.project_id})
    return {"server": _view(request, db, ctx, version).server(server)}


@router.put("/servers/{server_id}")
def update_server(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
                  version: ApiVersion, body: JsonBody = None):
    server = get_server(db, ctx, server_id)
    policy.enforce("os_compute_api:servers:update", {"project_id": server.project_id})
    service.update(db, server, body, version)
    return {"server": _view(request, db, ctx, version).server(server)}


@router.delete("/servers/{server_id}", status_code=204)
def delete_server(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    server = get_server(db, ctx, server_id)
    policy.enforce("os_compute_api:servers:delete", {"project_id": server.project_id})
    service.delete(db, ctx, server, plan_context=plan_context(request), request_id=log.request_id.get(),
                   settings=request.app.state.settings)
    db.commit()
    _notify(request)
    return Response(status_code=204)
