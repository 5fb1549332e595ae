"""Stack delete: the stack's resources (nested stacks' too) removed in reverse
dependency order by one job (``deletion_policy`` Retain keeps a resource, Snapshot
snapshots it first); the stack becomes DELETE_COMPLETE (kept for --show-deleted)."""

from __future__ import annotations

from sqlalchemy.orm import Session


def delete(db: Session, ctx, stack, *, settings=None, context=None, request_id: str | None = None) -> None:
    """Start deleting ``stack`` (DELETE IN_PROGRESS); a stack with no resources left is
    DELETE_COMPLETE at once. Deleting a stack whose operation is running cancels it
    first (as Heat does)."""
    raise NotImplementedError
