"""Two controllers that start at once on one PostgreSQL database: ``stratus db upgrade``
and ``stratus bootstrap`` may run at the same moment on both (two role runs, or hosts of
a run where ``run_once`` does not hold). Both must succeed and leave one schema and one
set of bootstrap records: the migrations hold a database-level lock (an advisory lock)
and bootstrap takes the database's write lock before it reads what exists.

So that the two really meet, the test holds each lock itself, starts both controllers'
commands, waits until both wait on the lock (PostgreSQL lists them in ``pg_locks``: a
command that took no lock would finish instead) and then lets go: the two race for it.
Each controller is a settings file of its own (own key repositories) on one database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select, text

from stratus.cli.bootstrap import BOOTSTRAP_LOCK
from stratus.db import migrations
from stratus.db.locks import write_lock
from stratus.db.session import Database

REPO = Path(__file__).resolve().parents[2]
# `python -m` from the checkout: this tree's stratus, whatever the venv's install points at
STRATUS = [sys.executable, "-m", "stratus.cli.main"]

pytestmark = [pytest.mark.deploy, pytest.mark.identity, pytest.mark.slow]


def _controllers(root: Path, database_url: str) -> list[Path]:
    configs = []
    for name in ("ctl1", "ctl2"):
        d = root / name
        d.mkdir()
        config = d / "stratus.yaml"
        config.write_text(yaml.safe_dump({
            "database_url": database_url, "state_dir": str(d / "state"),
            "fernet_key_repository": str(d / "fernet-keys"),
            "credential_key_repository": str(d / "credential-keys"),
            "bcrypt_rounds": 4,
        }))
        configs.append(config)
    return configs


def _start(configs: list[Path], *command: str) -> list[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    env["STRATUS_ADMIN_PASSWORD"] = "concurrent-admin"
    return [subprocess.Popen([*STRATUS, *command, "--config", str(c)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
            for c in configs]


def _wait_until_both_wait(db: Database, procs: list[subprocess.Popen], what: str) -> None:
    """Until two sessions wait for an advisory lock of this database (fails when a
    command ends first: it took no lock)."""
    deadline = time.monotonic() + 90  # two interpreters start slowly on a loaded host
    with db.engine.connect() as conn:
        while True:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )).scalar()
            conn.rollback()
            if waiting == 2:
                return
            ended = [p for p in procs if p.poll() is not None]
            assert not ended, f"{what} ended while the test held its lock: it does not wait for it"
            assert time.monotonic() < deadline, f"{what}: {waiting} of 2 waiting for the lock after 90 s"
            time.sleep(0.2)


def _both_succeed(procs: list[subprocess.Popen]) -> list[str]:
    outs = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=180)
        assert p.returncode == 0, f"{' '.join(p.args)} failed (rc {p.returncode}):\n{stdout}\n{stderr[-3000:]}"
        outs.append(stdout)
    return outs


@contextmanager
def _bootstrap_lock(db: Database):
    with db.session() as s:
        write_lock(s, BOOTSTRAP_LOCK)
        yield


def _counts(db: Database) -> dict[str, int]:
    from stratus.db.models.compute import Flavor
    from stratus.db.models.identity import Domain, Endpoint, Project, Region, Role, Service, User

    with db.session() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m))
                for m in (Domain, Project, Role, User, Region, Service, Endpoint, Flavor)}


def test_two_controllers_migrate_and_bootstrap_one_postgresql_database_at_once(postgres, tmp_path):
    url = postgres.new_database()
    configs = _controllers(tmp_path, url)
    db = Database(url)
    try:
        with migrations.migration_lock(url):
            procs = _start(configs, "db", "upgrade")
            _wait_until_both_wait(db, procs, "stratus db upgrade")
        outs = _both_succeed(procs)
        head = migrations.current(url)
        assert head and all(o.strip() == f"database at revision {head}" for o in outs), outs

        with _bootstrap_lock(db):
            procs = _start(configs, "bootstrap")
            _wait_until_both_wait(db, procs, "stratus bootstrap")
        first, second = sorted(_both_succeed(procs), key=len, reverse=True)
        assert "created user admin" in first, first
        assert "created" not in second, f"the second bootstrap made records again:\n{second}"
        counts = _counts(db)
        assert counts["User"] == counts["Project"] == counts["Domain"] == 1, counts
    finally:
        db.dispose()
