"""Cinder v3 volume types: ``/types`` (list, create, ``/types/default``, show, update,
delete), their extra specs (``/types/{id}/extra_specs[/{key}]``), type access
(``/types/{id}/os-volume-type-access``, ``POST /types/{id}/action`` with
``addProjectAccess`` / ``removeProjectAccess``) and the (empty) encryption of a type.
The logic is :mod:`stratus.volume.volume_types`; status codes are Cinder's (create and
update 200, delete 202, access changes 202)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import DbSession, Policy
from stratus.api.errors import BadRequest
from stratus.api.routes.volume._common import JsonBody, VolumeAuth
from stratus.volume import volume_types as vtypes
from stratus.volume.records import type_for

router = APIRouter(tags=["volume: types"])


def _wrapped(body, key: str):
    if not isinstance(body, dict) or key not in body:
        raise BadRequest(f"Missing required element '{key}' in request body.")
    return body[key]


def _is_public(value: str | None) -> bool | None:
    """Cinder's ``_parse_is_public``: absent → public only; "none" → all; else a boolean."""
    if value is None:
        return True
    if value.strip().lower() == "none":
        return None
    return vtypes.parse_bool(value, "is_public")


def _limit(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"limit must be an integer, not {value!r}.") from None
    if n < 0:
        raise BadRequest("limit must be >= 0.")
    return n


@router.get("/types")
def list_types(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession,
               is_public: str | None = None, limit: str | None = None, marker: str | None = None,
               sort_dir: str = "asc"):
    policy.enforce("volume_extension:type_get_all")
    rows = vtypes.list_types(db, ctx, is_public=_is_public(is_public), limit=_limit(limit), marker=marker,
                             sort_dir=sort_dir.lower())
    return {"volume_types": [vtypes.view(db, vt, policy) for vt in rows]}


@router.post("/types")
def create_type(ctx: VolumeAuth, policy: Policy, db: DbSession, body: JsonBody):
    policy.enforce("volume_extension:type_create")
    vt = vtypes.create(db, _wrapped(body, "volume_type"))
    return {"volume_type": vtypes.view(db, vt, policy)}


@router.get("/types/{type_id}")
def show_type(type_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession):
    vt = vtypes.show(db, ctx, type_id, request.app.state.settings)
    policy.enforce("volume_extension:type_get")
    return {"volume_type": vtypes.view(db, vt, policy)}


@router.put("/types/{type_id}")
def update_type(type_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession,
                body: JsonBody):
    policy.enforce("volume_extension:type_update")
    vt = type_for(db, ctx, type_id)
    vtypes.update(db, vt, _wrapped(body, "volume_type"), request.app.state.settings)
    return {"volume_type": vtypes.view(db, vt, policy)}


@router.delete("/types/{type_id}")
def delete_type(type_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession):
    policy.enforce("volume_extension:type_delete")
    vtypes.delete_type(db, type_for(db, ctx, type_id), request.app.state.settings)
    return Response(status_code=202)


# --- extra specs ----------------------------------------------------------------------------

@router.get("/types/{type_id}/extra_specs")
def list_specs(type_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    policy.enforce("volume_extension:types_extra_specs:index")
    vt = type_for(db, ctx, type_id)
    return {"extra_specs": vtypes.visible_specs(vtypes.extra_specs(db, vt.id), policy)}


@router.post("/types/{type_id}/extra_specs")
def set_specs(type_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession, body: JsonBody):
    policy.enforce("volume_extension:types_extra_specs:create")
    vt = type_for(db, ctx, type_id)
    return {"extra_specs": vtypes.set_specs(db, vt, _wrapped(body, "extra_specs"))}


@router.get("/types/{type_id}/extra_specs/{key}")
def show_spec(type_id: str, key: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    policy.enforce("volume_extension:types_extra_specs:show")
    vt = type_for(db, ctx, type_id)
    return {key: vtypes.get_spec(db, vt, key, policy)}


@router.put("/types/{type_id}/extra_specs/{key}")
def update_spec(type_id: str, key: str, ctx: VolumeAuth, policy: Policy, db: DbSession, body: JsonBody):
    policy.enforce("volume_extension:types_extra_specs:update")
    vt = type_for(db, ctx, type_id)
    if not isinstance(body, dict) or key not in body:
        raise BadRequest("Request body and URI mismatch")
    if len(body) > 1:
        raise BadRequest("Request body contains too many items")
    return vtypes.set_specs(db, vt, body)


@router.delete("/types/{type_id}/extra_specs/{key}")
def delete_spec(type_id: str, key: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    vt = type_for(db, ctx, type_id)
    policy.enforce("volume_extension:types_extra_specs:delete")
    vtypes.delete_spec(db, vt, key)
    return Response(status_code=202)


# --- access ---------------------------------------------------------------------------------

@router.get("/types/{type_id}/os-volume-type-access")
def list_access(type_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    policy.enforce("volume_extension:volume_type_access:get_all_for_type")
    return {"volume_type_access": vtypes.access_list(db, type_for(db, ctx, type_id))}


@router.post("/types/{type_id}/action")
def type_action(type_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession, body: JsonBody):
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Invalid request body: give exactly one action, addProjectAccess or "
                         "removeProjectAccess.")
    (name, args), = body.items()
    if name == "addProjectAccess":
        policy.enforce("volume_extension:volume_type_access:addProjectAccess")
        vtypes.add_access(db, type_for(db, ctx, type_id), args)
    elif name == "removeProjectAccess":
        policy.enforce("volume_extension:volume_type_access:removeProjectAccess")
        vtypes.remove_access(db, type_for(db, ctx, type_id), args)
    else:
        raise BadRequest(f"There is no such action: {name}")
    return Response(status_code=202)


@router.get("/types/{type_id}/encryption")
def show_encryption(type_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    """Stratus has no encrypted volume types: Cinder's answer for a type without encryption."""
    policy.enforce("volume_extension:type_get")
    type_for(db, ctx, type_id)
    return {}
