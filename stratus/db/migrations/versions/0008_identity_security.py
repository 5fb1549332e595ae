"""identity security compliance: per-user security state and options, password history

Revision ID: 0008_identity_security
Revises: 0007_identity_resources
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from stratus.db.types import UTCDateTime

revision: str = "0008_identity_security"
down_revision: str | Sequence[str] | None = "0007_identity_resources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_user_security",
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("identity_users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("failed_auth_count", sa.Integer(), nullable=False),
        sa.Column("failed_auth_at", UTCDateTime(), nullable=True),
        sa.Column("last_active_at", UTCDateTime(), nullable=True),
        sa.Column("password_created_at", UTCDateTime(), nullable=True),
        sa.Column("password_self_service", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "identity_password_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("identity_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_identity_password_history_user_id", "identity_password_history", ["user_id"]
    )


def downgrade() -> None:
    for table in ("identity_password_history", "identity_user_security"):
        op.drop_table(table)
