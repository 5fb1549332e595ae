"""``os-instance-actions``: the record of every API action on a server (Nova's
``InstanceAction``) and its events, which are the events of the job that carried the
action out (``InstanceAction.job_id``).

Every action handler calls :func:`record` after it has checked the server's state and
submitted its job (``job_id=None`` for an action without host work, such as lock);
``stratus.compute.settle.job_ended`` finishes the row when the job ends."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from stratus.compute.views import host_id
from stratus.db.models.compute import InstanceAction, Server
from stratus.db.models.jobs import SUCCEEDED, Job, JobEvent
from stratus.db.types import utcnow
from stratus.errors import BadRequest
from stratus.identity.context import RequestContext

# Nova's instance_actions names (nova/compute/instance_actions.py) for the actions here
CREATE, DELETE, RESTORE, FORCE_DELETE = "create", "delete", "restore", "forceDelete"
START, STOP, REBOOT, REBUILD = "start", "stop", "reboot", "rebuild"
PAUSE, UNPAUSE, SUSPEND, RESUME = "pause", "unpause", "suspend", "resume"
RESCUE, UNRESCUE, LOCK, UNLOCK = "rescue", "unrescue", "lock", "unlock"
RESIZE, CONFIRM_RESIZE, REVERT_RESIZE = "resize", "confirmResize", "revertResize"
MIGRATE, LIVE_MIGRATION, CREATE_IMAGE = "migrate", "live-migration", "createImage"
SHELVE, SHELVE_OFFLOAD, UNSHELVE = "shelve", "shelveOffload", "unshelve"


def request_id(ctx: RequestContext, given: str | None = None) -> str:
    """The request id an action is recorded under: the request's, else a new
    ``req-<uuid>`` as Nova's request ids look."""
    return given or ctx.request_id or f"req-{uuid.uuid4()}"


def record(db: Session, ctx: RequestContext, server: Server, action: str, job_id: str | None = None,
           *, req_id: str | None = None, finished: bool = False) -> InstanceAction:
    """Add the instance action ``action`` (Nova's name: ``stop``, ``reboot`` ...) on
    ``server`` by the caller of ``ctx``, carried out by job ``job_id`` (None: no host
    work). ``finished``: the action is complete already (it had nothing to wait for)."""
    now = utcnow()
    row = InstanceAction(server_id=server.id, request_id=request_id(ctx, req_id), action=action,
                         project_id=ctx.project_id or server.project_id, user_id=ctx.user_id,
                         job_id=job_id, start_time=now, updated_at=now,
                         finish_time=now if finished else None)
    db.add(row)
    db.flush()
    return row


def actions_of(db: Session, server_id: str, *, since: datetime | None = None, before: datetime | None = None,
               marker: str | None = None, limit: int | None = None) -> list[InstanceAction]:
    """The instance actions of a server, newest first (as Nova lists them); ``since``/
    ``before`` bound ``updated_at`` (2.58/2.66), ``marker`` is the request id of the last
    action of the previous page (BadRequest in Nova's words when it is not one of the
    server's), ``limit`` the most to return."""
    q = select(InstanceAction).where(InstanceAction.server_id == server_id)
    if since is not None:
        q = q.where(InstanceAction.updated_at >= since)
    if before is not None:
        q = q.where(InstanceAction.updated_at <= before)
    q = q.order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())
    if marker is not None:
        last = find(db, server_id, marker)
        if last is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        q = q.where(or_(InstanceAction.start_time < last.start_time,
                        and_(InstanceAction.start_time == last.start_time, InstanceAction.id < last.id)))
    if limit is not None:
        q = q.limit(limit)
    return list(db.scalars(q))


ACTION_KEYS = ("action", "instance_uuid", "request_id", "user_id", "project_id", "start_time", "message")


def view(act: InstanceAction, version) -> dict[str, Any]:
    """An instance action as Nova shows it (``updated_at`` from 2.58)."""
    out = {"action": act.action, "instance_uuid": act.server_id, "request_id": act.request_id,
           "user_id": act.user_id, "project_id": act.project_id, "start_time": when(act.start_time),
           "message": act.message}
    if version >= (2, 58):
        out["updated_at"] = when(act.updated_at)
    return out


def event_views(db: Session, act: InstanceAction, project_id: str, version, *, details: bool) -> list[dict]:
    """The events of ``act`` as Nova shows them: ``traceback`` only with ``details``
    (the events policy: admins), from 2.62 ``hostId`` for all and ``host`` with
    ``details``."""
    out = []
    for ev in events(db, act):
        item = {"event": ev["event"], "start_time": when(ev["start_time"]),
                "finish_time": when(ev["finish_time"]), "result": ev["result"]}
        if details:
            item["traceback"] = ev["traceback"]
        if version >= (2, 62):
            item["hostId"] = host_id(project_id, ev["host"])  # as the server shows it
            if details:
                item["host"] = ev["host"] or ""
        out.append(item)
    return out


def find(db: Session, server_id: str, req_id: str) -> InstanceAction | None:
    """The instance action of ``server_id`` recorded under request ``req_id``."""
    return db.scalars(select(InstanceAction).where(InstanceAction.server_id == server_id,
                                                   InstanceAction.request_id == req_id)
                      .order_by(InstanceAction.id.desc())).first()


# job events -> Nova-like event names
_EVENT_PREFIX = "compute_"


def events(db: Session, act: InstanceAction) -> list[dict[str, Any]]:
    """The events of ``act``: one per task its job ran (per host), named
    ``compute_<action>`` for the host work as a whole when the job had no task events
    (yet), with start/finish time, result ``Success``/``Error`` and the host, the
    message of a failure as ``traceback``. Nothing for an action without a job."""
    if act.job_id is None:
        return []
    job = db.get(Job, act.job_id)
    rows = list(db.scalars(select(JobEvent).where(JobEvent.job_id == act.job_id).order_by(JobEvent.id)))
    started = next((r.created_at for r in rows if r.event == "job_started"), None)
    out: dict[tuple[str, str | None], dict[str, Any]] = {}
    for r in rows:
        if not r.task or r.status is None:
            continue
        name = _EVENT_PREFIX + _slug(r.task)
        key = (name, r.host)
        ev = out.get(key)
        if ev is None:
            ev = out[key] = {"event": name, "start_time": started or r.created_at, "finish_time": None,
                             "result": None, "traceback": None, "host": r.host}
        if r.status in ("ok", "changed", "skipped"):
            ev["finish_time"], ev["result"] = r.created_at, ev["result"] or "Success"
        elif r.status in ("failed", "unreachable"):
            ev["finish_time"], ev["result"], ev["traceback"] = r.created_at, "Error", r.message or None
    listed = list(out.values())
    if not listed:
        finished = job.finished_at if job is not None else None
        result = None
        if job is not None and finished is not None:
            result = "Success" if job.status == SUCCEEDED else "Error"
        host = next((r.host for r in rows if r.host), None)
        listed = [{"event": _EVENT_PREFIX + _slug(act.action), "start_time": started or act.start_time,
                   "finish_time": finished, "result": result,
                   "traceback": (job.status_reason or None) if result == "Error" else None, "host": host}]
    return listed


def _slug(text: str) -> str:
    """``instance_action : stop the guest`` -> ``stop_the_guest`` style event names."""
    tail = text.split(":", 1)[-1].strip().lower()
    slug = "".join(c if c.isalnum() else "_" for c in tail).strip("_")
    while "__" in slug:
        slug = slug.replace("__", "_")
    return slug[:60] or "task"


def when(value: datetime | None) -> str | None:
    """Nova's time format in instance actions (``2018-04-25T01:26:36.000000``)."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")
