"""Cinder v3 snapshots: ``POST|GET /snapshots``, ``GET /snapshots/detail``,
``GET|PUT|DELETE /snapshots/{id}``, the metadata (``GET|POST|PUT
/snapshots/{id}/metadata``, ``GET|PUT|DELETE /snapshots/{id}/metadata/{key}``) and
``POST /snapshots/{id}/action`` (``os-reset_status`` and ``os-force_delete`` for admins,
``os-update_snapshot_status``). The rules are ``stratus.volume.snapshots``'."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stratus.api.deps import ApiVersion, DbSession, Policy
from stratus.api.routes.volume._common import JsonBody, VolumeAuth, done, jobs
from stratus.errors import BadRequest
from stratus.volume import snapshots, views

router = APIRouter(tags=["volume: snapshots"])
EXTENDED = "volume_extension:extended_snapshot_attributes"


def _one(db, snap, ctx, policy, version, *, extended: bool = True) -> dict:
    ext = extended and policy.allowed(EXTENDED, {"project_id": snap.project_id})
    return {"snapshot": views.snapshot(db, snap, ctx, version, detail=True, extended=ext)}


def _list(request: Request, db, ctx, policy, version, *, detail: bool) -> dict:
    from stratus.volume import listing

    query = dict(request.query_params)
    got = snapshots.listing(db, ctx, policy, query)
    ext = detail and policy.allowed(EXTENDED, {"project_id": ctx.project_id})
    url = str(request.url).split("?", 1)[0]
    return {"snapshots": [views.snapshot(db, s, ctx, version, detail=detail, extended=ext) for s in got.rows],
            **listing.next_link(url, query, got.next_marker, "snapshots")}


@router.post("/snapshots", status_code=202)
def create(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, version: ApiVersion,
           body: JsonBody):
    snap = snapshots.create(db, ctx, policy, body, **jobs(request))
    done(request, db)
    return JSONResponse(_one(db, snap, ctx, policy, version, extended=False), status_code=202)


@router.get("/snapshots")
def index(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, version: ApiVersion):
    return _list(request, db, ctx, policy, version, detail=False)


@router.get("/snapshots/detail")
def detail(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, version: ApiVersion):
    return _list(request, db, ctx, policy, version, detail=True)


@router.get("/snapshots/{snapshot_id}")
def show(snapshot_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession, version: ApiVersion):
    return _one(db, snapshots.get(db, ctx, policy, snapshot_id), ctx, policy, version)


@router.put("/snapshots/{snapshot_id}")
def update(snapshot_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession, version: ApiVersion,
           body: JsonBody):
    snap = snapshots.update(db, ctx, policy, snapshots.get(db, ctx, policy, snapshot_id), body)
    return _one(db, snap, ctx, policy, version, extended=False)


@router.delete("/snapshots/{snapshot_id}", status_code=202)
def delete(snapshot_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession):
    j = jobs(request)
    snapshots.delete(db, ctx, policy, snapshots.get(db, ctx, policy, snapshot_id), settings=j["settings"],
                     context=j["context"], request_id=j["request_id"])
    done(request, db)
    return Response(status_code=202)


# -- metadata ---------------------------------------------------------------------------------

def _for_metadata(db, ctx, policy, snapshot_id: str):
    snap = snapshots.get(db, ctx, policy, snapshot_id)
    policy.enforce("volume:get_snapshot_metadata", {"project_id": snap.project_id})
    return snap


@router.get("/snapshots/{snapshot_id}/metadata")
def metadata_index(snapshot_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    return {"metadata": dict(_for_metadata(db, ctx, policy, snapshot_id).metadata_ or {})}


@router.post("/snapshots/{snapshot_id}/metadata")
def metadata_create(snapshot_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession, body: JsonBody):
    snap = _for_metadata(db, ctx, policy, snapshot_id)
    return {"metadata": snapshots.metadata_set(db, ctx, policy, snap, body, replace=False)}


@router.put("/snapshots/{snapshot_id}/metadata")
def metadata_update_all(snapshot_id: str, ctx: VolumeAuth, policy: Policy, db: DbSession, body: JsonBody):
    snap = _for_metadata(db, ctx, policy, snapshot_id)
    return {"metadata": snapshots.metadata_set(db, ctx, policy, snap, body, replace=True)}


@router.get("/snapshots/{snapshot_id}/metadata/{key}")
def metadata_show(snapshot_id: str, key: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    snap = _for_metadata(db, ctx, policy, snapshot_id)
    return {"meta": {key: snapshots.metadata_item(snap, key)}}


@router.put("/snapshots/{snapshot_id}/metadata/{key}")
def metadata_update(snapshot_id: str, key: str, ctx: VolumeAuth, policy: Policy, db: DbSession,
                    body: JsonBody):
    snap = _for_metadata(db, ctx, policy, snapshot_id)
    return {"meta": snapshots.metadata_item_set(db, ctx, policy, snap, key, body)}


@router.delete("/snapshots/{snapshot_id}/metadata/{key}")
def metadata_delete(snapshot_id: str, key: str, ctx: VolumeAuth, policy: Policy, db: DbSession):
    snapshots.metadata_delete(db, ctx, policy, _for_metadata(db, ctx, policy, snapshot_id), key)
    return Response(status_code=200)


# -- actions ----------------------------------------------------------------------------------

@router.post("/snapshots/{snapshot_id}/action")
def action(snapshot_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession,
           body: JsonBody):
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Invalid request body: give exactly one action, e.g. {\"os-reset_status\": "
                         "{\"status\": \"available\"}}.")
    (name, args), = body.items()
    snap = snapshots.get(db, ctx, policy, snapshot_id)
    if name == "os-reset_status":
        snapshots.reset_status(db, ctx, policy, snap, args)
    elif name == "os-force_delete":
        j = jobs(request)
        snapshots.delete(db, ctx, policy, snap, force=True, settings=j["settings"], context=j["context"],
                         request_id=j["request_id"])
    elif name == "os-update_snapshot_status":
        snapshots.update_status(db, ctx, policy, snap, args)
    else:
        raise BadRequest(f"There is no such action: {name}; snapshot actions: os-reset_status, os-force_delete, "
                         "os-update_snapshot_status.")
    done(request, db)
    return Response(status_code=202)
