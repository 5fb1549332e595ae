"""A resource marked unhealthy (Heat's ``PATCH .../resources/<name>`` with
``mark_unhealthy``): CHECK_FAILED until the next update replaces it."""

from __future__ import annotations

from sqlalchemy.orm import Session


def mark_unhealthy(db: Session, ctx, stack, resource_name: str, unhealthy: bool, reason: str = "") -> None:
    """The resource becomes CHECK_FAILED with ``reason`` (replaced by the next update),
    or, with ``unhealthy`` False, goes back to its last state."""
    raise NotImplementedError
