"""The Alembic revisions produce exactly the tables the models declare, on SQLite and
PostgreSQL, and downgrade cleanly."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from stratus.db import migrations

pytestmark = [pytest.mark.identity, pytest.mark.api]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_match_models_and_round_trip(backend, tmp_path, request):
    if backend == "postgresql":
        url = request.getfixturevalue("postgres").new_database()
    else:
        url = f"sqlite:///{tmp_path}/m.db"
    migrations.upgrade(url)
    command.check(migrations.alembic_config(url))  # raises when models and revisions differ
    engine = create_engine(migrations.alembic_config(url).get_main_option("sqlalchemy.url"))
    try:
        assert "identity_users" in inspect(engine).get_table_names()
        migrations.downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrations.upgrade(url)
        assert migrations.current(url) is not None
    finally:
        engine.dispose()
