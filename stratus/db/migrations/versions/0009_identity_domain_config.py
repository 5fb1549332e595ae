"""identity: domain-specific configuration (groups and options per domain)

Revision ID: 0009_identity_domain_config
Revises: 0008_identity_security
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_identity_domain_config"
down_revision: str | Sequence[str] | None = "0008_identity_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_domain_config",
        sa.Column("domain_id", sa.String(64), primary_key=True),
        sa.Column("group", sa.String(255), primary_key=True),
        sa.Column("option", sa.String(255), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("identity_domain_config")
