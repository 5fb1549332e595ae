"""The job worker: runs queued jobs with ansible-runner inside ``stratus serve``.

Rules it keeps:

- at most ``concurrency`` ansible-runner runs at once; a job with nothing to run on
  hosts (an empty playbook: record-only changes) ends SUCCEEDED as soon as no earlier
  job holds its resources, without ansible and without waiting for a free slot;
- two jobs that touch the same resource id never overlap, and run in the order they
  were queued (a job waits while an earlier job on one of its resources waits);
- a run longer than the job's ``timeout`` is stopped: FAILED "timed out after N s";
- ``cancel(job)``: a queued job becomes CANCELLED, a running one is stopped;
- a run that failed because a host was unreachable is retried (``max_attempts``,
  exponential back-off); other failures are final;
- with ``batch_window`` > 0, single-play jobs queued together share one run (each job
  in its own block/rescue, so one job's failure does not stop the others);
- at start, RUNNING jobs whose controller is gone are recovered: what is left of
  their run is killed, then they are re-queued when their playbook is idempotent and
  attempts remain, else FAILED "controller restarted while the job ran".

Events go to ``job_events`` as they arrive; the job's resources go BUILD → ACTIVE, or
ERROR with the failing task's message. A job never stays RUNNING because recording
went wrong: an event that cannot be recorded fails the job with the reason.

The worker knows resource types only through ``types`` (a lookup from type name to the
class with ``realize`` and ``on_state``), given by whoever starts it: the jobs layer
does not import orchestration.
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from stratus import log, quotas
from stratus.db.models.hosts import Host
from stratus.db.models.jobs import (
    ACTIVE,
    BUILD,
    CANCELLED,
    DELETED,
    ERROR,
    FAILED,
    FINAL,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    Job,
    JobEvent,
    JobResource,
    Resource,
)
from stratus.db.session import Database
from stratus.db.types import utcnow
from stratus.hosts import registry
from stratus.jobs import events as ev
from stratus.jobs import hooks, runner

LOG = logging.getLogger("stratus.jobs")
RESTARTED = "controller restarted while the job ran"


def _proc_start(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def this_owner() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_proc_start(pid)}"


def owner_alive(owner: str | None) -> bool:
    """Is the controller process named by ``owner`` (host:pid:start) still running?"""
    if not owner:
        return False
    try:
        host, pid, start = owner.split(":")
    except ValueError:
        return False
    if host != socket.gethostname():
        return True  # another host's controller: not ours to judge
    return _proc_start(int(pid)) == start


@dataclass
class Options:
    state_dir: Path
    concurrency: int = 2
    batch_window: float = 0.0
    batch_max: int = 20
    poll_interval: float = 0.2
    retry_backoff: float = 2.0
    run_retention: float = 7 * 86400  # seconds a finished run's directory is kept
    prune_interval: float = 600.0

    @classmethod
    def from_settings(cls, settings) -> Options:
        return cls(
            state_dir=Path(settings.state_dir),
            concurrency=settings.job_concurrency,
            batch_window=settings.job_batch_window,
            batch_max=settings.job_batch_max,
            run_retention=settings.job_run_retention,
        )


@dataclass
class _Tracked:
    """What the event stream told about one job of a run."""

    job_id: str
    attempt: int
    request_id: str | None
    resource_map: dict[str, str]
    tasks: set[str]
    failures: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    results: int = 0
    done: set[str] = field(default_factory=set)  # resource ids with a successful result
    record_errors: list[str] = field(default_factory=list)


class Worker:
    def __init__(self, db: Database, options: Options, types=None) -> None:
        self.db = db
        self.opt = options
        self.types = types or (lambda _name: None)
        self.owner = this_owner()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._active: dict[str, threading.Thread] = {}
        self._thread: threading.Thread | None = None
        self._pruned_at = float("-inf")

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> Worker:
        try:
            self.recover()
        except Exception:  # e.g. a database without the jobs tables yet: keep serving
            LOG.exception("could not recover jobs at start (is the database migrated? "
                          "run 'stratus db upgrade')")
        self._thread = threading.Thread(target=self._loop, name="stratus-jobs", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking jobs; running ones are stopped and re-queued (or failed)."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        for t in list(self._active.values()):
            t.join(max(0.1, deadline - time.monotonic()))

    def notify(self) -> None:
        self._wake.set()

    def idle(self) -> bool:
        with self._lock:
            return not self._active

    # ---------------------------------------------------------------- recovery
    def recover(self) -> list[str]:
        """Settle RUNNING jobs whose controller is gone; returns their ids."""
        settled = []
        with self.db.session() as s:
            for job in s.scalars(select(Job).where(Job.status == RUNNING)):
                if job.owner == self.owner or owner_alive(job.owner):
                    continue
                killed = runner.kill_orphans(job.batch_id or job.id)
                if job.idempotent and job.attempts < job.max_attempts:
                    job.status, job.owner = QUEUED, None
                    job.status_reason = (
                        f"{RESTARTED}; re-queued (attempt {job.attempts} of {job.max_attempts} was cut short)"
                    )
                else:
                    self._finish(s, job, FAILED, RESTARTED)
                s.add(JobEvent(job_id=job.id, attempt=job.attempts, event="job_recovered",
                               status=job.status, message=job.status_reason,
                               request_id=job.request_id, data={"killed_pids": killed}))
                settled.append(job.id)
                LOG.warning("job %s: %s", job.id, job.status_reason)
        return settled

    # ---------------------------------------------------------------- scheduling
    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.wait(self.opt.poll_interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._dispatch()
                self._prune()
                failures = 0
            except Exception:  # keep the worker alive; the DB may be busy for a moment
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    LOG.exception("job dispatch failed %d time(s); retrying", failures)
                self._stop.wait(min(5.0, self.opt.poll_interval * 2 ** min(failures, 6)))

    def _dispatch(self) -> None:
        with self._lock:
            free = self.opt.concurrency - len(self._active)
        # with every slot busy, the claim still settles jobs that have nothing to run
        if free > 0 and self.opt.batch_window > 0 and self._has_queued():
            time.sleep(self.opt.batch_window)  # let requests that arrive together gather
        for jobs in self._claim(free):
            run_id = jobs[0]["batch_id"]
            t = threading.Thread(target=self._run, args=(run_id, jobs), name=f"job-{run_id[:8]}",
                                 daemon=True)
            with self._lock:
                self._active[run_id] = t
            t.start()

    def _prune(self) -> list[str]:
        """Remove run directories older than ``run_retention`` (they hold inventories
        and connection variables), every ``prune_interval`` seconds; unfinished jobs'
        runs are kept."""
        now = time.monotonic()
        if now - self._pruned_at < self.opt.prune_interval:
            return []
        self._pruned_at = now
        with self.db.session() as s:
            keep = {j.batch_id or j.id for j in s.scalars(select(Job).where(Job.status.not_in(FINAL)))}
        return runner.prune_runs(self.opt.state_dir, self.opt.run_retention, keep=keep)

    def _has_queued(self) -> bool:
        with self.db.session() as s:
            return s.scalar(select(Job.id).where(Job.status == QUEUED).limit(1)) is not None

    def _claim(self, free: int) -> list[list[dict[str, Any]]]:
        """Take queued jobs that may run now; return runs (lists of job snapshots)."""
        now = utcnow()
        runs: list[list[dict[str, Any]]] = []
        batch: list[dict[str, Any]] = []
        with self.db.session() as s:
            blocked = set(s.scalars(
                select(JobResource.resource_id).join(Job, Job.id == JobResource.job_id)
                .where(Job.status == RUNNING)
            ))
            cands = list(s.scalars(select(Job).where(Job.status == QUEUED)
                                   .order_by(Job.created_at, Job.id).limit(500)))
            res_of: dict[str, set[str]] = defaultdict(set)
            if cands:
                for jid, rid in s.execute(select(JobResource.job_id, JobResource.resource_id)
                                          .where(JobResource.job_id.in_([c.id for c in cands]))):
                    res_of[jid].add(rid)
            for job in cands:
                if not job.playbook and self._settle_empty(s, job, res_of[job.id], blocked, now):
                    continue
                batched = self.opt.batch_window > 0 and self._batchable(job)
                open_slots = free - len(runs) - (1 if batch else 0)
                can_join = batched and batch and len(batch) < self.opt.batch_max
                if open_slots <= 0 and not can_join:
                    blocked |= res_of[job.id]
                    continue
                rids = res_of[job.id]
                waiting = job.not_before is not None and job.not_before > now
                if rids & blocked or waiting:
                    blocked |= rids
                    continue
                blocked |= rids
                if job.cancel_requested:
                    self._finish(s, job, CANCELLED, "cancelled before it ran")
                    continue
                run_id = (batch[0]["batch_id"] if batch else str(uuid.uuid4())) if batched \
                    else f"{job.id}-{job.attempts + 1}"
                got = s.execute(
                    update(Job).where(Job.id == job.id, Job.status == QUEUED).values(
                        status=RUNNING, owner=self.owner, attempts=Job.attempts + 1,
                        started_at=now, batch_id=run_id, status_reason="",
                        runner_dir=str(self.opt.state_dir / "runs" / run_id),
                    )
                ).rowcount
                if got != 1:
                    continue
                s.refresh(job)
                snap = {"id": job.id, "attempt": job.attempts, "playbook": job.playbook,
                        "resource_map": dict(job.resource_map), "request_id": job.request_id,
                        "timeout": job.timeout, "batch_id": run_id}
                s.add(JobEvent(job_id=job.id, attempt=job.attempts, event="job_started",
                               status=RUNNING, request_id=job.request_id,
                               message=f"attempt {job.attempts} of {job.max_attempts}; run {run_id}"))
                if batched:
                    batch.append(snap)
                    if len(batch) >= self.opt.batch_max:
                        runs.append(batch)
                        batch = []
                else:
                    runs.append([snap])
            if batch:
                runs.append(batch)
        return runs

    def _settle_empty(self, s, job: Job, rids: set[str], blocked: set[str], now) -> bool:
        """A job with nothing to run on hosts (record-only changes: a network without
        ports, OS::Heat::None) ends at once, taking no run slot and starting no ansible,
        as soon as no earlier job holds its resources. True when it was settled."""
        if rids & blocked or (job.not_before is not None and job.not_before > now):
            return False
        got = s.execute(update(Job).where(Job.id == job.id, Job.status == QUEUED).values(
            status=RUNNING, owner=self.owner, attempts=Job.attempts + 1, started_at=now,
            status_reason="")).rowcount
        if got == 1:
            s.refresh(job)
            if job.cancel_requested:
                self._finish(s, job, CANCELLED, "cancelled before it ran")
            else:
                self._finish(s, job, SUCCEEDED, "")
        return True

    @staticmethod
    def _batchable(job: Job) -> bool:
        return len(job.playbook) == 1

    # ---------------------------------------------------------------- running
    def _run(self, run_id: str, jobs: list[dict[str, Any]]) -> None:
        token = log.request_id.set(jobs[0]["request_id"])
        try:
            self._run_inner(run_id, jobs)
        except Exception as exc:  # never leave a job RUNNING because of a bug here
            LOG.exception("run %s crashed", run_id)
            self._fail_hard([j["id"] for j in jobs], f"internal error while running the job: {exc}")
        finally:
            log.request_id.reset(token)
            with self._lock:
                self._active.pop(run_id, None)
            self._wake.set()

    def _run_inner(self, run_id: str, jobs: list[dict[str, Any]]) -> None:
        batched = len(jobs) > 1 or jobs[0]["batch_id"] != f"{jobs[0]['id']}-{jobs[0]['attempt']}"
        tracked = {
            j["id"]: _Tracked(j["id"], j["attempt"], j["request_id"], j["resource_map"],
                              {t["name"] for play in j["playbook"] for t in leaf_tasks(play.get("tasks", []))})
            for j in jobs
        }
        playbook = merge(jobs) if batched else jobs[0]["playbook"]
        timeout = max(j["timeout"] for j in jobs)
        LOG.info("run %s: %d job(s): %s", run_id, len(jobs), ", ".join(j["id"] for j in jobs))
        with self.db.session() as s:
            inventory = registry.inventory(s, only=_named_hosts(s, playbook))

        last_check = [0.0, False]

        def cancelled() -> bool:
            if self._stop.is_set():
                return True
            now = time.monotonic()
            if now - last_check[0] > 0.5:
                last_check[0] = now
                with self.db.session() as s:
                    flags = s.scalars(select(Job.cancel_requested).where(Job.id.in_(list(tracked))))
                    last_check[1] = all(flags)
            return last_check[1]

        def on_event(raw: dict[str, Any]) -> bool:
            try:
                self._record_event(raw, tracked, jobs[0]["id"] if not batched else None)
            except Exception as exc:
                LOG.exception("run %s: could not record an event", run_id)
                p = ev.parse(raw)
                why = f"could not record the result of {p.task if p else raw.get('event')!r}: {exc}"
                targets = [tracked[p.job_id]] if p and p.job_id in tracked else list(tracked.values())
                for t in targets:
                    t.record_errors.append(why)
            return True

        result = runner.run_playbook(run_id, playbook, inventory, self.opt.state_dir,
                                     timeout=timeout, event_handler=on_event,
                                     cancel_callback=cancelled)
        LOG.info("run %s ended: %s rc=%s", run_id, result.status, result.rc)
        with self.db.session() as s:
            for snap in jobs:
                job = s.get(Job, snap["id"])
                if job.status != RUNNING or job.owner != self.owner:
                    continue
                self._settle(s, job, tracked[job.id], result, batched,
                             any(x.unreachable for x in tracked.values()))

    def _record_event(self, raw: dict[str, Any], tracked: dict[str, _Tracked], solo: str | None) -> None:
        p = ev.parse(raw)
        if p is None:
            return
        targets = list(tracked.values()) if p.event == "playbook_on_stats" else []
        if p.event != "playbook_on_stats":
            t = tracked.get(p.job_id or solo or "")
            if t is None:
                return
            targets = [t]
        with self.db.session() as s:
            for t in targets:
                rid = t.resource_map.get(p.resource or "")
                s.add(JobEvent(job_id=t.job_id, attempt=t.attempt, event=p.event, host=p.host,
                               task=p.task, resource_name=p.resource if rid else None,
                               resource_id=rid, status=p.status, message=p.message,
                               request_id=t.request_id, data=p.result))
                if p.event == "playbook_on_stats":
                    continue
                if p.resource and (p.task or "").split("/", 1)[-1] in t.tasks:
                    t.results += 1
                if p.status == "failed" and not p.ignored:
                    t.failures.append(f"{p.resource} on {p.host}: {p.message}")
                elif p.status == "unreachable":
                    t.unreachable.append(f"{p.host}: {p.message}")
                if rid is None:
                    continue
                res = s.get(Resource, rid)
                if res is None:
                    continue
                cls = self.types(res.type)
                if p.status in ("failed", "unreachable") and not p.ignored:
                    res.status, res.status_reason = ERROR, f"{p.task}: {p.message}"
                elif p.status in ("ok", "changed"):
                    t.done.add(rid)
                    if cls is not None:
                        res.attributes = {**res.attributes, **cls.realize(p.raw or p.result, p.host)}
                else:
                    continue
                if cls is not None:
                    cls.on_state(s, res)

    def _settle(self, s, job: Job, t: _Tracked, result: runner.RunResult, batched: bool,
                run_unreachable: bool = False) -> None:
        if result.status == "canceled" and job.cancel_requested:
            self._finish(s, job, CANCELLED, "cancelled by request while it ran")
        elif result.status == "canceled" and self._stop.is_set():
            if job.idempotent:
                job.status, job.owner = QUEUED, None
                job.attempts -= 1
                job.status_reason = "controller stopped while the job ran; re-queued"
                self._event(s, job, "job_requeued", job.status_reason)
            else:
                self._finish(s, job, FAILED, "controller stopped while the job ran")
        elif result.status == "timeout":
            self._finish(s, job, FAILED, f"timed out after {job.timeout} s (the run was stopped)")
        elif t.record_errors:
            self._finish(s, job, FAILED, "; ".join([*t.failures, *t.record_errors]))
        elif t.failures:
            self._finish(s, job, FAILED, "; ".join(t.failures), done=t.done)
        elif t.unreachable or (batched and t.results == 0 and run_unreachable):
            why = "; ".join(t.unreachable) or "a host of the shared run was unreachable before the job's tasks ran"
            if job.attempts < job.max_attempts:
                delay = self.opt.retry_backoff * (2 ** (job.attempts - 1))
                job.status, job.owner = QUEUED, None
                job.not_before = utcnow() + timedelta(seconds=delay)
                job.status_reason = f"retrying in {delay:g} s (attempt {job.attempts} of {job.max_attempts}): {why}"
                self._event(s, job, "job_retry", job.status_reason)
            else:
                self._finish(s, job, FAILED, f"host unreachable after {job.attempts} attempt(s): {why}")
        elif result.status == "successful" or (batched and t.results >= len(t.tasks)):
            self._finish(s, job, SUCCEEDED, "")
        else:
            self._finish(s, job, FAILED, f"ansible-runner ended {result.status} (rc={result.rc}): "
                         + _stdout_tail(result.private_dir))

    def _fail_hard(self, job_ids: list[str], reason: str) -> None:
        """End still-RUNNING jobs FAILED with ``reason``: through ``_finish`` (resources
        ERROR, events), else — when that fails too — by a bare status update."""
        try:
            with self.db.session() as s:
                for jid in job_ids:
                    job = s.get(Job, jid)
                    if job is not None and job.status == RUNNING:
                        self._finish(s, job, FAILED, reason)
            return
        except Exception as exc:
            LOG.exception("could not settle job(s) %s", ", ".join(job_ids))
            reason = f"{reason}; settling it failed too: {exc}"
        with self.db.session() as s:
            s.execute(update(Job).where(Job.id.in_(job_ids), Job.status == RUNNING)
                      .values(status=FAILED, status_reason=reason, finished_at=utcnow()))

    def _event(self, s, job: Job, kind: str, message: str) -> None:
        s.add(JobEvent(job_id=job.id, attempt=job.attempts, event=kind, status=job.status,
                       message=message, request_id=job.request_id))

    def _finish(self, s, job: Job, status: str, reason: str, done: set[str] = frozenset()) -> None:
        job.status, job.status_reason, job.finished_at = status, reason, utcnow()
        for res in s.scalars(select(Resource).join(JobResource, JobResource.resource_id == Resource.id)
                             .where(JobResource.job_id == job.id)):
            if res.last_job_id not in (None, job.id):
                continue  # a later job owns its state now
            if job.kind == "delete" and status == SUCCEEDED:
                res.status, res.status_reason = DELETED, ""
                quotas.release(s, res.id)
            elif (status == SUCCEEDED or res.id in done) and res.status == BUILD:
                res.status, res.status_reason = ACTIVE, ""
            elif status != SUCCEEDED and res.status != ERROR:
                res.status, res.status_reason = ERROR, reason
            else:
                continue
            cls = self.types(res.type)
            if cls is not None:
                cls.on_state(s, res)
        for res in s.scalars(select(Resource).join(JobResource, JobResource.resource_id == Resource.id)
                             .where(JobResource.job_id == job.id)):
            cls = self.types(res.type)
            if cls is not None:
                cls.on_job_end(s, res, job)
        hooks.job_ended(s, job)
        self._event(s, job, f"job_{status.lower()}", reason)
        LOG.info("job %s %s %s", job.id, status, reason)


def merge(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One playbook for several single-play jobs: a play per job, its tasks renamed
    ``<job id>/<task>`` inside a block whose rescue keeps the host for the next jobs."""
    plays = []
    for j in jobs:
        (play,) = copy.deepcopy(j["playbook"])
        tasks = list(play.get("tasks", []))
        for task in _all_tasks(tasks):
            task["name"] = ev.task_name(j["id"], task["name"])
        play["name"] = f"job {j['id']}: {play.get('name', '')}"
        play["tasks"] = [{
            "name": ev.task_name(j["id"], "block"),
            "block": tasks,
            "rescue": [{"name": ev.task_name(j["id"], "__rescue"),
                        "ansible.builtin.debug": {"msg": f"job {j['id']} failed; next job"}}],
        }]
        plays.append(play)
    return plays


def _all_tasks(tasks: list[dict[str, Any]]):
    """Every task, blocks and the tasks inside them."""
    for t in tasks:
        yield t
        for key in ("block", "rescue", "always"):
            yield from _all_tasks(t.get(key) or [])


def leaf_tasks(tasks: list[dict[str, Any]]):
    """Every task that runs a module (inside blocks too)."""
    return (t for t in _all_tasks(tasks) if not any(k in t for k in ("block", "rescue", "always")))


def _named_hosts(s, playbook: list[dict[str, Any]]) -> list[str] | None:
    """The registry hosts the plays name (host names joined by ':'); None when a play
    names a group or pattern (an offline-style playbook: the whole registry then)."""
    names = {n for play in playbook for n in str(play.get("hosts", "")).split(":") if n}
    known = set(s.scalars(select(Host.name).where(Host.name.in_(names)))) if names else set()
    return sorted(names) if names and names <= known else None


def cancel(db_session, job_id: str, types=None) -> Job | None:
    """Ask for a job to stop: a queued job is cancelled now, a running one soon."""
    job = db_session.get(Job, job_id)
    if job is None or job.status in FINAL:
        return job
    job.cancel_requested = True
    if job.status == QUEUED:
        job.status, job.status_reason, job.finished_at = CANCELLED, "cancelled before it ran", utcnow()
        for res in db_session.scalars(select(Resource).join(JobResource, JobResource.resource_id == Resource.id)
                                      .where(JobResource.job_id == job.id)):
            if res.last_job_id == job.id and res.status == BUILD:
                res.status, res.status_reason = ERROR, "cancelled before it ran"
                cls = types(res.type) if types else None
                if cls is not None:
                    cls.on_state(db_session, res)
        hooks.job_ended(db_session, job)
        db_session.add(JobEvent(job_id=job.id, attempt=job.attempts, event="job_cancelled",
                                status=CANCELLED, message=job.status_reason, request_id=job.request_id))
    db_session.flush()
    return job


def _stdout_tail(private_dir: str, limit: int = 600) -> str:
    """Ansible's own error lines from the run's output (else its last lines)."""
    try:
        text = (Path(private_dir) / "artifacts" / "run" / "stdout").read_text(errors="replace")
    except OSError:
        return "no output"
    lines = text.strip().splitlines()
    errors = [ln.strip() for ln in lines if ln.lstrip().startswith(("[ERROR]", "ERROR!", "fatal:"))]
    return " ".join(errors or lines[-6:])[-limit:]


def start(app) -> Worker | None:
    """Start the worker of ``app`` (called by the app's lifespan); off when
    ``settings.jobs_worker`` is false."""
    settings = app.state.settings
    if not settings.jobs_worker:
        return None
    worker = Worker(app.state.db, Options.from_settings(settings), getattr(app.state, "resource_types", None))
    app.state.jobs_worker = worker
    worker.start()
    return worker


def stop(app) -> None:
    """Stop the worker of ``app``: running jobs are stopped and re-queued (or failed)."""
    worker = getattr(app.state, "jobs_worker", None)
    if worker is not None:
        worker.stop()
        app.state.jobs_worker = None
