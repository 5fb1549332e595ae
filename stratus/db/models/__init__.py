"""Importing this package registers every table on ``Base.metadata`` (Alembic needs that)."""
