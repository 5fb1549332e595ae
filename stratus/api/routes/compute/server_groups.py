"""Nova ``os-server-groups``: list (own project; ``all_projects`` for admins;
limit/offset), create, show, delete (204).

By microversion: ``soft-affinity``/``soft-anti-affinity`` from 2.15, ``project_id``
and ``user_id`` from 2.13, and from 2.64 one ``policy`` with ``rules``
(``max_server_per_host`` for anti-affinity) instead of the ``policies`` list and
``metadata``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.api.routes.compute._body import JsonBody
from stratus.compute import server_groups as svc
from stratus.compute import validation as v
from stratus.db.models.compute import ServerGroup
from stratus.errors import BadRequest

router = APIRouter(tags=["compute: server groups"])


def _policies(version) -> list[str]:
    return list(svc.POLICIES + (svc.SOFT_POLICIES if version >= (2, 15) else ()))


def _create_schema(version) -> dict[str, Any]:
    if version >= (2, 64):
        group = {"type": "object", "required": ["name", "policy"], "additionalProperties": False,
                 "properties": {"name": v.name, "policy": {"type": "string", "enum": _policies(version)},
                                "rules": {"type": "object", "additionalProperties": False,
                                          "properties": {"max_server_per_host": v.integer(1)}}}}
    else:
        group = {"type": "object", "required": ["name", "policies"], "additionalProperties": False,
                 "properties": {"name": v.name,
                                "policies": {"type": "array", "minItems": 1, "maxItems": 1,
                                             "uniqueItems": True,
                                             "items": {"type": "string", "enum": _policies(version)}}}}
    return {"type": "object", "required": ["server_group"], "additionalProperties": False,
            "properties": {"server_group": group}}


def view(db, version, group: ServerGroup) -> dict[str, Any]:
    out: dict[str, Any] = {"id": group.id, "name": group.name}
    if version >= (2, 64):
        out.update({"policy": group.policy, "rules": group.rules or {}})
    else:
        out["policies"] = [group.policy]
    out["members"] = svc.members(db, group.id)
    if version < (2, 64):
        out["metadata"] = {}
    if version >= (2, 13):
        out.update({"project_id": group.project_id, "user_id": group.user_id})
    return out


def _int_param(request: Request, name: str, minimum: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < minimum:
        v.bad(name, raw, f"{name} must be an integer {minimum} or greater")
    return int(raw)


@router.get("/os-server-groups")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:os-server-groups:index", {"project_id": ctx.project_id})
    everyone = v.as_bool(request.query_params.get("all_projects", "false")) and policy.allowed(
        "os_compute_api:os-server-groups:index:all_projects", {"project_id": ctx.project_id})
    groups = svc.list_groups(db, None if everyone else ctx.project_id,
                             limit=_int_param(request, "limit", 0), offset=_int_param(request, "offset", 0) or 0)
    return {"server_groups": [view(db, version, g) for g in groups]}


@router.post("/os-server-groups")
def create(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion,
           body: JsonBody):
    policy.enforce("os_compute_api:os-server-groups:create", {"project_id": ctx.project_id})
    v.validate(body, _create_schema(version))
    vals = body["server_group"]
    name_policy = vals["policy"] if version >= (2, 64) else vals["policies"][0]
    rules = {k: int(val) for k, val in (vals.get("rules") or {}).items()}
    if rules and name_policy != "anti-affinity":
        raise BadRequest("Only anti-affinity policy supports rules.")
    group = svc.create(db, project_id=ctx.project_id, user_id=ctx.user_id, name=vals["name"],
                       policy=name_policy, rules=rules,
                       quota_defaults=request.app.state.settings.quota_defaults)
    return {"server_group": view(db, version, group)}


@router.get("/os-server-groups/{group_id}")
def show(group_id: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    group = svc.get_group(db, ctx, group_id)
    policy.enforce("os_compute_api:os-server-groups:show", {"project_id": group.project_id})
    return {"server_group": view(db, version, group)}


@router.delete("/os-server-groups/{group_id}", status_code=204)
def delete(group_id: str, ctx: Auth, policy: Policy, db: DbSession):
    group = svc.get_group(db, ctx, group_id)
    policy.enforce("os_compute_api:os-server-groups:delete", {"project_id": group.project_id})
    svc.delete_group(db, group)
    return Response(status_code=204)
