"""Engines and sessions.

- :func:`make_engine` — SQLite gets WAL, foreign keys and a busy timeout on every
  connection; PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://``; a
  plain ``postgresql://`` URL is mapped to it).
- :class:`Database` — one engine + sessionmaker; the API keeps one on ``app.state.db``.
- ``stratus.api.deps.DbSession`` — the API's dependency built on it.
- :meth:`Database.session` — the same as a context manager for jobs, the CLI and tests;
  ``keep_loaded=True`` (the API's request sessions) holds every object the session loads
  until it closes, so a second ``db.get`` of a row in the same request is answered from
  the identity map (which otherwise forgets objects nobody references any more).
- :func:`protect_sqlite_files` — a SQLite database and its ``-wal``/``-shm``/``-journal``
  are readable by their owner only (0600), in a directory made 0700 when the controller
  makes it; :func:`make_engine` applies it, so ``stratus db upgrade`` and ``stratus
  serve`` both do. SQLite gives the files it creates beside the database the
  database's own mode, so they stay 0600.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def normalize_url(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    u = make_url(normalize_url(url))
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    if u.database.startswith("file:"):
        return None  # a URI filename: left as the caller made it
    return Path(u.database)


def protect_sqlite_files(url: str) -> Path | None:
    """Make a SQLite database private to its owner (see the module docstring): create
    missing parent directories 0700 (an existing directory keeps its mode: it may be
    shared, as /tmp is), create a missing database file 0600 before SQLite opens it, and
    set 0600 on the file and the side files an earlier run left. Returns the file."""
    path = sqlite_path(url)
    if path is None:
        return None
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=PRIVATE_DIR)
        os.chmod(d, PRIVATE_DIR)  # mkdir's mode is cut by the umask
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    os.close(fd)
    for f in [path, *(path.with_name(path.name + s) for s in SQLITE_SIDE_FILES)]:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f, PRIVATE_FILE)
    return path


def make_engine(url: str, echo: bool = False) -> Engine:
    url = normalize_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        protect_sqlite_files(url)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


_KEEP = "stratus.keep_loaded"


@event.listens_for(Session, "loaded_as_persistent")
def _keep_loaded(session: Session, instance) -> None:
    kept = session.info.get(_KEEP)
    if kept is not None:
        kept.append(instance)


class Database:
    """An engine and its sessionmaker."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, echo=echo)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self, *, keep_loaded: bool = False) -> Iterator[Session]:
        """A session committed on normal exit, rolled back on an exception;
        ``keep_loaded``: hold what it loads until it closes (a short session only)."""
        s = self.sessionmaker()
        if keep_loaded:
            s.info[_KEEP] = []
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
