"""Cinder's records: volumes (their metadata and the image metadata of bootable ones),
snapshots, attachments, volume types (extra specs, access) and QoS specs.

A volume's or snapshot's id is the id of its ``OS::Cinder::*`` resource
(``resources.id``): the resource row holds what the job realized, this row what Cinder
shows. A volume lives on one storage host and one backend of it (``host``,
``backend``); Cinder's ``os-vol-host-attr:host`` is ``<host>@<backend>#<backend>``.
An attachment row is Cinder's attachment (3.27): a volume attached to a server on a
compute host, through an export on the storage host when the two differ.

Rows are kept after a delete only where Cinder keeps them visible (never): a deleted
volume, snapshot or attachment row is removed; its resource row keeps the history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.types import UTCDateTime, utcnow


class _Times:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class VolumeType(_Times, Base):
    __tablename__ = "volume_types"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    qos_specs_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("volume_qos_specs.id"))


class VolumeTypeExtraSpec(Base):
    """``volume_backend_name`` (which backend: ``lvm``, ``file``), ``multiattach``
    (``<is> True``), ``RESKEY:availability_zones`` and any other key an admin sets."""

    __tablename__ = "volume_type_extra_specs"
    volume_type_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_types.id", ondelete="CASCADE"),
                                                primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), default="")


class VolumeTypeAccess(Base):
    """Projects that may use a private type."""

    __tablename__ = "volume_type_access"
    volume_type_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_types.id", ondelete="CASCADE"),
                                                primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class QosSpecs(_Times, Base):
    """QoS specs: ``consumer`` is ``front-end`` (applied by the compute host: libvirt
    ``iotune``), ``back-end`` or ``both``; ``specs`` the keys (``total_iops_sec``, …)."""

    __tablename__ = "volume_qos_specs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    consumer: Mapped[str] = mapped_column(String(16), default="back-end")
    specs: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class Volume(_Times, Base):
    __tablename__ = "volume_volumes"
    __table_args__ = (Index("ix_volume_volumes_project_created", "project_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)  # GiB
    # creating, available, reserved, attaching, in-use, detaching, extending, maintenance,
    # retyping, uploading, downloading, deleting, error, error_deleting, error_extending
    status: Mapped[str] = mapped_column(String(32), default="creating", index=True)
    # attached / detached (Cinder's attach_status)
    attach_status: Mapped[str] = mapped_column(String(16), default="detached")
    # why it is in error (the job's reason), shown to admins and in messages
    status_reason: Mapped[str] = mapped_column(Text, default="")
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    volume_type_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("volume_types.id"))
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    # where it lives: the storage host (registry name) and its backend (``lvm``, ``file``)
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    backend: Mapped[str | None] = mapped_column(String(64))
    # its file or device on the storage host, as the volume module reported it
    provider_location: Mapped[str | None] = mapped_column(String(1024))
    format: Mapped[str] = mapped_column(String(16), default="raw")
    # what it was made from
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    source_volid: Mapped[str | None] = mapped_column(String(36))
    image_id: Mapped[str | None] = mapped_column(String(36))
    migration_status: Mapped[str | None] = mapped_column(String(32))
    # a server booted from it deletes it (block_device_mapping delete_on_termination)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VolumeMetadata(Base):
    __tablename__ = "volume_metadata"
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_volumes.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), default="")


class VolumeImageMetadata(Base):
    """``volume_image_metadata`` of a volume made from an image (image_id, image_name,
    checksum, disk_format, min_disk, min_ram, the image's properties)."""

    __tablename__ = "volume_image_metadata"
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_volumes.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class VolumeAdminMetadata(Base):
    """Admin metadata (``readonly``, ``attached_mode``), not shown to members."""

    __tablename__ = "volume_admin_metadata"
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_volumes.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), default="")


class VolumeSnapshot(_Times, Base):
    __tablename__ = "volume_snapshots"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64), default="")
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)  # GiB, the volume's size when taken
    # creating, available, deleting, error, error_deleting
    status: Mapped[str] = mapped_column(String(32), default="creating", index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[str] = mapped_column(String(8), default="0%")
    volume_type_id: Mapped[str | None] = mapped_column(String(36))
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)


class VolumeAttachment(_Times, Base):
    """Cinder's attachment (3.27): ``reserved`` (no connector yet), ``attaching``,
    ``attached``, ``detaching``, ``error_attaching``, ``error_detaching``. An attachment
    realized on hosts is an ``OS::Cinder::VolumeAttachment`` resource of the same id."""

    __tablename__ = "volume_attachments"
    __table_args__ = (UniqueConstraint("volume_id", "instance_uuid", name="uq_volume_attachments_volume_server"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_volumes.id", ondelete="CASCADE"),
                                           index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    instance_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    attached_host: Mapped[str | None] = mapped_column(String(255))  # the compute host
    mountpoint: Mapped[str | None] = mapped_column(String(255))  # /dev/vdb
    attach_status: Mapped[str] = mapped_column(String(32), default="reserved")
    attach_mode: Mapped[str] = mapped_column(String(4), default="rw")
    connector: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # what the compute host's volume_attachment gets as ``connection`` (local or nbd)
    connection_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # a server booted from this volume deletes it with the server
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    # Nova's device tag (2.49), shown from 2.70
    tag: Mapped[str | None] = mapped_column(String(60))
    attach_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detach_time: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VolumeService(Base):
    """An administrator's state of one Cinder service (``os-services`` disable/enable):
    ``host`` is ``<storage host>@<backend>`` for ``cinder-volume``, the controller host
    for ``cinder-scheduler``. The services themselves come from the host registry; a
    row exists only once one was disabled (or enabled again). A disabled
    ``cinder-volume`` takes no new volumes (the scheduler skips it)."""

    __tablename__ = "volume_services"
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    binary: Mapped[str] = mapped_column(String(64), primary_key=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
