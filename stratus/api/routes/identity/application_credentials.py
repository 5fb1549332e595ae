"""/users/{user_id}/application_credentials"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest, Conflict, Forbidden, NotFound
from stratus.api.routes.identity._util import get_or_404, list_links, self_link
from stratus.db.models.identity import ApplicationCredential, Project, Role, User
from stratus.identity import access_rules
from stratus.identity.assignments import effective_roles
from stratus.identity.passwords import hash_password
from stratus.identity.schemas import AppCredCreateBody
from stratus.identity.times import parse_time
from stratus.identity.tokens import add_revocation, isotime

router = APIRouter(tags=["identity: application credentials"])


def view(request: Request, db, ac: ApplicationCredential, secret: str | None = None) -> dict:
    roles = [db.get(Role, rid) for rid in ac.role_ids]
    out = {
        "id": ac.id,
        "name": ac.name,
        "description": ac.description,
        "user_id": ac.user_id,
        "project_id": ac.project_id,
        "expires_at": isotime(ac.expires_at),
        "unrestricted": ac.unrestricted,
        "roles": [
            {"id": r.id, "name": r.name, "domain_id": r.domain_id or None} for r in roles if r
        ],
        "access_rules": list(ac.access_rules or []),
        "links": self_link(request, f"/users/{ac.user_id}/application_credentials/{ac.id}"),
    }
    if secret is not None:
        out["secret"] = secret
    return out


def known_rules(db, user_id: str) -> list[dict]:
    """Every access rule of the user's application credentials, once each."""
    out: dict[str, dict] = {}
    for rules in db.scalars(
        select(ApplicationCredential.access_rules).filter_by(user_id=user_id)
    ):
        for rule in rules or ():
            out.setdefault(rule["id"], rule)
    return list(out.values())


@router.post("/users/{user_id}/application_credentials", status_code=201)
def create(
    request: Request,
    user_id: str,
    body: AppCredCreateBody,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
):
    policy.enforce("identity:create_application_credential", {"target.user.id": user_id})
    get_or_404(db, User, user_id, "user")
    if not ctx.project_id:
        raise Forbidden("Application credentials need a project-scoped token.")
    if ctx.trust_id:
        raise Forbidden(
            "A trust-scoped token cannot create application credentials; use the user's own token."
        )
    if ctx.app_cred_id and not db.get(ApplicationCredential, ctx.app_cred_id).unrestricted:
        raise Forbidden(
            "A restricted application credential cannot create application credentials."
        )
    b = body.application_credential
    if db.scalars(select(ApplicationCredential).filter_by(user_id=user_id, name=b.name)).first():
        raise Conflict(
            f"Conflict occurred attempting to store application_credential - Duplicate entry found with name {b.name}."
        )
    project = db.get(Project, ctx.project_id)
    have = {r.id: r for r in effective_roles(db, user_id, project=project)}
    if b.roles:
        role_ids = []
        for ref in b.roles:
            match = [
                r
                for r in have.values()
                if (ref.id and r.id == ref.id) or (ref.name and r.name == ref.name)
            ]
            if not match:
                raise Forbidden(
                    f"You do not hold role {ref.id or ref.name} on project {project.id}; "
                    "an application credential can only delegate your own roles."
                )
            role_ids.append(match[0].id)
    else:
        role_ids = list(ctx.role_ids) if ctx.user_id == user_id else list(have)
    expires = parse_time(b.expires_at, "expires_at")
    if expires and expires <= datetime.now(UTC):
        raise BadRequest("expires_at is in the past.")
    rules = access_rules.parse(b.access_rules, known_rules(db, user_id))
    secret = b.secret or secrets.token_urlsafe(64)
    ac = ApplicationCredential(
        name=b.name,
        user_id=user_id,
        project_id=project.id,
        description=b.description or "",
        secret_hash=hash_password(secret, request.app.state.settings.bcrypt_rounds),
        expires_at=expires,
        unrestricted=b.unrestricted,
        role_ids=sorted(set(role_ids)),
        access_rules=rules,
    )
    db.add(ac)
    db.flush()
    return {"application_credential": view(request, db, ac, secret)}


@router.get("/users/{user_id}/application_credentials")
def list_(
    request: Request,
    user_id: str,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
    name: str | None = None,
):
    policy.enforce("identity:list_application_credentials", {"target.user.id": user_id})
    q = (
        select(ApplicationCredential)
        .filter_by(user_id=user_id)
        .order_by(ApplicationCredential.name)
    )
    if name is not None:
        q = q.filter_by(name=name)
    return {
        "application_credentials": [view(request, db, ac) for ac in db.scalars(q)],
        "links": list_links(request),
    }


def _get(db, user_id: str, ac_id: str) -> ApplicationCredential:
    ac = db.get(ApplicationCredential, ac_id)
    if ac is None or ac.user_id != user_id:
        raise NotFound(f"Could not find Application Credential: {ac_id}.")
    return ac


@router.get("/users/{user_id}/application_credentials/{ac_id}")
def get(request: Request, user_id: str, ac_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_application_credential", {"target.user.id": user_id})
    return {"application_credential": view(request, db, _get(db, user_id, ac_id))}


@router.delete("/users/{user_id}/application_credentials/{ac_id}", status_code=204)
def delete(request: Request, user_id: str, ac_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_application_credential", {"target.user.id": user_id})
    ac = _get(db, user_id, ac_id)
    add_revocation(db, request.app.state.settings, app_cred_id=ac.id)
    db.delete(ac)
    return Response(status_code=204)
