"""``GET /v2/images``: Glance's query language turned into one SQL query.

- Which images: public, community, the caller's own and those shared with it (in
  ``member_status``, default ``accepted``); a cloud admin: every image. Without a
  ``visibility`` filter other projects' community images are left out; with one, only
  that visibility (``all``: every visibility). Killed images are never listed, hidden
  ones (``os_hidden``) only when asked for.
- Filters: ``name``/``id``/``status``/``disk_format``/``container_format`` (``eq:``,
  ``in:a,"b,c"``), ``created_at``/``updated_at`` (``gt:``/``gte:``/``lt:``/``lte:``/
  ``eq:``/``neq:`` an ISO 8601 time), ``size_min``/``size_max`` (also ``virtual_size``,
  ``min_ram``, ``min_disk``), ``owner``, ``checksum``, ``os_hash_value``, ``protected``,
  ``tag`` (repeatable: all of them), ``changes-since`` (updated after), and any other
  name as an extra property equal to the value.
- Order: ``sort=key:dir,...`` or ``sort_key``/``sort_dir`` (repeatable), default
  ``created_at`` descending; ``created_at`` and ``id`` are appended so pages are stable.
- Pages: ``limit`` (default 25, at most 1000) and ``marker`` (the last id of the page
  before, which must be an image the caller sees: 400 otherwise, as Glance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, asc, desc, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from stratus.db.models.images import KILLED, Image, ImageMember, ImageProperty, ImageTag
from stratus.errors import ApiError, BadRequest
from stratus.identity.context import RequestContext
from stratus.image import records

DEFAULT_LIMIT, MAX_LIMIT = 25, 1000
SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at")
VISIBILITIES = ("community", "public", "private", "shared", "all")
MEMBER_STATUSES = ("pending", "accepted", "rejected", "all")
LISTED_OPS = {"in", "eq"}  # name, id, status, disk_format, container_format
TIME_OPS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__", "eq": "__eq__",
            "neq": "__ne__"}
RANGE_COLUMNS = ("size", "virtual_size", "min_ram", "min_disk")
EQUAL_COLUMNS = ("owner", "checksum", "os_hash_value", "os_hash_algo", "min_ram", "min_disk",
                 "size", "virtual_size")
# Null sorts as this value (Glance's defaults), on SQLite and PostgreSQL alike.
NULL_AS = {"name": "", "container_format": "", "disk_format": "", "size": 0}


@dataclass
class Query:
    limit: int = DEFAULT_LIMIT
    marker: str | None = None
    member_status: str = "accepted"
    visibility: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc")])
    conditions: list[Any] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)  # as given, for links


def _bool(name: str, value: str) -> bool:
    if value not in ("true", "false"):
        raise BadRequest(f"Invalid value '{value}' for '{name}' filter. Valid values are 'true' or 'false'.")
    return value == "true"


def _time(name: str, value: str) -> datetime:
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f'Bad "{name}" query filter format. Use ISO 8601 DateTime notation.') from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _is_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def split_op(expression: str) -> tuple[str, str]:
    """``gte:2024-01-01T00:00:00Z`` → ("gte", ...); a bare ISO time or value → ("eq", ...)."""
    left, sep, right = expression.partition(":")
    if not sep or _is_time(expression):
        return "eq", expression
    return left, right


def split_in(value: str) -> list[str]:
    """The values of ``in:a,"b,c",d`` (api-wg quoting, as Glance)."""
    if value.count('"') % 2:
        raise BadRequest(f"Invalid filter value {value}. The quote is not closed.")
    found = re.findall(r'"([^"\\]*(?:\\.[^"\\]*)*)",?|([^,]+),?|,', value)
    return [a or b for a, b in found]


def _sort(params: dict[str, list[str]]) -> list[tuple[str, str]]:
    def key(k: str) -> str:
        k = k.strip()
        if k not in SORT_KEYS:
            raise BadRequest(f"Invalid sort key: {k}. It must be one of the following: {', '.join(SORT_KEYS)}.")
        return k

    def direction(d: str) -> str:
        d = d.strip()
        if d not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort direction: {d}")
        return d

    if "sort" in params:
        if "sort_key" in params or "sort_dir" in params:
            raise BadRequest("Old and new sorting syntax cannot be combined")
        out = []
        for part in params["sort"][-1].strip().split(","):
            k, _, d = part.partition(":")
            out.append((key(k), direction(d or "desc")))
        return out
    keys = [key(k) for k in params.get("sort_key", [])] or ["created_at"]
    dirs = [direction(d) for d in params.get("sort_dir", [])] or ["desc"]
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise BadRequest("Number of sort dirs does not match the number of sort keys")
    if len(dirs) == 1:
        dirs = dirs * len(keys)
    return list(zip(keys, dirs, strict=True))


def _attribute_filter(name: str, value: str) -> Any:
    column = getattr(Image, name)
    op, operand = split_op(value)
    if name in ("created_at", "updated_at"):
        if op not in TIME_OPS:
            raise BadRequest(f"Unable to filter by unknown operator '{op}'.")
        return getattr(column, TIME_OPS[op])(_time(name, operand))
    if op == "in":
        return column.in_(split_in(operand))
    if op == "eq":
        return column == operand
    raise BadRequest(f"Unable to filter by unknown operator '{op}'.")


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Unable to filter on a range with a non-numeric value: {name}={value}") from None


def parse(items: list[tuple[str, str]]) -> Query:
    """A :class:`Query` from the request's query string (repeated names kept)."""
    params: dict[str, list[str]] = {}
    for k, v in items:
        params.setdefault(k, []).append(v)
    q = Query(params=[(k, v) for k, v in items if k != "marker"])
    last = {k: vs[-1] for k, vs in params.items()}
    if "limit" in last:
        try:
            q.limit = int(last["limit"])
        except ValueError:
            raise BadRequest("limit param must be an integer") from None
        if q.limit < 0:
            raise BadRequest("limit param must be positive")
        q.limit = min(q.limit, MAX_LIMIT)
    q.marker = last.get("marker")
    q.member_status = last.get("member_status", "accepted")
    if q.member_status not in MEMBER_STATUSES:
        raise BadRequest(f"Invalid status: {q.member_status}")
    q.visibility = last.get("visibility") or None
    if q.visibility and q.visibility not in VISIBILITIES:
        raise BadRequest(f"Invalid visibility value: {q.visibility}")
    q.sort = _sort(params)
    cond = q.conditions
    cond.append(Image.os_hidden == _bool("os_hidden", last.get("os_hidden", "false").lower()))
    if "protected" in last:
        cond.append(Image.protected == _bool("protected", last["protected"]))
    for tag in params.get("tag", []):
        cond.append(exists().where(ImageTag.image_id == Image.id, ImageTag.value == tag.strip()))
    if "changes-since" in last:
        cond.append(Image.updated_at > _time("changes-since", last["changes-since"]))
    handled = {"limit", "marker", "member_status", "visibility", "sort", "sort_key", "sort_dir",
               "os_hidden", "protected", "tag", "changes-since"}
    for name, value in last.items():
        if name in handled:
            continue
        base = name[:-4] if name.endswith(("_min", "_max")) else None
        if base in RANGE_COLUMNS:
            column, n = getattr(Image, base), _int(name, value)
            cond.append(column >= n if name.endswith("_min") else column <= n)
        elif name in ("name", "id", "status", "disk_format", "container_format",
                      "created_at", "updated_at"):
            cond.append(_attribute_filter(name, value))
        elif name in EQUAL_COLUMNS:
            column = getattr(Image, name)
            cond.append(column == (_int(name, value) if name in RANGE_COLUMNS else value))
        else:
            cond.append(exists().where(ImageProperty.image_id == Image.id,
                                       ImageProperty.name == name, ImageProperty.value == value))
    return q


def _listed(ctx: RequestContext, q: Query) -> Any:
    """Which images the caller's list draws from (before filters), as Glance."""
    own = Image.owner == ctx.project_id if ctx.project_id else literal(False)
    if ctx.is_admin:
        base = literal(True)
    elif not ctx.project_id:
        base = own
    else:
        member = [ImageMember.image_id == Image.id, ImageMember.member == ctx.project_id]
        if q.member_status != "all":
            member.append(ImageMember.status == q.member_status)
        base = or_(Image.visibility.in_(("public", "community")), own,
                   and_(Image.visibility == "shared", exists().where(*member)))
    if q.visibility is None:
        return and_(base, or_(own, Image.visibility != "community"))
    if q.visibility == "all":
        return base
    return and_(base, Image.visibility == q.visibility)


def _expr(key: str) -> Any:
    column = getattr(Image, key)
    return func.coalesce(column, NULL_AS[key]) if key in NULL_AS else column


def _after(marker: Image, sort: list[tuple[str, str]]) -> Any:
    """Rows after ``marker`` in ``sort`` order (keyset pagination)."""
    options = []
    for i, (key, d) in enumerate(sort):
        equal = [_expr(k) == _value(marker, k) for k, _ in sort[:i]]
        beyond = _expr(key) < _value(marker, key) if d == "desc" else _expr(key) > _value(marker, key)
        options.append(and_(*equal, beyond))
    return or_(*options)


def _value(image: Image, key: str) -> Any:
    v = getattr(image, key)
    return NULL_AS.get(key) if v is None else v


def run(db: Session, ctx: RequestContext, q: Query) -> tuple[list[Image], str | None]:
    """One page of images and the marker of the next page (None on the last page)."""
    sort = list(q.sort)
    default_dir = sort[0][1] if len(sort) == 1 else "desc"  # Glance's choice
    for key in ("created_at", "id"):
        if key not in {k for k, _ in sort}:
            sort.append((key, default_dir))
    stmt = select(Image).where(_listed(ctx, q), Image.status != KILLED, *q.conditions)
    if q.marker is not None:
        try:
            marker = records.get(db, ctx, q.marker)
        except ApiError as e:
            raise BadRequest(e.message) from None
        stmt = stmt.where(_after(marker, sort))
    stmt = stmt.order_by(*[(desc if d == "desc" else asc)(_expr(k)) for k, d in sort]).limit(q.limit)
    images = list(db.scalars(stmt))
    next_marker = images[-1].id if images and len(images) == q.limit else None
    return images, next_marker
