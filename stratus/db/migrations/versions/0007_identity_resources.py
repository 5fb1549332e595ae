"""identity resources: endpoint groups, project-endpoint filters (OS-EP-FILTER), policies

Revision ID: 0007_identity_resources
Revises: 0006_identity_credentials
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_identity_resources"
down_revision: str | Sequence[str] | None = "0006_identity_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_endpoint_groups",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
    )
    op.create_table(
        "identity_project_endpoints",
        sa.Column("endpoint_id", sa.String(64), sa.ForeignKey("identity_endpoints.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("project_id", sa.String(64), sa.ForeignKey("identity_projects.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_identity_project_endpoints_project_id", "identity_project_endpoints", ["project_id"])
    op.create_table(
        "identity_project_endpoint_groups",
        sa.Column("endpoint_group_id", sa.String(64), sa.ForeignKey("identity_endpoint_groups.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("project_id", sa.String(64), sa.ForeignKey("identity_projects.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index(
        "ix_identity_project_endpoint_groups_project_id", "identity_project_endpoint_groups", ["project_id"]
    )
    op.create_table(
        "identity_policies",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(255), nullable=False),
        sa.Column("blob", sa.Text(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("identity_policies")
    op.drop_index("ix_identity_project_endpoint_groups_project_id", "identity_project_endpoint_groups")
    op.drop_table("identity_project_endpoint_groups")
    op.drop_index("ix_identity_project_endpoints_project_id", "identity_project_endpoints")
    op.drop_table("identity_project_endpoints")
    op.drop_table("identity_endpoint_groups")
