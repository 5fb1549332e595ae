"""Discovery: ``GET /network`` (the catalog's URL) lists the one version, v2.0 CURRENT;
``GET /network/v2.0`` (and ``/v2.0/``) lists the collections, as Neutron does. No token
is needed: clients discover before they authenticate."""

from __future__ import annotations

from fastapi import APIRouter, Request

PREFIX = "/network"
router = APIRouter(tags=["network: versions"])

# Neutron's core and extension collections served under /v2.0 (resource name, collection).
RESOURCES = (
    ("network", "networks"), ("subnet", "subnets"), ("subnetpool", "subnetpools"), ("port", "ports"),
    ("router", "routers"), ("floatingip", "floatingips"), ("security_group", "security-groups"),
    ("security_group_rule", "security-group-rules"), ("rbac_policy", "rbac-policies"),
    ("quota", "quotas"), ("availability_zone", "availability_zones"), ("extension", "extensions"),
)


def _base(request: Request) -> str:
    return f"{request.app.state.settings.endpoint_url}/network"


@router.get("")
@router.get("/")
def versions(request: Request):
    return {"versions": [{"id": "v2.0", "status": "CURRENT",
                          "links": [{"href": _base(request) + "/v2.0/", "rel": "self"}]}]}


@router.get("/v2.0")
@router.get("/v2.0/")
def resources(request: Request):
    base = _base(request) + "/v2.0/"
    return {"resources": [{"name": name, "collection": coll, "links": [{"href": base + coll, "rel": "self"}]}
                          for name, coll in RESOURCES]}
