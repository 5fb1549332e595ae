"""identity: OS-OAUTH1 consumers, request tokens and access tokens

Revision ID: 0010_identity_oauth1
Revises: 0009_identity_domain_config
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from stratus.db.types import UTCDateTime

revision: str = "0010_identity_oauth1"
down_revision: str | Sequence[str] | None = "0009_identity_domain_config"
branch_labels = None
depends_on = None


def _token_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column(
            "consumer_id",
            sa.String(64),
            sa.ForeignKey("identity_oauth1_consumers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role_ids", sa.JSON(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "identity_oauth1_consumers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "identity_oauth1_request_tokens",
        *_token_columns(),
        sa.Column("requested_project_id", sa.String(64), nullable=False),
        sa.Column("verifier", sa.String(64), nullable=True),
        sa.Column("authorizing_user_id", sa.String(64), nullable=True),
    )
    op.create_index(
        "ix_identity_oauth1_request_tokens_consumer_id",
        "identity_oauth1_request_tokens",
        ["consumer_id"],
    )
    op.create_table(
        "identity_oauth1_access_tokens",
        *_token_columns(),
        sa.Column(
            "authorizing_user_id",
            sa.String(64),
            sa.ForeignKey("identity_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("project_id", sa.String(64), nullable=False),
    )
    for col in ("consumer_id", "authorizing_user_id"):
        op.create_index(
            f"ix_identity_oauth1_access_tokens_{col}", "identity_oauth1_access_tokens", [col]
        )


def downgrade() -> None:
    op.drop_table("identity_oauth1_access_tokens")
    op.drop_table("identity_oauth1_request_tokens")
    op.drop_table("identity_oauth1_consumers")
