"""/projects and /users/{id}/projects"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest, Conflict
from stratus.api.routes.identity._util import apply_patch, get_or_404, list_links, qbool, self_link
from stratus.db.models.identity import Domain, Project, User
from stratus.identity import deletion
from stratus.identity.assignments import effective_roles
from stratus.identity.schemas import ProjectCreateBody, ProjectUpdateBody
from stratus.identity.tokens import add_revocation

router = APIRouter(tags=["identity: projects"])


def project_view(request: Request, p: Project) -> dict:
    return {
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
):
    policy.enforce("identity:list_projects", {"domain_id": domain_id})
    if qbool(is_domain):
        return {"projects": [], "links": list_links(request)}
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
    if tags:
        need = set(tags.split(","))
        rows = [p for p in rows if need <= set(p.tags or [])]
    return {"projects": [project_view(request, p) for p in rows], "links": list_links(request)}


@router.post("/projects", status_code=201)
def create_project(
    request: Request, body: ProjectCreateBody, ctx: Auth, db: DbSession, policy: Policy
):
    b = body.project
    if b.is_domain:
        raise BadRequest("Projects acting as domains are not supported; create a domain instead.")
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
        tags=list(b.tags),
    )
    db.add(p)
    db.flush()
    return {"project": project_view(request, p)}


@router.get("/projects/{project_id}")
def get_project(request: Request, project_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce(
        "identity:get_project", {"target.project.id": project_id, "project_id": project_id}
    )
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
    apply_patch(
        db,
        p,
        u,
        ("name", "description", "enabled", "tags"),
        what="project",
        unique_within=("domain_id",),
    )
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


# --- tags (openstacksdk's TagMixin) ---------------------------------------------------------
@router.get("/projects/{project_id}/tags")
def list_tags(project_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_project", {"target.project.id": project_id})
    return {"tags": list(get_or_404(db, Project, project_id, "project").tags or [])}


@router.put("/projects/{project_id}/tags/{tag}", status_code=201)
def add_tag(project_id: str, tag: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:update_project", {"target.project.id": project_id})
    p = get_or_404(db, Project, project_id, "project")
    if tag not in (p.tags or []):
        p.tags = [*(p.tags or []), tag]
    return Response(status_code=201)


@router.delete("/projects/{project_id}/tags/{tag}", status_code=204)
def remove_tag(project_id: str, tag: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:update_project", {"target.project.id": project_id})
    p = get_or_404(db, Project, project_id, "project")
    if tag not in (p.tags or []):
        from stratus.api.errors import NotFound

        raise NotFound(f"Tag {tag} not found on project {project_id}.")
    p.tags = [t for t in p.tags if t != tag]
    return Response(status_code=204)
