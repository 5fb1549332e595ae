"""/credentials: Keystone's credentials API (blobs encrypted at rest, see
stratus/identity/credentials.py). A user sees and manages their own credentials; the
cloud admin everybody's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest, NotFound
from stratus.api.routes.identity._util import list_links, self_link
from stratus.db.models.identity_credentials import Credential
from stratus.identity import credentials
from stratus.identity.policy import RuleDefault, register_defaults

_OWNER = "rule:admin_required or user_id:%(target.credential.user_id)s"
register_defaults([
    RuleDefault(f"identity:{action}_credential{suffix}", _OWNER)
    for action, suffix in (("get", ""), ("create", ""), ("update", ""), ("delete", ""),
                           ("list", "s"))
])

router = APIRouter(tags=["identity: credentials"])


def view(request: Request, settings, cred: Credential) -> dict:
    return {
        **(cred.extra or {}),
        "id": cred.id,
        "user_id": cred.user_id,
        "project_id": cred.project_id,
        "type": cred.type,
        "blob": credentials.plain(settings, cred),
        "links": self_link(request, f"/credentials/{cred.id}"),
    }


def _body(body: dict[str, Any]) -> dict:
    cred = body.get("credential")
    if not isinstance(cred, dict):
        raise BadRequest("Invalid input for field 'credential': expecting an object.")
    return cred


def _target(policy: Policy, rule: str, db, credential_id: str) -> Credential:
    """The credential after ``rule`` passed on it: 403 for another user's (or a missing
    one, as Keystone, to anyone but the admin), 404 for the admin when it is missing."""
    cred = db.get(Credential, credential_id)
    policy.enforce(rule, {"target.credential.user_id": cred.user_id if cred else ""})
    if cred is None:
        raise NotFound(f"Could not find credential: {credential_id}.")
    return cred


@router.post("/credentials", status_code=201)
def create(request: Request, ctx: Auth, db: DbSession, policy: Policy,
           body: Annotated[dict[str, Any], Body()]):
    ref = _body(body)
    policy.enforce("identity:create_credential",
                   {"target.credential.user_id": ref.get("user_id") or ""})
    settings = request.app.state.settings
    cred = credentials.create(db, settings, ref)
    return {"credential": view(request, settings, cred)}


@router.get("/credentials")
def list_(request: Request, ctx: Auth, db: DbSession, policy: Policy,
          user_id: str | None = None, type: str | None = None):  # noqa: A002 - the wire name
    q = select(Credential).order_by(Credential.created_at, Credential.id)
    if not policy.allowed("identity:list_credentials", {"target.credential.user_id": user_id or ""}):
        # a user lists their own credentials only, whatever the filter asks for
        policy.enforce("identity:list_credentials", {"target.credential.user_id": ctx.user_id})
        q = q.where(Credential.user_id == ctx.user_id)
    if user_id is not None:
        q = q.where(Credential.user_id == user_id)
    if type is not None:
        q = q.where(Credential.type == type)
    settings = request.app.state.settings
    return {"credentials": [view(request, settings, c) for c in db.scalars(q)],
            "links": list_links(request)}


@router.get("/credentials/{credential_id}")
def get(request: Request, credential_id: str, ctx: Auth, db: DbSession, policy: Policy):
    cred = _target(policy, "identity:get_credential", db, credential_id)
    return {"credential": view(request, request.app.state.settings, cred)}


@router.patch("/credentials/{credential_id}")
def update(request: Request, credential_id: str, ctx: Auth, db: DbSession, policy: Policy,
           body: Annotated[dict[str, Any], Body()]):
    cred = _target(policy, "identity:update_credential", db, credential_id)
    ref = _body(body)
    if ref.get("user_id") not in (None, cred.user_id):
        # handing a credential to another user needs the right over that user's too
        policy.enforce("identity:update_credential", {"target.credential.user_id": ref["user_id"]})
    settings = request.app.state.settings
    credentials.update(db, settings, cred, ref)
    return {"credential": view(request, settings, cred)}


@router.delete("/credentials/{credential_id}", status_code=204)
def delete(request: Request, credential_id: str, ctx: Auth, db: DbSession, policy: Policy):
    db.delete(_target(policy, "identity:delete_credential", db, credential_id))
    return Response(status_code=204)
