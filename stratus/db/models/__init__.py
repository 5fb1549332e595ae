"""Importing this package registers every table on ``Base.metadata`` (Alembic needs that)."""
from stratus.db.models import (  # noqa: F401
    compute,
    hosts,
    identity,
    identity_credentials,
    identity_domain_config,
    identity_limits,
    identity_oauth1,
    identity_resources,
    identity_security,
    identity_trusts,
    images,
    jobs,
    network,
    orchestration,
    quotas,
    volume,
)
