"""Role grants on projects, domains and the system (users and groups, OS-INHERIT
inherited grants) and GET /role_assignments."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest, NotFound
from stratus.api.routes.identity._util import base_url, get_or_404, list_links, qbool
from stratus.api.routes.identity.roles import role_view
from stratus.db.models.identity import Domain, Group, Project, Role, RoleAssignment, User
from stratus.identity.assignments import SYSTEM, assignment_type, list_assignments
from stratus.identity.domain_roles import check_grant

router = APIRouter(tags=["identity: role assignments"])

ACTORS = {"users": ("user", User), "groups": ("group", Group)}
TARGETS = {"projects": ("project", Project), "domains": ("domain", Domain)}


def _key(actor: str, actor_id: str, target: str, target_id: str, role_id: str, inherited: bool):
    return (assignment_type(actor, target), actor_id, target_id, role_id, inherited)


def _check_refs(db, actor_kind, actor_id, target_kind, target_id, role_id):
    get_or_404(db, ACTORS[actor_kind + "s"][1], actor_id, actor_kind)
    if target_kind != "system":
        get_or_404(db, TARGETS[target_kind + "s"][1], target_id, target_kind)
    return get_or_404(db, Role, role_id, "role")


def _make_grant_routes(
    prefix: str, target_kind: str, actor_kind: str, inherited: bool, suffix: str
):
    """PUT/HEAD/GET/DELETE one grant and GET the list, for one target/actor kind."""
    tparam = "" if target_kind == "system" else "{target_id}/"
    path = f"{prefix}{tparam}{actor_kind}s/{{actor_id}}/roles"

    def _tid(target_id: str | None) -> str:
        return SYSTEM if target_kind == "system" else target_id

    def grant(
        actor_id: str,
        role_id: str,
        ctx: Auth,
        db: DbSession,
        policy: Policy,
        target_id: str | None = None,
    ):
        policy.enforce("identity:create_grant", {"target.project.id": target_id})
        role = _check_refs(db, actor_kind, actor_id, target_kind, _tid(target_id), role_id)
        check_grant(db, role, target_kind, _tid(target_id))
        key = _key(actor_kind, actor_id, target_kind, _tid(target_id), role_id, inherited)
        if db.get(RoleAssignment, key) is None:
            db.add(
                RoleAssignment(
                    type=key[0],
                    actor_id=actor_id,
                    target_id=key[2],
                    role_id=role_id,
                    inherited=inherited,
                )
            )
        return Response(status_code=204)

    def check(
        actor_id: str,
        role_id: str,
        ctx: Auth,
        db: DbSession,
        policy: Policy,
        target_id: str | None = None,
    ):
        policy.enforce("identity:check_grant", {"target.project.id": target_id})
        _check_refs(db, actor_kind, actor_id, target_kind, _tid(target_id), role_id)
        if (
            db.get(
                RoleAssignment,
                _key(actor_kind, actor_id, target_kind, _tid(target_id), role_id, inherited),
            )
            is None
        ):
            raise NotFound(
                f"Could not find role assignment with role: {role_id}, {actor_kind}: {actor_id}, {target_kind}: {_tid(target_id)}."
            )
        return Response(status_code=204)

    def revoke(
        actor_id: str,
        role_id: str,
        ctx: Auth,
        db: DbSession,
        policy: Policy,
        target_id: str | None = None,
    ):
        policy.enforce("identity:revoke_grant", {"target.project.id": target_id})
        row = db.get(
            RoleAssignment,
            _key(actor_kind, actor_id, target_kind, _tid(target_id), role_id, inherited),
        )
        if row is None:
            raise NotFound(
                f"Could not find role assignment with role: {role_id}, {actor_kind}: {actor_id}, {target_kind}: {_tid(target_id)}."
            )
        db.delete(row)
        return Response(status_code=204)

    def list_grants(
        request: Request,
        actor_id: str,
        ctx: Auth,
        db: DbSession,
        policy: Policy,
        target_id: str | None = None,
    ):
        policy.enforce("identity:list_grants", {"target.project.id": target_id})
        get_or_404(db, ACTORS[actor_kind + "s"][1], actor_id, actor_kind)
        if target_kind != "system":
            get_or_404(db, TARGETS[target_kind + "s"][1], target_id, target_kind)
        rows = db.query(RoleAssignment).filter_by(
            type=assignment_type(actor_kind, target_kind),
            actor_id=actor_id,
            target_id=_tid(target_id),
            inherited=inherited,
        )
        roles = [role_view(request, db.get(Role, r.role_id)) for r in rows]
        return {"roles": roles, "links": list_links(request)}

    one = f"{path}/{{role_id}}{suffix}"
    name = f"{target_kind}_{actor_kind}{'_inherited' if inherited else ''}"
    router.add_api_route(one, grant, methods=["PUT"], status_code=204, name=f"grant_{name}")
    router.add_api_route(one, check, methods=["HEAD", "GET"], status_code=204, name=f"check_{name}")
    router.add_api_route(one, revoke, methods=["DELETE"], status_code=204, name=f"revoke_{name}")
    router.add_api_route(f"{path}{suffix}", list_grants, methods=["GET"], name=f"list_{name}")


for _actor in ("user", "group"):
    _make_grant_routes("/projects/", "project", _actor, False, "")
    _make_grant_routes("/domains/", "domain", _actor, False, "")
    _make_grant_routes("/system/", "system", _actor, False, "")
    _make_grant_routes("/OS-INHERIT/domains/", "domain", _actor, True, "/inherited_to_projects")
    _make_grant_routes("/OS-INHERIT/projects/", "project", _actor, True, "/inherited_to_projects")


# --- GET /role_assignments ----------------------------------------------------------------
def _named(db, kind: str, id_: str, include_names: bool) -> dict:
    out: dict = {"id": id_}
    if not include_names:
        return out
    model = {"user": User, "group": Group, "project": Project, "domain": Domain}.get(kind)
    obj = db.get(model, id_) if model else None
    if obj is not None:
        out["name"] = obj.name
        if kind in ("user", "group", "project"):
            dom = db.get(Domain, obj.domain_id)
            out["domain"] = {"id": dom.id, "name": dom.name} if dom else {"id": obj.domain_id}
    return out


@router.get("/role_assignments")
def role_assignments(request: Request, ctx: Auth, db: DbSession, policy: Policy):
    qp = request.query_params
    policy.enforce("identity:list_role_assignments", {})
    effective = qbool(qp.get("effective")) if "effective" in qp else False
    include_names = qbool(qp.get("include_names")) if "include_names" in qp else False
    inherited_to = qp.get("scope.OS-INHERIT:inherited_to")
    if inherited_to not in (None, "projects"):
        raise BadRequest("scope.OS-INHERIT:inherited_to can only be 'projects'.")
    if qp.get("user.id") and qp.get("group.id"):
        raise BadRequest("Specify at most one of user.id and group.id.")
    scopes = [k for k in ("scope.project.id", "scope.domain.id", "scope.system") if k in qp]
    if len(scopes) > 1:
        raise BadRequest(
            "Specify at most one of scope.project.id, scope.domain.id and scope.system."
        )
    if effective and qp.get("group.id"):
        raise BadRequest("effective cannot be combined with group.id.")
    role_id = qp.get("role.id")
    if qp.get("role.name") and not role_id:
        r = db.query(Role).filter_by(name=qp["role.name"]).first()
        role_id = r.id if r else "-none-"
    rows = list_assignments(
        db,
        user_id=qp.get("user.id"),
        group_id=qp.get("group.id"),
        project_id=qp.get("scope.project.id"),
        domain_id=qp.get("scope.domain.id"),
        system="scope.system" in qp,
        role_id=role_id,
        inherited=True if inherited_to else None,
        effective=bool(effective),
    )
    base = base_url(request)
    out = []
    for a in rows:
        role = db.get(Role, a.role_id)
        role_doc: dict = {"id": a.role_id}
        if include_names and role is not None:
            role_doc["name"] = role.name
            if role.domain_id:
                role_doc["domain"] = {"id": role.domain_id}
        if a.target == "system":
            scope: dict = {"system": {"all": True}}
            link = f"{base}/system/{a.actor}s/{a.actor_id}/roles/{a.role_id}"
        else:
            scope = {a.target: _named(db, a.target, a.target_id, include_names)}
            link = f"{base}/{a.target}s/{a.target_id}/{a.actor}s/{a.actor_id}/roles/{a.role_id}"
        if a.inherited:
            scope["OS-INHERIT:inherited_to"] = "projects"
            link = f"{base}/OS-INHERIT/{a.target}s/{a.target_id}/{a.actor}s/{a.actor_id}/roles/{a.role_id}/inherited_to_projects"
        links = {"assignment": link}
        if a.via_group_id:
            links["membership"] = f"{base}/groups/{a.via_group_id}/users/{a.actor_id}"
        doc = {
            "role": role_doc,
            a.actor: _named(db, a.actor, a.actor_id, include_names),
            "scope": scope,
            "links": links,
        }
        out.append(doc)
    return {"role_assignments": out, "links": list_links(request)}
