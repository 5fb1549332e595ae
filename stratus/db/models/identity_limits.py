"""Unified limits (Keystone's /v3/registered_limits and /v3/limits): a registered limit is
a service's default for one resource (optionally per region); a limit overrides it for
one project or domain. The quotas of the services read them (stratus/quotas)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.types import new_id


class RegisteredLimit(Base):
    __tablename__ = "identity_registered_limits"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    region_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    resource_name: Mapped[str] = mapped_column(String(255))
    default_limit: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)


class Limit(Base):
    """Exactly one of ``project_id`` and ``domain_id`` is set."""

    __tablename__ = "identity_limits"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    domain_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    region_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    resource_name: Mapped[str] = mapped_column(String(255))
    resource_limit: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
