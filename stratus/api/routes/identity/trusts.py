"""/OS-TRUST/trusts: create, list (trustor_user_id / trustee_user_id filters), show,
delete, and the trust's roles. Rules and policy names as Keystone has them: the trustor
creates and deletes, trustor and trustee read, the cloud admin reads and deletes all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest, Forbidden, NotFound
from stratus.api.routes.identity._util import list_links, self_link
from stratus.api.routes.identity._util import role_view as _role_view
from stratus.db.models.identity_trusts import Trust
from stratus.identity import oauth1, trusts
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.identity.tokens import isotime

_ADMIN = "rule:admin_required"
_PARTY = (
    "rule:admin_required or user_id:%(target.trust.trustor_user_id)s"
    " or user_id:%(target.trust.trustee_user_id)s"
)
register_defaults(
    [
        RuleDefault("identity:create_trust", "user_id:%(trust.trustor_user_id)s"),
        RuleDefault("identity:list_trusts", _ADMIN),
        RuleDefault(
            "identity:list_trusts_for_trustor",
            "rule:admin_required or user_id:%(target.trust.trustor_user_id)s",
        ),
        RuleDefault(
            "identity:list_trusts_for_trustee",
            "rule:admin_required or user_id:%(target.trust.trustee_user_id)s",
        ),
        RuleDefault("identity:get_trust", _PARTY),
        RuleDefault("identity:list_roles_for_trust", _PARTY),
        RuleDefault("identity:get_role_for_trust", _PARTY),
        RuleDefault(
            "identity:delete_trust",
            "rule:admin_required or user_id:%(target.trust.trustor_user_id)s",
        ),
    ]
)

router = APIRouter(tags=["identity: trusts"])


def view(request: Request, db, trust: Trust) -> dict:
    return {
        "id": trust.id,
        "trustor_user_id": trust.trustor_user_id,
        "trustee_user_id": trust.trustee_user_id,
        "project_id": trust.project_id,
        "impersonation": trust.impersonation,
        "expires_at": isotime(trust.expires_at),
        "remaining_uses": trust.remaining_uses,
        "allow_redelegation": trust.allow_redelegation,
        "redelegation_count": trust.redelegation_count,
        "redelegated_trust_id": trust.redelegated_trust_id,
        "roles": [_role_view(request, r) for r in trusts.roles_of(db, trust)],
        "roles_links": {"self": None, "previous": None, "next": None},
        "links": self_link(request, f"/OS-TRUST/trusts/{trust.id}"),
    }


def _target(trust: Trust) -> dict:
    return {
        "target.trust.trustor_user_id": trust.trustor_user_id,
        "target.trust.trustee_user_id": trust.trustee_user_id,
    }


def _get(db, policy: Policy, rule: str, trust_id: str) -> Trust:
    trust = trusts.get_live(db, trust_id)
    policy.enforce(rule, _target(trust))
    return trust


@router.post("/OS-TRUST/trusts", status_code=201, summary="Create a trust")
def create(
    request: Request,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
    body: Annotated[dict[str, Any], Body()],
):
    trust = body.get("trust")
    if not isinstance(trust, dict):
        raise BadRequest("Invalid input for field 'trust': expecting an object.")
    if not isinstance(trust.get("trustor_user_id"), str):
        raise BadRequest("Invalid input for field 'trustor_user_id': expecting a string.")
    policy.enforce("identity:create_trust", {"trust.trustor_user_id": trust["trustor_user_id"]})
    if ctx.app_cred_id:
        raise Forbidden("A token from an application credential cannot create trusts.")
    if ctx.oauth_access_token_id:
        raise oauth1.delegated_refused("create a trust")
    made = trusts.create(db, request.app.state.settings, ctx, trust)
    return {"trust": view(request, db, made)}


@router.get("/OS-TRUST/trusts", summary="List trusts")
def list_(
    request: Request,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
    trustor_user_id: str | None = None,
    trustee_user_id: str | None = None,
):
    if trustor_user_id is None and trustee_user_id is None:
        policy.enforce("identity:list_trusts")
    if trustor_user_id is not None:
        policy.enforce(
            "identity:list_trusts_for_trustor",
            {"target.trust.trustor_user_id": trustor_user_id},
        )
    if trustee_user_id is not None:
        policy.enforce(
            "identity:list_trusts_for_trustee",
            {"target.trust.trustee_user_id": trustee_user_id},
        )
    found = trusts.list_live(db, trustor_user_id, trustee_user_id)
    return {"trusts": [view(request, db, t) for t in found], "links": list_links(request)}


@router.get("/OS-TRUST/trusts/{trust_id}", summary="Show a trust")
def get(request: Request, trust_id: str, ctx: Auth, db: DbSession, policy: Policy):
    return {"trust": view(request, db, _get(db, policy, "identity:get_trust", trust_id))}


@router.delete("/OS-TRUST/trusts/{trust_id}", status_code=204, summary="Delete a trust")
def delete(request: Request, trust_id: str, ctx: Auth, db: DbSession, policy: Policy):
    trust = db.get(Trust, trust_id)
    if trust is None:
        raise NotFound(f"Could not find trust: {trust_id}.")
    policy.enforce("identity:delete_trust", _target(trust))
    trusts.delete(db, trust)
    return Response(status_code=204)


@router.get("/OS-TRUST/trusts/{trust_id}/roles", summary="The roles a trust delegates")
def list_roles(request: Request, trust_id: str, ctx: Auth, db: DbSession, policy: Policy):
    trust = _get(db, policy, "identity:list_roles_for_trust", trust_id)
    return {
        "roles": [_role_view(request, r) for r in trusts.roles_of(db, trust)],
        "links": list_links(request),
    }


def _role_of(db, policy: Policy, trust_id: str, role_id: str):
    trust = _get(db, policy, "identity:get_role_for_trust", trust_id)
    for role in trusts.roles_of(db, trust):
        if role.id == role_id:
            return role
    raise NotFound(f"Could not find role: {role_id} in trust {trust_id}.")


@router.get("/OS-TRUST/trusts/{trust_id}/roles/{role_id}", summary="Show a role of a trust")
def get_role(
    request: Request, trust_id: str, role_id: str, ctx: Auth, db: DbSession, policy: Policy
):
    return {"role": _role_view(request, _role_of(db, policy, trust_id, role_id))}


@router.head("/OS-TRUST/trusts/{trust_id}/roles/{role_id}", summary="Check a role of a trust")
def check_role(trust_id: str, role_id: str, ctx: Auth, db: DbSession, policy: Policy):
    _role_of(db, policy, trust_id, role_id)
    return Response(status_code=200)
