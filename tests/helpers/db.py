"""A database with every table, for unit tests of services that read and write rows."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.orm import Session

from stratus.db.base import Base
from stratus.db.session import Database


@contextlib.contextmanager
def schema_session(url: str) -> Iterator[Session]:
    """A session on ``url`` after creating every registered table there (committed on
    leaving, as the controller's sessions are; the engine disposed)."""
    database = Database(url)
    Base.metadata.create_all(database.engine)
    try:
        with database.session() as s:
            yield s
    finally:
        database.dispose()


def sqlite_session(directory: Path) -> contextlib.AbstractContextManager[Session]:
    """:func:`schema_session` on ``directory``/stratus.db."""
    return schema_session(f"sqlite:///{directory}/stratus.db")
