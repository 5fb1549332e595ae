"""Importing this package registers every table on ``Base.metadata`` (Alembic needs that)."""
from stratus.db.models import hosts, identity, identity_trusts, images, jobs, quotas  # noqa: F401
