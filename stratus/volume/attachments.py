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
  the server's own job.

Device names: the guest (Linux virtio-blk) names its disks by the lowest free index in
probe order, so the name Nova reports is the one the guest sees when the target we
choose is the lowest name that neither the guest nor the domain uses. See
:func:`next_device`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from stratus.db.models.volume import Volume, VolumeAttachment


def attach(db: Session, ctx, *, server, volume: Volume, device: str | None = None,
           delete_on_termination: bool = False, tag: str | None = None, **jobs: Any) -> VolumeAttachment:
    """Attach ``volume`` to ``server`` (a ``stratus.db.models.compute`` server row).

    Refuses (``stratus.errors``, Cinder's/Nova's words, nothing changed): the volume not
    ``available`` (or ``in-use`` but not multiattach: 400 "Invalid volume: volume …
    already attached"), already attached to this server, the server on no host or in
    a state that cannot take a volume (409). ``device`` is validated but, as Nova's
    libvirt driver, not honoured: the device is the one the guest will see
    (:func:`next_device`). ``jobs``: ``settings``, ``context``, ``request_id`` (see
    ``stratus.api.routes.volume._common.jobs``). Returns the new row (``attaching``);
    the job moves it to ``attached`` and the volume to ``in-use``."""
    raise NotImplementedError


def detach(db: Session, ctx, attachment: VolumeAttachment, **jobs: Any) -> None:
    """Detach: the row ``detaching``, the volume ``detaching``, and a job that removes
    the guest's disk then the export. Refuses an attachment already detaching (409)."""
    raise NotImplementedError


def for_server(db: Session, server_id: str) -> list[VolumeAttachment]:
    """The attachments of a server (every status), oldest first."""
    raise NotImplementedError


def detach_all_for_server(db: Session, server_id: str, **jobs: Any) -> list[str]:
    """Submit the detach of every attachment of the server that has one on hosts
    (called by the compute delete before the server's own delete job; the jobs lock the
    server, so they run first). Rows without a resource (a reserved attachment, a boot
    volume attached by the server's own job) are removed, their volumes set available.
    Returns the ids of the volumes whose attachment said delete_on_termination, for the
    caller to delete once the server is gone."""
    raise NotImplementedError


def record_boot(db: Session, *, server_id: str, volume: Volume, host: str | None,
                connection: dict[str, Any] | None, delete_on_termination: bool) -> VolumeAttachment:
    """The attachment row of a server's root volume (boot from volume), mountpoint
    ``/dev/vda``, ``attached`` with ``connection`` as its connection info; the volume
    becomes ``in-use``. No job: the server's own job attaches the disk."""
    raise NotImplementedError


def next_device(used_guest: set[str], used_domain: set[str]) -> str:
    """The device name (``vdb``) of a new disk: the lowest virtio name free both in the
    guest (``used_guest``: its boot disks in probe order and the current attachments'
    mountpoints) and in the domain XML (``used_domain``: the instance module's targets
    vda root, vdb ephemeral, vdc swap as the flavor has them, and the attachments')."""
    raise NotImplementedError
