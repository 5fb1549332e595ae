"""Glance's records: images, their extra properties and tags, where their bytes are
(one location per store) and the projects an image is shared with.

An image goes ``queued`` → (``uploading`` when staged →) (``importing`` →) ``saving`` →
``active``; ``killed`` when its data was refused or lost, ``deactivated`` by an admin or
its owner, and its row is removed when it is deleted (Glance's ``deleted`` rows are not
kept: nothing reads them). Sizes are bytes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stratus.db.base import Base
from stratus.db.types import UTCDateTime, utcnow

QUEUED, SAVING, ACTIVE, KILLED, DEACTIVATED = "queued", "saving", "active", "killed", "deactivated"
UPLOADING, IMPORTING, DELETED = "uploading", "importing", "deleted"
VISIBILITIES = ("public", "private", "shared", "community")
PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"


class Image(Base):
    __tablename__ = "images"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    visibility: Mapped[str] = mapped_column(String(16), default="shared", index=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    disk_format: Mapped[str | None] = mapped_column(String(32))
    container_format: Mapped[str | None] = mapped_column(String(32))
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    properties: Mapped[list[ImageProperty]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ImageProperty.name")
    tags: Mapped[list[ImageTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ImageTag.value")
    locations: Mapped[list[ImageLocation]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ImageLocation.id")


class ImageProperty(Base):
    """An extra property (``os_distro``, ``hw_machine_type``, anything not a column)."""

    __tablename__ = "image_properties"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class ImageTag(Base):
    __tablename__ = "image_tags"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class ImageLocation(Base):
    """Where an image's bytes are: a store (``GET /info/stores``) and the store's key."""

    __tablename__ = "image_locations"
    __table_args__ = (UniqueConstraint("image_id", "store"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    store: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImageMember(Base):
    """A project an image is shared with, and whether it accepted."""

    __tablename__ = "image_members"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    member: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
