"""OS-EP-FILTER: which endpoints a project's catalog shows. A project with no endpoint
or endpoint-group association sees every endpoint (Keystone's default); one with
associations sees only the endpoints associated directly or through a group."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.identity import Endpoint
from stratus.db.models.identity_resources import (
    EndpointGroup,
    ProjectEndpoint,
    ProjectEndpointGroup,
)
from stratus.errors import BadRequest

FILTER_KEYS = ("service_id", "region_id", "interface")


def check_filters(filters: dict) -> dict:
    for key, value in filters.items():
        if key not in FILTER_KEYS:
            raise BadRequest(
                f"Invalid input for field 'filters': {key!r} is not a valid filter; "
                f"use {', '.join(FILTER_KEYS)}."
            )
        if not isinstance(value, str):
            raise BadRequest(f"Invalid input for field 'filters/{key}': {value!r} is not of type 'string'")
    return dict(filters)


def in_group(ep: Endpoint, filters: dict) -> bool:
    return all(getattr(ep, k) == v for k, v in filters.items())


def group_endpoints(db: Session, group: EndpointGroup) -> list[Endpoint]:
    return [ep for ep in db.scalars(select(Endpoint).order_by(Endpoint.id)) if in_group(ep, group.filters or {})]


def project_endpoint_ids(db: Session, project_id: str | None) -> set[str] | None:
    """The endpoint ids ``project_id``'s catalog is limited to; None when unfiltered."""
    if not project_id:
        return None
    direct = set(db.scalars(select(ProjectEndpoint.endpoint_id).filter_by(project_id=project_id)))
    groups = list(
        db.scalars(
            select(EndpointGroup)
            .join(ProjectEndpointGroup, ProjectEndpointGroup.endpoint_group_id == EndpointGroup.id)
            .where(ProjectEndpointGroup.project_id == project_id)
        )
    )
    if not direct and not groups:
        return None
    for g in groups:
        direct |= {ep.id for ep in group_endpoints(db, g)}
    return direct
