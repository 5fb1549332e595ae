"""Signals to a stack's resources (``POST .../resources/<name>/signal``: a
WaitConditionHandle's, a ScalingPolicy's, a deployment's result)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session


def signal(db: Session, ctx, stack, resource_name: str, data: dict[str, Any] | None, *, settings=None,
           context=None, request_id: str | None = None) -> None:
    """Record the signal for the resource and let its type act on it; 400 when the type
    takes no signals (Heat: "Signal resource during ... not supported")."""
    raise NotImplementedError

