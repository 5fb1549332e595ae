"""A stack's resources as Heat shows them: the rows of ``resources`` whose ``stack_id``
is the stack's (or a nested stack's) with Heat's resource_status made of the row's
``action`` and its status (BUILD → IN_PROGRESS, ACTIVE → COMPLETE, ERROR → FAILED,
DELETING → DELETE_IN_PROGRESS, DELETED → DELETE_COMPLETE).

``list_for`` / ``get`` / ``metadata`` give plain data; the API's views shape the wire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.jobs import ACTIVE, BUILD, DELETED, DELETING, ERROR, Resource
from stratus.db.models.orchestration import COMPLETE, CREATE, DELETE, FAILED, IN_PROGRESS, Stack
from stratus.errors import NotFound
from stratus.stacks import records

_STATUS = {BUILD: IN_PROGRESS, ACTIVE: COMPLETE, ERROR: FAILED}


def heat_state(row: Resource) -> tuple[str, str]:
    """(action, status) of a resource row as Heat names them."""
    if row.status == DELETING:
        return DELETE, IN_PROGRESS
    if row.status == DELETED:
        return DELETE, COMPLETE
    return row.action or CREATE, _STATUS.get(row.status, IN_PROGRESS)


@dataclass
class StackResource:
    """One resource of a stack as Heat lists it."""

    row: Resource
    stack: Stack  # the (nested) stack that owns it
    name: str  # its name in that stack (``0`` for ``group.0``)
    parent_resource: str | None  # the owner resource of that stack, for nested ones
    nested_stack_id: str | None = None  # the stack this resource owns (a nested stack's owner)

    @property
    def action(self) -> str:
        return heat_state(self.row)[0]

    @property
    def status(self) -> str:
        return heat_state(self.row)[1]

    @property
    def resource_status(self) -> str:
        return "_".join(heat_state(self.row))

    @property
    def depth(self) -> int:
        return 0

    def as_dict(self) -> dict[str, Any]:
        """The data Heat's resource view shows (links and wire names are the API's)."""
        return {"resource_name": self.name, "physical_resource_id": self.row.id, "resource_type": self.row.type,
                "resource_action": self.action, "resource_status": self.status,
                "resource_status_reason": self.row.status_reason or "state changed",
                "logical_resource_id": self.name, "stack_id": self.stack.id, "stack_name": self.stack.name,
                "parent_resource": self.parent_resource, "nested_stack_id": self.nested_stack_id,
                "creation_time": self.row.created_at, "updated_time": self.row.updated_at,
                "attributes": dict(self.row.attributes or {}), "properties": dict(self.row.properties or {}),
                "required_by": []}


def _prefix(db: Session, stack: Stack) -> str:
    """The flat-name prefix of a (nested) stack's resources ("" for a root stack)."""
    parts = []
    while stack.parent_id is not None:
        parts.append(stack.owner_resource or "")
        parent = db.get(Stack, stack.parent_id)
        if parent is None:
            break
        stack = parent
    return ".".join(reversed(parts))


def _short(name: str, prefix: str) -> str:
    return name[len(prefix) + 1:] if prefix and name.startswith(prefix + ".") else name


def _own(db: Session, stack: Stack, *, include_deleted: bool = False) -> list[StackResource]:
    prefix = _prefix(db, stack)
    owned = {s.owner_resource: s.id for s in records.children(db, stack)}
    q = select(Resource).where(Resource.stack_id == stack.id)
    if not include_deleted:
        q = q.where(Resource.status != DELETED)
    out = []
    for row in db.scalars(q.order_by(Resource.created_at, Resource.name)):
        short = _short(row.name, prefix)
        out.append(StackResource(row, stack, short, stack.owner_resource if stack.parent_id else None,
                                 owned.get(short)))
    return out


def list_for(db: Session, ctx, stack: Stack, *, nested_depth: int = 0, with_detail: bool = False,
             filters: dict[str, Any] | None = None) -> list[StackResource]:
    """The stack's resources; with ``nested_depth`` N the resources of nested stacks
    down to N levels too (Heat's ``--nested-depth``). ``filters``: Heat's resource list
    filters (name, type, status, action, id) — each a value or a list of values."""
    out = _own(db, stack)
    level = [stack]
    for _ in range(max(0, int(nested_depth or 0))):
        level = [c for s in level for c in records.children(db, s)]
        for child in level:
            out.extend(_own(db, child))
    return [r for r in out if _matches(r, filters or {})]


def _matches(res: StackResource, filters: dict[str, Any]) -> bool:
    fields = {"name": res.name, "resource_name": res.name, "type": res.row.type, "resource_type": res.row.type,
              "status": res.status, "resource_status": res.status, "action": res.action,
              "resource_action": res.action, "id": res.row.id, "physical_resource_id": res.row.id}
    for key, want in filters.items():
        if key not in fields or want is None:
            continue
        wants = want if isinstance(want, list | tuple | set) else [want]
        if fields[key] not in wants and not (key in ("status", "resource_status")
                                             and res.resource_status in wants):
            return False
    return True


def get(db: Session, ctx, stack: Stack, resource_name: str) -> StackResource:
    """One resource of the stack by its name in that stack; Heat's 404 otherwise."""
    for res in _own(db, stack):
        if res.name == resource_name:
            return res
    raise NotFound(f"The Resource ({resource_name}) could not be found in Stack {stack.name}.",
                   type="ResourceNotFound")


def metadata(db: Session, ctx, stack: Stack, resource_name: str) -> dict[str, Any]:
    """The resource's ``metadata`` section as the template gives it (resolved where it
    can be from recorded values; plain data otherwise)."""
    res = get(db, ctx, stack, resource_name)
    raw = (stack.template or {}).get("resources", {}).get(res.name, {})
    meta = raw.get("metadata") if isinstance(raw, dict) else None
    attrs = res.row.attributes or {}
    return dict(attrs.get("metadata") or meta or {})
