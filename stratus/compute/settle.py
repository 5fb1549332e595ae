"""When a job on a server ends: its instance actions are finished and the server's
``task_state``/``vm_state`` settled by the settler registered for the job's kind
(``action:stop`` ...; see :func:`settles`). Runs in the job worker's transaction
(``OS::Nova::Server.on_job_end``)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.compute import InstanceAction, Server
from stratus.db.models.jobs import SUCCEEDED, Job, Resource
from stratus.db.types import utcnow

Settler = Callable[[Session, Server, Resource, Job], None]
SETTLERS: dict[str, Settler] = {}


def settles(*kinds: str) -> Callable[[Settler], Settler]:
    """Register ``func(db, server, resource, job)`` for jobs of ``kinds`` (``Job.kind``:
    ``template`` for a create, ``update``, ``delete``, ``action:<name>``)."""

    def register(func: Settler) -> Settler:
        for kind in kinds:
            SETTLERS[kind] = func
        return func

    return register


def job_ended(db: Session, resource: Resource, job: Job) -> None:
    from stratus.compute import actions

    actions.load()
    for act in db.scalars(select(InstanceAction).where(InstanceAction.job_id == job.id,
                                                       InstanceAction.finish_time.is_(None))):
        act.finish_time = utcnow()
        if job.status != SUCCEEDED:
            act.message = "Error"
    server = db.get(Server, resource.id)
    settler = SETTLERS.get(job.kind)
    if server is not None and settler is not None:
        settler(db, server, resource, job)


@settles("stack:update", "stack:rollback")
def template_update(db: Session, server: Server, resource: Resource, job: Job) -> None:
    """A template changed the server in place (a stack update's flavor or name): the
    record shows what the resource now has. A resize through the compute API keeps its
    own states (``old_flavor`` until confirmed) and is left alone."""
    if job.status != SUCCEEDED or server.deleted or server.old_flavor:
        return
    fl = (resource.attributes or {}).get("flavor") or {}
    if fl.get("id") and fl["id"] != server.flavor_id:
        server.flavor, server.flavor_id = dict(fl), fl["id"]
    name = (resource.properties or {}).get("name")
    if name and name != server.name:
        server.name = name
    db.flush()
