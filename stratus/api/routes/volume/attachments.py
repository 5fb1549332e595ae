"""Cinder v3 attachments (microversion 3.27; below it every route is 404 as in Cinder):
``POST /attachments`` (reserve; with a connector also connect), ``PUT /attachments/{id}``
(connect), ``POST /attachments/{id}/action`` ``{"os-complete": null}``,
``DELETE /attachments/{id}`` (answers the volume's other attachments), ``GET
/attachments`` and ``/attachments/detail`` (filters ``volume_id``, ``instance_id``,
``status``/``attach_status``; ``all_tenants`` for administrators; ``limit``/``marker``/
``sort``) and ``GET /attachments/{id}``. The rules are :mod:`stratus.volume.attach_actions`'."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import ApiVersion, DbSession, Policy
from stratus.api.errors import BadRequest, NotFound
from stratus.api.microversions import VOLUME_MAX
from stratus.api.routes.volume._common import JsonBody, VolumeAuth, done, jobs
from stratus.db.models.volume import VolumeAttachment
from stratus.versions import APIVersion
from stratus.volume import attach_actions, listing, records, views

router = APIRouter(tags=["volume: attachments"])

NEW_ATTACH = APIVersion(3, 27)
# Cinder serves os-complete from 3.44; while Stratus's maximum is below that, from 3.27
# (so a client at Stratus's newest version can complete what it attached)
ATTACH_COMPLETION = min(APIVersion(3, 44), VOLUME_MAX)
CREATE_KEYS = {"volume_uuid", "instance_uuid", "connector", "mode"}
SORT_KEYS = {"created_at": VolumeAttachment.created_at, "updated_at": VolumeAttachment.updated_at,
             "id": VolumeAttachment.id, "status": VolumeAttachment.attach_status,
             "attach_status": VolumeAttachment.attach_status, "volume_id": VolumeAttachment.volume_id,
             "instance_uuid": VolumeAttachment.instance_uuid}


def _since(version, minimum: APIVersion = NEW_ATTACH) -> None:
    if version < minimum:
        raise NotFound("The resource could not be found.")


def _one(body) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("attachment"), dict):
        raise BadRequest("Invalid input for field/attribute attachment. Value: a request body without "
                         "'attachment'. 'attachment' is a required property")
    return body["attachment"]


def _answer(db, row: VolumeAttachment) -> dict:
    return {"attachment": views.attachment(db, row)}


def _connected(request: Request, db, ctx, row: VolumeAttachment, connector) -> dict:
    """The row connected when a connector is given; its detail view; committed."""
    if connector:
        attach_actions.connect(db, ctx, row, connector, **jobs(request))
    out = _answer(db, row)
    done(request, db)
    return out


@router.post("/attachments")
def create(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, version: ApiVersion,
           body: JsonBody):
    _since(version)
    att = _one(body)
    unknown = sorted(set(att) - CREATE_KEYS)
    if unknown:
        raise BadRequest(f"Additional properties are not allowed ({', '.join(map(repr, unknown))} were unexpected)")
    volume_id, instance = att.get("volume_uuid"), att.get("instance_uuid")
    if not isinstance(volume_id, str) or not volume_id:
        raise BadRequest("Invalid input for field/attribute volume_uuid. 'volume_uuid' is a required property "
                         "(the volume's id)")
    if instance is not None and not isinstance(instance, str):
        raise BadRequest("Invalid input for field/attribute instance_uuid: a server id or null.")
    mode = att.get("mode") or "rw"
    if mode == "null":
        mode = "rw"
    if mode not in attach_actions.MODES:
        raise BadRequest(f"Invalid input for field/attribute mode. Value: {mode}. 'rw' or 'ro'.")
    connector = att.get("connector")
    if connector is not None:
        connector = attach_actions.check_connector(connector)
    vol = records.volume_for(db, ctx, volume_id)
    policy.enforce("volume:attachment_create", {"project_id": vol.project_id})
    return _connected(request, db, ctx, attach_actions.reserve(db, vol, instance, mode=mode), connector)


@router.put("/attachments/{attachment_id}")
def update(attachment_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession,
           version: ApiVersion, body: JsonBody):
    _since(version)
    row = attach_actions.attachment_for(db, ctx, attachment_id)
    policy.enforce("volume:attachment_update", {"project_id": row.project_id})
    att = _one(body)
    if "connector" not in att or not att["connector"]:
        raise BadRequest("Invalid input for field/attribute attachment. 'connector' is a required property")
    return _connected(request, db, ctx, row, att["connector"])


@router.post("/attachments/{attachment_id}/action")
def action(attachment_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession,
           version: ApiVersion, body: JsonBody):
    _since(version)
    if not isinstance(body, dict) or set(body) != {"os-complete"}:
        raise BadRequest("Invalid request body: the attachment action is {\"os-complete\": null}.")
    _since(version, ATTACH_COMPLETION)
    row = attach_actions.attachment_for(db, ctx, attachment_id)
    policy.enforce("volume:attachment_complete", {"project_id": row.project_id})
    attach_actions.complete(db, row)
    done(request, db)
    return Response(status_code=204)


@router.delete("/attachments/{attachment_id}")
def delete(attachment_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession,
           version: ApiVersion):
    _since(version)
    row = attach_actions.attachment_for(db, ctx, attachment_id)
    policy.enforce("volume:attachment_delete", {"project_id": row.project_id})
    others = attach_actions.remove(db, ctx, row, **jobs(request))
    out = {"attachments": [views.attachment(db, r, detail=False) for r in others]}
    done(request, db)
    return out


def _list(request: Request, ctx, db, version, detail: bool) -> dict:
    _since(version)
    query = dict(request.query_params)
    got = listing.page(db, attach_actions.list_query(ctx, query), VolumeAttachment, query, SORT_KEYS)
    url = f"{request.app.state.settings.endpoint_url.rstrip('/')}/volume/v3/{ctx.project_id}/attachments"
    return {"attachments": [views.attachment(db, r, detail=detail) for r in got.rows],
            **listing.next_link(url + ("/detail" if detail else ""), query, got.next_marker, "attachments")}


@router.get("/attachments")
def index(request: Request, ctx: VolumeAuth, db: DbSession, version: ApiVersion):
    return _list(request, ctx, db, version, detail=False)


@router.get("/attachments/detail")
def detail(request: Request, ctx: VolumeAuth, db: DbSession, version: ApiVersion):
    return _list(request, ctx, db, version, detail=True)


@router.get("/attachments/{attachment_id}")
def show(attachment_id: str, ctx: VolumeAuth, db: DbSession, version: ApiVersion):
    _since(version)
    return _answer(db, attach_actions.attachment_for(db, ctx, attachment_id))
