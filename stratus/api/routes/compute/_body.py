"""The JSON body of the compute routes, read as Nova reads it: any JSON value (the
services check its shape and answer in Nova's words, ``stratus.compute.validation``),
None when empty, 400 "Malformed request body" when it does not parse (never FastAPI's
own error)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request

from stratus.errors import BadRequest


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed request body") from None


# ``def route(body: JsonBody): ...``
JsonBody = Annotated[Any, Depends(json_body)]
