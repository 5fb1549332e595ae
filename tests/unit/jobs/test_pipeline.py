"""The whole pipeline against localhost: plan → compile → run → record, with real
ansible-runner runs; concurrency, per-resource serialisation, timeout, cancel, retry,
batching and recovery after a killed controller."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import select

from stratus import quotas
from stratus.db.models.hosts import Host
from stratus.db.models.jobs import (
    ACTIVE,
    CANCELLED,
    DELETED,
    DELETING,
    ERROR,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Job,
    JobEvent,
    Resource,
)
from stratus.jobs import runner
from stratus.jobs.worker import RESTARTED, cancel
from stratus.orchestration.properties import STRING, Schema
from stratus.orchestration.resources import ResourceType, register
from stratus.orchestration.submit import submit, submit_delete, submit_tasks
from stratus.orchestration.types.stratus import AnsibleTask

from .conftest import on_every_backend, task, template, wait_final, wait_status

pytestmark = [pytest.mark.orchestration, pytest.mark.slow]


def _submit(db, tpl, **kw):
    with db.session() as s:
        return submit(s, tpl, cloud_admin=True, **kw).id  # tests act as the cloud admin


def _sleep(seconds):
    return template(nap=task("ansible.builtin.command", {"argv": ["sleep", str(seconds)]}))


def test_files_are_made_and_resources_become_active(db, make_worker, tmp_path):
    make_worker()
    target = tmp_path / "out"
    tpl = template(
        folder=task("ansible.builtin.file", {"path": str(target), "state": "directory"}),
        greeting=task("ansible.builtin.copy", {
            "dest": {"list_join": ["/", [{"get_attr": ["folder", "result", "path"]}, "greeting"]]},
            "content": "hello\n"},
        ),
    )
    job_id = _submit(db, tpl, request_id="req-1234")
    job = wait_final(db, job_id)
    assert job.status == SUCCEEDED, job.status_reason
    assert (target / "greeting").read_text() == "hello\n"
    with db.session() as s:
        states = {r.name: r for r in s.scalars(select(Resource))}
        assert {n: r.status for n, r in states.items()} == {"folder": ACTIVE, "greeting": ACTIVE}
        assert states["folder"].attributes["result"]["path"] == str(target)
        assert states["greeting"].attributes["changed"] is True
        evs = list(s.scalars(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id)))
    kinds = [e.event for e in evs]
    assert kinds[0] == "job_queued" and kinds[-1] == "job_succeeded"
    oks = [e for e in evs if e.event == "runner_on_ok"]
    assert [(e.resource_name, e.status, e.host) for e in oks] == [
        ("folder", "changed", "localhost"), ("greeting", "changed", "localhost")]
    assert all(e.request_id == "req-1234" for e in evs)


SEEN: list[tuple[str, str, bool]] = []


@register
class Recorded(AnsibleTask):
    """A task type whose service keeps its own record through the on_state hook."""

    type_name = "Test::Recorded"

    @classmethod
    def on_state(cls, db, resource):
        SEEN.append((resource.name, resource.status, "result" in resource.attributes))


def test_resource_types_hear_state_changes(db, make_worker):
    make_worker()
    job = wait_final(db, _submit(db, template(
        ok={"type": "Test::Recorded", "properties": {"module": "ansible.builtin.ping"}},
        bad={"type": "Test::Recorded", "properties": {"module": "ansible.builtin.fail",
                                                      "args": {"msg": "no"}}, "depends_on": "ok"},
    )))
    assert job.status == FAILED
    assert ("ok", "ACTIVE", True) in SEEN and ("bad", "ERROR", False) in SEEN


@register
class FileThing(ResourceType):
    """A test type with a create and a delete and a quota footprint, like a server."""

    type_name = "Test::File"
    properties_schema = {"path": Schema(STRING, required=True)}

    @classmethod
    def quota_usage(cls, props, attributes=None):
        return {"instances": 1}

    @classmethod
    def plan_create(cls, res):
        return [{"name": res.name, "ansible.builtin.copy": {"dest": res.properties["path"], "content": res.resource_id}}]

    @classmethod
    def plan_delete(cls, res):
        return [{"name": f"{res.name}: remove", "ansible.builtin.file": {"path": res.properties["path"], "state": "absent"}}]


def test_delete_removes_and_releases(db, make_worker, tmp_path):
    make_worker()
    path = tmp_path / "thing"
    job = wait_final(db, _submit(db, template(t={"type": "Test::File", "properties": {"path": str(path)}}),
                                 project_id="pd"))
    assert job.status == SUCCEEDED and path.exists()
    rid = job.resource_map["t"]
    with db.session() as s:
        assert quotas.usage(s, "pd") == {"instances": 1}
        del_id = submit_delete(s, [rid], project_id="pd").id
        assert s.get(Resource, rid).status == DELETING
    assert wait_final(db, del_id).status == SUCCEEDED
    assert not path.exists()
    with db.session() as s:
        assert s.get(Resource, rid).status == DELETED
        assert quotas.usage(s, "pd") == {}


def test_failing_task_gives_error_with_its_message(db, make_worker):
    make_worker()
    job_id = _submit(db, template(
        good=task("ansible.builtin.debug", {"msg": "fine"}),
        bad=task("ansible.builtin.fail", {"msg": "disk full on /srv"}) | {"depends_on": "good"},
        after=task("ansible.builtin.debug", {"msg": "never"}) | {"depends_on": "bad"},
    ))
    job = wait_final(db, job_id)
    assert job.status == FAILED
    assert "bad on localhost: disk full on /srv" in job.status_reason
    with db.session() as s:
        st = {r.name: (r.status, r.status_reason) for r in s.scalars(select(Resource))}
    assert st["good"] == (ACTIVE, "")
    assert st["bad"][0] == ERROR and "disk full on /srv" in st["bad"][1]
    assert st["after"][0] == ERROR  # never made: the job failed before it


@on_every_backend
def test_concurrency_limit_and_per_resource_serialisation(db, make_worker):
    make_worker(concurrency=2)
    free = [_submit(db, _sleep(1)) for _ in range(3)]
    same = [_submit(db, _sleep(1), resource_ids={"nap": "shared-0001"}) for _ in range(2)]
    jobs = [wait_final(db, j, 90) for j in free + same]
    assert all(j.status == SUCCEEDED for j in jobs), [j.status_reason for j in jobs]
    spans = [(j.started_at, j.finished_at) for j in jobs]
    # never more than 2 at once ...
    for t0, _ in spans:
        assert sum(1 for a, b in spans if a <= t0 < b) <= 2
    # ... but 2 did run together
    assert any(a1 < b0 and a0 < b1 for i, (a0, b0) in enumerate(spans) for (a1, b1) in spans[i + 1:])
    # jobs on one resource never overlap and keep their order
    (_a0, b0), (a1, _b1) = spans[3], spans[4]
    assert b0 <= a1


def test_timeout_fails_the_job_with_a_reason(db, make_worker):
    make_worker()
    job_id = _submit(db, _sleep(60), timeout=3)
    t0 = time.monotonic()
    job = wait_final(db, job_id, 40)
    assert time.monotonic() - t0 < 30
    assert job.status == FAILED and "timed out after 3 s" in job.status_reason
    with db.session() as s:
        assert s.scalar(select(Resource.status)) == ERROR
    assert not runner.processes_of(job.batch_id)


def test_cancel_running_and_queued_jobs(db, make_worker):
    make_worker(concurrency=1)
    running = _submit(db, _sleep(60))
    queued = _submit(db, _sleep(60))
    wait_status(db, running, RUNNING, 30)
    with db.session() as s:
        assert cancel(s, queued).status == CANCELLED
        cancel(s, running)
    job = wait_final(db, running, 30)
    assert job.status == CANCELLED and "cancelled" in job.status_reason
    assert not runner.processes_of(job.batch_id)


def test_unreachable_host_is_retried(db, make_worker):
    with db.session() as s:
        s.add(Host(name="far-away", groups=["faraway"], vars={
            "ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh",
            "ansible_ssh_common_args": "-o ConnectTimeout=2"}))
    w = make_worker()
    w.opt.retry_backoff = 0.5
    tpl = template(t=task("ansible.builtin.ping", {}) | {})
    tpl["resources"]["t"]["properties"]["hosts"] = "faraway"
    job_id = _submit(db, tpl, max_attempts=3)
    # after the first failure, the host comes back (here: reachable through local)
    deadline = time.monotonic() + 60
    while True:
        with db.session() as s:
            if s.scalar(select(JobEvent.id).where(JobEvent.job_id == job_id, JobEvent.event == "job_retry")):
                s.get(Host, "far-away").vars = {"ansible_connection": "local"}
                break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    job = wait_final(db, job_id)
    assert job.status == SUCCEEDED and job.attempts == 2
    with db.session() as s:
        evs = [e.event for e in s.scalars(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id))]
    assert "runner_on_unreachable" in evs and "job_retry" in evs


def test_unreachable_until_attempts_run_out(db, make_worker):
    with db.session() as s:
        s.add(Host(name="gone", groups=["gonegroup"], vars={
            "ansible_host": "127.0.0.1", "ansible_port": 9, "ansible_connection": "ssh"}))
    w = make_worker()
    w.opt.retry_backoff = 0.2
    tpl = template(t=task("ansible.builtin.ping", {}))
    tpl["resources"]["t"]["properties"]["hosts"] = "gonegroup"
    job = wait_final(db, _submit(db, tpl, max_attempts=2), 90)
    assert job.status == FAILED and "host unreachable after 2 attempt(s)" in job.status_reason


@on_every_backend
def test_batched_jobs_share_one_run_and_fail_alone(db, make_worker, tmp_path):
    make_worker(batch_window=0.5, concurrency=1)
    ids = [_submit(db, template(f=task("ansible.builtin.copy", {"dest": str(tmp_path / f"f{i}"), "content": "x"})))
           for i in range(4)]
    ids.append(_submit(db, template(boom=task("ansible.builtin.fail", {"msg": "only me"}))))
    ids.append(_submit(db, template(f=task("ansible.builtin.copy", {"dest": str(tmp_path / "f9"), "content": "x"}))))
    jobs = [wait_final(db, j) for j in ids]
    assert len({j.batch_id for j in jobs}) == 1
    assert [j.status for j in jobs] == [SUCCEEDED] * 4 + [FAILED, SUCCEEDED]
    assert "only me" in jobs[4].status_reason
    assert (tmp_path / "f9").exists()


CONTROLLER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from stratus.db.session import Database
    from stratus.jobs.worker import Options, Worker
    from stratus.orchestration.resources import get_type
    Worker(Database(sys.argv[1]), Options(state_dir=Path(sys.argv[2]), poll_interval=0.1), get_type).start()
    time.sleep(600)
""")


@on_every_backend
def test_controller_killed_mid_job_recovers(db, make_worker, tmp_path):
    """Two jobs running when their controller is killed: the one with no attempt left
    fails, the other is re-run; both runs outlive the controller and the restarted one
    kills them. (One controller killed for both cases: the kill and restart are the
    cost of this test.)"""
    # the first attempt naps (it must outlive the kill); the re-run finds its mark and ends at once
    once, twice = (_submit(db, template(nap=task("ansible.builtin.shell", {
        "cmd": f"test -e {tmp_path}/ran-{n} && exit 0; touch {tmp_path}/ran-{n}; sleep 4"})),
        max_attempts=n) for n in (1, 2))
    proc = subprocess.Popen([sys.executable, "-c", CONTROLLER, db.url, str(tmp_path / "state")])
    try:
        jobs = [wait_status(db, j, RUNNING, 30) for j in (once, twice)]
        deadline = time.monotonic() + 30
        while not all(runner.processes_of(j.batch_id) for j in jobs):
            assert time.monotonic() < deadline, "ansible never started"
            time.sleep(0.1)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    for j in jobs:
        assert runner.processes_of(j.batch_id), "the run outlives its controller (orphan)"
    make_worker()  # the restarted controller
    for job_id, final in ((once, FAILED), (twice, SUCCEEDED)):
        job = wait_final(db, job_id, 60)
        assert job.status == final, job.status_reason
        assert not runner.processes_of(job.batch_id.rsplit("-", 1)[0] + "-1")
        with db.session() as s:
            evs = list(s.scalars(select(JobEvent).where(JobEvent.job_id == job_id,
                                                        JobEvent.event == "job_recovered")))
        assert len(evs) == 1 and RESTARTED in evs[0].message
        if final == FAILED:
            assert job.status_reason == RESTARTED
        else:
            assert job.attempts == 2


def test_unknown_module_fails_at_once_with_ansibles_reason(db, make_worker):
    make_worker()
    job = wait_final(db, _submit(db, template(x=task("stratus.cloud.no_such_module", {})), max_attempts=3))
    assert job.status == FAILED and job.attempts == 1
    assert "no_such_module" in job.status_reason


def test_template_without_host_work_succeeds_without_a_run(db, make_worker):
    """Record-only jobs end at once, without ansible, even while every run slot is
    busy; one on a resource an earlier job holds waits for that job."""
    make_worker(concurrency=1)
    busy = _submit(db, _sleep(60), resource_ids={"nap": "shared-0002"})
    wait_status(db, busy, RUNNING, 30)
    started = time.monotonic()
    job = wait_final(db, _submit(db, template(n={"type": "OS::Heat::None", "properties": {"any": 1}})), 10)
    assert job.status == SUCCEEDED and time.monotonic() - started < 5
    assert job.batch_id is None  # no ansible-runner run was made for it
    with db.session() as s:
        assert s.get(Resource, job.resource_map["n"]).status == ACTIVE
        behind = submit_tasks(s, "converge", [], [], locks=["shared-0002"]).id
    time.sleep(1)
    with db.session() as s:
        assert s.get(Job, behind).status == QUEUED  # the running job holds shared-0002
        cancel(s, busy)
    assert wait_final(db, behind, 30).status == SUCCEEDED
