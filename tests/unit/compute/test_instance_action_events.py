"""Instance action events derived from the job's events (``stratus.compute.
instance_actions``), and the settlers of power and guest actions: what a failed job
shows, what a job that has not run a task yet shows, the state a finished job leaves."""

from __future__ import annotations

from datetime import timedelta

import pytest

from stratus.compute import actions, settle
from stratus.compute import instance_actions as ia
from stratus.compute.views import host_id as views_host_id
from stratus.db.base import Base
from stratus.db.models.compute import InstanceAction, Server
from stratus.db.models.jobs import FAILED, RUNNING, SUCCEEDED, Job, JobEvent, Resource
from stratus.db.session import Database
from stratus.db.types import utcnow
from stratus.identity.context import RequestContext

SID = "11111111-2222-3333-4444-555555555555"
CTX = RequestContext(user_id="u1", user_name="u", user_domain_id="default", project_id="p1",
                     request_id="req-abc")


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/stratus.db")
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        s.add(Server(id=SID, project_id="p1", user_id="u1", name="s", flavor_id="42", vm_state="active",
                     task_state="powering-off", power_state=1))
        s.add(Resource(id=SID, name="s", type="OS::Nova::Server", project_id="p1"))
    yield database
    database.dispose()


def job(s, status: str, kind: str = "action:stop", reason: str = "") -> Job:
    row = Job(id=f"job-{status}", kind=kind, status=status, status_reason=reason, project_id="p1",
              finished_at=utcnow() if status in (FAILED, SUCCEEDED) else None)
    s.add(row)
    s.flush()
    return row


def test_failed_task_is_an_error_event_with_its_message(db):
    t0 = utcnow()
    with db.session() as s:
        j = job(s, FAILED, reason="s: stop_instance failed")
        s.add_all([JobEvent(job_id=j.id, event="job_started", created_at=t0),
                   JobEvent(job_id=j.id, event="runner_on_failed", host="c1", task="s: stop_instance",
                            status="failed", message="domain vanished", created_at=t0 + timedelta(seconds=3))])
        act = ia.record(s, CTX, s.get(Server, SID), ia.STOP, j.id)
        assert act.request_id == "req-abc" and act.finish_time is None
        (ev,) = ia.events(s, act)
        assert ev["event"] == "compute_stop_instance" and ev["result"] == "Error"
        assert ev["traceback"] == "domain vanished" and ev["host"] == "c1"
        assert ev["start_time"] == t0 and ev["finish_time"] == t0 + timedelta(seconds=3)
        shown = ia.event_views(s, act, "p1", (2, 62), details=False)
        assert "traceback" not in shown[0] and "host" not in shown[0]
        assert shown[0]["hostId"] == views_host_id("p1", "c1")  # the same hostId as the server's
        assert ia.event_views(s, act, "p1", (2, 61), details=True)[0].keys() == {
            "event", "start_time", "finish_time", "result", "traceback"}


def test_queued_job_shows_one_pending_event_named_for_the_action(db):
    with db.session() as s:
        j = job(s, RUNNING)
        act = ia.record(s, CTX, s.get(Server, SID), ia.STOP, j.id)
        (ev,) = ia.events(s, act)
        assert (ev["event"], ev["result"], ev["finish_time"]) == ("compute_stop", None, None)
        lock = ia.record(s, CTX, s.get(Server, SID), ia.LOCK, None, finished=True)
        assert ia.events(s, lock) == [] and lock.finish_time is not None


@pytest.mark.parametrize("status,vm,power,message", [(SUCCEEDED, "stopped", 4, None),
                                                     (FAILED, "active", 1, "Error")])
def test_job_end_settles_the_server_and_finishes_the_action(db, status, vm, power, message):
    actions.load()
    with db.session() as s:
        j = job(s, status)
        ia.record(s, CTX, s.get(Server, SID), ia.STOP, j.id)
        settle.job_ended(s, s.get(Resource, SID), j)
        server = s.get(Server, SID)
        assert (server.vm_state, server.power_state, server.task_state) == (vm, power, None)
        act = s.query(InstanceAction).one()
        assert act.finish_time is not None and act.message == message
