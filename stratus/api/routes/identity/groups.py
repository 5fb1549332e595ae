"""/groups and their membership"""

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
from stratus.db.models.identity import Domain, Group, GroupMembership, User
from stratus.identity import deletion, ldap_identity
from stratus.identity.schemas import GroupCreateBody, GroupUpdateBody

router = APIRouter(tags=["identity: groups"])


def group_view(request: Request, g: Group) -> dict:
    return {
        "id": g.id,
        "name": g.name,
        "domain_id": g.domain_id,
        "description": g.description,
        "links": self_link(request, f"/groups/{g.id}"),
    }


@router.get("/groups")
def list_groups(
    request: Request,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
    name: str | None = None,
    domain_id: str | None = None,
):
    policy.enforce("identity:list_groups", {"domain_id": domain_id})
    ldap_identity.sync_domain(db, request.app.state.settings, domain_id)
    q = select(Group).order_by(Group.name)
    if name is not None:
        q = q.filter_by(name=name)
    if domain_id is not None:
        q = q.filter_by(domain_id=domain_id)
    return {"groups": [group_view(request, g) for g in db.scalars(q)], "links": list_links(request)}


@router.post("/groups", status_code=201)
def create_group(request: Request, body: GroupCreateBody, ctx: Auth, db: DbSession, policy: Policy):
    b = body.group
    domain_id = b.domain_id or ctx.project_domain_id or ctx.domain_id or "default"
    policy.enforce("identity:create_group", {"target.group.domain_id": domain_id})
    if db.get(Domain, domain_id) is None:
        raise BadRequest(f"Could not find domain: {domain_id}.")
    ldap_identity.refuse_write(db, domain_id)
    ensure_unique_name(db, Group, b.name, "group", domain_id=domain_id)
    g = Group(name=b.name, domain_id=domain_id, description=b.description or "")
    db.add(g)
    db.flush()
    return {"group": group_view(request, g)}


@router.get("/groups/{group_id}")
def get_group(request: Request, group_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_group", {"target.group.id": group_id})
    return {"group": group_view(request, get_or_404(db, Group, group_id, "group"))}


@router.patch("/groups/{group_id}")
def update_group(
    request: Request, group_id: str, body: GroupUpdateBody, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:update_group", {"target.group.id": group_id})
    g = get_or_404(db, Group, group_id, "group")
    ldap_identity.refuse_write(db, g.domain_id)
    apply_patch(
        db,
        g,
        body.group.model_dump(exclude_unset=True),
        ("name", "description"),
        what="group",
        unique_within=("domain_id",),
    )
    return {"group": group_view(request, g)}


@router.delete("/groups/{group_id}", status_code=204)
def delete_group(request: Request, group_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_group", {"target.group.id": group_id})
    g = get_or_404(db, Group, group_id, "group")
    ldap_identity.refuse_write(db, g.domain_id)
    deletion.delete_group(db, g)
    return Response(status_code=204)


@router.get("/groups/{group_id}/users")
def list_group_users(request: Request, group_id: str, ctx: Auth, db: DbSession, policy: Policy):
    from stratus.api.routes.identity.users import user_view

    policy.enforce("identity:list_users_in_group", {"target.group.id": group_id})
    get_or_404(db, Group, group_id, "group")
    q = (
        select(User)
        .join(GroupMembership, GroupMembership.user_id == User.id)
        .where(GroupMembership.group_id == group_id)
    )
    return {"users": [user_view(request, u) for u in db.scalars(q)], "links": list_links(request)}


@router.put("/groups/{group_id}/users/{user_id}", status_code=204)
def add_member(group_id: str, user_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:add_user_to_group", {"target.group.id": group_id})
    ldap_identity.refuse_write(db, get_or_404(db, Group, group_id, "group").domain_id)
    get_or_404(db, User, user_id, "user")
    if db.get(GroupMembership, (user_id, group_id)) is None:
        db.add(GroupMembership(user_id=user_id, group_id=group_id))
    return Response(status_code=204)


@router.head("/groups/{group_id}/users/{user_id}", status_code=204)
@router.get("/groups/{group_id}/users/{user_id}", status_code=204)
def check_member(group_id: str, user_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:check_user_in_group", {"target.group.id": group_id})
    get_or_404(db, Group, group_id, "group")
    get_or_404(db, User, user_id, "user")
    _membership(db, group_id, user_id)
    return Response(status_code=204)


def _membership(db, group_id: str, user_id: str) -> GroupMembership:
    m = db.get(GroupMembership, (user_id, group_id))
    if m is None:
        raise NotFound(f"User {user_id} is not a member of group {group_id}.")
    return m


@router.delete("/groups/{group_id}/users/{user_id}", status_code=204)
def remove_member(group_id: str, user_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:remove_user_from_group", {"target.group.id": group_id})
    ldap_identity.refuse_write(db, get_or_404(db, Group, group_id, "group").domain_id)
    db.delete(_membership(db, group_id, user_id))
    return Response(status_code=204)
