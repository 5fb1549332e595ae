"""Cinder v3 volume metadata: ``GET|POST|PUT /volumes/{id}/metadata`` (list, merge,
replace: ``{"metadata": {...}}``) and ``GET|PUT|DELETE /volumes/{id}/metadata/{key}``
(``{"meta": {key: value}}``; delete answers 200 as Cinder). The rules are
:mod:`stratus.volume.volumes`'."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import DbSession, Policy
from stratus.api.errors import BadRequest, NotFound
from stratus.api.routes.volume._common import JsonBody, VolumeAuth, done
from stratus.volume import volumes
from stratus.volume.records import volume_for

router = APIRouter(tags=["volume: volume_metadata"])


def _volume(db, ctx, policy, volume_id: str, rule: str):
    vol = volume_for(db, ctx, volume_id)
    policy.enforce(rule, {"project_id": vol.project_id})
    return vol


def _meta(body, key: str) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Malformed request body: give {{\"{key}\": {{\"<key>\": \"<value>\"}}}}.")
    return volumes.check_metadata(body[key])


@router.get("/volumes/{volume_id}/metadata")
def index(volume_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    vol = _volume(db, ctx, policy, volume_id, "volume:get_volume_metadata")
    return {"metadata": volumes.metadata(db, vol.id)}


def _set(volume_id: str, request: Request, ctx, policy, db, body, *, replace: bool) -> dict:
    rule = "volume:update_volume_metadata" if replace else "volume:create_volume_metadata"
    vol = _volume(db, ctx, policy, volume_id, rule)
    out = volumes.set_metadata(db, vol, _meta(body, "metadata"), replace=replace)
    done(request, db)
    return {"metadata": out}


@router.post("/volumes/{volume_id}/metadata")
def create(volume_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, body: JsonBody):
    return _set(volume_id, request, ctx, policy, db, body, replace=False)


@router.put("/volumes/{volume_id}/metadata")
def update_all(volume_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, body: JsonBody):
    return _set(volume_id, request, ctx, policy, db, body, replace=True)


@router.get("/volumes/{volume_id}/metadata/{key}")
def show(volume_id: str, key: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    vol = _volume(db, ctx, policy, volume_id, "volume:get_volume_metadata")
    meta = volumes.metadata(db, vol.id)
    if key not in meta:
        raise NotFound("Metadata item was not found")
    return {"meta": {key: meta[key]}}


@router.put("/volumes/{volume_id}/metadata/{key}")
def update(volume_id: str, key: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession,
           body: JsonBody):
    vol = _volume(db, ctx, policy, volume_id, "volume:update_volume_metadata")
    meta = _meta(body, "meta")
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    if len(meta) > 1:
        raise BadRequest("Request body contains too many items")
    volumes.set_metadata(db, vol, meta, replace=False)
    done(request, db)
    return {"meta": meta}


@router.delete("/volumes/{volume_id}/metadata/{key}")
def delete(volume_id: str, key: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession):
    vol = _volume(db, ctx, policy, volume_id, "volume:delete_volume_metadata")
    try:
        volumes.delete_metadata_key(db, vol, key)
    except NotFound:
        raise NotFound("Metadata item was not found") from None
    done(request, db)
    return Response(status_code=200)
