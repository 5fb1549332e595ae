"""Neutron's list semantics, one implementation for every collection.

``GET /v2.0/<collection>`` takes:

- filters: any listed attribute as a query parameter; repeated values match any of
  them (``?name=a&name=b``); booleans and integers are converted as Neutron does
  (``true``/``false``/``1``/``0``; an unconvertible value answers 400);
- ``tags``, ``tags-any``, ``not-tags``, ``not-tags-any`` (comma-separated lists);
- ``fields`` (repeatable): only these attributes in each document;
- ``sort_key``/``sort_dir`` pairs (``asc``/``desc``), then ``id`` as the tie breaker;
- ``limit``, ``marker`` (an id: the page starts after it) and ``page_reverse``;
  the answer then carries ``<collection>_links`` with ``next`` (and ``previous``).

A service builds the visible rows' statement, names its filterable attributes and
their columns, and hands both to :func:`run`; :func:`answer` shapes the document.
Unknown filters answer 400 as Neutron's filter validation does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Boolean, Integer, and_, func, or_, select
from sqlalchemy.orm import Session

from stratus.db.models.network import Tag
from stratus.errors import BadRequest

RESERVED = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse",
            "tags", "tags-any", "not-tags", "not-tags-any"}
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


@dataclass
class ListQuery:
    filters: dict[str, list[str]] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    sorts: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    tags: dict[str, list[str]] = field(default_factory=dict)  # tags, tags-any, not-tags, not-tags-any
    params: list[tuple[str, str]] = field(default_factory=list)  # as given, for the links


def parse(params: Iterable[tuple[str, str]]) -> ListQuery:
    """The list query of ``request.query_params.multi_items()``."""
    q = ListQuery(params=list(params))
    keys, dirs = [], []
    for name, value in q.params:
        if name == "fields":
            q.fields.extend(v for v in value.split(",") if v)
        elif name == "sort_key":
            keys.append(value)
        elif name == "sort_dir":
            if value not in ("asc", "desc"):
                raise BadRequest(f"Sort direction {value!r} is not supported: use asc or desc.")
            dirs.append(value)
        elif name == "limit":
            q.limit = _integer("limit", value, minimum=0) or None
        elif name == "marker":
            q.marker = value
        elif name == "page_reverse":
            q.page_reverse = to_bool("page_reverse", value)
        elif name in ("tags", "tags-any", "not-tags", "not-tags-any"):
            q.tags.setdefault(name, []).extend(t for t in value.split(",") if t)
        else:
            q.filters.setdefault(name, []).append(value)
    if dirs and len(dirs) != len(keys):
        raise BadRequest("The number of sort_keys and sort_dirs must be same")
    q.sorts = list(zip(keys, dirs or ["asc"] * len(keys), strict=True))
    return q


def to_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise BadRequest(f"Invalid input for operation: '{value}' cannot be converted to boolean.")


def _integer(name: str, value: str, minimum: int | None = None) -> int:
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"Invalid input for operation: '{value}' is not an integer ({name}).") from None
    if minimum is not None and n < minimum:
        raise BadRequest(f"Invalid input for operation: '{value}' should be >= {minimum} ({name}).")
    return n


Column = Any  # a mapped column, or a callable(values) -> SQL condition for computed filters


def run(db: Session, stmt, model, q: ListQuery, columns: Mapping[str, Column], *,
        tag_type: str | None = None, max_limit: int = 1000) -> tuple[list[Any], bool]:
    """The rows of ``stmt`` (a ``select(model)`` already restricted to what the caller
    may see) after ``q``'s filters, tags, sort and page; and whether more follow.

    ``columns`` maps each filterable/sortable attribute to its column, or to a function
    of the list of values returning an SQL condition (``fixed_ips``, ``device_owner``
    prefixes ...)."""
    for name, values in q.filters.items():
        col = columns.get(name)
        if col is None:
            raise BadRequest(f"[{name}] is invalid filter")
        if callable(col) and not hasattr(col, "type"):
            stmt = stmt.where(col(values))
            continue
        stmt = stmt.where(col.in_([_convert(name, col, v) for v in values]))
    if tag_type is not None:
        stmt = _tag_filters(stmt, model, tag_type, q.tags)
    order = []
    for key, direction in q.sorts:
        col = columns.get(key)
        if col is None or (callable(col) and not hasattr(col, "type")):
            raise BadRequest(f"{key} is an invalid attribute for sort_key")
        order.append((col, direction))
    order.append((model.id, order[0][1] if order else "asc"))
    if q.page_reverse:
        order = [(c, "desc" if d == "asc" else "asc") for c, d in order]
    if q.marker:
        marker = db.get(model, q.marker)
        if marker is None:
            raise BadRequest(f"Marker {q.marker} could not be found.")
        stmt = stmt.where(_after(marker, order))
    stmt = stmt.order_by(*[c.asc() if d == "asc" else c.desc() for c, d in order])
    limit = min(q.limit, max_limit) if q.limit else None
    if limit:
        stmt = stmt.limit(limit + 1)
    rows = list(db.scalars(stmt).unique())
    more = bool(limit) and len(rows) > limit
    rows = rows[:limit] if limit else rows
    if q.page_reverse:
        rows.reverse()
    return rows, more


def _convert(name: str, col, value: str) -> Any:
    kind = getattr(col, "type", None)
    if isinstance(kind, Boolean):
        return to_bool(name, value)
    if isinstance(kind, Integer):
        return _integer(name, value)
    return value


def _after(marker, order):
    """Rows strictly after ``marker`` in ``order`` (keyset pagination)."""
    clauses = []
    for i, (col, direction) in enumerate(order):
        value = getattr(marker, col.key)
        equal = [c == getattr(marker, c.key) for c, _ in order[:i]]
        beyond = col > value if direction == "asc" else col < value
        if value is None:
            beyond = col.is_not(None) if direction == "asc" else col.is_(None)
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def _tag_filters(stmt, model, tag_type: str, tags: Mapping[str, list[str]]):
    def having(names, every: bool):
        sub = select(Tag.resource_id).where(Tag.resource_type == tag_type, Tag.tag.in_(names))
        if every:
            sub = sub.group_by(Tag.resource_id).having(func.count(func.distinct(Tag.tag)) == len(set(names)))
        return model.id.in_(sub)

    if tags.get("tags"):
        stmt = stmt.where(having(tags["tags"], True))
    if tags.get("tags-any"):
        stmt = stmt.where(having(tags["tags-any"], False))
    if tags.get("not-tags"):
        stmt = stmt.where(~having(tags["not-tags"], True))
    if tags.get("not-tags-any"):
        stmt = stmt.where(~having(tags["not-tags-any"], False))
    return stmt


def project(doc: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """``doc`` with only ``fields`` (all when none are asked for)."""
    return {k: v for k, v in doc.items() if k in fields} if fields else doc


def answer(request, collection: str, rows: list[Any], q: ListQuery, more: bool,
           view: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """``{collection: [...], collection_links: [...]}`` (links only when paging)."""
    out: dict[str, Any] = {collection: [project(view(r), q.fields) for r in rows]}
    if q.limit:
        kept = [(k, v) for k, v in q.params if k not in ("marker", "page_reverse")]
        base = str(request.url.replace(query=""))
        links = []
        # forward: more rows follow the last one; backward (page_reverse): more precede
        # the first one. The page we came from lies the other way when a marker was given.
        has_next, has_previous = (more, bool(q.marker)) if not q.page_reverse else (bool(q.marker), more)
        if rows and has_next:
            links.append({"rel": "next", "href": base + "?" + urlencode([*kept, ("marker", rows[-1].id)])})
        if rows and has_previous:
            links.append({"rel": "previous", "href": base + "?" + urlencode(
                [*kept, ("marker", rows[0].id), ("page_reverse", "True")])})
        out[f"{collection}_links"] = links
    return out
