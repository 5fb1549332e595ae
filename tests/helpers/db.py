"""A throwaway SQLite database with every table, for unit tests of services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from stratus.db.base import Base
from stratus.db.session import Database


@contextmanager
def sqlite_session(directory: Path) -> Iterator[Session]:
    """A session on ``directory``/stratus.db with the models' tables created
    (committed at the end, as the controller's sessions are)."""
    database = Database(f"sqlite:///{directory}/stratus.db")
    Base.metadata.create_all(database.engine)
    try:
        with database.session() as s:
            yield s
    finally:
        database.dispose()
