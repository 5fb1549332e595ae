"""Finding stacks and recording their state: lookups by name or id as the caller may see
them (Heat's 404 otherwise), status changes that add the stack's event, and resource
events."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.orchestration import Stack, StackEvent
from stratus.db.types import utcnow
from stratus.errors import NotFound


def not_found(ref: str) -> NotFound:
    return NotFound(f"The Stack ({ref}) could not be found.", type="EntityNotFound")


def visible(ctx, stack: Stack) -> bool:
    """The caller's project owns it, or the caller is a cloud administrator."""
    return ctx.is_admin or stack.project_id == ctx.project_id


def get(db: Session, ctx, ref: str, *, show_deleted: bool = False) -> Stack:
    """The stack named or with id ``ref`` in the caller's project (a cloud admin: any
    project; by name, the caller's project first); 404 in Heat's words otherwise."""
    stack = db.get(Stack, ref)
    if stack is None or not visible(ctx, stack):
        q = select(Stack).where(Stack.name == ref, Stack.parent_id.is_(None))
        if not ctx.is_admin:
            q = q.where(Stack.project_id == ctx.project_id)
        if not show_deleted:
            q = q.where(Stack.deleted_at.is_(None))
        rows = list(db.scalars(q.order_by(Stack.created_at.desc())))
        own = [s for s in rows if s.project_id == ctx.project_id]
        stack = (own or rows or [None])[0]
    if stack is None or (stack.deleted_at is not None and not show_deleted):
        raise not_found(ref)
    return stack


def get_checked(db: Session, ctx, name: str, stack_id: str, *, show_deleted: bool = False) -> Stack:
    """``/stacks/<name>/<id>``: the stack with that id, whose name must be ``name``."""
    stack = db.get(Stack, stack_id)
    if (stack is None or not visible(ctx, stack) or stack.name != name
            or (stack.deleted_at is not None and not show_deleted)):
        raise not_found(f"{name}/{stack_id}" if stack is None or stack.name != name else name)
    return stack


def set_status(db: Session, stack: Stack, action: str, status: str, reason: str = "") -> None:
    """Move the stack to ``action``_``status`` and record the stack's own event."""
    stack.action, stack.status, stack.status_reason = action, status, reason
    if action != "CREATE" or status != "IN_PROGRESS":
        stack.updated_at = utcnow()
    add_event(db, stack, stack.name, stack.id, "OS::Heat::Stack", action, status, reason)


def add_event(db: Session, stack: Stack, resource_name: str, physical_id: str | None, resource_type: str | None,
              action: str, status: str, reason: str = "", properties: dict[str, Any] | None = None) -> StackEvent:
    event = StackEvent(id=str(uuid.uuid4()), stack_id=stack.id, resource_name=resource_name,
                       physical_resource_id=physical_id, resource_type=resource_type, action=action,
                       status=status, reason=reason or "state changed", properties=properties or {})
    db.add(event)
    return event


def children(db: Session, stack: Stack) -> list[Stack]:
    """The stack's nested stacks (one level), not deleted."""
    return list(db.scalars(select(Stack).where(Stack.parent_id == stack.id, Stack.deleted_at.is_(None))))


def root(db: Session, stack: Stack) -> Stack:
    while stack.parent_id is not None:
        parent = db.get(Stack, stack.parent_id)
        if parent is None:
            break
        stack = parent
    return stack
