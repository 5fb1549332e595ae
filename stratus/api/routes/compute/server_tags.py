"""Nova ``server_tags`` (2.26 and later; 404 below): ``GET|PUT|DELETE
/servers/{id}/tags`` (list, replace ``{"tags": [...]}``, remove all: 204) and
``GET|PUT|DELETE /servers/{id}/tags/{tag}`` (204 when present; PUT 201 with a Location
when added, 204 when it was there). The rules are ``stratus.compute.tags``'s."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.api.routes.compute.servers import JsonBody
from stratus.compute import tags
from stratus.compute.lookup import get_server
from stratus.errors import NotFound
from stratus.identity.policy import RuleDefault, register_defaults

router = APIRouter(tags=["compute: server_tags"])
RULE = "os_compute_api:os-server-tags:{}"

register_defaults([
    RuleDefault(RULE.format("index"), "rule:admin_or_reader"),
    RuleDefault(RULE.format("show"), "rule:admin_or_reader"),
    RuleDefault(RULE.format("update"), "rule:admin_or_member"),
    RuleDefault(RULE.format("update_all"), "rule:admin_or_member"),
    RuleDefault(RULE.format("delete"), "rule:admin_or_member"),
    RuleDefault(RULE.format("delete_all"), "rule:admin_or_member"),
])


def _server(request: Request, db, ctx, policy, version, server_id: str, action: str):
    if version < (2, 26):
        raise NotFound(f"The resource could not be found: {request.url.path}")
    server = get_server(db, ctx, server_id)
    policy.enforce(RULE.format(action), {"project_id": server.project_id})
    return server


@router.get("/servers/{server_id}/tags")
def index(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    return {"tags": tags.of(db, _server(request, db, ctx, policy, version, server_id, "index"))}


@router.put("/servers/{server_id}/tags")
def update_all(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
               version: ApiVersion, body: JsonBody = None):
    server = _server(request, db, ctx, policy, version, server_id, "update_all")
    return {"tags": tags.replace(db, server, body)}


@router.delete("/servers/{server_id}/tags", status_code=204)
def delete_all(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
               version: ApiVersion):
    tags.remove_all(db, _server(request, db, ctx, policy, version, server_id, "delete_all"))
    return Response(status_code=204)


@router.get("/servers/{server_id}/tags/{tag}", status_code=204)
def show(server_id: str, tag: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
         version: ApiVersion):
    tags.has(db, _server(request, db, ctx, policy, version, server_id, "show"), tag)
    return Response(status_code=204)


@router.put("/servers/{server_id}/tags/{tag}")
def update(server_id: str, tag: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
           version: ApiVersion):
    server = _server(request, db, ctx, policy, version, server_id, "update")
    if not tags.add(db, server, tag):
        return Response(status_code=204)
    location = f"{request.app.state.settings.endpoint_url}/compute/v2.1/servers/{server.id}/tags/{tag}"
    return Response(status_code=201, headers={"Location": location})


@router.delete("/servers/{server_id}/tags/{tag}", status_code=204)
def delete(server_id: str, tag: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
           version: ApiVersion):
    tags.remove(db, _server(request, db, ctx, policy, version, server_id, "delete"), tag)
    return Response(status_code=204)
