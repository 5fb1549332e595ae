"""``stratus db upgrade`` on SQLite holds a lock on the database file while it migrates
(PostgreSQL's advisory lock is tested with two controllers in
tests/deploy/test_controller_concurrent_start.py)."""

from __future__ import annotations

import fcntl
import os

import pytest

from stratus.db import migrations


def _try_flock(path) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_sqlite_migration_lock_excludes_a_second_upgrader_until_it_ends(tmp_path):
    db = tmp_path / "state" / "stratus.db"
    with migrations.migration_lock(f"sqlite:///{db}"):
        assert oct(db.stat().st_mode & 0o777) == "0o600"  # made private before it is locked
        assert not _try_flock(db)
    assert _try_flock(db)


def test_an_upgrade_that_fails_lets_go_of_the_lock(tmp_path):
    db = tmp_path / "stratus.db"
    with pytest.raises(RuntimeError), migrations.migration_lock(f"sqlite:///{db}"):
        raise RuntimeError("migration failed")
    assert _try_flock(db)
