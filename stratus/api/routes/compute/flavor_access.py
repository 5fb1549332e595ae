"""Nova's private-flavor access: ``GET /flavors/{id}/os-flavor-access`` (admin; 404 for
a public flavor) and the actions ``addTenantAccess`` / ``removeTenantAccess`` on
``POST /flavors/{id}/action`` (admin), each answering the access list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.api.routes.compute._body import JsonBody
from stratus.compute import flavors as svc
from stratus.compute import validation as v
from stratus.db.models.compute import Flavor
from stratus.db.models.identity import Project
from stratus.errors import BadRequest

router = APIRouter(tags=["compute: flavor access"])

_TENANT = {"type": "object", "required": ["tenant"], "additionalProperties": False,
           "properties": {"tenant": {"type": "string", "minLength": 1, "maxLength": 255,
                                     "pattern": r"^[a-zA-Z0-9-_]*$"}}}
ACTIONS = ("addTenantAccess", "removeTenantAccess")


def _access(db, flavor: Flavor, *, public_ok: bool = False) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavor.id, "tenant_id": p}
                              for p in svc.access_list(db, flavor, public_ok=public_ok)]}


@router.get("/flavors/{flavor_id}/os-flavor-access")
def index(flavor_id: str, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("os_compute_api:os-flavor-access", {})
    return _access(db, svc.get_flavor(db, ctx, flavor_id, by_name=False))


@router.post("/flavors/{flavor_id}/action")
def action(flavor_id: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion,
           body: JsonBody):
    v.validate(body, {"type": "object", "minProperties": 1, "maxProperties": 1,
                      "additionalProperties": False,
                      "properties": {name: _TENANT for name in ACTIONS}})
    (name, vals), = body.items()
    rule = "add_tenant_access" if name == "addTenantAccess" else "remove_tenant_access"
    policy.enforce(f"os_compute_api:os-flavor-access:{rule}", {})
    tenant = vals["tenant"]
    if db.get(Project, tenant) is None:
        raise BadRequest(f"Project ID {tenant} is not a valid project.")
    flavor = svc.get_flavor(db, ctx, flavor_id, by_name=False)
    if name == "addTenantAccess":
        svc.add_access(db, flavor, tenant, public_ok=version < (2, 7))
    else:
        svc.remove_access(db, flavor, tenant)
    return _access(db, flavor, public_ok=True)
