"""Cinder's attachment records for clients other than Stratus's own compute API: the
attachments API (3.27: reserve, connect, complete, delete) and the legacy volume actions
``os-reserve``, ``os-unreserve``, ``os-begin_detaching``, ``os-roll_detaching``,
``os-initialize_connection``, ``os-terminate_connection``, ``os-attach``, ``os-detach``
(handlers: see :mod:`stratus.volume.actions` for their signature).

Every change goes through the attachment service (:mod:`stratus.volume.attachments`):
its rows, its reservation rules (``check_attachable``), its job and its status rule
(``settle_volume``: the volume's status follows its attachment rows).

Two kinds of rows come out of here:

- **a server's**: the attachment names a server of the project (``instance_uuid``) that
  is on a compute host, and a connector is given (create with one, or update). Then the
  attachment is real: the attachment's job (``OS::Cinder::VolumeAttachment``) exports the
  volume from its storage host and makes it a disk of the guest, exactly as Nova's
  ``os-volume_attachments`` does; ``connection_info`` is the export's once the job ran;
  the mountpoint is the one the guest will see (the connector's is not honoured, as
  Nova's libvirt driver does not). Deleting it detaches it for real (the guest lets the
  disk go, then the export is removed), so a Cinder-side delete never leaves a guest
  holding a disk whose export is gone (Cinder's bug 2004555 refuses such deletes
  instead).
- **a record**: any other consumer (no server, or the legacy actions, which in Cinder
  are also bookkeeping for a Nova that connects by itself). ``connection_info`` then
  says how the connector's host reaches the volume: ``local`` (path and format) on the
  volume's storage host, or the ``nbd`` export of an attachment already made to that
  host; Stratus exports a volume only for a server's attachment, so any other host is
  refused with 400, saying how to attach instead.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.compute import Server
from stratus.db.models.jobs import DELETED, Resource
from stratus.db.models.volume import Volume, VolumeAttachment
from stratus.db.types import utcnow
from stratus.errors import BadRequest, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.volume import attachments, records
from stratus.volume.actions import Handler

register_defaults([
    RuleDefault("volume:attachment_create", "rule:admin_or_member", "create an attachment"),
    RuleDefault("volume:attachment_update", "rule:admin_or_member", "update an attachment (connect)"),
    RuleDefault("volume:attachment_delete", "rule:admin_or_member", "delete an attachment"),
    RuleDefault("volume:attachment_complete", "rule:admin_or_member", "mark an attachment attached"),
    *(RuleDefault(f"volume_extension:volume_actions:{name}", "rule:admin_or_member", f"the os-{name} action")
      for name in ("reserve", "unreserve", "begin_detaching", "roll_detaching", "initialize_connection",
                   "terminate_connection", "attach", "detach")),
])

MODES = ("rw", "ro")


# -- the records -------------------------------------------------------------------------------


def attachment_for(db: Session, ctx, attachment_id: str) -> VolumeAttachment:
    """The attachment as ``ctx`` may see it; 404 in Cinder's words."""
    row = db.get(VolumeAttachment, str(attachment_id))
    if row is None or (not ctx.is_admin and row.project_id != ctx.project_id):
        raise NotFound(f"Volume attachment could not be found with filter: attachment_id = {attachment_id}.")
    return row


def has_job(db: Session, row: VolumeAttachment) -> bool:
    """Whether the row is made real on hosts by its own job (a server's attachment)."""
    res = db.get(Resource, row.id)
    return res is not None and res.status != DELETED


def _server(db: Session, vol: Volume, instance_uuid: str | None) -> Server | None:
    """The server of the volume's project named ``instance_uuid``, when there is one."""
    if not instance_uuid:
        return None
    server = db.get(Server, str(instance_uuid))
    if server is None or server.deleted or server.project_id != vol.project_id:
        return None
    return server


def check_connector(connector: Any) -> dict[str, Any]:
    """A connector object (os-brick's: ``host``, ``ip``, ``initiator``, ``mountpoint``, ...)."""
    if not isinstance(connector, dict):
        raise BadRequest("Invalid input received: connector must be an object such as "
                         "{\"host\": \"compute1\", \"ip\": \"192.0.2.21\"}.")
    for key, value in connector.items():
        if not isinstance(value, str | bool | int | float | type(None) | list):
            raise BadRequest(f"Invalid input received: connector {key!r} must be a plain value.")
    return dict(connector)


def connection_for(db: Session, vol: Volume, connector: dict[str, Any]) -> dict[str, Any]:
    """How the connector's host reaches the volume without a job of its own: ``local``
    on the storage host, or the ``nbd`` export of an attachment made to that host."""
    host = str(connector.get("host") or "")
    if host and host == vol.host and vol.provider_location:
        return {"driver_volume_type": "local", "path": vol.provider_location, "format": vol.format or "raw"}
    for row in attachments.attachments_of(db, vol.id):
        info = row.connection_info or {}
        if host and row.attached_host == host and info.get("driver_volume_type") == "nbd":
            return dict(info)
    raise BadRequest(
        f"Invalid input received: host {host or '(none)'!r} cannot reach volume {vol.id}: Stratus exports a "
        "volume over NBD only for an attachment to a server (give the server as instance_uuid, or use "
        f"os-volume_attachments), and serves a local path only on its storage host {vol.host!r}.")


def reserve(db: Session, vol: Volume, instance_uuid: str | None, *, mode: str = "rw") -> VolumeAttachment:
    """Cinder's ``_attachment_reserve``: a ``reserved`` row; the volume ``reserved``.
    Refuses (400) a volume in error, or one that may not take another attachment."""
    if "error" in (vol.status or ""):
        raise BadRequest(f"Invalid volume: Volume attachments can not be created if the volume is in an error "
                         f"state. The Volume {vol.id} currently has a status of: {vol.status}")
    attachments.check_attachable(db, vol, str(instance_uuid or ""))
    row = VolumeAttachment(id=str(uuid.uuid4()), volume_id=vol.id, project_id=vol.project_id,
                           instance_uuid=instance_uuid or None, attach_status="reserved", attach_mode=mode,
                           connector={}, connection_info={})
    db.add(row)
    db.flush()
    attachments.settle_volume(db, vol.id)
    return row


def connect(db: Session, ctx, row: VolumeAttachment, connector: dict[str, Any], **jobs: Any) -> VolumeAttachment:
    """Cinder's ``attachment_update``: the connector given to a reserved attachment.
    A server's attachment is made real by its job (``attaching``, then ``attached``
    when the job ends); a record gets its ``connection_info`` now (``attaching``, until
    ``os-complete``)."""
    vol = db.get(Volume, row.volume_id)
    if "error" in (vol.status or ""):
        raise BadRequest(f"Invalid volume: Volume attachments can not be updated if the volume is in an error "
                         f"state. The Volume {vol.id} currently has a status of: {vol.status}")
    connector = check_connector(connector)
    if has_job(db, row):  # already being made real: the connector is recorded, nothing else changes
        row.connector = connector
        db.flush()
        return row
    server = _server(db, vol, row.instance_uuid)
    if server is not None:
        from stratus.compute import states
        from stratus.db.locks import write_lock
        from stratus.orchestration import submit as pipeline

        write_lock(db, pipeline.PLACEMENT_LOCK)
        db.refresh(server)
        states.check(server, "attach_volume", attachments.ATTACH_VM_STATES, admin=bool(ctx.is_admin))
        if not server.host:
            raise BadRequest(f"Invalid volume: instance {server.id} is not on a compute host yet; update the "
                             "attachment once the server is built")
        row.attached_host, row.connector = server.host, connector
        row.mountpoint = attachments.choose_device(db, server, exclude=row.id)
        row.attach_status = "attaching"
        db.flush()
        attachments.settle_volume(db, vol.id)
        attachments.submit_attachment(db, row, **jobs)
        return row
    row.connection_info = connection_for(db, vol, connector)
    row.connector = connector
    row.attached_host = str(connector.get("host") or "") or None
    row.mountpoint = str(connector.get("mountpoint") or "") or row.mountpoint
    if connector.get("mode") in MODES and row.attach_mode not in MODES:
        row.attach_mode = connector["mode"]
    row.attach_status = "attaching"
    db.flush()
    attachments.settle_volume(db, vol.id)
    return row


def complete(db: Session, row: VolumeAttachment) -> None:
    """``os-complete``: the attachment ``attached``, the volume ``in-use``."""
    if row.attach_status not in ("attached", "detaching"):
        row.attach_status = "attached"
        row.attach_time = row.attach_time or utcnow()
    db.flush()
    attachments.settle_volume(db, row.volume_id)


def remove(db: Session, ctx, row: VolumeAttachment, **jobs: Any) -> list[VolumeAttachment]:
    """Delete an attachment: a server's is detached by its job (the row goes when the
    guest and the export are gone), a record goes now. Returns the volume's other
    attachments (Cinder's answer)."""
    volume_id = row.volume_id
    if has_job(db, row):
        if row.attach_status != "detaching":
            attachments.detach(db, ctx, row, **jobs)
    else:
        if attachments.is_root(db, row):
            raise BadRequest("Cannot detach a root device volume")
        db.delete(row)
        db.flush()
        attachments.settle_volume(db, volume_id)
    return [r for r in attachments.attachments_of(db, volume_id) if r.id != row.id]


# -- the legacy volume actions -------------------------------------------------------------------


def _volume(db, ctx, policy, volume_id: str, action: str) -> Volume:
    vol = records.volume_for(db, ctx, volume_id)
    policy.enforce(f"volume_extension:volume_actions:{action}", {"project_id": vol.project_id})
    return vol


def _args(args: Any, action: str) -> dict[str, Any]:
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise BadRequest(f"Invalid input received: os-{action} takes an object.")
    return args



def os_reserve(jobs, db, ctx, policy, version, volume_id, args):
    """The volume ``attaching`` (available, or in-use and multiattach); no row yet."""
    vol = _volume(db, ctx, policy, volume_id, "reserve")
    allowed = ("available", "in-use") if vol.multiattach else ("available",)
    if vol.status not in allowed:
        raise BadRequest(f"Invalid volume: Volume status must be {' or '.join(allowed)} to reserve, "
                         f"but the status is {vol.status}.")
    vol.status = "attaching"
    db.flush()
    return 202, None


def os_unreserve(jobs, db, ctx, policy, version, volume_id, args):
    """An ``attaching`` volume back to what its attachments say (in-use or available)."""
    vol = _volume(db, ctx, policy, volume_id, "unreserve")
    if vol.status == "attaching":
        vol.status = "available"
        attachments.settle_volume(db, vol.id)
    return 202, None


def os_begin_detaching(jobs, db, ctx, policy, version, volume_id, args):
    vol = _volume(db, ctx, policy, volume_id, "begin_detaching")
    if vol.status != "in-use" or vol.attach_status != "attached":
        raise BadRequest("Invalid volume: Unable to detach volume. Volume status must be 'in-use' and "
                         "attach_status must be 'attached' to detach.")
    vol.status = "detaching"
    db.flush()
    return 202, None


def os_roll_detaching(jobs, db, ctx, policy, version, volume_id, args):
    """A ``detaching`` volume back to ``in-use`` (unless one of its attachments is really
    being detached by a job: the status then stays what the rows say)."""
    vol = _volume(db, ctx, policy, volume_id, "roll_detaching")
    if vol.status == "detaching":
        vol.status = "in-use"
        attachments.settle_volume(db, vol.id)
    return 202, None


def os_initialize_connection(jobs, db, ctx, policy, version, volume_id, args):
    """``{"connector": {...}}`` -> ``{"connection_info": ...}``: a local path on the
    storage host, or the NBD export of an attachment to the connector's host."""
    from stratus.volume import views

    vol = _volume(db, ctx, policy, volume_id, "initialize_connection")
    connector = check_connector(_args(args, "initialize_connection").get("connector"))
    info = connection_for(db, vol, connector)
    return 200, {"connection_info": views.connection_info(db, vol, info, mode=connector.get("mode") or "rw")}


def os_terminate_connection(jobs, db, ctx, policy, version, volume_id, args):
    """Nothing to tear down for a record (exports belong to the servers' attachments);
    as Cinder, the volume is unreserved."""
    _volume(db, ctx, policy, volume_id, "terminate_connection")
    check_connector(_args(args, "terminate_connection").get("connector"))
    return os_unreserve(jobs, db, ctx, policy, version, volume_id, args)


def os_attach(jobs, db, ctx, policy, version, volume_id, args):
    """``{"instance_uuid" | "host_name", "mountpoint", "mode"}``: the row of an attach a
    consumer made by itself, ``attached``; the volume ``in-use``."""
    vol = _volume(db, ctx, policy, volume_id, "attach")
    args = _args(args, "attach")
    instance, host = args.get("instance_uuid"), args.get("host_name")
    mountpoint, mode = args.get("mountpoint"), args.get("mode", "rw")
    if not (instance or host):
        raise BadRequest("Invalid request to attach volume to an invalid target")
    if not isinstance(mountpoint, str) or not mountpoint:
        raise BadRequest("Invalid input received: os-attach needs a mountpoint such as /dev/vdb.")
    if mode not in MODES:
        raise BadRequest("Invalid request to attach volume with an invalid mode. Attaching mode should be "
                         "'rw' or 'ro'")
    if instance and not isinstance(instance, str) or host and not isinstance(host, str):
        raise BadRequest("Invalid input received: instance_uuid and host_name are strings.")
    if vol.status == "attaching":  # os-reserve'd: the reservation is this attach's
        vol.status = "in-use" if attachments.attachments_of(db, vol.id) else "available"
    attachments.check_attachable(db, vol, str(instance or ""))
    row = VolumeAttachment(id=str(uuid.uuid4()), volume_id=vol.id, project_id=vol.project_id,
                           instance_uuid=instance or None, attached_host=host or None, mountpoint=mountpoint,
                           attach_status="attached", attach_mode=mode, attach_time=utcnow(), connector={},
                           connection_info={})
    db.add(row)
    db.flush()
    attachments.settle_volume(db, vol.id)
    return 202, None


def os_detach(jobs, db, ctx, policy, version, volume_id, args):
    """``{"attachment_id": ...}`` (optional when the volume has one attachment): the
    attachment removed (a server's detached by its job)."""
    vol = _volume(db, ctx, policy, volume_id, "detach")
    wanted = _args(args, "detach").get("attachment_id")
    rows = attachments.attachments_of(db, vol.id)
    if wanted:
        rows = [r for r in rows if r.id == str(wanted)]
        if not rows:
            raise NotFound(f"Volume attachment could not be found with filter: attachment_id = {wanted}.")
    elif len(rows) > 1:
        raise BadRequest("Invalid volume: Detach volume failed: More than one attachment, but no attachment_id "
                         "provided.")
    elif not rows:
        raise BadRequest(f"Invalid volume: Volume {vol.id} is not attached.")
    remove(db, ctx, rows[0], **jobs)
    return 202, None


HANDLERS: dict[str, Handler] = {
    "os-reserve": os_reserve,
    "os-unreserve": os_unreserve,
    "os-begin_detaching": os_begin_detaching,
    "os-roll_detaching": os_roll_detaching,
    "os-initialize_connection": os_initialize_connection,
    "os-terminate_connection": os_terminate_connection,
    "os-attach": os_attach,
    "os-detach": os_detach,
}


def list_query(ctx, query: dict[str, str]):
    """The attachments a list shows: the project's (every project's for an administrator
    with ``all_tenants``), filtered by ``volume_id``, ``instance_id``, ``status``/``attach_status``."""
    from stratus.volume import listing

    stmt = select(VolumeAttachment)
    if not (ctx.is_admin and listing.flag(query.get("all_tenants", "0"), "all_tenants")):
        stmt = stmt.where(VolumeAttachment.project_id == ctx.project_id)
    elif query.get("project_id"):
        stmt = stmt.where(VolumeAttachment.project_id == query["project_id"])
    if query.get("volume_id"):
        stmt = stmt.where(VolumeAttachment.volume_id == query["volume_id"])
    if query.get("instance_id"):
        stmt = stmt.where(VolumeAttachment.instance_uuid == query["instance_id"])
    status = query.get("status") or query.get("attach_status")
    if status:
        stmt = stmt.where(VolumeAttachment.attach_status == status)
    return stmt
