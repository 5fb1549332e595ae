"""Stack update (PUT: a new template; PATCH: ``existing`` keeps the template,
parameters and environment not given) and its preview: resources added, deleted, updated
in place (``update_allowed`` properties) or replaced, as Heat's ``resource_changes``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def update(db: Session, ctx, stack, *, template: dict[str, Any] | None = None, files: dict[str, Any] | None = None,
           environment: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None,
           existing: bool = False, clear_parameters: list[str] | None = None, timeout_mins: int | None = None,
           disable_rollback: bool | None = None, tags: list[str] | None = None, settings=None, context=None,
           request_id: str | None = None) -> None:
    """Start updating ``stack`` (UPDATE IN_PROGRESS); 409 while another operation runs."""
    raise NotImplementedError


def preview(db: Session, ctx, stack, *, template: dict[str, Any] | None = None, files: dict[str, Any] | None = None,
            environment: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None,
            existing: bool = False, clear_parameters: list[str] | None = None, settings=None,
            context=None) -> dict[str, list[dict[str, Any]]]:
    """What an update would do, nothing changed: ``{"added": [...], "deleted": [...],
    "replaced": [...], "updated": [...], "unchanged": [...]}``, each item Heat's resource
    summary (resource_name, resource_type, physical_resource_id, ...)."""
    raise NotImplementedError
