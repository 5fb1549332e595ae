"""Discovery: ``GET /image`` answers Glance's versions document (300 Multiple Choices),
which keystoneauth reads to find ``/image/v2/`` from the catalog's ``/image``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

PREFIX = "/image"
router = APIRouter(tags=["image"])

# Glance's versions up to Wallaby's 2.12 (/info/usage); the newest is CURRENT.
VERSIONS = [f"2.{n}" for n in range(12, -1, -1)]


def document(request: Request) -> dict:
    href = f"{request.app.state.settings.endpoint_url}/image/v2/"
    return {"versions": [
        {"id": f"v{v}", "status": "CURRENT" if i == 0 else "SUPPORTED",
         "links": [{"rel": "self", "href": href}]}
        for i, v in enumerate(VERSIONS)
    ]}


@router.get("", include_in_schema=False)
@router.get("/", summary="List the image API versions")
def versions(request: Request):
    return JSONResponse(document(request), status_code=300)
