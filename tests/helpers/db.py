"""A database with every table, for unit tests of services that read and write rows."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.orm import Session


@contextlib.contextmanager
def schema_session(url: str) -> Iterator[Session]:
    """A session on ``url`` after creating every registered table there (committed on
    leaving; the engine disposed)."""
    from stratus.db.base import Base
    from stratus.db.session import Database

    database = Database(url)
    Base.metadata.create_all(database.engine)
    try:
        with database.session() as s:
            yield s
    finally:
        database.dispose()
