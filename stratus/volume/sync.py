"""Keeping a volume's record in step with its ``OS::Cinder::Volume`` resource: the job
worker calls :func:`on_state` (through the type) whenever the resource's status or
attributes change, and :func:`job_ended` when a job on it ends (an extend is an
``update`` job, which leaves the resource ACTIVE either way).

- while a job runs: the realized ``path`` (provider_location), size and format;
- ACTIVE: a ``creating`` volume becomes ``available``;
- ERROR: ``creating`` → ``error``, ``extending`` → ``error_extending``, ``deleting`` →
  ``error_deleting``, with the job's reason in ``status_reason``;
- DELETED: its records are removed (Cinder lists no deleted volume).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from stratus.db.models.jobs import ACTIVE, DELETED, ERROR, SUCCEEDED, Resource
from stratus.db.models.volume import Volume
from stratus.db.types import utcnow

FAILED_AS = {"creating": "error", "extending": "error_extending", "deleting": "error_deleting",
             "retyping": "error"}


def on_state(db: Session, resource: Resource) -> None:
    vol = db.get(Volume, resource.id)
    if vol is None:
        return
    if resource.status == DELETED:
        from stratus.volume.volumes import remove_row

        remove_row(db, vol.id)
        return
    attrs = resource.attributes or {}
    if attrs.get("path"):
        vol.provider_location = attrs["path"]
        vol.format = attrs.get("format") or vol.format
    if attrs.get("host") and not vol.host:
        vol.host = attrs["host"]
    if resource.status == ACTIVE and vol.status == "creating":
        vol.status, vol.status_reason = "available", ""
        vol.launched_at = vol.launched_at or utcnow()
        from stratus.volume.attachments import settle_volume

        settle_volume(db, vol.id)  # a stack attached it in the same job: in-use already
    elif resource.status == ERROR and vol.status in FAILED_AS:
        vol.status, vol.status_reason = FAILED_AS[vol.status], first_line(resource.status_reason)
    db.flush()


def job_ended(db: Session, resource: Resource, job) -> None:
    """A job of the volume ends. An upload (``os-volume_upload_image``) makes it
    ``available`` again (``stratus.volume.upload``). An ``update`` job (an extend, or a
    template's new properties): the record takes the new size, name, description and
    metadata, and an ``extending`` volume becomes ``available`` - or ``error_extending``
    with the reason when it failed."""
    from stratus.volume import upload

    upload.job_ended(db, resource, job)  # an os-volume_upload_image ends: the volume is available again
    vol = db.get(Volume, resource.id)
    if vol is None or job.kind != "update":
        return
    if job.status != SUCCEEDED:
        if vol.status == "extending":
            vol.status, vol.status_reason = "error_extending", first_line(job.status_reason)
        db.flush()
        return
    from stratus.orchestration.types.cinder_volume import size_of
    from stratus.volume.volumes import set_metadata

    props = resource.properties or {}
    vol.size = size_of(props, resource.attributes or {}) or vol.size
    vol.name, vol.description = props.get("name", vol.name), props.get("description", vol.description)
    if isinstance(props.get("metadata"), dict):
        set_metadata(db, vol, props["metadata"], replace=True)
    if vol.status == "extending":
        vol.status, vol.status_reason = "available", ""
    db.flush()


def first_line(text: str | None) -> str:
    text = (text or "").strip()
    return text.splitlines()[0][:1000] if text else ""
