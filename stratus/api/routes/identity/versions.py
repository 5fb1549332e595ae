"""Version discovery: ``/`` and ``/identity`` answer 300 Multiple Choices listing the
identity version (as keystone's root does); ``/identity/v3`` describes v3."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

PREFIX = ""  # full paths below: these live outside /identity/v3's prefix too
router = APIRouter(tags=["identity"])

VERSION_ID = "v3.14"
UPDATED = "2020-04-07T00:00:00Z"


def _base(request: Request) -> str:
    return request.app.state.settings.endpoint_url


def _v3(request: Request) -> dict:
    return {
        "id": VERSION_ID,
        "status": "stable",
        "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{_base(request)}/identity/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


def _choices(request: Request) -> JSONResponse:
    return JSONResponse({"versions": {"values": [_v3(request)]}}, status_code=300)


@router.get("/", include_in_schema=False)
def root(request: Request):
    return _choices(request)


@router.get("/identity", include_in_schema=False)
@router.get("/identity/", include_in_schema=False)
def identity_root(request: Request):
    return _choices(request)


@router.get("/identity/v3", summary="Show the identity v3 version")
@router.get("/identity/v3/", include_in_schema=False)
def v3(request: Request):
    return {"version": _v3(request)}
