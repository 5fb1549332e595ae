"""A server's metadata (``/servers/{id}/metadata[/key]``), as Nova keeps it: changes
only while the server is active, paused, suspended or stopped with no task and not
locked (409 otherwise, Nova's words), at most the project's ``metadata_items`` quota
(403 "Maximum number of metadata items exceeds N"). The guest's config drive keeps the
metadata it booted with, as in Nova."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from stratus import quotas
from stratus.compute import states
from stratus.compute.inputs import check_metadata, check_unknown
from stratus.db.models.compute import Server
from stratus.errors import BadRequest, Forbidden, NotFound

UPDATABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)
NOT_FOUND = "Metadata item was not found"


def check_quota(db: Session, project_id: str, metadata: dict[str, str], settings) -> None:
    """Nova's metadata_items quota (403 in its words)."""
    allowed = quotas.limits(db, project_id, settings.quota_defaults).get("metadata_items", -1)
    if 0 <= allowed < len(metadata):
        raise Forbidden(f"Maximum number of metadata items exceeds {allowed}")


def body_of(body: Any, key: str) -> dict[str, str]:
    """``{"metadata": {...}}`` / ``{"meta": {...}}`` checked as Nova's schema does."""
    if not isinstance(body, dict) or key not in body:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: None. '{key}' is a required property")
    check_unknown(body, {key})
    return check_metadata(body[key], key)


def _changeable(server: Server, action: str, admin: bool) -> None:
    states.check(server, action, UPDATABLE, (None,), admin=admin)


def update(db: Session, server: Server, metadata: dict[str, str], *, replace: bool, admin: bool,
           settings) -> dict[str, str]:
    """Merge (POST, PUT of one item) or replace (PUT) the metadata; the new metadata."""
    _changeable(server, "update metadata", admin)
    new = dict(metadata) if replace else {**(server.metadata_ or {}), **metadata}
    check_quota(db, server.project_id, new, settings)
    server.metadata_ = new
    db.flush()
    return dict(new)


def item(server: Server, key: str) -> dict[str, str]:
    meta = server.metadata_ or {}
    if key not in meta:
        raise NotFound(NOT_FOUND)
    return {key: meta[key]}


def update_item(db: Session, server: Server, key: str, body: Any, *, admin: bool, settings) -> dict[str, str]:
    meta = body_of(body, "meta")
    if len(meta) > 1:
        raise BadRequest("Request body contains too many items")
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    update(db, server, meta, replace=False, admin=admin, settings=settings)
    return meta


def delete_item(db: Session, server: Server, key: str, *, admin: bool) -> None:
    item(server, key)
    _changeable(server, "delete metadata", admin)
    server.metadata_ = {k: v for k, v in (server.metadata_ or {}).items() if k != key}
    db.flush()
