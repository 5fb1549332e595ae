"""identity credentials and unified limits: the credential table (encrypted blobs),
registered limits and project/domain limits

Revision ID: 0006_identity_credentials
Revises: 0005_identity_trusts
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from stratus.db.types import UTCDateTime

revision: str = "0006_identity_credentials"
down_revision: str | Sequence[str] | None = "0005_identity_trusts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_credentials",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(64), nullable=True),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("blob", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_identity_credentials_user_id", "identity_credentials", ["user_id"])
    op.create_table(
        "identity_registered_limits",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("region_id", sa.String(255), nullable=True),
        sa.Column("resource_name", sa.String(255), nullable=False),
        sa.Column("default_limit", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_identity_registered_limits_service_id", "identity_registered_limits", ["service_id"]
    )
    op.create_table(
        "identity_limits",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=True),
        sa.Column("domain_id", sa.String(64), nullable=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("region_id", sa.String(255), nullable=True),
        sa.Column("resource_name", sa.String(255), nullable=False),
        sa.Column("resource_limit", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
    )
    for col in ("project_id", "domain_id", "service_id"):
        op.create_index(f"ix_identity_limits_{col}", "identity_limits", [col])


def downgrade() -> None:
    op.drop_table("identity_limits")
    op.drop_table("identity_registered_limits")
    op.drop_table("identity_credentials")
