"""Fixtures for the job pipeline: a fresh SQLite database with the registry filled from
inventories/aio, and workers that run real ansible-runner jobs against localhost."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import stratus.db.models.hosts  # noqa: F401 - registers tables
import stratus.db.models.jobs  # noqa: F401
import stratus.db.models.quotas  # noqa: F401
from stratus.db.base import Base
from stratus.db.models.jobs import FINAL, Job
from stratus.db.session import Database
from stratus.hosts import registry
from stratus.jobs.worker import Options, Worker
from stratus.orchestration.resources import get_type

REPO = Path(__file__).resolve().parents[3]


BACKENDS = os.environ.get("STRATUS_TEST_BACKENDS", "sqlite,postgresql").split(",")


def on_every_backend(test):
    """Run ``test`` on PostgreSQL too (the others use SQLite only, to keep the suite lean;
    the API tests cover the pipeline on both)."""
    test.backends = BACKENDS
    return test


def pytest_generate_tests(metafunc):
    if "db" in metafunc.fixturenames:
        backends = getattr(metafunc.function, "backends", ["sqlite"])
        metafunc.parametrize("db", backends, indirect=True)


@pytest.fixture
def db(request, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").new_database()
    else:
        url = f"sqlite:///{tmp_path}/stratus.db"
    database = Database(url)
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        registry.sync(s, [str(REPO / "inventories/aio")])
    yield database
    database.dispose()


@pytest.fixture
def make_worker(db, tmp_path):
    workers = []

    def make(**kw) -> Worker:
        opts = Options(state_dir=tmp_path / "state", poll_interval=0.1, **kw)
        w = Worker(db, opts, get_type).start()
        workers.append(w)
        return w

    yield make
    for w in workers:
        w.stop(timeout=20)


def wait_final(db: Database, job_id: str, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as s:
            job = s.get(Job, job_id)
            if job.status in FINAL:
                return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish within {timeout}s (status {job.status})")


def wait_status(db: Database, job_id: str, status: str, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as s:
            job = s.get(Job, job_id)
            if job.status == status:
                return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {status} (now {job.status})")


def task(module: str, args: dict, **kw) -> dict:
    return {"type": "Stratus::Ansible::Task", "properties": {"module": module, "args": args}, **kw}


def template(**resources) -> dict:
    return {"heat_template_version": "2018-08-31", "resources": resources}
