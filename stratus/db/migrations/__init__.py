"""Alembic migrations of the controller's database, run without an alembic.ini.

Revisions are files in ``versions/`` named ``NNNN_<area>.py`` with ``revision =
"NNNN_<area>"`` and ``down_revision`` the previous one, forming one line.
``stratus db upgrade`` calls :func:`upgrade`.

Upgrades of one database run one at a time (:func:`migration_lock`): controllers that
start together (two role runs, two hosts) may both call it; the second waits, then
finds the schema at the newest revision and does nothing.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
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


# PostgreSQL advisory lock key of the migrations (one per database)
MIGRATION_LOCK_KEY = zlib.crc32(b"stratus db upgrade")


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Hold the database's migration lock until the block ends: PostgreSQL, a
    session-level advisory lock on a connection of its own (Alembic's connection reads
    the schema after the lock is taken); SQLite, ``flock`` on the database file (apart
    from SQLite's own fcntl locks, which it does not touch); others, no lock."""
    from sqlalchemy import text

    from stratus.db.session import make_engine, protect_sqlite_files

    path = protect_sqlite_files(url)  # made (0600) when missing, so there is a file to lock
    if path is not None:
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # the flock goes with the descriptor
        return
    engine = make_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            yield
            return
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate to ``revision``, one upgrader of the database at a time."""
    with migration_lock(url):
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
