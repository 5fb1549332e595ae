"""Domain-specific identity configuration (Keystone's ``/v3/domains/{id}/config``): one
row per domain, group and option. ``sensitive`` options (the LDAP bind password) are
stored beside the others but never returned by the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base


class DomainConfigOption(Base):
    __tablename__ = "identity_domain_config"
    domain_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group: Mapped[str] = mapped_column(String(255), primary_key=True)
    option: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=False)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
