"""Alembic migrations of the controller's database, run without an alembic.ini.

Revisions are files in ``versions/`` named ``NNNN_<area>.py`` with ``revision =
"NNNN_<area>"`` and ``down_revision`` the previous one, forming one line.
``stratus db upgrade`` calls :func:`upgrade`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    from stratus.db.session import normalize_url

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    # ConfigParser interpolation: escape % in passwords
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from stratus.db.session import make_engine

    engine = make_engine(url)  # a database it makes is private, as upgrade's (0600)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
