"""Endpoint groups and project-endpoint filters (Keystone's OS-EP-FILTER), and the
policies API's stored blobs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.types import new_id

ID = String(64)


class EndpointGroup(Base):
    """``filters``: endpoint attributes (service_id, region_id, interface) an endpoint
    must all match to belong to the group."""

    __tablename__ = "identity_endpoint_groups"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProjectEndpoint(Base):
    __tablename__ = "identity_project_endpoints"
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("identity_endpoints.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(
        ForeignKey("identity_projects.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ProjectEndpointGroup(Base):
    __tablename__ = "identity_project_endpoint_groups"
    endpoint_group_id: Mapped[str] = mapped_column(
        ForeignKey("identity_endpoint_groups.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(
        ForeignKey("identity_projects.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PolicyBlob(Base):
    """A stored policy document (``/v3/policies``); Stratus does not enforce it."""

    __tablename__ = "identity_policies"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(255))
    blob: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
