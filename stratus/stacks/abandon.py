"""Abandon: the stack's record is removed and its resources are left as they
are; the answer is the data ``stack adopt`` takes back.

The resources stay what they are (a server stays a server of the project, its quota
and capacity held); their rows only stop belonging to the stack. ``create(adopt_data=)``
takes them over again (ADOPT_COMPLETE, nothing run)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from stratus.db.models.orchestration import ABANDON, COMPLETE, Stack
from stratus.db.types import utcnow
from stratus.stacks import outputs, records
from stratus.stacks.actions import check_idle
from stratus.stacks.delete import _tree
from stratus.stacks.resources import heat_state


def data_of(db: Session, stack: Stack) -> dict[str, Any]:
    """Heat's abandon data of ``stack`` (its nested stacks' resources under their flat
    names)."""
    resources = {}
    for name, row in outputs.rows_by_name(db, stack).items():
        action, status = heat_state(row)
        resources[name] = {
            "resource_id": row.id, "type": row.type, "name": name, "status": status, "action": action,
            "resource_data": {"properties": dict(row.properties or {}), "attributes": dict(row.attributes or {}),
                              "hosts": list(row.hosts or [])},
            "metadata": dict((row.attributes or {}).get("metadata") or {}),
        }
    return {"name": stack.name, "id": stack.id, "action": stack.action, "status": stack.status,
            "template": stack.template, "environment": stack.environment, "files": stack.files,
            "parameters": stack.parameters, "resources": resources, "project_id": stack.project_id,
            "stack_user_project_id": stack.project_id}


def abandon(db: Session, ctx, stack) -> dict[str, Any]:
    """Forget ``stack`` (404 from now on) and return its abandon data; 409 while an
    operation runs."""
    if stack.deleted_at is not None:
        raise records.not_found(stack.name)
    check_idle(db, stack)
    data = data_of(db, stack)
    for row in outputs.rows_by_name(db, stack).values():
        row.stack_id = None  # left as it is: the project's resource, no stack's
    now = utcnow()
    for member in reversed(_tree(db, stack)):
        records.set_status(db, member, ABANDON, COMPLETE, "Stack ABANDON completed successfully")
        member.deleted_at, member.current_job_id = now, None
    db.flush()
    return data
