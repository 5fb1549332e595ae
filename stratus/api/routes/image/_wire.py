"""What the Glance v2 routes share (not a router): the JSON body as Glance reads it, and
the links of image lists."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request

from stratus.errors import BadRequest


async def json_body(request: Request) -> Any:
    """The request's JSON document: 400 "Body expected in request." when there is none,
    "Malformed JSON in request body." when it does not parse (Glance's words)."""
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("Body expected in request.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON in request body.") from None


# Use as a route parameter type: ``def route(body: JsonBody): ...``
JsonBody = Annotated[Any, Depends(json_body)]


def page_links(params: list[tuple[str, str]], next_marker: str | None) -> dict[str, str]:
    """Glance's ``first`` (the query without marker) and ``next`` (with the next marker)."""
    query = urlencode(params)
    out = {"first": "/v2/images" + (f"?{query}" if query else "")}
    if next_marker is not None:
        out["next"] = "/v2/images?" + urlencode([*params, ("marker", next_marker)])
    return out
