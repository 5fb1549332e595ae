"""Volumes attached to servers: the attachment record (Cinder's attachment) and the job
that makes it real (``OS::Cinder::VolumeAttachment``: the export on the storage host
when it is not the compute host, the disk of the guest on the compute host).

Nova's ``os-volume_attachments``, Cinder's attachments API (3.27), the legacy attach
actions and the compute delete all go through these functions:

- :func:`attach` reserves (the volume ``available``, or ``in-use`` and multiattach; the
  server on a host and in a state that allows it), writes the row (``attaching``), moves
  the volume to ``attaching`` and submits the attachment's job;
- :func:`detach` moves the row and the volume to ``detaching`` and submits the delete
  of the attachment's resource; when the job ends the row is removed and the volume is
  ``available`` again (or stays ``in-use`` while other attachments remain);
- :func:`for_server`, :func:`detach_all_for_server`: a server's attachments, and their
  detach before the server's own delete (exports never outlive guests);
- :func:`record_boot`: the row of a server's root volume (boot from volume), attached by
  the server's own job; :func:`server_gone` removes what is left of a deleted server's
  rows;
- :func:`settle_volume`: the volume's status from its attachment rows (every change of
  a row ends with it), :func:`on_state`: the rows in step with their resources.

Device names: a Linux guest names its virtio disks by the lowest free index, in probe
order at boot (root ``vda``, then the flavor's ephemeral and swap disks) and at each
hot-plug. The device Nova reports is therefore the one the guest sees when the name we
choose is the lowest one free both in the guest and in the domain (whose ``vdb``/``vdc``
the instance module keeps for ephemeral/swap when the flavor has them): a server with
only a root disk gets ``/dev/vdb`` for its first volume, as Nova reports and the guest
names it. See :func:`next_device`; the one case where the two differ is a flavor with
swap but no ephemeral disk (the guest calls the swap disk ``vdb``, the domain ``vdc``).
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.compute import states
from stratus.db.locks import write_lock
from stratus.db.models.compute import Server
from stratus.db.models.jobs import ACTIVE, DELETED, DELETING, ERROR, Resource
from stratus.db.models.volume import Volume, VolumeAttachment
from stratus.db.types import utcnow
from stratus.errors import BadRequest, Conflict, Forbidden, NotFound
from stratus.orchestration import submit as pipeline

LOG = logging.getLogger(__name__)
TYPE = "OS::Cinder::VolumeAttachment"
# Nova's attach_volume/detach_volume vm_states that Stratus can serve (a shelved or
# soft-deleted server has no guest to take the disk, a rescued one boots another disk)
ATTACH_VM_STATES = (states.ACTIVE, states.PAUSED, states.STOPPED, states.RESIZED)
# the volume statuses that follow its attachments (others - extending, deleting,
# error, … - are left to whoever set them)
FOLLOWS_ATTACHMENTS = ("available", "reserved", "attaching", "in-use", "detaching")
# Nova's block_device.match_device (the API schema's pattern)
_DEVICE = re.compile(r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
ROOT_DEVICE = "/dev/vda"


# -- attach -----------------------------------------------------------------------------------


def attach(db: Session, ctx, *, server: Server, volume: Volume, device: str | None = None,
           delete_on_termination: bool = False, tag: str | None = None, **jobs: Any) -> VolumeAttachment:
    """Attach ``volume`` to ``server`` (a ``stratus.db.models.compute.Server`` row).

    Refuses (``stratus.errors``, Nova's/Cinder's words, nothing changed): the server
    locked or in a state that cannot take a volume (409), on no host (409), the volume
    already attached and not multiattach (400 "Invalid volume: volume … is already
    attached to instances: …"), already attached to this server (400 "Invalid volume:
    volume … already attached"), not ``available`` (or ``in-use`` when multiattach)
    (400). ``device`` is validated but, as with Nova's libvirt driver, not honoured: the
    device is the one the guest will see (:func:`next_device`). ``jobs``: ``settings``,
    ``context``, ``request_id`` (``stratus.api.routes.volume._common.jobs``). Returns
    the new row (``attaching``, its ``mountpoint`` chosen); the job moves it to
    ``attached`` and the volume to ``in-use``."""
    if device is not None and not _DEVICE.match(str(device)):
        raise BadRequest(f"The supplied device path ({device}) is invalid.")
    write_lock(db, pipeline.PLACEMENT_LOCK)  # reserve-then-submit: one attach at a time
    db.refresh(volume)
    db.refresh(server)
    states.check(server, "attach_volume", ATTACH_VM_STATES, admin=bool(ctx is not None and ctx.is_admin))
    if not server.host:
        raise Conflict(f"Cannot 'attach_volume' instance {server.id}: it is not on a compute host yet")
    check_attachable(db, volume, server.id)
    row = VolumeAttachment(id=str(uuid.uuid4()), volume_id=volume.id, project_id=volume.project_id,
                           instance_uuid=server.id, attached_host=server.host,
                           mountpoint=choose_device(db, server), attach_status="attaching",
                           delete_on_termination=bool(delete_on_termination), tag=tag, connector={},
                           connection_info={})
    db.add(row)
    db.flush()
    settle_volume(db, volume.id)
    submit_attachment(db, row, **jobs)
    return row


def check_attachable(db: Session, volume: Volume, server_id: str, *, creating: bool = False) -> None:
    """Nova's ``_check_volume_already_attached`` and Cinder's reserve: 400 unless the
    volume may take one more attachment, to ``server_id``. ``creating``: the volume is
    made by the same request (a stack's volume and its attachment), before it attaches."""
    rows = attachments_of(db, volume.id)
    if rows and not volume.multiattach:
        raise BadRequest(f"Invalid volume: volume {volume.id} is already attached to instances: "
                         + " ".join(r.instance_uuid or "" for r in rows))
    if any(r.instance_uuid == server_id for r in rows):
        raise BadRequest(f"Invalid volume: volume {volume.id} already attached")
    allowed = ("available", "in-use") if volume.multiattach else ("available",)
    allowed += ("creating",) if creating else ()
    if volume.status not in allowed:
        raise BadRequest(f"Invalid volume: Volume {volume.id} status must be {' or '.join(allowed)} to reserve, "
                         f"but the current status is {volume.status}.")


def submit_attachment(db: Session, row: VolumeAttachment, *, settings=None, context=None,
                      request_id: str | None = None) -> None:
    """The job of an attachment row: a one-resource template of ``OS::Cinder::
    VolumeAttachment`` whose id is the row's."""
    template = {"heat_template_version": "2018-08-31", "resources": {"attachment": {
        "type": TYPE, "properties": {"volume_id": row.volume_id, "instance_uuid": row.instance_uuid,
                                     "mountpoint": row.mountpoint}}}}
    pipeline.submit(db, template, project_id=row.project_id, request_id=request_id,
                    resource_ids={"attachment": row.id}, context=context, **_limits(settings))


# -- detach -----------------------------------------------------------------------------------


def detach(db: Session, ctx, attachment: VolumeAttachment, **jobs: Any) -> None:
    """Detach: the row ``detaching``, the volume ``detaching``, and a job that removes
    the guest's disk then the export. Refuses the root volume of a server booted from
    it (400, Nova's "Cannot detach a root device volume") and an attachment that is not
    ``attached`` (400 "Invalid volume: …"). The server's state is the caller's check."""
    if is_root(db, attachment):
        raise BadRequest("Cannot detach a root device volume")
    if attachment.attach_status != "attached":
        raise BadRequest(f"Invalid volume: volume {attachment.volume_id} is {attachment.attach_status} "
                         f"on instance {attachment.instance_uuid}; it can be detached once it is attached")
    _detach(db, attachment, **jobs)


def _detach(db: Session, row: VolumeAttachment, *, settings=None, context=None,
            request_id: str | None = None) -> None:
    res = db.get(Resource, row.id)
    row.attach_status = "detaching"
    db.flush()
    if res is None or res.status == DELETED:
        _remove(db, row)  # nothing on hosts (a reserved row)
    elif res.status != DELETING:
        pipeline.submit_delete(db, [row.id], project_id=row.project_id, request_id=request_id,
                               context=context, **_limits(settings))
    settle_volume(db, row.volume_id)


def is_root(db: Session, row: VolumeAttachment) -> bool:
    """Whether the attachment is a server's root volume (:func:`record_boot`'s row: no
    job of its own)."""
    return row.mountpoint == ROOT_DEVICE and db.get(Resource, row.id) is None


def for_server(db: Session, server_id: str) -> list[VolumeAttachment]:
    """The attachments of a server (every status), oldest first."""
    return list(db.scalars(select(VolumeAttachment).where(VolumeAttachment.instance_uuid == server_id)
                           .order_by(VolumeAttachment.created_at, VolumeAttachment.id)))


def detach_all_for_server(db: Session, server_id: str, **jobs: Any) -> list[str]:
    """Submit the detach of every attachment of the server that has a resource on hosts
    (called by the compute delete before the server's own delete job; the detach jobs
    lock the server, so they run first and exports never outlive the guest). Rows
    without a resource (a boot volume, attached by the server's own job) go to
    ``detaching`` and are removed by :func:`server_gone` once the server is deleted.
    Returns the ids of the volumes whose attachment says delete_on_termination, for the
    caller to delete once the server is gone."""
    doomed: list[str] = []
    for row in for_server(db, server_id):
        if row.delete_on_termination:
            doomed.append(row.volume_id)
        if row.attach_status == "detaching":
            continue
        res = db.get(Resource, row.id)
        if res is None or res.status == DELETED:
            row.attach_status = "detaching"
            db.flush()
            settle_volume(db, row.volume_id)
        else:
            _detach(db, row, **jobs)
    return doomed


def delete_on_termination(db: Session, ctx, server_id: str, volume_ids: list[str], *, after: str | None = None,
                          **jobs: Any) -> None:
    """Delete the volumes a deleted server was to take with it (``detach_all_for_server``'s
    answer) through the volume service, as Nova does once it detached them. Their rows
    of this server go now - the detach jobs are queued, and the volume's delete job, which
    locks the volume, runs after them; ``after`` (the server's delete job) is made to lock
    the volumes too, so a root volume is deleted only once the guest that uses it is gone
    (the volume module refuses to delete a volume a guest or an export still uses). A
    volume that cannot be deleted (another attachment of a multiattach volume, a snapshot)
    is left, as Nova leaves it, with the reason in the log."""
    if not volume_ids:
        return
    from stratus.db.models.jobs import JobResource
    from stratus.volume import volumes

    if after is not None:
        for volume_id in dict.fromkeys(volume_ids):
            if db.get(JobResource, (after, volume_id)) is None:
                db.add(JobResource(job_id=after, resource_id=volume_id))
        db.flush()
    for volume_id in dict.fromkeys(volume_ids):
        for row in attachments_of(db, volume_id):
            if row.instance_uuid == server_id:
                _remove(db, row)
        vol = db.get(Volume, volume_id)
        if vol is None or vol.status == "deleting":
            continue
        try:
            volumes.delete(db, ctx, vol, **jobs)
        except BadRequest as exc:
            LOG.warning("volume %s of deleted server %s is kept: %s", volume_id, server_id, exc.message)


def server_gone(db: Session, server_id: str) -> None:
    """A deleted server keeps no attachment: its remaining rows (a boot volume's, one
    whose detach was not needed) are removed and their volumes settled."""
    for row in for_server(db, server_id):
        res = db.get(Resource, row.id)
        if res is None or res.status in (DELETED, ERROR) or row.attach_status != "detaching":
            _remove(db, row)


def record_boot(db: Session, *, server_id: str, volume: Volume, host: str | None,
                connection: dict[str, Any] | None, delete_on_termination: bool) -> VolumeAttachment:
    """The attachment row of a server's root volume (boot from volume), mountpoint
    ``/dev/vda``, ``attached`` with ``connection`` as its connection info; the volume
    becomes ``in-use``. No job: the server's own job attaches the disk. Called again
    for the same server and volume it updates the row."""
    row = db.scalar(select(VolumeAttachment).where(VolumeAttachment.volume_id == volume.id,
                                                   VolumeAttachment.instance_uuid == server_id))
    if row is None:
        row = VolumeAttachment(id=str(uuid.uuid4()), volume_id=volume.id, project_id=volume.project_id,
                               instance_uuid=server_id, connector={})
        db.add(row)
    row.attached_host, row.mountpoint, row.attach_status = host, ROOT_DEVICE, "attached"
    row.connection_info = dict(connection or {})
    row.delete_on_termination = bool(delete_on_termination)
    row.attach_time = row.attach_time or utcnow()
    db.flush()
    settle_volume(db, volume.id)
    return row


# -- device names -----------------------------------------------------------------------------


def next_device(used_guest: set[str], used_domain: set[str]) -> str:
    """The device name (``vdb``) of a new disk: the lowest virtio name free both in the
    guest (``used_guest``: its boot disks in probe order and the current attachments'
    mountpoints) and in the domain XML (``used_domain``: the instance module's targets
    vda root, vdb ephemeral, vdc swap as the flavor has them, and the attachments')."""
    used = used_guest | used_domain
    for name in _virtio_names():
        if name not in used:
            return name
    raise Forbidden(f"The maximum allowed number of disk devices ({len(list(_virtio_names()))}) to attach to a "
                    "single instance has been exceeded.")


def _virtio_names():
    yield from (f"vd{c}" for c in _LETTERS)
    yield from (f"vd{a}{b}" for a in _LETTERS for b in _LETTERS)


def choose_device(db: Session, server: Server, *, exclude: str | None = None) -> str:
    """``/dev/<name>`` for a new disk of ``server`` (:func:`next_device` from its flavor
    and its attachment rows other than ``exclude``)."""
    fl = server.flavor or {}
    extra = [bool(fl.get("ephemeral")), bool(fl.get("swap"))]
    boot = 1 + sum(extra)
    names = list(_virtio_names())
    used_guest = set(names[:boot])
    used_domain = {"vda"} | {name for name, present in zip(("vdb", "vdc"), extra, strict=True) if present}
    for row in for_server(db, server.id):
        if row.id != exclude and row.mountpoint:
            used_guest.add(row.mountpoint.removeprefix("/dev/"))
            used_domain.add(row.mountpoint.removeprefix("/dev/"))
    return f"/dev/{next_device(used_guest, used_domain)}"


# -- records in step with the jobs --------------------------------------------------------------


def attachments_of(db: Session, volume_id: str) -> list[VolumeAttachment]:
    return list(db.scalars(select(VolumeAttachment).where(VolumeAttachment.volume_id == volume_id)
                           .order_by(VolumeAttachment.created_at, VolumeAttachment.id)))


def settle_volume(db: Session, volume_id: str) -> None:
    """The volume's ``status``/``attach_status`` from its attachment rows: ``attaching``
    while one is being attached, ``detaching`` while one is being detached, ``in-use``
    while one is attached, ``reserved`` for a reserved one, else ``available``. A
    volume in a status of its own (extending, deleting, error, …) is left alone."""
    vol = db.get(Volume, volume_id)
    if vol is None or vol.status not in FOLLOWS_ATTACHMENTS:
        return
    seen = {r.attach_status for r in attachments_of(db, volume_id)}
    for status, wanted in (("attaching", {"attaching", "error_attaching"}), ("detaching", {"detaching"}),
                           ("in-use", {"attached"}), ("reserved", {"reserved"})):
        if wanted & seen:
            vol.status = status
            break
    else:
        vol.status = "available"
    vol.attach_status = "attached" if seen & {"attached", "detaching"} else "detached"
    db.flush()


def on_state(db: Session, resource: Resource) -> None:
    """The attachment row of an ``OS::Cinder::VolumeAttachment`` resource in step with
    it: ACTIVE → ``attached`` (mountpoint, connection, host from the job); DELETING →
    ``detaching``; DELETED → removed; ERROR while attaching → ``error_attaching`` (removed
    when the job ends: :func:`on_job_end`; a failed attach leaves nothing, the job's
    rescue removes both halves), while detaching → attached again (the guest kept the
    disk). The volume's status follows."""
    row = db.get(VolumeAttachment, resource.id)
    if row is None:
        return
    attrs = resource.attributes or {}
    if resource.status == ACTIVE:
        if row.attach_status in ("attaching", "reserved"):
            row.attach_status, row.attach_time = "attached", utcnow()
        row.mountpoint = attrs.get("device") or row.mountpoint
        row.attached_host = attrs.get("compute_host") or row.attached_host
        if attrs.get("connection"):
            row.connection_info = dict(attrs["connection"])
    elif resource.status == DELETING:
        row.attach_status = "detaching"
    elif resource.status == DELETED:
        _remove(db, row)
        return
    elif resource.status == ERROR:
        # the job's rescue still runs: the row goes when the job ends (on_job_end)
        row.attach_status = "attached" if row.attach_status == "detaching" else "error_attaching"
    db.flush()
    settle_volume(db, row.volume_id)


def on_job_end(db: Session, resource: Resource, job) -> None:
    """When the attachment's job ends: a failed attach's row is removed (the rescue took
    both halves away) and the volume is available again."""
    row = db.get(VolumeAttachment, resource.id)
    if row is not None and row.attach_status == "error_attaching" and resource.last_job_id == job.id:
        _remove(db, row)


def _remove(db: Session, row: VolumeAttachment) -> None:
    volume_id = row.volume_id
    db.delete(row)
    db.flush()
    settle_volume(db, volume_id)


def ensure_row(db: Session, *, attachment_id: str, volume: Volume, server: Server, mountpoint: str,
               same_request: bool = False) -> None:
    """The row of an attachment a template (a Heat stack) makes: written by the type's
    check when no service wrote it, after the same checks as :func:`attach`
    (``same_request``: the template makes the volume too)."""
    if db.get(VolumeAttachment, attachment_id) is not None:
        return
    check_attachable(db, volume, server.id, creating=same_request)
    db.add(VolumeAttachment(id=attachment_id, volume_id=volume.id, project_id=volume.project_id,
                            instance_uuid=server.id, attached_host=server.host, mountpoint=mountpoint,
                            attach_status="attaching", connector={}, connection_info={}))
    db.flush()
    settle_volume(db, volume.id)


def attachment_of(db: Session, server_id: str, volume_id: str) -> VolumeAttachment:
    """The attachment of ``volume_id`` to ``server_id``; 404 in Nova's words."""
    row = db.scalar(select(VolumeAttachment).where(VolumeAttachment.volume_id == str(volume_id),
                                                   VolumeAttachment.instance_uuid == server_id))
    if row is None:
        raise NotFound(f"Instance {server_id} is not attached to volume {volume_id}")
    return row


def _limits(settings) -> dict[str, Any]:
    if settings is None:
        return {}
    return {"max_attempts": settings.job_max_attempts, "timeout": settings.job_timeout}
