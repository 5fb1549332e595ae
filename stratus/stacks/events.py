"""A stack's events as Heat lists them (``GET .../events`` and
``.../resources/<name>/events``): the stack's own and its resources' state changes,
filtered by ``resource_name``, ``resource_action``, ``resource_status`` and
``resource_type`` (a value or a list of values each), sorted by ``sort_keys`` /
``sort_dir``, paged by ``limit`` / ``marker`` (an event id), with ``nested_depth`` the
events of nested stacks down to that depth too. Rows are returned; the API's views shape
them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.orchestration import Stack, StackEvent
from stratus.errors import BadRequest, NotFound
from stratus.stacks import records

# Heat's sort keys (and the old names heatclient may send) -> columns
SORT_KEYS = {"event_time": StackEvent.created_at, "created_at": StackEvent.created_at,
             "resource_name": StackEvent.resource_name, "resource_type": StackEvent.resource_type,
             "resource_action": StackEvent.action, "resource_status": StackEvent.status,
             "resource_status_reason": StackEvent.reason, "physical_resource_id": StackEvent.physical_resource_id,
             "id": StackEvent.id}
FILTERS = {"resource_name": StackEvent.resource_name, "resource_action": StackEvent.action,
           "resource_status": StackEvent.status, "resource_type": StackEvent.resource_type}


def stacks_within(db: Session, stack: Stack, depth: int) -> list[Stack]:
    """``stack`` and its nested stacks down to ``depth`` levels (deleted ones too: their
    events stay the stack's history)."""
    out, level = [stack], [stack]
    for _ in range(max(0, depth)):
        ids = [s.id for s in level]
        level = list(db.scalars(select(Stack).where(Stack.parent_id.in_(ids)))) if ids else []
        out.extend(level)
    return out


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value]
    return [v for v in str(value).split(",") if v] if "," in str(value) else [str(value)]


def list_for(db: Session, ctx, stack: Stack, *, resource_name: Any = None, resource_action: Any = None,
             resource_status: Any = None, resource_type: Any = None, sort_keys: Any = None,
             sort_dir: str | None = None, limit: int | None = None, marker: str | None = None,
             nested_depth: int | None = None) -> list[StackEvent]:
    """The events (oldest first by default); 400 for an unknown sort key or direction,
    404 for a marker that is not one of the stack's events."""
    stacks = stacks_within(db, stack, int(nested_depth or 0))
    q = select(StackEvent).where(StackEvent.stack_id.in_([s.id for s in stacks]))
    for name, column in FILTERS.items():
        wanted = _values({"resource_name": resource_name, "resource_action": resource_action,
                          "resource_status": resource_status, "resource_type": resource_type}[name])
        if wanted:
            q = q.where(column.in_(wanted))
    keys = _values(sort_keys) or ["event_time"]
    unknown = [k for k in keys if k not in SORT_KEYS]
    if unknown:
        raise BadRequest(f"Invalid sort key(s) {', '.join(unknown)}; use one of {', '.join(sorted(SORT_KEYS))}")
    direction = (sort_dir or "asc").lower()
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction {sort_dir!r}: use asc or desc")
    columns = [SORT_KEYS[k] for k in keys]
    if StackEvent.created_at not in columns:
        columns.append(StackEvent.created_at)
    rows = list(db.scalars(q))
    # one total order (equal times keep the order they were recorded in: the row's place)
    def key(e: StackEvent):
        return tuple(_sortable(getattr(e, c.key)) for c in columns)

    rows.sort(key=key, reverse=direction == "desc")
    if marker:
        ids = [e.id for e in rows]
        if marker not in ids:
            raise NotFound(f"The Event ({marker}) could not be found.", type="EntityNotFound")
        rows = rows[ids.index(marker) + 1:]
    if limit is not None:
        if int(limit) < 0:
            raise BadRequest("limit must be a non-negative integer")
        rows = rows[:int(limit)]
    return rows


def _sortable(value: Any) -> Any:
    return (value is not None, value if value is not None else "")


def get(db: Session, ctx, stack: Stack, resource_name: str, event_id: str) -> StackEvent:
    """One event of the stack's resource (or of the stack itself by its name)."""
    event = db.get(StackEvent, event_id)
    if event is None or event.resource_name != resource_name or event.stack_id not in {
            s.id for s in stacks_within(db, stack, 10)}:
        raise NotFound(f"The Event ({event_id}) could not be found.", type="EntityNotFound")
    return event


def stack_of(db: Session, event: StackEvent) -> Stack | None:
    """The (nested) stack an event belongs to (for its links)."""
    return db.get(Stack, event.stack_id)


def root_of(db: Session, event: StackEvent) -> Stack | None:
    stack = stack_of(db, event)
    return records.root(db, stack) if stack is not None else None
