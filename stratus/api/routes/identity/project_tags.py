"""/projects/{id}/tags: list, replace, clear; /projects/{id}/tags/{tag}: check, add, remove"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest, NotFound
from stratus.api.routes.identity._util import get_or_404, self_link
from stratus.db.models.identity import Project
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.identity.project_tags import MAX_TAGS, check_tag, normalized
from stratus.identity.schemas import ProjectTagsBody

router = APIRouter(tags=["identity: project tags"])

_READ = (
    "rule:admin_required or (role:reader and domain_id:%(target.project.domain_id)s)"
    " or project_id:%(target.project.id)s"
)
_WRITE = (
    "rule:admin_required or (role:admin and domain_id:%(target.project.domain_id)s)"
    " or (role:admin and project_id:%(target.project.id)s)"
)
register_defaults(
    [
        RuleDefault("identity:get_project_tag", _READ),
        RuleDefault("identity:list_project_tags", _READ),
        RuleDefault("identity:create_project_tag", _WRITE),
        RuleDefault("identity:update_project_tags", _WRITE),
        RuleDefault("identity:delete_project_tag", _WRITE),
        RuleDefault("identity:delete_project_tags", _WRITE),
    ]
)


def _project(db, policy: Policy, rule: str, project_id: str) -> Project:
    p = get_or_404(db, Project, project_id, "project")
    policy.enforce(rule, {"target.project.id": p.id, "target.project.domain_id": p.domain_id})
    return p


@router.get("/projects/{project_id}/tags")
def list_tags(project_id: str, ctx: Auth, db: DbSession, policy: Policy):
    return {"tags": list(_project(db, policy, "identity:list_project_tags", project_id).tags or [])}


@router.put("/projects/{project_id}/tags")
def replace_tags(
    request: Request, project_id: str, body: ProjectTagsBody, ctx: Auth, db: DbSession, policy: Policy
):
    p = _project(db, policy, "identity:update_project_tags", project_id)
    p.tags = normalized(body.tags)
    return {"tags": list(p.tags), "links": self_link(request, f"/projects/{p.id}/tags")}


@router.delete("/projects/{project_id}/tags", status_code=204)
def clear_tags(project_id: str, ctx: Auth, db: DbSession, policy: Policy):
    _project(db, policy, "identity:delete_project_tags", project_id).tags = []
    return Response(status_code=204)


@router.api_route("/projects/{project_id}/tags/{tag}", methods=["GET", "HEAD"], status_code=204)
def check_project_tag(project_id: str, tag: str, ctx: Auth, db: DbSession, policy: Policy):
    p = _project(db, policy, "identity:get_project_tag", project_id)
    if tag not in (p.tags or []):
        raise NotFound(f"Could not find project tag: {tag}.")
    return Response(status_code=204)


@router.put("/projects/{project_id}/tags/{tag}", status_code=201)
def add_tag(request: Request, project_id: str, tag: str, ctx: Auth, db: DbSession, policy: Policy):
    p = _project(db, policy, "identity:create_project_tag", project_id)
    check_tag(tag)
    have = list(p.tags or [])
    if tag not in have:
        if len(have) >= MAX_TAGS:
            raise BadRequest(
                f"Invalid input for field 'tags': project {p.id} already has {MAX_TAGS} tags, the most it may have."
            )
        p.tags = [*have, tag]
    location = self_link(request, f"/projects/{p.id}/tags/{tag}")["self"]
    return Response(status_code=201, headers={"Location": location})


@router.delete("/projects/{project_id}/tags/{tag}", status_code=204)
def remove_tag(project_id: str, tag: str, ctx: Auth, db: DbSession, policy: Policy):
    p = _project(db, policy, "identity:delete_project_tag", project_id)
    if tag not in (p.tags or []):
        raise NotFound(f"Could not find project tag: {tag}.")
    p.tags = [t for t in p.tags if t != tag]
    return Response(status_code=204)
