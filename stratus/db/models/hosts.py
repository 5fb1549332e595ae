"""The host registry: hosts, their groups (roles), connection variables, and their
capacity and allocations as the ``hypervisor_info``/``storage_info`` modules report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.types import UTCDateTime, utcnow

ROLES = ("controller", "compute", "network", "block_storage", "object_storage")


class Host(Base):
    __tablename__ = "hosts"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    # ansible_host, ansible_connection, ansible_user, ansible_python_interpreter, ...
    vars: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # e.g. {"vcpus": 8, "memory_mb": 32000, "disk_gb": 500}
    capacity: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # what the host itself reports as used (from hypervisor_info / storage_info)
    reported: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
