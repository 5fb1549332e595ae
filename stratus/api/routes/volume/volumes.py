"""Cinder v3 volumes: ``POST /volumes`` (202), ``GET /volumes`` and ``/volumes/detail``
(filters ``name``, ``status``, ``metadata``, ``bootable``, ``availability_zone``,
``size``; administrators also ``all_tenants``, ``project_id``, ``user_id``; ``sort``,
``limit``/``marker``/``offset``), ``GET /volumes/{id}``, ``PUT /volumes/{id}`` (name,
description, metadata) and ``DELETE /volumes/{id}`` (``cascade``; ``force`` for
administrators from 3.23). The rules are :mod:`stratus.volume.volumes`'."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from stratus.api.deps import ApiVersion, DbSession, Policy
from stratus.api.errors import BadRequest
from stratus.api.routes.volume._common import JsonBody, VolumeAuth, done, jobs
from stratus.db.models.volume import Volume, VolumeMetadata
from stratus.volume import listing, views, volumes
from stratus.volume.records import volume_for

router = APIRouter(tags=["volume: volumes"])

SORT_KEYS = {"created_at": Volume.created_at, "updated_at": Volume.updated_at, "id": Volume.id,
             "name": Volume.name, "display_name": Volume.name, "status": Volume.status, "size": Volume.size,
             "availability_zone": Volume.availability_zone, "bootable": Volume.bootable,
             "volume_type_id": Volume.volume_type_id, "project_id": Volume.project_id,
             "user_id": Volume.user_id}
PAGING = {"limit", "marker", "offset", "sort", "sort_key", "sort_dir", "with_count"}


def _base(request: Request) -> str:
    return request.app.state.settings.endpoint_url


def _body(request: Request, db, vol: Volume, ctx, version) -> dict:
    return {"volume": views.volume(db, vol, ctx, version, base_url=_base(request))}


def _volume(db, ctx, policy, volume_id: str, rule: str) -> Volume:
    vol = volume_for(db, ctx, volume_id)
    policy.enforce(rule, {"project_id": vol.project_id})
    return vol


@router.post("/volumes", status_code=202)
def create(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, version: ApiVersion,
           body: JsonBody):
    if not isinstance(body, dict) or not isinstance(body.get("volume"), dict):
        raise BadRequest("Missing required element 'volume' in request body.")
    policy.enforce("volume:create")
    if body["volume"].get("imageRef") or body["volume"].get("image_id"):
        policy.enforce("volume:create_from_image")
    if body["volume"].get("multiattach"):
        policy.enforce("volume:multiattach")
    vol = volumes.create(db, ctx, body["volume"], **jobs(request))
    out = _body(request, db, vol, ctx, version)
    done(request, db)
    return JSONResponse(out, status_code=202)


def _list(request: Request, ctx, policy, db, version, detail: bool):
    policy.enforce("volume:get_all")
    query = dict(request.query_params)
    admin = ctx.is_admin
    stmt = select(Volume)
    if admin and listing.flag(query.get("all_tenants", "0"), "all_tenants"):
        if query.get("project_id"):
            stmt = stmt.where(Volume.project_id == query["project_id"])
    else:
        stmt = stmt.where(Volume.project_id == ctx.project_id)
    if "name" in query or "display_name" in query:
        stmt = stmt.where(Volume.name == query.get("name", query.get("display_name")))
    if "status" in query:
        stmt = stmt.where(Volume.status == query["status"])
    if "availability_zone" in query:
        stmt = stmt.where(Volume.availability_zone == query["availability_zone"])
    if "bootable" in query:
        stmt = stmt.where(Volume.bootable.is_(listing.flag(query["bootable"], "bootable")))
    if "size" in query:
        try:
            stmt = stmt.where(Volume.size == int(query["size"]))
        except ValueError:
            raise BadRequest("Invalid input received: size must be an integer (GiB).") from None
    if admin and "user_id" in query:
        stmt = stmt.where(Volume.user_id == query["user_id"])
    if "metadata" in query:
        for key, value in listing.as_dict(query["metadata"], "metadata").items():
            stmt = stmt.where(Volume.id.in_(select(VolumeMetadata.volume_id).where(
                VolumeMetadata.key == key, VolumeMetadata.value == value)))
    got = listing.page(db, stmt, Volume, query, SORT_KEYS)
    url = f"{_base(request).rstrip('/')}/volume/v3/{ctx.project_id}/volumes" + ("/detail" if detail else "")
    return {"volumes": views.volumes(db, got.rows, ctx, version, detail, base_url=_base(request)),
            **listing.next_link(url, query, got.next_marker, "volumes")}


@router.get("/volumes")
def index(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, version: ApiVersion):
    return _list(request, ctx, policy, db, version, detail=False)


@router.get("/volumes/detail")
def detail(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, version: ApiVersion):
    return _list(request, ctx, policy, db, version, detail=True)


@router.get("/volumes/{volume_id}")
def show(volume_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, version: ApiVersion):
    return _body(request, db, _volume(db, ctx, policy, volume_id, "volume:get"), ctx, version)


@router.put("/volumes/{volume_id}")
def update(volume_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession,
           version: ApiVersion, body: JsonBody):
    vol = _volume(db, ctx, policy, volume_id, "volume:update")
    if not isinstance(body, dict) or not isinstance(body.get("volume"), dict):
        raise BadRequest("Missing required element 'volume' in request body.")
    volumes.update(db, vol, body["volume"])
    out = _body(request, db, vol, ctx, version)
    done(request, db)
    return out


@router.delete("/volumes/{volume_id}")
def delete(volume_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession,
           version: ApiVersion):
    vol = _volume(db, ctx, policy, volume_id, "volume:delete")
    query = request.query_params
    cascade = listing.flag(query.get("cascade", "false"), "cascade")
    force = listing.flag(query.get("force", "false"), "force") if version >= (3, 23) else False
    if force:
        policy.enforce("volume:force_delete", {"project_id": vol.project_id})
    volumes.delete(db, ctx, vol, cascade=cascade, force=force, **jobs(request))
    done(request, db)
    return Response(status_code=202)
