"""Cinder discovery: ``GET /volume`` (and ``/volume/``) answers ``300 Multiple Choices``
with every major version, as Cinder's unversioned root does; ``GET /volume/v3`` (and
``/volume/v3/``, with or without the project id after it) is the v3 root, ``200`` with
the same ``{"versions": [...]}`` document. keystoneauth and openstacksdk read it to learn
the microversion range: ``min_version`` 3.0, ``version`` = VOLUME_MAX, the highest
microversion implemented whole (see :mod:`stratus.api.microversions`).

Only v3 is served (Cinder dropped v2 in Xena). No token is needed: clients discover
before they authenticate. ``/volume/v3`` lies under the microversion middleware, so its
answer carries ``OpenStack-API-Version`` as Cinder's does.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stratus.api.microversions import VOLUME_MAX, VOLUME_MIN

PREFIX = "/volume"
router = APIRouter(tags=["volume: versions"])

# Cinder's _KNOWN_VERSIONS (cinder/api/versions.py)
V3 = {
    "id": "v3.0", "status": "CURRENT", "version": str(VOLUME_MAX), "min_version": str(VOLUME_MIN),
    "updated": "2023-08-31T00:00:00Z",
    "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}],
}


def versions_document(request: Request) -> dict:
    """``{"versions": [...]}``, each with Cinder's ``describedby`` and ``self`` links."""
    href = f"{request.app.state.settings.endpoint_url}/volume/v3/"
    return {"versions": [{**V3, "links": [
        {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
        {"rel": "self", "href": href},
    ]}]}


@router.get("", include_in_schema=False)
@router.get("/", summary="List the block storage API versions (300 Multiple Choices)")
def list_versions(request: Request):
    return JSONResponse(versions_document(request), status_code=300)


@router.get("/v3", include_in_schema=False)
@router.get("/v3/", summary="Show the block storage API v3 and its microversion range")
def show_v3(request: Request) -> dict:
    return versions_document(request)
