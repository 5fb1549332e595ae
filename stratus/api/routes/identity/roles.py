"""/roles, implied roles (/roles/{prior}/implies/{implied}) and /role_inferences"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest, NotFound
from stratus.api.routes.identity._util import (
    apply_patch,
    ensure_unique_name,
    get_or_404,
    list_links,
    self_link,
)
from stratus.db.models.identity import ImpliedRole, Role
from stratus.identity.assignments import implied_closure
from stratus.identity.domain_roles import check_domain_exists, refuse_as_implied
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.identity.schemas import RoleCreateBody, RoleUpdateBody

router = APIRouter(tags=["identity: roles"])

register_defaults(
    [
        RuleDefault(f"identity:{name}", "rule:admin_required")
        for name in ("get_domain_role", "list_domain_roles", "create_domain_role",
                     "update_domain_role", "delete_domain_role")
    ]
)


def role_view(request: Request, r: Role) -> dict:
    return {
        "id": r.id,
        "name": r.name,
        "domain_id": r.domain_id or None,
        "description": r.description,
        "options": {},
        "links": self_link(request, f"/roles/{r.id}"),
    }


def _brief(request: Request, r: Role) -> dict:
    return {"id": r.id, "name": r.name, "links": self_link(request, f"/roles/{r.id}")}


@router.get("/roles")
def list_roles(
    request: Request,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
    name: str | None = None,
    domain_id: str | None = None,
):
    policy.enforce("identity:list_domain_roles" if domain_id else "identity:list_roles", {})
    q = select(Role).order_by(Role.name).filter_by(domain_id=domain_id or "")
    if name is not None:
        q = q.filter_by(name=name)
    return {"roles": [role_view(request, r) for r in db.scalars(q)], "links": list_links(request)}


@router.post("/roles", status_code=201)
def create_role(request: Request, body: RoleCreateBody, ctx: Auth, db: DbSession, policy: Policy):
    b = body.role
    policy.enforce("identity:create_domain_role" if b.domain_id else "identity:create_role", {})
    if b.domain_id:
        check_domain_exists(db, b.domain_id)
    ensure_unique_name(db, Role, b.name, "role", domain_id=b.domain_id or "")
    r = Role(name=b.name, domain_id=b.domain_id or "", description=b.description or "")
    db.add(r)
    db.flush()
    return {"role": role_view(request, r)}


@router.get("/roles/{role_id}")
def get_role(request: Request, role_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_role", {})
    return {"role": role_view(request, get_or_404(db, Role, role_id, "role"))}


@router.patch("/roles/{role_id}")
def update_role(
    request: Request, role_id: str, body: RoleUpdateBody, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:update_role", {})
    r = get_or_404(db, Role, role_id, "role")
    apply_patch(
        db,
        r,
        body.role.model_dump(exclude_unset=True),
        ("name", "description"),
        what="role",
        unique_within=("domain_id",),
    )
    return {"role": role_view(request, r)}


@router.delete("/roles/{role_id}", status_code=204)
def delete_role(role_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_role", {})
    db.delete(get_or_404(db, Role, role_id, "role"))
    return Response(status_code=204)


# --- implied roles ---------------------------------------------------------------------
def _inference(request: Request, db, prior: Role, implied: list[Role]) -> dict:
    return {"prior_role": _brief(request, prior), "implies": [_brief(request, r) for r in implied]}


@router.get("/roles/{prior_role_id}/implies")
def list_implied(request: Request, prior_role_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:list_implied_roles", {})
    prior = get_or_404(db, Role, prior_role_id, "role")
    ids = db.scalars(select(ImpliedRole.implied_role_id).filter_by(prior_role_id=prior.id))
    implied = [db.get(Role, i) for i in ids]
    return {"role_inference": _inference(request, db, prior, implied), "links": list_links(request)}


@router.put("/roles/{prior_role_id}/implies/{implied_role_id}", status_code=201)
def create_implied(
    request: Request,
    prior_role_id: str,
    implied_role_id: str,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
):
    policy.enforce("identity:create_implied_role", {})
    prior = get_or_404(db, Role, prior_role_id, "role")
    implied = get_or_404(db, Role, implied_role_id, "role")
    refuse_as_implied(implied)
    if prior.id == implied.id or prior.id in implied_closure(db, {implied.id}):
        raise BadRequest(f"Role {implied.id} implying {prior.id} would make a cycle.")
    if db.get(ImpliedRole, (prior.id, implied.id)) is None:
        db.add(ImpliedRole(prior_role_id=prior.id, implied_role_id=implied.id))
    return {
        "role_inference": {
            "prior_role": _brief(request, prior),
            "implies": _brief(request, implied),
        }
    }


@router.get("/roles/{prior_role_id}/implies/{implied_role_id}")
def get_implied(
    request: Request,
    prior_role_id: str,
    implied_role_id: str,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
):
    policy.enforce("identity:get_implied_role", {})
    if db.get(ImpliedRole, (prior_role_id, implied_role_id)) is None:
        raise NotFound(f"Could not find implied role: {prior_role_id} implies {implied_role_id}.")
    prior, implied = db.get(Role, prior_role_id), db.get(Role, implied_role_id)
    return {
        "role_inference": {
            "prior_role": _brief(request, prior),
            "implies": _brief(request, implied),
        }
    }


@router.head("/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204)
def check_implied(
    prior_role_id: str, implied_role_id: str, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:get_implied_role", {})
    if db.get(ImpliedRole, (prior_role_id, implied_role_id)) is None:
        raise NotFound(f"Could not find implied role: {prior_role_id} implies {implied_role_id}.")
    return Response(status_code=204)


@router.delete("/roles/{prior_role_id}/implies/{implied_role_id}", status_code=204)
def delete_implied(
    prior_role_id: str, implied_role_id: str, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:delete_implied_role", {})
    row = db.get(ImpliedRole, (prior_role_id, implied_role_id))
    if row is None:
        raise NotFound(f"Could not find implied role: {prior_role_id} implies {implied_role_id}.")
    db.delete(row)
    return Response(status_code=204)


@router.get("/role_inferences")
def list_inferences(request: Request, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:list_role_inference_rules", {})
    by_prior: dict[str, list[str]] = {}
    for row in db.scalars(select(ImpliedRole)):
        by_prior.setdefault(row.prior_role_id, []).append(row.implied_role_id)
    out = [
        _inference(request, db, db.get(Role, p), [db.get(Role, i) for i in ids])
        for p, ids in by_prior.items()
    ]
    return {"role_inferences": out, "links": list_links(request)}
