"""The JSON body of the admin routes (aggregates, services): Nova's 400 "Malformed
request body" when it is missing or does not parse. (The compute-wide guard may make
this redundant; then this becomes a plain read.)"""

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


# ``def route(body: Body): ...``
Body = Annotated[Any, Depends(json_body)]
