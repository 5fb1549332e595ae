"""A resource marked unhealthy (Heat's ``PATCH .../resources/<name>`` with
``mark_unhealthy``): CHECK_FAILED until the next update replaces it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from stratus.db.models.jobs import ACTIVE, BUILD, DELETING, ERROR
from stratus.db.models.orchestration import CHECK, COMPLETE, FAILED
from stratus.errors import Conflict
from stratus.stacks import records, resources


def mark_unhealthy(db: Session, ctx, stack, resource_name: str, unhealthy: bool, reason: str = "") -> None:
    """The resource becomes CHECK_FAILED with ``reason`` (replaced by the next update),
    or, with ``unhealthy`` False, goes back to its last state."""
    res = resources.get(db, ctx, stack, resource_name)
    row = res.row
    if row.status in (BUILD, DELETING):
        raise Conflict(f"Resource {resource_name} is in progress ({res.resource_status}); mark it when its "
                       "operation ended.", type="ActionInProgress")
    if unhealthy:
        row.action, row.status, row.status_reason = CHECK, ERROR, reason
        records.add_event(db, res.stack, res.name, row.id, row.type, CHECK, FAILED, reason)
    elif (row.action, row.status) == (CHECK, ERROR):
        row.status, row.status_reason = ACTIVE, reason
        records.add_event(db, res.stack, res.name, row.id, row.type, CHECK, COMPLETE, reason)
    db.flush()
