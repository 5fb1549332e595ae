"""/policies: stored policy blobs (Keystone's deprecated policies API; kept, not enforced)"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.routes.identity._util import get_or_404, list_links, self_link
from stratus.db.models.identity_resources import PolicyBlob
from stratus.identity.extras import extras_in, merge_extras, with_extras
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.identity.schemas import PolicyCreateBody, PolicyUpdateBody

router = APIRouter(tags=["identity: policies"])

register_defaults(
    [
        RuleDefault(f"identity:{name}", "rule:admin_required")
        for name in ("get_policy", "list_policies", "create_policy", "update_policy", "delete_policy")
    ]
)


def policy_view(request: Request, p: PolicyBlob) -> dict:
    view = {"id": p.id, "type": p.type, "blob": p.blob, "links": self_link(request, f"/policies/{p.id}")}
    return with_extras(view, p)


@router.get("/policies")
def list_policies(request: Request, ctx: Auth, db: DbSession, policy: Policy, type: str | None = None):
    policy.enforce("identity:list_policies", {})
    q = select(PolicyBlob).order_by(PolicyBlob.id)
    if type is not None:
        q = q.filter_by(type=type)
    return {"policies": [policy_view(request, p) for p in db.scalars(q)], "links": list_links(request)}


@router.post("/policies", status_code=201)
def create_policy(request: Request, body: PolicyCreateBody, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:create_policy", {})
    b = body.policy
    p = PolicyBlob(type=b.type, blob=b.blob, extra=extras_in(b))
    db.add(p)
    db.flush()
    return {"policy": policy_view(request, p)}


@router.get("/policies/{policy_id}")
def get_policy(request: Request, policy_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_policy", {})
    return {"policy": policy_view(request, get_or_404(db, PolicyBlob, policy_id, "policy"))}


@router.patch("/policies/{policy_id}")
def update_policy(
    request: Request, policy_id: str, body: PolicyUpdateBody, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:update_policy", {})
    p = get_or_404(db, PolicyBlob, policy_id, "policy")
    v = body.policy.model_dump(exclude_unset=True)
    for k in ("type", "blob"):
        if v.get(k) is not None:
            setattr(p, k, v[k])
    merge_extras(p, body.policy)
    return {"policy": policy_view(request, p)}


@router.delete("/policies/{policy_id}", status_code=204)
def delete_policy(policy_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_policy", {})
    db.delete(get_or_404(db, PolicyBlob, policy_id, "policy"))
    return Response(status_code=204)
