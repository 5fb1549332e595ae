"""/registered_limits, /limits and /limits/model: Keystone's unified limits. Everyone
reads registered limits; a project's members read its limits; the cloud admin writes
both."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import or_, select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest, NotFound
from stratus.api.routes.identity._util import list_links, self_link
from stratus.db.models.identity_limits import Limit, RegisteredLimit
from stratus.identity import limits
from stratus.identity.policy import RuleDefault, register_defaults

_ADMIN = "rule:admin_required"
_LIMIT_READER = (
    "rule:admin_required or project_id:%(target.limit.project_id)s "
    "or domain_id:%(target.limit.domain_id)s"
)
register_defaults([
    RuleDefault("identity:get_registered_limit", ""),
    RuleDefault("identity:list_registered_limits", ""),
    RuleDefault("identity:create_registered_limits", _ADMIN),
    RuleDefault("identity:update_registered_limit", _ADMIN),
    RuleDefault("identity:delete_registered_limit", _ADMIN),
    RuleDefault("identity:get_limit_model", ""),
    RuleDefault("identity:get_limit", _LIMIT_READER),
    RuleDefault("identity:list_limits", ""),
    RuleDefault("identity:create_limits", _ADMIN),
    RuleDefault("identity:update_limit", _ADMIN),
    RuleDefault("identity:delete_limit", _ADMIN),
])

router = APIRouter(tags=["identity: unified limits"])


def registered_view(request: Request, r: RegisteredLimit) -> dict:
    return {"id": r.id, "service_id": r.service_id, "region_id": r.region_id,
            "resource_name": r.resource_name, "default_limit": r.default_limit,
            "description": r.description,
            "links": self_link(request, f"/registered_limits/{r.id}")}


def limit_view(request: Request, lim: Limit) -> dict:
    return {"id": lim.id, "project_id": lim.project_id, "domain_id": lim.domain_id,
            "service_id": lim.service_id, "region_id": lim.region_id,
            "resource_name": lim.resource_name, "resource_limit": lim.resource_limit,
            "description": lim.description, "links": self_link(request, f"/limits/{lim.id}")}


def _member(body: dict, key: str) -> dict:
    ref = body.get(key)
    if not isinstance(ref, dict):
        raise BadRequest(f"Invalid input for field '{key}': expecting an object.")
    return ref


def _filters(q, model, **given):
    for name, value in given.items():
        if value is not None:
            q = q.where(getattr(model, name) == value)
    return q


# --- registered limits ------------------------------------------------------------------
@router.post("/registered_limits", status_code=201)
def create_registered(request: Request, ctx: Auth, db: DbSession, policy: Policy,
                      body: Annotated[dict[str, Any], Body()]):
    policy.enforce("identity:create_registered_limits")
    refs = limits.create_registered(db, body)
    return {"registered_limits": [registered_view(request, r) for r in refs]}


@router.get("/registered_limits")
def list_registered(request: Request, ctx: Auth, db: DbSession, policy: Policy,
                    service_id: str | None = None, region_id: str | None = None,
                    resource_name: str | None = None):
    policy.enforce("identity:list_registered_limits")
    q = _filters(select(RegisteredLimit), RegisteredLimit, service_id=service_id,
                 region_id=region_id, resource_name=resource_name)
    rows = db.scalars(q.order_by(RegisteredLimit.resource_name, RegisteredLimit.id))
    return {"registered_limits": [registered_view(request, r) for r in rows],
            "links": list_links(request)}


def _registered(db, rid: str) -> RegisteredLimit:
    reg = db.get(RegisteredLimit, rid)
    if reg is None:
        raise NotFound(f"Could not find registered limit for {rid}.")
    return reg


@router.get("/registered_limits/{rid}")
def get_registered(request: Request, rid: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_registered_limit")
    return {"registered_limit": registered_view(request, _registered(db, rid))}


@router.patch("/registered_limits/{rid}")
def update_registered(request: Request, rid: str, ctx: Auth, db: DbSession, policy: Policy,
                      body: Annotated[dict[str, Any], Body()]):
    policy.enforce("identity:update_registered_limit")
    reg = _registered(db, rid)
    limits.update_registered(db, reg, _member(body, "registered_limit"))
    return {"registered_limit": registered_view(request, reg)}


@router.delete("/registered_limits/{rid}", status_code=204)
def delete_registered(request: Request, rid: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_registered_limit")
    limits.delete_registered(db, _registered(db, rid))
    return Response(status_code=204)


# --- limits -------------------------------------------------------------------------------
@router.get("/limits/model")
def model(request: Request, ctx: Auth, policy: Policy):
    policy.enforce("identity:get_limit_model")
    name = request.app.state.settings.limits_enforcement_model
    return {"model": {"name": name, "description": limits.MODELS.get(name, "")}}


@router.post("/limits", status_code=201)
def create_limits(request: Request, ctx: Auth, db: DbSession, policy: Policy,
                  body: Annotated[dict[str, Any], Body()]):
    policy.enforce("identity:create_limits")
    return {"limits": [limit_view(request, lim) for lim in limits.create_limits(db, body)]}


@router.get("/limits")
def list_limits(request: Request, ctx: Auth, db: DbSession, policy: Policy,
                service_id: str | None = None, region_id: str | None = None,
                resource_name: str | None = None, project_id: str | None = None,
                domain_id: str | None = None):
    policy.enforce("identity:list_limits")
    q = _filters(select(Limit), Limit, service_id=service_id, region_id=region_id,
                 resource_name=resource_name, project_id=project_id, domain_id=domain_id)
    if not policy.allowed("identity:create_limits"):
        # anyone but the cloud admin sees the limits of the token's project or domain only
        mine = [Limit.project_id == ctx.project_id] if ctx.project_id else []
        if ctx.domain_id:
            mine.append(Limit.domain_id == ctx.domain_id)
        if not mine:
            return {"limits": [], "links": list_links(request)}
        q = q.where(or_(*mine))
    rows = db.scalars(q.order_by(Limit.resource_name, Limit.id))
    return {"limits": [limit_view(request, lim) for lim in rows], "links": list_links(request)}


def _limit(db, policy: Policy, rule: str, lid: str) -> Limit:
    lim = db.get(Limit, lid)
    target = {"target.limit.project_id": (lim.project_id if lim else None) or "",
              "target.limit.domain_id": (lim.domain_id if lim else None) or ""}
    policy.enforce(rule, target)
    if lim is None:
        raise NotFound(f"Could not find limit for {lid}.")
    return lim


@router.get("/limits/{lid}")
def get_limit(request: Request, lid: str, ctx: Auth, db: DbSession, policy: Policy):
    return {"limit": limit_view(request, _limit(db, policy, "identity:get_limit", lid))}


@router.patch("/limits/{lid}")
def update_limit(request: Request, lid: str, ctx: Auth, db: DbSession, policy: Policy,
                 body: Annotated[dict[str, Any], Body()]):
    lim = _limit(db, policy, "identity:update_limit", lid)
    limits.update_limit(db, lim, _member(body, "limit"))
    return {"limit": limit_view(request, lim)}


@router.delete("/limits/{lid}", status_code=204)
def delete_limit(request: Request, lid: str, ctx: Auth, db: DbSession, policy: Policy):
    db.delete(_limit(db, policy, "identity:delete_limit", lid))
    return Response(status_code=204)
