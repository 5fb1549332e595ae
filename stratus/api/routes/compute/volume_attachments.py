"""Nova's ``os-volume_attachments`` (``nova/api/openstack/compute/volume_attachments.py``):

- ``GET /servers/{id}/os-volume_attachments`` (``limit``/``offset``; unknown query
  parameters refused from 2.75) and ``GET .../{volume_id}``: ``id`` and ``volumeId``
  (the volume), ``serverId``, ``device``; ``tag`` from 2.70, ``delete_on_termination``
  from 2.79;
- ``POST``: attach (200 with the attachment; ``tag`` from 2.49, ``delete_on_termination``
  from 2.79, a multiattach volume only from 2.60) through ``stratus.volume.attachments``;
  ``device`` is checked but, as with Nova's libvirt driver, the device is the one the
  guest will see;
- ``PUT .../{volume_id}`` is Nova's swap (below 2.85, the only update): admin only, and
  Nova swaps only a volume Cinder is migrating; Stratus never migrates volumes, so it
  answers Nova's 409 "volume … is not migrating; this API should only be called by
  Cinder";
- ``DELETE .../{volume_id}``: detach (202; the root volume of a server booted from it:
  400).

Errors are Nova's: another project's server or volume 404, a server in the wrong state
or locked 409, a volume that cannot be attached 400 "Invalid volume: …".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.api.routes.compute._body import JsonBody
from stratus.api.routes.compute.servers import reader_and_member_rules
from stratus.api.routes.volume._common import done, jobs
from stratus.compute import instance_actions, states
from stratus.compute import validation as v
from stratus.compute.lookup import get_server
from stratus.errors import BadRequest, Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.volume import attachments, records

router = APIRouter(tags=["compute: volume attachments"])
RULE = "os_compute_api:os-volumes-attachments:{}"

reader_and_member_rules(RULE, ("index", "show"), ("create", "update", "delete"))
register_defaults([RuleDefault(RULE.format("swap"), "rule:admin_required")])

ATTACH_VOLUME, DETACH_VOLUME = "attach_volume", "detach_volume"  # Nova's instance action names

_VOLUME_ID = {"type": "string", "format": "uuid"}
_DEVICE = {"type": ["string", "null"], "pattern": r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$"}
_TAG = {"type": "string", "maxLength": 60, "pattern": "^[^,/]*$"}


def _create_schema(version) -> dict[str, Any]:
    props: dict[str, Any] = {"volumeId": _VOLUME_ID, "device": _DEVICE}
    if version >= (2, 49):
        props["tag"] = _TAG
    if version >= (2, 79):
        props["delete_on_termination"] = v.boolean_type
    return v.obj({"volumeAttachment": v.obj(props, ("volumeId",))}, ("volumeAttachment",))


_UPDATE_SCHEMA = v.obj({"volumeAttachment": v.obj({"volumeId": _VOLUME_ID}, ("volumeId",))}, ("volumeAttachment",))


def view(row, version) -> dict[str, Any]:
    """Nova's attachment: the volume id is the attachment's id."""
    doc: dict[str, Any] = {"id": row.volume_id, "volumeId": row.volume_id, "serverId": row.instance_uuid}
    if row.mountpoint:
        doc["device"] = row.mountpoint
    if version >= (2, 70):
        doc["tag"] = row.tag
    if version >= (2, 79):
        doc["delete_on_termination"] = bool(row.delete_on_termination)
    return doc


def _server(db, ctx, policy, server_id: str, action: str):
    server = get_server(db, ctx, server_id)
    policy.enforce(RULE.format(action), {"project_id": server.project_id})
    return server


def _limit(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        v.bad_query(name, raw, f"{raw!r} does not match '^[0-9]*$'")
    return int(raw)


@router.get("/servers/{server_id}/os-volume_attachments")
def index(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    server = _server(db, ctx, policy, server_id, "index")
    if version >= (2, 75):
        unknown = sorted(set(request.query_params) - {"limit", "offset"})
        if unknown:
            raise BadRequest(f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
                             f"{'was' if len(unknown) == 1 else 'were'} unexpected)")
    rows = attachments.for_server(db, server.id)
    offset, limit = _limit(request, "offset") or 0, _limit(request, "limit")
    rows = rows[offset:] if limit is None else rows[offset:offset + limit]
    return {"volumeAttachments": [view(r, version) for r in rows]}


@router.get("/servers/{server_id}/os-volume_attachments/{volume_id}")
def show(server_id: str, volume_id: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    server = _server(db, ctx, policy, server_id, "show")
    return {"volumeAttachment": view(attachments.attachment_of(db, server.id, volume_id), version)}


@router.post("/servers/{server_id}/os-volume_attachments")
def create(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion,
           body: JsonBody):
    server = _server(db, ctx, policy, server_id, "create")
    v.validate(body, _create_schema(version))
    att = body["volumeAttachment"]
    if server.vm_state in (states.SHELVED, states.SHELVED_OFFLOADED) and version < (2, 20):
        raise Conflict(f"Cannot '{ATTACH_VOLUME}' instance {server.id} while it is in vm_state {server.vm_state}")
    volume = records.volume_for(db, ctx, att["volumeId"])
    if volume.multiattach and version < (2, 60):
        raise BadRequest("Multiattach volumes are only supported starting with compute API version 2.60.")
    kw = jobs(request)
    row = attachments.attach(db, ctx, server=server, volume=volume, device=att.get("device"),
                             delete_on_termination=v.as_bool(att.get("delete_on_termination", False)),
                             tag=att.get("tag"), **kw)
    instance_actions.record(db, ctx, server, ATTACH_VOLUME, _job_of(db, row.id), req_id=kw["request_id"])
    done(request, db)
    doc = {"id": volume.id, "serverId": server.id, "volumeId": volume.id, "device": row.mountpoint}
    if version >= (2, 70):
        doc["tag"] = row.tag
    if version >= (2, 79):
        doc["delete_on_termination"] = bool(row.delete_on_termination)
    return {"volumeAttachment": doc}


@router.put("/servers/{server_id}/os-volume_attachments/{volume_id}", status_code=202)
def update(server_id: str, volume_id: str, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    """Nova's swap: only for a volume Cinder is migrating (never, here)."""
    server = get_server(db, ctx, server_id)
    policy.enforce(RULE.format("swap"), {})
    v.validate(body, _UPDATE_SCHEMA)
    old = records.volume_for(db, ctx, volume_id)
    if not old.migration_status:
        raise Conflict(f"volume {old.id} is not migrating; this API should only be called by Cinder")
    try:
        records.volume_for(db, ctx, body["volumeAttachment"]["volumeId"])
    except NotFound as exc:
        raise BadRequest(exc.message) from None
    attachments.attachment_of(db, server.id, old.id)
    raise Conflict(f"Cannot swap volume {old.id} of instance {server.id}: Stratus does not migrate volumes")


@router.delete("/servers/{server_id}/os-volume_attachments/{volume_id}", status_code=202)
def delete(server_id: str, volume_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    server = _server(db, ctx, policy, server_id, "delete")
    volume = records.volume_for(db, ctx, volume_id)
    row = attachments.attachment_of(db, server.id, volume.id)
    if attachments.is_root(db, row):
        raise BadRequest("Cannot detach a root device volume")
    states.check(server, DETACH_VOLUME, attachments.ATTACH_VM_STATES, admin=ctx.is_admin)
    kw = jobs(request)
    attachments.detach(db, ctx, row, **kw)
    instance_actions.record(db, ctx, server, DETACH_VOLUME, _job_of(db, row.id), req_id=kw["request_id"])
    done(request, db)
    return Response(status_code=202)


def _job_of(db, attachment_id: str) -> str | None:
    from stratus.db.models.jobs import Resource

    res = db.get(Resource, attachment_id)
    return res.last_job_id if res is not None else None
