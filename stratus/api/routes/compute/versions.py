"""Nova discovery: ``GET /compute`` lists the major versions (v2.0 and v2.1, as Nova
does at its root), ``GET /compute/v2.1`` (and ``/compute/v2.1/``) is the v2.1 version
document with the microversion range (``min_version`` 2.1, ``version`` = the highest
microversion implemented whole), which keystoneauth and openstacksdk read to negotiate.

``/compute/v2`` answers the v2.0 document only: the legacy v2.0 API itself is not served
(its clients use v2.1 without a microversion header, which is the same API).

No token is needed: clients discover before they authenticate. ``/compute/v2.1`` lies
under :class:`~stratus.api.microversions.MicroversionMiddleware`, so its answer carries
the microversion headers (and a bad version header is refused there) as Nova's does.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.microversions import COMPUTE_MAX, COMPUTE_MIN

PREFIX = "/compute"
router = APIRouter(tags=["compute: versions"])

_DESCRIBEDBY = {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}

# Nova's VERSIONS (nova/api/openstack/compute/versions.py), keyed by id; "path" is where
# the version lives under /compute.
VERSIONS: dict[str, dict] = {
    "v2.0": {
        "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
        "updated": "2011-01-21T11:33:21Z", "path": "v2",
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2"}],
    },
    "v2.1": {
        "id": "v2.1", "status": "CURRENT", "version": str(COMPUTE_MAX), "min_version": str(COMPUTE_MIN),
        "updated": "2013-07-23T11:33:21Z", "path": "v2.1",
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    },
}


def _href(request: Request, version: dict) -> str:
    return f"{request.app.state.settings.endpoint_url}/compute/{version['path']}/"


def versions_document(request: Request) -> dict:
    """``{"versions": [...]}``: each major version with its range and self link."""
    return {"versions": [
        {"id": v["id"], "status": v["status"], "version": v["version"],
         "min_version": v["min_version"], "updated": v["updated"],
         "links": [{"rel": "self", "href": _href(request, v)}]}
        for v in VERSIONS.values()
    ]}


def version_document(request: Request, version_id: str) -> dict:
    """``{"version": {...}}``: one major version with its links and media types."""
    v = VERSIONS[version_id]
    body = {k: val for k, val in v.items() if k != "path"}
    body["links"] = [{"rel": "self", "href": _href(request, v)}, dict(_DESCRIBEDBY)]
    return {"version": body}


@router.get("", include_in_schema=False)
@router.get("/", summary="List the compute API versions")
def list_versions(request: Request) -> dict:
    return versions_document(request)


@router.get("/v2.1", include_in_schema=False)
@router.get("/v2.1/", summary="Show the compute API v2.1 version and its microversion range")
def show_v21(request: Request) -> dict:
    return version_document(request, "v2.1")


@router.get("/v2", include_in_schema=False)
@router.get("/v2/", summary="Show the legacy compute API v2.0 version")
def show_v20(request: Request) -> dict:
    return version_document(request, "v2.0")
