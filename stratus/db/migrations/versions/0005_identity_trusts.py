"""identity trusts: OS-TRUST trusts; application credentials' access rules; the identity
cache generation controllers share

Revision ID: 0005_identity_trusts
Revises: 0004_images
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from stratus.db.types import UTCDateTime

revision: str = "0005_identity_trusts"
down_revision: str | Sequence[str] | None = "0004_images"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_trusts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "trustor_user_id",
            sa.String(64),
            sa.ForeignKey("identity_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "trustee_user_id",
            sa.String(64),
            sa.ForeignKey("identity_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("project_id", sa.String(64), nullable=True),
        sa.Column("impersonation", sa.Boolean(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("remaining_uses", sa.Integer(), nullable=True),
        sa.Column("allow_redelegation", sa.Boolean(), nullable=False),
        sa.Column("redelegation_count", sa.Integer(), nullable=True),
        sa.Column(
            "redelegated_trust_id",
            sa.String(64),
            sa.ForeignKey("identity_trusts.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("role_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
    )
    for col in ("trustor_user_id", "trustee_user_id", "redelegated_trust_id"):
        op.create_index(f"ix_identity_trusts_{col}", "identity_trusts", [col])
    state = op.create_table(
        "identity_cache_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(state, [{"id": 1, "generation": 0}])
    with op.batch_alter_table("identity_application_credentials") as b:
        b.add_column(
            sa.Column("access_rules", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("identity_application_credentials") as b:
        b.drop_column("access_rules")
    op.drop_table("identity_cache_state")
    op.drop_table("identity_trusts")
