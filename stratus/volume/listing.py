"""Cinder's list queries: filters, ``sort`` (``key[:dir],...``) or ``sort_key``/
``sort_dir``, ``limit``/``marker`` paging with a ``next`` link, ``all_tenants`` for
administrators. :func:`page` pages any model with ``id`` and ``created_at`` (volumes
here; snapshots may use it too).

Defaults as Cinder's: newest first (``created_at`` desc, the id breaks ties), at most
:data:`MAX_LIMIT` items a page; an unknown marker is 404 "Marker … could not be found.".
Filters a member may not use are ignored (Cinder removes them before 3.31).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from stratus.errors import BadRequest, NotFound

MAX_LIMIT = 1000
TRUE = {"true", "1", "yes", "y", "on", "t"}
FALSE = {"false", "0", "no", "n", "off", "f"}


@dataclass
class Page:
    rows: list[Any]
    next_marker: str | None


def flag(value: str, name: str) -> bool:
    """A boolean query value (Cinder's strutils.bool_from_string, strict)."""
    v = str(value).strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise BadRequest(f"Invalid input received: {name} must be a boolean (true or false), not '{value}'.")


def as_dict(value: str, name: str) -> dict[str, str]:
    """A dict in a query value: Cinder's ``"{'k': 'v'}"`` (what the clients send) or JSON."""
    for parse in (json.loads, ast.literal_eval):
        try:
            got = parse(value)
        except (ValueError, SyntaxError):
            continue
        if isinstance(got, dict):
            return {str(k): str(v) for k, v in got.items()}
    raise BadRequest(f"Invalid input received: {name} must be a dict such as {{'key': 'value'}}, not '{value}'.")


def sort_spec(query: dict[str, str], keys: dict[str, Any]) -> list[tuple[Any, str]]:
    """(column, direction) pairs from ``sort`` or ``sort_key``/``sort_dir`` (Cinder's 400s)."""
    if "sort" in query and ("sort_key" in query or "sort_dir" in query):
        raise BadRequest("Invalid input received: The 'sort_key' and 'sort_dir' parameters are deprecated "
                         "and cannot be used with the 'sort' parameter.")
    pairs: list[tuple[str, str]] = []
    if "sort" in query:
        for part in query["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            pairs.append((key.strip(), (direction or "desc").strip().lower()))
    elif "sort_key" in query or "sort_dir" in query:
        pairs.append((query.get("sort_key", "created_at"), query.get("sort_dir", "desc").lower()))
    out = []
    for key, direction in pairs or [("created_at", "desc")]:
        if key not in keys:
            raise BadRequest(f"Invalid input received: Invalid sort key {key}: use one of "
                             f"{', '.join(sorted(keys))}.")
        if direction not in ("asc", "desc"):
            raise BadRequest("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'")
        out.append((keys[key], direction))
    return out


def limit_of(query: dict[str, str]) -> int:
    raw = query.get("limit")
    if raw is None:
        return MAX_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest("Invalid input received: limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("Invalid input received: limit param must be positive")
    return min(limit, MAX_LIMIT)


def page(db: Session, stmt: Select, model, query: dict[str, str], sort_keys: dict[str, Any]) -> Page:
    """The page of ``stmt``'s rows the query asks for (sort, marker, limit, offset)."""
    order = sort_spec(query, sort_keys)
    limit = limit_of(query)
    clauses = [col.asc() if d == "asc" else col.desc() for col, d in order]
    direction = order[-1][1]
    clauses.append(model.id.asc() if direction == "asc" else model.id.desc())
    ids = list(db.scalars(stmt.with_only_columns(model.id).order_by(*clauses)))
    start = 0
    if query.get("marker"):
        try:
            start = ids.index(query["marker"]) + 1
        except ValueError:
            raise NotFound(f"Marker {query['marker']} could not be found.") from None
    if query.get("offset"):
        try:
            start += max(0, int(query["offset"]))
        except ValueError:
            raise BadRequest("Invalid input received: offset param must be an integer") from None
    chosen = ids[start:start + limit]
    rows = {r.id: r for r in db.scalars(select(model).where(model.id.in_(chosen)))} if chosen else {}
    more = start + limit < len(ids)
    return Page([rows[i] for i in chosen], chosen[-1] if chosen and (more or len(chosen) == limit
                                                                       and query.get("limit")) else None)


def next_link(url: str, query: dict[str, str], marker: str | None, key: str) -> dict[str, Any]:
    """``{<key>_links: [next]}`` when there is a next page, else {}."""
    if marker is None:
        return {}
    params = {k: v for k, v in query.items() if k != "marker"}
    params["marker"] = marker
    return {f"{key}_links": [{"href": f"{url}?{urlencode(params)}", "rel": "next"}]}
