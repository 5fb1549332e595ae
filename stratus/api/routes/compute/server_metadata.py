"""Nova ``server_metadata``: ``GET|POST|PUT /servers/{id}/metadata`` (list, merge,
replace: ``{"metadata": {...}}``) and ``GET|PUT|DELETE /servers/{id}/metadata/{key}``
(``{"meta": {key: value}}``; delete 204). The rules are ``stratus.compute.metadata``'s."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.routes.compute.servers import JsonBody
from stratus.compute import metadata
from stratus.compute.lookup import get_server
from stratus.identity.policy import RuleDefault, register_defaults

router = APIRouter(tags=["compute: server_metadata"])
RULE = "os_compute_api:server-metadata:{}"

register_defaults([
    RuleDefault(RULE.format("index"), "rule:admin_or_reader"),
    RuleDefault(RULE.format("show"), "rule:admin_or_reader"),
    RuleDefault(RULE.format("create"), "rule:admin_or_member"),
    RuleDefault(RULE.format("update"), "rule:admin_or_member"),
    RuleDefault(RULE.format("update_all"), "rule:admin_or_member"),
    RuleDefault(RULE.format("delete"), "rule:admin_or_member"),
])


def _server(db, ctx, policy, server_id: str, action: str):
    server = get_server(db, ctx, server_id)
    policy.enforce(RULE.format(action), {"project_id": server.project_id})
    return server


@router.get("/servers/{server_id}/metadata")
def index(server_id: str, ctx: Auth, policy: Policy, db: DbSession):
    return {"metadata": dict(_server(db, ctx, policy, server_id, "index").metadata_ or {})}


@router.post("/servers/{server_id}/metadata")
def create(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody = None):
    server = _server(db, ctx, policy, server_id, "create")
    new = metadata.update(db, server, metadata.body_of(body, "metadata"), replace=False, admin=ctx.is_admin,
                          settings=request.app.state.settings)
    return {"metadata": new}


@router.put("/servers/{server_id}/metadata")
def update_all(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
               body: JsonBody = None):
    server = _server(db, ctx, policy, server_id, "update_all")
    new = metadata.update(db, server, metadata.body_of(body, "metadata"), replace=True, admin=ctx.is_admin,
                          settings=request.app.state.settings)
    return {"metadata": new}


@router.get("/servers/{server_id}/metadata/{key}")
def show(server_id: str, key: str, ctx: Auth, policy: Policy, db: DbSession):
    return {"meta": metadata.item(_server(db, ctx, policy, server_id, "show"), key)}


@router.put("/servers/{server_id}/metadata/{key}")
def update(server_id: str, key: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
           body: JsonBody = None):
    server = _server(db, ctx, policy, server_id, "update")
    meta = metadata.update_item(db, server, key, body, admin=ctx.is_admin, settings=request.app.state.settings)
    return {"meta": meta}


@router.delete("/servers/{server_id}/metadata/{key}", status_code=204)
def delete(server_id: str, key: str, ctx: Auth, policy: Policy, db: DbSession):
    metadata.delete_item(db, _server(db, ctx, policy, server_id, "delete"), key, admin=ctx.is_admin)
    return Response(status_code=204)
