"""Stack snapshots: the stack's template, parameters and resources' data (a
volume's snapshot, a server's image where the type supports it); restore puts them back.

A snapshot records what the stack is (template, files, environment, parameters and each
resource's id, type, properties and recorded attributes); it is taken at once
(SNAPSHOT_IN_PROGRESS → SNAPSHOT_COMPLETE, the snapshot COMPLETE). Restore is a stack
update back to the snapshot's template and parameters (the stack's action RESTORE),
through ``stratus.stacks.update``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.orchestration import (
    COMPLETE,
    IN_PROGRESS,
    RESTORE,
    SNAPSHOT,
    UPDATE,
    Stack,
    StackSnapshot,
)
from stratus.errors import BadRequest, NotFound
from stratus.stacks import outputs, records
from stratus.stacks.actions import check_idle
from stratus.stacks.resources import heat_state


def data_of(db: Session, stack: Stack) -> dict[str, Any]:
    """What a snapshot keeps of ``stack``."""
    resources = {}
    for name, row in outputs.rows_by_name(db, stack).items():
        action, status = heat_state(row)
        resources[name] = {"id": row.id, "type": row.type, "properties": dict(row.properties or {}),
                           "attributes": dict(row.attributes or {}), "action": action, "status": status,
                           "data": {}}
    return {"template": stack.template, "files": stack.files, "environment": stack.environment,
            "parameters": stack.parameters, "resources": resources, "action": stack.action,
            "status": stack.status, "outputs": stack.outputs}


def create(db: Session, ctx, stack, name: str | None, *, settings=None, context=None, request_id=None):
    """Snapshot ``stack`` (409 while an operation runs); returns the StackSnapshot row."""
    if stack.deleted_at is not None:
        raise records.not_found(stack.name)
    check_idle(db, stack)
    snap = StackSnapshot(id=str(uuid.uuid4()), stack_id=stack.id, name=name, status=IN_PROGRESS,
                         data=data_of(db, stack))
    db.add(snap)
    records.set_status(db, stack, SNAPSHOT, IN_PROGRESS, "Stack SNAPSHOT started")
    snap.status, snap.status_reason = COMPLETE, "Stack SNAPSHOT completed successfully"
    records.set_status(db, stack, SNAPSHOT, COMPLETE, "Stack SNAPSHOT completed successfully")
    db.flush()
    return snap


def list_for(db: Session, ctx, stack) -> list:
    """The stack's snapshots, oldest first."""
    return list(db.scalars(select(StackSnapshot).where(StackSnapshot.stack_id == stack.id)
                           .order_by(StackSnapshot.created_at)))


def get(db: Session, ctx, stack, snapshot_id: str):
    """One snapshot of the stack; Heat's 404 otherwise."""
    snap = db.get(StackSnapshot, snapshot_id)
    if snap is None or snap.stack_id != stack.id:
        raise NotFound(f"The Snapshot ({snapshot_id}) could not be found.", type="EntityNotFound")
    return snap


def delete(db: Session, ctx, stack, snapshot_id: str) -> None:
    db.delete(get(db, ctx, stack, snapshot_id))
    db.flush()


def restore(db: Session, ctx, stack, snapshot_id: str, *, settings=None, context=None, request_id=None) -> None:
    """Put the stack back to the snapshot's template, environment, files and parameters
    (an update whose action is RESTORE); 400 when this controller cannot update stacks."""
    from stratus.stacks import settle, update

    snap = get(db, ctx, stack, snapshot_id)
    if snap.status != COMPLETE:
        raise BadRequest(f"The snapshot {snapshot_id} is {snap.status}; only a COMPLETE snapshot can be restored")
    data = snap.data or {}
    try:
        update.update(db, ctx, stack, template=data.get("template"), files=data.get("files"),
                      environment=data.get("environment"), parameters=data.get("parameters"),
                      settings=settings, context=context, request_id=request_id)
    except NotImplementedError:
        raise BadRequest("Restoring a stack snapshot is not supported yet: it is a stack update, which this "
                         "controller does not do yet. Create a new stack from the snapshot's template instead "
                         "(openstack stack snapshot show).", type="NotSupported") from None
    if stack.action == UPDATE and UPDATE in settle.HANDLERS:
        settle.HANDLERS.setdefault(RESTORE, settle.HANDLERS[UPDATE])
        records.set_status(db, stack, RESTORE, stack.status, "Stack RESTORE started")
    db.flush()
