"""Stack create and adopt: the template (with its environment and files) is
loaded, validated and planned; the stack row (CREATE IN_PROGRESS), its nested stacks' rows
and one job for all their resources are recorded in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def create(db: Session, ctx, *, name: str, template: dict[str, Any], files: dict[str, Any] | None = None,
           environment: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None,
           timeout_mins: int | None = None, disable_rollback: bool | None = None, tags: list[str] | None = None,
           adopt_data: dict[str, Any] | None = None, settings=None, context=None, request_id: str | None = None):
    """Record a new stack and the job that makes it; returns the Stack row (CREATE
    IN_PROGRESS). Raises TemplateError / ResourceCheckFailed / Conflict (name taken in
    the project: 409) / QuotaExceeded before anything is written. ``adopt_data``
    (``stack abandon``'s output): the resources are taken over, not made (ADOPT)."""
    raise NotImplementedError
