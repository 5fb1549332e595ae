"""The controller's SQLite database (with its -wal/-shm) and state directory are not
readable by other local users, after a real ``stratus db upgrade`` and ``stratus serve``."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.identity, pytest.mark.api]

REPO = Path(__file__).resolve().parents[3]


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _upgrade(tmp_path: Path, db: Path, state: Path) -> None:
    cfg = tmp_path / "stratus.yaml"
    cfg.write_text(yaml.safe_dump({"database_url": f"sqlite:///{db}", "state_dir": str(state)}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    r = subprocess.run(
        [sys.executable, "-m", "stratus.cli.main", "db", "upgrade", "--config", str(cfg)],
        capture_output=True, text=True, env=env, cwd=REPO, check=False,
    )
    assert r.returncode == 0, r.stderr


def _write_through_sqlite(db: Path) -> sqlite3.Connection:
    """A second writer (umask 022): SQLite makes -wal and -shm as it writes."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    return conn


def test_a_new_database_and_state_dir_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o755)
        db = shared / "new" / "db" / "stratus.db"
        state = tmp_path / "state"
        _upgrade(tmp_path, db, state)
        assert _mode(db) == 0o600
        assert _mode(db.parent) == _mode(db.parent.parent) == 0o700  # made by the controller
        assert _mode(shared) == 0o755  # an existing directory keeps its mode (think /tmp)
        assert _mode(state) == 0o711  # others may pass through to compute's disks, not list
        assert _mode(state / "runs") == 0o700
        conn = _write_through_sqlite(db)
        try:
            for side in ("-wal", "-shm"):
                assert _mode(db.with_name(db.name + side)) == 0o600, side
        finally:
            conn.close()
    finally:
        os.umask(old)


def test_an_existing_readable_database_is_made_private(tmp_path):
    old = os.umask(0o022)
    try:
        db, state = tmp_path / "stratus.db", tmp_path / "state"
        state.mkdir(mode=0o755)
        conn = _write_through_sqlite(db)  # an earlier install: 0644, -wal/-shm open
        try:
            files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
            assert [_mode(f) for f in files] == [0o644] * 3
            _upgrade(tmp_path, db, state)
            assert [_mode(f) for f in files] == [0o600] * 3
            assert _mode(state) == 0o711
        finally:
            conn.close()
    finally:
        os.umask(old)


def test_a_serving_controller_keeps_its_files_private(sqlite_controller):
    c = sqlite_controller
    c.token()  # a write through the live controller
    db = Path(c.database_url.removeprefix("sqlite:///"))
    present = [f for f in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")) if f.exists()]
    assert db in present
    assert {f.name: _mode(f) for f in present} == {f.name: 0o600 for f in present}
    state = Path(c.settings["state_dir"])
    assert (_mode(state), _mode(state / "runs")) == (0o711, 0o700)
