"""What the Glance v2 routes share (not a router): the JSON body as Glance reads it, and
the links of image lists."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request

from stratus.errors import BadRequest

NUL = "\x00"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def refuse_nul(request: Request) -> None:
    """400 for a NUL character in the path or query: PostgreSQL cannot store or compare
    text holding one, so such a request would otherwise fail inside the database."""
    items = request.query_params.multi_items()
    if NUL in request.scope["path"] or _has_nul([x for kv in items for x in kv]):
        raise BadRequest("The request's path or query contains a NUL character (%00); "
                         "image ids, names, tags and filters never hold one.")


async def json_body(request: Request) -> Any:
    """The request's JSON document: 400 "Body expected in request." when there is none,
    "Malformed JSON in request body." when it does not parse (Glance's words), and 400
    when a string in it holds a NUL character (see :func:`refuse_nul`)."""
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("Body expected in request.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON in request body.") from None
    if _has_nul(body):
        raise BadRequest("A string in the request body contains a NUL character (\\u0000); "
                         "image attributes, properties and tags never hold one.")
    return body


# Every Glance v2 router: ``APIRouter(dependencies=GUARDS)``.
GUARDS = [Depends(refuse_nul)]


# Use as a route parameter type: ``def route(body: JsonBody): ...``
JsonBody = Annotated[Any, Depends(json_body)]


def page_links(params: list[tuple[str, str]], next_marker: str | None) -> dict[str, str]:
    """Glance's ``first`` (the query without marker) and ``next`` (with the next marker)."""
    query = urlencode(params)
    out = {"first": "/v2/images" + (f"?{query}" if query else "")}
    if next_marker is not None:
        out["next"] = "/v2/images?" + urlencode([*params, ("marker", next_marker)])
    return out
