"""/projects and /users/{id}/projects"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest, Conflict
from stratus.api.routes.identity._util import (
    apply_patch,
    ensure_unique_name,
    get_or_404,
    list_links,
    qbool,
    self_link,
)
from stratus.db.models.identity import Domain, Project, User
from stratus.identity import deletion
from stratus.identity.assignments import effective_roles
from stratus.identity.extras import extras_in, merge_extras, with_extras
from stratus.identity.project_tags import normalized, tag_filter
from stratus.identity.schemas import ProjectCreateBody, ProjectUpdateBody
from stratus.identity.tokens import add_revocation

router = APIRouter(tags=["identity: projects"])


def project_view(request: Request, p: Project) -> dict:
    view = {
        "id": p.id,
        "name": p.name,
        "domain_id": p.domain_id,
        "parent_id": p.parent_id or p.domain_id,
        "description": p.description,
        "enabled": p.enabled,
        "is_domain": False,
        "tags": list(p.tags or []),
        "options": {},
        "links": self_link(request, f"/projects/{p.id}"),
    }
    return with_extras(view, p)


def domain_project_view(request: Request, d: Domain) -> dict:
    """A domain seen as the project acting as it (``is_domain``), as Keystone shows it."""
    return {
        "id": d.id,
        "name": d.name,
        "domain_id": None,
        "parent_id": None,
        "description": d.description,
        "enabled": d.enabled,
        "is_domain": True,
        "tags": [],
        "options": {},
        "links": self_link(request, f"/projects/{d.id}"),
    }


@router.get("/projects")
def list_projects(
    request: Request,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
    name: str | None = None,
    domain_id: str | None = None,
    enabled: str | None = None,
    parent_id: str | None = None,
    is_domain: str | None = None,
    tags: str | None = None,
    tags_any: Annotated[str | None, Query(alias="tags-any")] = None,
    not_tags: Annotated[str | None, Query(alias="not-tags")] = None,
    not_tags_any: Annotated[str | None, Query(alias="not-tags-any")] = None,
):
    policy.enforce("identity:list_projects", {"domain_id": domain_id})
    if qbool(is_domain):
        q = select(Domain).order_by(Domain.name)
        if name is not None:
            q = q.filter_by(name=name)
        if (want := qbool(enabled)) is not None:
            q = q.filter_by(enabled=want)
        out = [domain_project_view(request, d) for d in db.scalars(q)]
        return {"projects": out, "links": list_links(request)}
    q = select(Project).order_by(Project.name)
    if name is not None:
        q = q.filter_by(name=name)
    if domain_id is not None:
        q = q.filter_by(domain_id=domain_id)
    if parent_id is not None:
        q = q.filter_by(parent_id=parent_id)
    if (want := qbool(enabled)) is not None:
        q = q.filter_by(enabled=want)
    rows = list(db.scalars(q))
    if keep := tag_filter(tags, tags_any, not_tags, not_tags_any):
        rows = [p for p in rows if keep(p.tags)]
    return {"projects": [project_view(request, p) for p in rows], "links": list_links(request)}


@router.post("/projects", status_code=201)
def create_project(
    request: Request, body: ProjectCreateBody, ctx: Auth, db: DbSession, policy: Policy
):
    b = body.project
    if b.is_domain:
        policy.enforce("identity:create_project", {"target.project.domain_id": None})
        if b.parent_id or b.domain_id:
            raise BadRequest(
                "A project acting as a domain (is_domain) has no parent_id nor domain_id; leave them out."
            )
        ensure_unique_name(db, Domain, b.name, "domain")
        d = Domain(name=b.name, description=b.description or "", enabled=b.enabled)
        db.add(d)
        db.flush()
        return {"project": domain_project_view(request, d)}
    domain_id = b.domain_id or ctx.project_domain_id or ctx.domain_id or "default"
    policy.enforce("identity:create_project", {"target.project.domain_id": domain_id})
    if db.get(Domain, domain_id) is None:
        raise BadRequest(f"Could not find domain: {domain_id}.")
    parent = None
    if b.parent_id and b.parent_id != domain_id:
        parent = db.get(Project, b.parent_id)
        if parent is None:
            raise BadRequest(f"Could not find parent project: {b.parent_id}.")
        if parent.domain_id != domain_id:
            raise BadRequest("A project's parent must be in the same domain.")
    if db.scalars(select(Project).filter_by(name=b.name, domain_id=domain_id)).first():
        raise Conflict(
            f"Conflict occurred attempting to store project - it is not permitted to have two projects with the same name in the same domain : {b.name}."
        )
    p = Project(
        name=b.name,
        domain_id=domain_id,
        parent_id=parent.id if parent else None,
        description=b.description or "",
        enabled=b.enabled,
        tags=normalized(b.tags),
        extra=extras_in(b),
    )
    db.add(p)
    db.flush()
    return {"project": project_view(request, p)}


@router.get("/projects/{project_id}")
def get_project(request: Request, project_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce(
        "identity:get_project", {"target.project.id": project_id, "project_id": project_id}
    )
    p = db.get(Project, project_id)
    if p is None and (d := db.get(Domain, project_id)) is not None:
        return {"project": domain_project_view(request, d)}
    return {"project": project_view(request, get_or_404(db, Project, project_id, "project"))}


@router.patch("/projects/{project_id}")
def update_project(
    request: Request,
    project_id: str,
    body: ProjectUpdateBody,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
):
    policy.enforce("identity:update_project", {"target.project.id": project_id})
    p = get_or_404(db, Project, project_id, "project")
    u = body.project.model_dump(exclude_unset=True)
    if u.get("tags") is not None:
        u["tags"] = normalized(u["tags"])
    apply_patch(
        db,
        p,
        u,
        ("name", "description", "enabled", "tags"),
        what="project",
        unique_within=("domain_id",),
    )
    merge_extras(p, body.project)
    if u.get("enabled") is False:
        add_revocation(db, request.app.state.settings, project_id=p.id)
    return {"project": project_view(request, p)}


@router.delete("/projects/{project_id}", status_code=204)
def delete_project(request: Request, project_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_project", {"target.project.id": project_id})
    deletion.delete_project(db, request.app.state.settings, get_or_404(db, Project, project_id, "project"))
    return Response(status_code=204)


@router.get("/users/{user_id}/projects")
def list_user_projects(request: Request, user_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:list_user_projects", {"target.user.id": user_id})
    get_or_404(db, User, user_id, "user")
    out = [
        project_view(request, p)
        for p in db.scalars(select(Project).order_by(Project.name))
        if effective_roles(db, user_id, project=p)
    ]
    return {"projects": out, "links": list_links(request)}
