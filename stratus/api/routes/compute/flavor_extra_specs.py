"""Nova ``os-extra_specs`` of a flavor: ``GET /flavors/{id}/os-extra_specs``, ``POST``
(add or replace several), ``GET``/``PUT``/``DELETE /flavors/{id}/os-extra_specs/{key}``.
Readers of the flavor read them; admins write them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.routes.compute._body import JsonBody
from stratus.compute import flavors as svc
from stratus.compute import validation as v
from stratus.errors import BadRequest

router = APIRouter(tags=["compute: flavor extra specs"])

_KEY = r"^[a-zA-Z0-9-_:. ]{1,255}$"
_VALUE = {"type": ["string", "number", "boolean"], "minLength": 0, "maxLength": 255,
          "pattern": r"^[^\x00]*$"}
_CREATE = {"type": "object", "required": ["extra_specs"], "additionalProperties": False,
           "properties": {"extra_specs": {"type": "object", "patternProperties": {_KEY: _VALUE},
                                          "additionalProperties": False}}}
_UPDATE = {"type": "object", "patternProperties": {_KEY: _VALUE}, "additionalProperties": False,
           "minProperties": 1, "maxProperties": 1}


def _strings(specs: dict[str, Any]) -> dict[str, str]:
    """Values as Nova stores them; a number longer than 255 characters is refused."""
    out = {}
    for key, value in specs.items():
        text = str(value)
        if len(text) > 255:
            v.bad(key, text, "extra_specs value must be at most 255 characters long")
        out[key] = text
    return out


@router.get("/flavors/{flavor_id}/os-extra_specs")
def index(flavor_id: str, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("os_compute_api:os-flavor-extra-specs:index", {})
    return {"extra_specs": svc.extra_specs(db, svc.get_flavor(db, ctx, flavor_id, by_name=False).id)}


@router.post("/flavors/{flavor_id}/os-extra_specs")
def create(flavor_id: str, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    policy.enforce("os_compute_api:os-flavor-extra-specs:create", {})
    v.validate(body, _CREATE)
    specs = _strings(body["extra_specs"])
    svc.set_extra_specs(db, svc.get_flavor(db, ctx, flavor_id, by_name=False), specs)
    return body


@router.get("/flavors/{flavor_id}/os-extra_specs/{key}")
def show(flavor_id: str, key: str, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("os_compute_api:os-flavor-extra-specs:show", {})
    row = svc.extra_spec(db, svc.get_flavor(db, ctx, flavor_id, by_name=False), key)
    return {key: row.value}


@router.put("/flavors/{flavor_id}/os-extra_specs/{key}")
def update(flavor_id: str, key: str, ctx: Auth, policy: Policy, db: DbSession,
           body: JsonBody):
    policy.enforce("os_compute_api:os-flavor-extra-specs:update", {})
    v.validate(body, _UPDATE)
    if key not in body:
        raise BadRequest("Request body and URI mismatch")
    svc.set_extra_specs(db, svc.get_flavor(db, ctx, flavor_id, by_name=False), _strings(body))
    return body


@router.delete("/flavors/{flavor_id}/os-extra_specs/{key}")
def delete(flavor_id: str, key: str, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("os_compute_api:os-flavor-extra-specs:delete", {})
    row = svc.extra_spec(db, svc.get_flavor(db, ctx, flavor_id, by_name=False), key)
    db.delete(row)
    return Response(status_code=200)
