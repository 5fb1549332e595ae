"""resources.hosts: the hosts a resource was placed on

Revision ID: 0003_resource_hosts
Revises: 0002_jobs
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_resource_hosts"
down_revision: str | Sequence[str] | None = "0002_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("hosts", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("hosts")
