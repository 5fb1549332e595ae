"""``GET /servers`` and ``/servers/detail``: Nova's filters, sorting and paging.

Filters everyone may use: ``name`` (a regular expression, searched in the name),
``status``, ``image``, ``flavor``, ``reservation_id``, ``changes-since`` (also lists
deleted servers), ``changes-before`` (2.66), ``ip``/``ip6`` (servers have no
addresses until networking, so they match nothing), ``tags``/``tags-any``/``not-tags``/
``not-tags-any`` (comma-separated), ``locked`` (2.73), ``all_tenants`` (admins only,
403 otherwise). Admins also: ``host``, ``node``, ``project_id``/``tenant_id``,
``user_id``, ``availability_zone``, ``deleted``; others' admin-only filters are ignored
as Nova ignores them. From 2.75 an unknown parameter answers 400.

Sorting: ``sort_key``/``sort_dir`` pairs (default ``created_at`` ``desc``; the id breaks
ties); ``host``/``node`` are admins' keys. Paging: ``limit`` (at most
:data:`MAX_LIMIT`), ``marker`` (a server id; 400 when unknown), and a ``next`` link in
``servers_links`` when the page is full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from stratus.compute import states
from stratus.db.models.compute import Server, ServerTag
from stratus.errors import BadRequest, Forbidden

MAX_LIMIT = 1000

SORT_KEYS = {
    "access_ip_v4": Server.access_ip_v4, "access_ip_v6": Server.access_ip_v6,
    "availability_zone": Server.availability_zone, "config_drive": Server.config_drive,
    "created_at": Server.created_at, "display_description": Server.description,
    "display_name": Server.name, "host": Server.host, "hostname": Server.hostname,
    "image_ref": Server.image_id, "instance_type_id": Server.flavor_id, "kernel_id": None,
    "key_name": Server.key_name, "launch_index": Server.launch_index,
    "launched_at": Server.launched_at, "locked_by": Server.locked_by, "node": Server.node,
    "power_state": Server.power_state, "progress": Server.progress,
    "project_id": Server.project_id, "ramdisk_id": None, "root_device_name": None,
    "task_state": Server.task_state, "terminated_at": Server.terminated_at,
    "updated_at": Server.updated_at, "user_id": Server.user_id, "uuid": Server.id,
    "vm_state": Server.vm_state,
}
ADMIN_SORT_KEYS = {"host", "node"}

_COMMON = {"name", "status", "image", "flavor", "reservation_id", "changes-since", "ip", "ip6",
           "all_tenants", "tags", "tags-any", "not-tags", "not-tags-any", "limit", "marker",
           "sort_key", "sort_dir"}
_ADMIN = {"host", "node", "project_id", "tenant_id", "user_id", "availability_zone", "deleted",
          "hostname", "uuid", "vm_state", "task_state", "power_state", "key_name",
          "launched_at", "terminated_at", "launch_index", "access_ip_v4", "access_ip_v6",
          "config_drive", "created_at", "updated_at", "description", "progress", "soft_deleted"}


@dataclass
class Page:
    servers: list[Server]
    next_marker: str | None


def query_items(request_query) -> list[tuple[str, str]]:
    return list(request_query.multi_items())


def known_params(version) -> set[str]:
    known = set(_COMMON | _ADMIN)
    if version >= (2, 66):
        known.add("changes-before")
    if version >= (2, 73):
        known.add("locked")
    return known


def servers(db: Session, ctx, params: list[tuple[str, str]], version) -> tuple[Page, int]:
    """The page of servers ``params`` selects for ``ctx``, and the limit used."""
    opts: dict[str, list[str]] = {}
    for k, v in params:
        opts.setdefault(k, []).append(v)
    if version >= (2, 75):
        unknown = sorted(set(opts) - known_params(version))
        if unknown:
            raise BadRequest("Invalid input for query parameters "
                             f"{unknown[0]}. Value: {opts[unknown[0]][0]}. Additional properties are "
                             f"not allowed ('{unknown[0]}' was unexpected)")
    one = {k: v[-1] for k, v in opts.items()}
    admin = ctx.is_admin
    q = select(Server)
    conds: list[Any] = []

    all_tenants = "all_tenants" in one and _truthy(one["all_tenants"], "all_tenants")
    if all_tenants and not admin:
        raise Forbidden("Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.")
    if not all_tenants:
        conds.append(Server.project_id == ctx.project_id)
    elif one.get("project_id") or one.get("tenant_id"):
        conds.append(Server.project_id == (one.get("project_id") or one.get("tenant_id")))

    deleted = admin and "deleted" in one and _truthy(one["deleted"], "deleted")
    since = _time(one, "changes-since")
    before = _time(one, "changes-before") if version >= (2, 66) else None
    if since and before and since > before:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    if since:
        conds.append(Server.updated_at >= since)
    if before:
        conds.append(Server.updated_at <= before)
    if deleted:
        conds.append(Server.deleted.is_(True))
    elif not (since or before):
        conds.append(Server.deleted.is_(False))

    if "status" in opts:
        conds.append(_status(opts["status"], version, admin))
    for key, col in (("image", Server.image_id), ("flavor", Server.flavor_id),
                     ("reservation_id", Server.reservation_id)):
        if key in one:
            value = one[key].rstrip("/").rsplit("/", 1)[-1] if key != "reservation_id" else one[key]
            conds.append(col == value)
    if "ip" in one or "ip6" in one:
        conds.append(false())  # no server has an address before the network API
    if version >= (2, 73) and "locked" in one:
        conds.append(Server.locked.is_(_truthy(one["locked"], "locked")))
    if admin:
        for key, col in (("host", Server.host), ("node", Server.node), ("user_id", Server.user_id),
                         ("availability_zone", Server.availability_zone)):
            if key in one:
                conds.append(col == one[key])
    conds.extend(_tag_filters(one))

    if "name" in one:
        conds.append(_name_filter(db, and_(*conds), one["name"]))

    order = _order(opts, admin)
    limit = _limit(one)
    if "marker" in one:
        conds.append(_after_marker(db, one["marker"], order))
    rows = list(db.scalars(q.where(*conds).order_by(*[c for c, _ in order]).limit(limit)))
    return Page(rows, rows[-1].id if len(rows) == limit and rows else None), limit


def next_link(base: str, params: list[tuple[str, str]], marker: str, limit: int) -> list[dict[str, str]]:
    """``servers_links``: the request's own parameters with the new marker."""
    kept = [(k, v) for k, v in params if k not in ("marker", "limit")]
    return [{"rel": "next", "href": f"{base}?{urlencode([('limit', limit), *kept, ('marker', marker)])}"}]


def _truthy(value: str, field: str) -> bool:
    low = value.strip().lower()
    if low in ("", "1", "true", "t", "yes", "y", "on"):
        return True
    if low in ("0", "false", "f", "no", "n", "off"):
        return False
    raise BadRequest(f"Invalid input for query parameters {field}. Value: {value}. "
                     f"'{value}' is not a valid boolean value: use true or false.")


def _time(one: dict[str, str], key: str) -> datetime | None:
    if key not in one:
        return None
    raw = one[key].strip()
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {key}. Value: {raw}. "
                         f"'{raw}' is not a 'date-time': give an ISO 8601 time such as "
                         "2024-01-02T03:04:05Z.") from None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)


def _status(values: list[str], version, admin: bool):
    ors = []
    for value in values:
        vms, tasks = states.vm_and_task_states(value)
        if not vms:
            if version >= (2, 38):
                raise BadRequest(f"Invalid status value: {value}: use one of "
                                 f"{', '.join(s for s in states.STATUSES if s != 'UNKNOWN')}.")
            ors.append(false())
            continue
        task_conds = [Server.task_state.in_([t for t in tasks if t is not None])]
        if None in tasks:
            task_conds.append(Server.task_state.is_(None))
        ors.append(and_(Server.vm_state.in_(vms), or_(*task_conds)))
    return or_(*ors)


def _split(value: str) -> list[str]:
    return [t for t in (x.strip() for x in value.split(",")) if t]


def _tag_filters(one: dict[str, str]) -> list[Any]:
    out = []
    tagged = select(ServerTag.server_id)
    if "tags" in one:
        for tag in _split(one["tags"]):
            out.append(Server.id.in_(tagged.where(ServerTag.tag == tag)))
    if "tags-any" in one:
        out.append(Server.id.in_(tagged.where(ServerTag.tag.in_(_split(one["tags-any"])))))
    if "not-tags" in one:
        tags = _split(one["not-tags"])
        having_all = (select(ServerTag.server_id).where(ServerTag.tag.in_(tags))
                      .group_by(ServerTag.server_id).having(func.count() == len(set(tags))))
        out.append(Server.id.not_in(having_all))
    if "not-tags-any" in one:
        out.append(Server.id.not_in(tagged.where(ServerTag.tag.in_(_split(one["not-tags-any"])))))
    return out


def _name_filter(db: Session, where, pattern: str):
    """Nova searches names with a regular expression; the other filters narrow the rows
    first, the expression runs here (the same on SQLite and PostgreSQL)."""
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise BadRequest(f"Invalid input for query parameters name. Value: {pattern}. "
                         f"It is not a valid regular expression: {exc}.") from None
    ids = [sid for sid, name in db.execute(select(Server.id, Server.name).where(where))
           if rx.search(name or "")]
    return Server.id.in_(ids)


def _order(opts: dict[str, list[str]], admin: bool) -> list[tuple[Any, tuple[Any, str]]]:
    keys = opts.get("sort_key", [])
    dirs = opts.get("sort_dir", [])
    for d in dirs:
        if d not in ("asc", "desc"):
            raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {d}. "
                             f"'{d}' is not one of ['asc', 'desc']")
    if not keys:
        keys = ["created_at"]
    order = []
    for i, key in enumerate(keys):
        if key not in SORT_KEYS:
            raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}. "
                             f"'{key}' is not one of {sorted(SORT_KEYS)}")
        if key in ADMIN_SORT_KEYS and not admin:
            raise Forbidden(f"Only administrators can sort servers by {key}")
        col = SORT_KEYS[key]
        if col is None:
            continue  # a key Nova accepts that no server here has a value for
        direction = dirs[i] if i < len(dirs) else (dirs[0] if dirs else "desc")
        order.append((col.asc().nulls_first() if direction == "asc" else col.desc().nulls_last(),
                      (col, direction)))
    direction = order[-1][1][1] if order else "desc"
    order.append((Server.id.asc() if direction == "asc" else Server.id.desc(), (Server.id, direction)))
    return order


def _limit(one: dict[str, str]) -> int:
    if "limit" not in one:
        return MAX_LIMIT
    raw = one["limit"]
    if not raw.strip().isdigit():
        raise BadRequest(f"Invalid input for query parameters limit. Value: {raw}. "
                         f"'{raw}' does not match '^[0-9]*$'")
    return max(0, min(int(raw), MAX_LIMIT))


def _after_marker(db: Session, marker: str, order):
    """The rows after ``marker`` in ``order`` (a keyset condition over the sort columns)."""
    row = db.get(Server, marker) if 0 < len(marker) <= 36 else None
    if row is None:
        raise BadRequest(f"marker [{marker}] not found")
    ors, eqs = [], []
    for _, (col, direction) in order:
        value = getattr(row, col.key)
        if value is None:
            # NULLs sort first ascending and last descending (as both backends are told below)
            step = col.is_not(None) if direction == "asc" else false()
            eq = col.is_(None)
        else:
            step = col > value if direction == "asc" else or_(col < value, col.is_(None))
            eq = col == value
        ors.append(and_(*eqs, step))
        eqs.append(eq)
    return or_(*ors)
