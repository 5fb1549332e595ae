"""``GET /stacks``: Heat's stack list filters, sort and pagination, done in SQL so
that a project with thousands of stacks lists a page without loading the others (and
without their templates: only the list's columns are read).

Query parameters (Heat's ``StackController._index``):
- filters, each repeatable (any of the values): ``id``, ``name``/``stack_name``,
  ``status``/``stack_status`` (``COMPLETE`` or ``CREATE_COMPLETE``), ``action``,
  ``tenant`` (administrators), ``owner_id``/``parent``, ``username``;
- tags: ``tags`` (all of), ``tags_any``, ``not_tags`` (not all of), ``not_tags_any``
  (none of), each a comma-separated list;
- ``show_deleted``, ``show_nested`` (nested stacks too), ``show_hidden`` (stacks tagged
  with a hidden tag, :data:`HIDDEN_TAGS`), ``global_tenant`` (every project: the
  caller passed ``stacks:global_index``);
- ``sort_keys`` (stack_name, stack_status, creation_time, updated_time; repeatable),
  ``sort_dir`` (asc/desc; default creation_time desc), ``limit``, ``marker`` (a
  stack id: the page after it), ``with_count``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, cast, func, not_, or_, select
from sqlalchemy.orm import Session, load_only

from stratus.db.models.orchestration import Stack
from stratus.errors import BadRequest

# Heat's default hidden_stack_tags
HIDDEN_TAGS = ("data-processing-cluster",)
ACTIONS = ("CREATE", "UPDATE", "DELETE", "ROLLBACK", "SUSPEND", "RESUME", "CHECK", "ADOPT", "SNAPSHOT",
           "RESTORE", "ABANDON", "INIT")
SORT_KEYS = {"stack_name": "name", "name": "name", "stack_status": "status", "status": "status",
             "creation_time": "created_at", "created_at": "created_at", "updated_time": "updated_at",
             "updated_at": "updated_at"}
LIST_COLUMNS = (Stack.id, Stack.name, Stack.project_id, Stack.parent_id, Stack.action, Stack.status,
                Stack.status_reason, Stack.tags, Stack.created_at, Stack.updated_at, Stack.deleted_at)


def boolean(name: str, value: str | None, default: bool = False) -> bool:
    """Heat's ``extract_bool``: true/false, yes/no, 1/0, on/off (any case); 400 otherwise."""
    if value is None:
        return default
    low = str(value).strip().lower()
    if low in ("true", "yes", "1", "on", "y", "t"):
        return True
    if low in ("false", "no", "0", "off", "n", "f"):
        return False
    raise BadRequest(f"Unrecognized value \"{value}\" for \"{name}\", acceptable values are: true, false.")


def integer(name: str, value: str | None, *, allow_zero: bool = True) -> int | None:
    """Heat's ``extract_int``: a non-negative integer; 400 otherwise."""
    if value is None:
        return None
    try:
        got = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"Only integer is acceptable by '{name}'.") from None
    if got < 0 or (got == 0 and not allow_zero):
        raise BadRequest(f"Only {'non-negative' if allow_zero else 'positive'} integer is acceptable by '{name}'.")
    return got


def tag_list(value: str | list[str] | None) -> list[str]:
    """Heat's ``extract_tags``: a comma-separated string of tags of at most 80
    characters each (a list is taken as it is)."""
    if value is None:
        return []
    tags = value if isinstance(value, list) else str(value).split(",")
    tags = [t.strip() for t in tags if t.strip()]
    for tag in tags:
        if len(tag) > 80:
            raise BadRequest(f"Invalid tag, \"{tag}\" is longer than 80 characters")
    return tags


@dataclass
class Page:
    rows: list[Stack]
    count: int | None = None


def _tag_clause(tag: str):
    """True where the stack's JSON tag list holds ``tag``: its JSON string, quotes
    included, occurs in the column's text (SQLite and PostgreSQL alike)."""
    needle = json.dumps(tag).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.coalesce(cast(Stack.tags, Text), "").like(f"%{needle}%", escape="\\")


def _values(query, key: str) -> list[str]:
    return [v for v in query.getlist(key) if v != ""] if hasattr(query, "getlist") else (
        [query[key]] if key in query else [])


def filters(query, ctx, *, global_tenant: bool) -> list:
    """The WHERE clauses of the query's filters and flags, the caller's scope included."""
    where = []
    if not global_tenant:
        where.append(Stack.project_id == ctx.project_id)
    elif _values(query, "tenant"):
        where.append(Stack.project_id.in_(_values(query, "tenant")))
    for key, column in (("id", Stack.id), ("name", Stack.name), ("stack_name", Stack.name),
                        ("owner_id", Stack.parent_id), ("parent", Stack.parent_id), ("username", Stack.user_id)):
        vals = _values(query, key)
        if vals:
            where.append(column.in_(vals))
    actions = [a.upper() for a in _values(query, "action")]
    if actions:
        where.append(Stack.action.in_(actions))
    statuses = _values(query, "status") + _values(query, "stack_status")
    if statuses:
        alts = []
        for value in (s.upper() for s in statuses):
            action, _, status = value.partition("_")
            if action in ACTIONS and status:
                alts.append(and_(Stack.action == action, Stack.status == status))
            else:
                alts.append(Stack.status == value)
        where.append(or_(*alts))
    if not boolean("show_deleted", query.get("show_deleted")):
        where.append(Stack.deleted_at.is_(None))
    if not boolean("show_nested", query.get("show_nested")):
        where.append(Stack.parent_id.is_(None))
    if not boolean("show_hidden", query.get("show_hidden")):
        where.extend(not_(_tag_clause(t)) for t in HIDDEN_TAGS)
    if query.get("tags") is not None:
        where.extend(_tag_clause(t) for t in tag_list(query.get("tags")))
    if query.get("tags_any") is not None:
        where.append(or_(*(_tag_clause(t) for t in tag_list(query.get("tags_any")))))
    if query.get("not_tags") is not None:
        where.append(not_(and_(*(_tag_clause(t) for t in tag_list(query.get("not_tags"))))))
    if query.get("not_tags_any") is not None:
        where.append(not_(or_(*(_tag_clause(t) for t in tag_list(query.get("not_tags_any"))))))
    return where


def _sort(query) -> tuple[list, bool]:
    keys = []
    for value in _values(query, "sort_keys"):
        for key in value.split(","):
            key = key.strip()
            if not key:
                continue
            if key not in SORT_KEYS:
                raise BadRequest(f"Sort key \"{key}\" is not supported; use one of: stack_name, stack_status, "
                                 "creation_time, updated_time.")
            keys.append(SORT_KEYS[key])
    direction = (query.get("sort_dir") or "desc").lower()
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Unknown sort direction \"{direction}\", must be 'desc' or 'asc'")
    columns = []
    for key in keys or ["created_at"]:
        col = getattr(Stack, key)
        if key == "updated_at":  # never updated: sorts as its creation
            col = func.coalesce(Stack.updated_at, Stack.created_at)
        if key == "status":
            columns.append(Stack.action)
        columns.append(col)
    return columns, direction == "desc"


def after(order: list, values, desc: bool):
    """Keyset pagination: the clause "comes after the row whose ``order`` columns hold
    ``values``" in that order (descending with ``desc``)."""
    alts = []
    for i, col in enumerate(order):
        cmp = col < values[i] if desc else col > values[i]
        alts.append(and_(*(order[j] == values[j] for j in range(i)), cmp))
    return or_(*alts)


def _after(db: Session, columns: list, desc: bool, marker: str, scope: list):
    """The clause "comes after the marker stack" in (columns..., id) order."""
    values = db.execute(select(*columns, Stack.id).where(Stack.id == marker, *scope)).first()
    if values is None:
        raise BadRequest(f"The marker {marker} is not a stack of this list.")
    return after([*columns, Stack.id], values, desc)


def page(db: Session, ctx, query, *, global_tenant: bool = False) -> Page:
    """One page of the caller's stacks (every project's with ``global_tenant``), only
    the list's columns loaded, with the total when ``with_count`` is true."""
    where = filters(query, ctx, global_tenant=global_tenant)
    columns, desc = _sort(query)
    limit = integer("limit", query.get("limit"))
    q = select(Stack).options(load_only(*LIST_COLUMNS)).where(*where)
    if query.get("marker"):
        q = q.where(_after(db, columns, desc, query.get("marker"), where))
    order = [*columns, Stack.id]
    q = q.order_by(*(c.desc() if desc else c.asc() for c in order))
    if limit is not None:
        q = q.limit(limit)
    rows = list(db.scalars(q))
    count = None
    if boolean("with_count", query.get("with_count")):
        count = db.scalar(select(func.count()).select_from(Stack).where(*where))
    return Page(rows, count)


def next_link(url: str, query, rows: list[Stack]) -> list[dict[str, Any]]:
    """Heat's ``links`` of a list: a ``next`` link when the page is as long as ``limit``."""
    from urllib.parse import urlencode

    try:
        limit = int(query.get("limit") or 0)
    except ValueError:
        limit = 0
    if not (limit > 0 and len(rows) == limit):
        return []
    params = [(k, v) for k, v in query.multi_items() if k != "marker"] if hasattr(query, "multi_items") else [
        (k, v) for k, v in dict(query).items() if k != "marker"]
    params.append(("marker", rows[-1].id))
    return [{"rel": "next", "href": f"{url}?{urlencode(params)}"}]


# ---------------------------------------------------------------------------- events
EVENT_SORT_KEYS = {"event_time": "created_at", "created_at": "created_at", "resource_name": "resource_name",
                   "resource_type": "resource_type", "resource_action": "action", "resource_status": "status"}


def stack_tree(db: Session, stack: Stack, depth: int) -> dict[str, Stack]:
    """The stack and its nested stacks down to ``depth`` levels, by id."""
    out, level = {stack.id: stack}, [stack.id]
    for _ in range(depth):
        kids = list(db.scalars(select(Stack).where(Stack.parent_id.in_(level)))) if level else []
        out.update((k.id, k) for k in kids)
        level = [k.id for k in kids]
    return out


def events_page(db: Session, stack: Stack, query, *, resource_name: str | None = None):
    """Heat's event list of ``stack`` (and of its nested stacks down to
    ``nested_depth``): filters ``resource_status`` (``COMPLETE`` or
    ``CREATE_COMPLETE``), ``resource_action``, ``resource_name``, ``resource_type``
    (each repeatable); ``sort_keys`` (event_time, resource_name, resource_type,
    resource_action, resource_status), ``sort_dir`` (default asc: oldest first),
    ``limit``, ``marker`` (an event id). Returns ``(events, stacks by id)``."""
    from stratus.db.models.orchestration import StackEvent

    depth = integer("nested_depth", query.get("nested_depth")) or 0
    stacks = stack_tree(db, stack, depth)
    where = [StackEvent.stack_id.in_(list(stacks))]
    names = [resource_name] if resource_name is not None else _values(query, "resource_name")
    if names:
        where.append(StackEvent.resource_name.in_(names))
    if _values(query, "resource_type"):
        where.append(StackEvent.resource_type.in_(_values(query, "resource_type")))
    if _values(query, "resource_action"):
        where.append(StackEvent.action.in_([a.upper() for a in _values(query, "resource_action")]))
    statuses = _values(query, "resource_status")
    if statuses:
        alts = []
        for value in (s.upper() for s in statuses):
            action, _, status = value.partition("_")
            alts.append(and_(StackEvent.action == action, StackEvent.status == status)
                        if action in ACTIONS and status else StackEvent.status == value)
        where.append(or_(*alts))
    keys = []
    for value in _values(query, "sort_keys"):
        for key in (k.strip() for k in value.split(",") if k.strip()):
            if key not in EVENT_SORT_KEYS:
                raise BadRequest(f"Sort key \"{key}\" is not supported; use one of: "
                                 + ", ".join(EVENT_SORT_KEYS) + ".")
            keys.append(getattr(StackEvent, EVENT_SORT_KEYS[key]))
    direction = (query.get("sort_dir") or "asc").lower()
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Unknown sort direction \"{direction}\", must be 'desc' or 'asc'")
    desc = direction == "desc"
    columns = keys or [StackEvent.created_at]
    q = select(StackEvent).where(*where)
    marker = query.get("marker")
    if marker:
        values = db.execute(select(*columns, StackEvent.id).where(StackEvent.id == marker, *where)).first()
        if values is None:
            raise BadRequest(f"The marker {marker} is not an event of this list.")
        q = q.where(after([*columns, StackEvent.id], values, desc))
    q = q.order_by(*(c.desc() if desc else c.asc() for c in [*columns, StackEvent.id]))
    limit = integer("limit", query.get("limit"))
    if limit is not None:
        q = q.limit(limit)
    return list(db.scalars(q)), stacks
