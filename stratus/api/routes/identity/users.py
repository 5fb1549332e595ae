"""/users, password change, and /users/{id}/groups"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import object_session

from stratus.api.deps import Auth, DbSession, OptionalAuth, Policy, PolicyChecker
from stratus.api.errors import BadRequest
from stratus.api.routes.identity._util import (
    apply_patch,
    ensure_unique_name,
    get_or_404,
    list_links,
    qbool,
    self_link,
)
from stratus.db.models.identity import Domain, Group, GroupMembership, User
from stratus.identity import deletion, ldap_identity, security
from stratus.identity.extras import extras_in, merge_extras, with_extras
from stratus.identity.passwords import check_password_or_dummy
from stratus.identity.schemas import PasswordChangeBody, UserCreateBody, UserUpdateBody
from stratus.identity.tokens import add_revocation, isotime

router = APIRouter(tags=["identity: users"])


def user_view(request: Request, u: User) -> dict:
    out = {
        "id": u.id,
        "name": u.name,
        "domain_id": u.domain_id,
        "description": u.description,
        "password_expires_at": isotime(u.password_expires_at),
        **security.view_fields(object_session(u), request.app.state.settings, u),
        "links": self_link(request, f"/users/{u.id}"),
    }
    if u.default_project_id:
        out["default_project_id"] = u.default_project_id
    if u.email:
        out["email"] = u.email
    return with_extras(out, u)


def _rounds(request: Request) -> int:
    return request.app.state.settings.bcrypt_rounds


@router.get("/users")
def list_users(
    request: Request,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
    name: str | None = None,
    domain_id: str | None = None,
    enabled: str | None = None,
):
    policy.enforce("identity:list_users", {"domain_id": domain_id})
    ldap_identity.sync_domain(db, request.app.state.settings, domain_id)
    q = select(User).order_by(User.name)
    if name is not None:
        q = q.filter_by(name=name)
    if domain_id is not None:
        q = q.filter_by(domain_id=domain_id)
    if (want := qbool(enabled)) is not None:
        q = q.filter_by(enabled=want)
    return {"users": [user_view(request, u) for u in db.scalars(q)], "links": list_links(request)}


@router.post("/users", status_code=201)
def create_user(request: Request, body: UserCreateBody, ctx: Auth, db: DbSession, policy: Policy):
    b = body.user
    domain_id = b.domain_id or ctx.project_domain_id or ctx.domain_id or "default"
    policy.enforce("identity:create_user", {"target.user.domain_id": domain_id})
    if db.get(Domain, domain_id) is None:
        raise BadRequest(f"Could not find domain: {domain_id}.")
    ldap_identity.refuse_write(db, domain_id)
    ensure_unique_name(db, User, b.name, "user", domain_id=domain_id)
    settings = request.app.state.settings
    if b.options is not None:
        security.validate_options(b.options)
    if b.password:
        security.check_password_rules(settings, b.password)
    u = User(
        name=b.name,
        domain_id=domain_id,
        enabled=b.enabled,
        default_project_id=b.default_project_id,
        description=b.description or "",
        email=b.email,
        extra=extras_in(b),
    )
    db.add(u)
    db.flush()
    if b.options:
        security.set_options(db, u, b.options)
    if b.password:
        security.set_password(db, settings, u, b.password)
    return {"user": user_view(request, u)}


@router.get("/users/{user_id}")
def get_user(request: Request, user_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_user", {"target.user.id": user_id})
    return {"user": user_view(request, get_or_404(db, User, user_id, "user"))}


@router.patch("/users/{user_id}")
def update_user(
    request: Request, user_id: str, body: UserUpdateBody, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:update_user", {"target.user.id": user_id})
    u = get_or_404(db, User, user_id, "user")
    ldap_identity.refuse_write(db, u.domain_id)
    v = body.user.model_dump(exclude_unset=True)
    settings = request.app.state.settings
    if v.get("options") is not None:
        security.validate_options(v["options"])
    if v.get("password") is not None:
        security.check_password_rules(settings, v["password"])
    apply_patch(
        db,
        u,
        v,
        ("name", "description", "enabled", "email", "default_project_id"),
        what="user",
        unique_within=("domain_id",),
        nullable=("email", "default_project_id"),
    )
    merge_extras(u, body.user)
    if v.get("options") is not None:
        security.set_options(db, u, v["options"])
    if v.get("enabled") is True:  # unlocked and active from now, as Keystone
        security.on_enable(db, u)
    if v.get("password") is not None:
        security.set_password(db, settings, u, v["password"])
        add_revocation(db, request.app.state.settings, user_id=u.id)
    if v.get("enabled") is False:
        add_revocation(db, request.app.state.settings, user_id=u.id)
    return {"user": user_view(request, u)}


@router.delete("/users/{user_id}", status_code=204)
def delete_user(request: Request, user_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_user", {"target.user.id": user_id})
    u = get_or_404(db, User, user_id, "user")
    ldap_identity.refuse_write(db, u.domain_id)
    deletion.delete_user(db, request.app.state.settings, u)
    return Response(status_code=204)


@router.post("/users/{user_id}/password", status_code=204)
def change_password(
    request: Request,
    user_id: str,
    body: PasswordChangeBody,
    ctx: OptionalAuth,
    db: DbSession,
):
    # Keystone needs no token here (a user whose password expired has none): the
    # original password authenticates; a caller sending a token passes the policy.
    if ctx is not None:
        PolicyChecker(request.app.state.enforcer, ctx).enforce(
            "identity:change_password", {"target.user.id": user_id}
        )
    u = get_or_404(db, User, user_id, "user")
    ldap_identity.refuse_write(db, u.domain_id)
    settings = request.app.state.settings
    ok = check_password_or_dummy(body.user.original_password, u.password_hash, _rounds(request))
    # as a login (a wrong one counted for the lockout, 401; locked or disabled refused),
    # but an expired password may be changed
    security.check_password_login(db, settings, u, ok, allow_expired=True)
    security.check_self_service_change(db, settings, u, body.user.password)
    security.set_password(db, settings, u, body.user.password, self_service=True)
    add_revocation(db, settings, user_id=u.id)
    return Response(status_code=204)


@router.get("/users/{user_id}/groups")
def list_user_groups(request: Request, user_id: str, ctx: Auth, db: DbSession, policy: Policy):
    from stratus.api.routes.identity.groups import group_view

    policy.enforce("identity:list_groups_for_user", {"target.user.id": user_id})
    get_or_404(db, User, user_id, "user")
    q = (
        select(Group)
        .join(GroupMembership, GroupMembership.group_id == Group.id)
        .where(GroupMembership.user_id == user_id)
    )
    return {"groups": [group_view(request, g) for g in db.scalars(q)], "links": list_links(request)}
