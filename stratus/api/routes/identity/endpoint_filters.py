"""OS-EP-FILTER: endpoint groups, and the endpoints and endpoint groups associated with
projects (a project's token catalog then shows only those: stratus.identity.endpoint_filter)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import NotFound
from stratus.api.routes.identity._util import apply_patch, get_or_404, list_links, self_link
from stratus.api.routes.identity.catalog import endpoint_view
from stratus.api.routes.identity.projects import project_view
from stratus.db.models.identity import Endpoint, Project
from stratus.db.models.identity_resources import (
    EndpointGroup,
    ProjectEndpoint,
    ProjectEndpointGroup,
)
from stratus.identity.endpoint_filter import check_filters, group_endpoints
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.identity.schemas import EndpointGroupCreateBody, EndpointGroupUpdateBody

router = APIRouter(tags=["identity: OS-EP-FILTER"])
EP = "/OS-EP-FILTER"

register_defaults(
    [
        RuleDefault(f"identity:{name}", "rule:admin_required")
        for name in (
            "create_endpoint_group", "list_endpoint_groups", "get_endpoint_group",
            "update_endpoint_group", "delete_endpoint_group",
            "list_projects_associated_with_endpoint_group",
            "list_endpoints_associated_with_endpoint_group", "get_endpoint_group_in_project",
            "list_endpoint_groups_for_project", "add_endpoint_group_to_project",
            "remove_endpoint_group_from_project", "add_endpoint_to_project",
            "check_endpoint_in_project", "list_endpoints_for_project",
            "list_projects_for_endpoint", "remove_endpoint_from_project",
        )
    ]
)


def group_view(request: Request, g: EndpointGroup) -> dict:
    return {
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "filters": dict(g.filters or {}),
        "links": self_link(request, f"{EP}/endpoint_groups/{g.id}"),
    }


def _group(db, group_id: str) -> EndpointGroup:
    return get_or_404(db, EndpointGroup, group_id, "endpoint group")


def _associated(db, model, link, link_col: str, filter_col: str, value: str, order):
    """Rows of ``model`` joined through association table ``link`` to ``value``."""
    q = (
        select(model)
        .join(link, getattr(link, link_col) == model.id)
        .where(getattr(link, filter_col) == value)
        .order_by(order)
    )
    return list(db.scalars(q))


def _link(db, link, key: tuple, **cols) -> Response:
    if db.get(link, key) is None:
        db.add(link(**cols))
    return Response(status_code=204)


def _linked_or_404(db, link, key: tuple, what: str):
    row = db.get(link, key)
    if row is None:
        raise NotFound(f"Could not find {what}.")
    return row


def _unlink(db, link, key: tuple, what: str) -> Response:
    db.delete(_linked_or_404(db, link, key, what))
    return Response(status_code=204)


# --- endpoint groups -------------------------------------------------------------------
@router.get(f"{EP}/endpoint_groups")
def list_groups(request: Request, ctx: Auth, db: DbSession, policy: Policy, name: str | None = None):
    policy.enforce("identity:list_endpoint_groups", {})
    q = select(EndpointGroup).order_by(EndpointGroup.name)
    if name is not None:
        q = q.filter_by(name=name)
    return {"endpoint_groups": [group_view(request, g) for g in db.scalars(q)], "links": list_links(request)}


@router.post(f"{EP}/endpoint_groups", status_code=201)
def create_group(request: Request, body: EndpointGroupCreateBody, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:create_endpoint_group", {})
    b = body.endpoint_group
    g = EndpointGroup(name=b.name, description=b.description or "", filters=check_filters(b.filters))
    db.add(g)
    db.flush()
    return {"endpoint_group": group_view(request, g)}


@router.get(f"{EP}/endpoint_groups/{{group_id}}")
def get_group(request: Request, group_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_endpoint_group", {})
    return {"endpoint_group": group_view(request, _group(db, group_id))}


@router.patch(f"{EP}/endpoint_groups/{{group_id}}")
def update_group(
    request: Request, group_id: str, body: EndpointGroupUpdateBody, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:update_endpoint_group", {})
    g = _group(db, group_id)
    v = body.endpoint_group.model_dump(exclude_unset=True)
    if v.get("filters") is not None:
        v["filters"] = check_filters(v["filters"])
    apply_patch(db, g, v, ("name", "description", "filters"), what="endpoint group", unique_name=False)
    return {"endpoint_group": group_view(request, g)}


@router.delete(f"{EP}/endpoint_groups/{{group_id}}", status_code=204)
def delete_group(group_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_endpoint_group", {})
    g = _group(db, group_id)
    for row in db.scalars(select(ProjectEndpointGroup).filter_by(endpoint_group_id=g.id)):
        db.delete(row)
    db.delete(g)
    return Response(status_code=204)


@router.get(f"{EP}/endpoint_groups/{{group_id}}/endpoints")
def group_endpoint_list(request: Request, group_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:list_endpoints_associated_with_endpoint_group", {})
    eps = group_endpoints(db, _group(db, group_id))
    return {"endpoints": [endpoint_view(request, e) for e in eps], "links": list_links(request)}


@router.get(f"{EP}/endpoint_groups/{{group_id}}/projects")
def group_project_list(request: Request, group_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:list_projects_associated_with_endpoint_group", {})
    g = _group(db, group_id)
    rows = _associated(db, Project, ProjectEndpointGroup, "project_id", "endpoint_group_id", g.id, Project.name)
    return {"projects": [project_view(request, p) for p in rows], "links": list_links(request)}


def _group_project(db, group_id: str, project_id: str) -> tuple[EndpointGroup, Project]:
    return _group(db, group_id), get_or_404(db, Project, project_id, "project")


@router.put(f"{EP}/endpoint_groups/{{group_id}}/projects/{{project_id}}", status_code=204)
def add_group_to_project(group_id: str, project_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:add_endpoint_group_to_project", {})
    g, p = _group_project(db, group_id, project_id)
    return _link(db, ProjectEndpointGroup, (g.id, p.id), endpoint_group_id=g.id, project_id=p.id)


@router.api_route(f"{EP}/endpoint_groups/{{group_id}}/projects/{{project_id}}", methods=["GET", "HEAD"])
def get_group_in_project(
    request: Request, group_id: str, project_id: str, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:get_endpoint_group_in_project", {})
    g, p = _group_project(db, group_id, project_id)
    _linked_or_404(db, ProjectEndpointGroup, (g.id, p.id), f"endpoint group {g.id} associated with project {p.id}")
    link = self_link(request, f"{EP}/endpoint_groups/{g.id}/projects/{p.id}")
    return {"project_endpoint_group": {"endpoint_group_id": g.id, "project_id": p.id, "links": link}}


@router.delete(f"{EP}/endpoint_groups/{{group_id}}/projects/{{project_id}}", status_code=204)
def remove_group_from_project(group_id: str, project_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:remove_endpoint_group_from_project", {})
    what = f"endpoint group {group_id} associated with project {project_id}"
    return _unlink(db, ProjectEndpointGroup, (group_id, project_id), what)


@router.get(f"{EP}/projects/{{project_id}}/endpoint_groups")
def project_group_list(request: Request, project_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:list_endpoint_groups_for_project", {})
    p = get_or_404(db, Project, project_id, "project")
    rows = _associated(
        db, EndpointGroup, ProjectEndpointGroup, "endpoint_group_id", "project_id", p.id, EndpointGroup.name
    )
    return {"endpoint_groups": [group_view(request, g) for g in rows], "links": list_links(request)}


# --- endpoints of projects ---------------------------------------------------------------
def _project_endpoint(db, project_id: str, endpoint_id: str) -> tuple[Project, Endpoint]:
    return get_or_404(db, Project, project_id, "project"), get_or_404(db, Endpoint, endpoint_id, "endpoint")


@router.put(f"{EP}/projects/{{project_id}}/endpoints/{{endpoint_id}}", status_code=204)
def add_endpoint_to_project(project_id: str, endpoint_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:add_endpoint_to_project", {})
    p, e = _project_endpoint(db, project_id, endpoint_id)
    return _link(db, ProjectEndpoint, (e.id, p.id), endpoint_id=e.id, project_id=p.id)


@router.api_route(f"{EP}/projects/{{project_id}}/endpoints/{{endpoint_id}}", methods=["GET", "HEAD"], status_code=204)
def check_endpoint_in_project(project_id: str, endpoint_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:check_endpoint_in_project", {})
    p, e = _project_endpoint(db, project_id, endpoint_id)
    _linked_or_404(db, ProjectEndpoint, (e.id, p.id), f"endpoint {e.id} associated with project {p.id}")
    return Response(status_code=204)


@router.delete(f"{EP}/projects/{{project_id}}/endpoints/{{endpoint_id}}", status_code=204)
def remove_endpoint_from_project(project_id: str, endpoint_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:remove_endpoint_from_project", {})
    what = f"endpoint {endpoint_id} associated with project {project_id}"
    return _unlink(db, ProjectEndpoint, (endpoint_id, project_id), what)


@router.get(f"{EP}/projects/{{project_id}}/endpoints")
def project_endpoint_list(request: Request, project_id: str, ctx: Auth, db: DbSession, policy: Policy):
    """The endpoints associated directly (Keystone's list_endpoints_for_project)."""
    policy.enforce("identity:list_endpoints_for_project", {})
    p = get_or_404(db, Project, project_id, "project")
    rows = _associated(db, Endpoint, ProjectEndpoint, "endpoint_id", "project_id", p.id, Endpoint.id)
    return {"endpoints": [endpoint_view(request, e) for e in rows], "links": list_links(request)}


@router.get(f"{EP}/endpoints/{{endpoint_id}}/projects")
def endpoint_project_list(request: Request, endpoint_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:list_projects_for_endpoint", {})
    e = get_or_404(db, Endpoint, endpoint_id, "endpoint")
    rows = _associated(db, Project, ProjectEndpoint, "project_id", "endpoint_id", e.id, Project.name)
    return {"projects": [project_view(request, p) for p in rows], "links": list_links(request)}
