"""Heat discovery: ``GET /orchestration`` (and ``/orchestration/``) answers ``300
Multiple Choices`` with Heat's versions document (v1.0, CURRENT, its ``self`` link), as
heat-api's root does. No token is needed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

PREFIX = "/orchestration"
router = APIRouter(tags=["orchestration: versions"])


def versions_document(request: Request) -> dict:
    href = f"{request.app.state.settings.endpoint_url}/orchestration/v1/"
    return {"versions": [{"id": "v1.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}]}


@router.get("", include_in_schema=False)
@router.get("/", summary="List the orchestration API versions (300 Multiple Choices)")
def list_versions(request: Request):
    return JSONResponse(versions_document(request), status_code=300)
