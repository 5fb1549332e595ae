"""A server's own record: update (``PUT /servers/{id}``) and delete.

Delete follows Nova: a server that never reached a host (NoValidHost, or its create
was refused by the scheduler) is deleted locally at once; any other goes to task
``deleting`` and the pipeline removes its guest, after which
``stratus.compute.sync`` marks the row deleted (quota and host capacity released by
the pipeline). A locked server refuses (409) unless the caller is an admin.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from stratus import quotas
from stratus.compute import create, instance_actions, nics, states, sync
from stratus.compute.validation import bad, check_access_ip, check_unknown
from stratus.db.models.compute import Server
from stratus.db.models.jobs import DELETED, DELETING, Resource
from stratus.orchestration import submit as pipeline
from stratus.volume import attachments


def update(db: Session, server: Server, body: Any, version) -> Server:
    """Nova's updatable fields: name, accessIPv4/6, OS-DCF:diskConfig, description (2.19)."""
    if not isinstance(body, dict) or not isinstance(body.get("server"), dict):
        bad("server", None, "'server' is a required property")
    check_unknown(body, {"server"})
    s = body["server"]
    allowed = {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"}
    if version >= (2, 19):
        allowed.add("description")
    check_unknown(s, allowed)
    if "name" in s:
        server.name = create.check_name(s["name"])
        server.hostname = server.hostname or server.name
    if "description" in s:
        server.description = None if s["description"] is None else create.check_name(
            s["description"], field_name="description", allow_blank=True)
    for key, attr in (("accessIPv4", "access_ip_v4"), ("accessIPv6", "access_ip_v6")):
        if key in s:
            setattr(server, attr, check_access_ip(s[key], key))
    if "OS-DCF:diskConfig" in s:
        if s["OS-DCF:diskConfig"] not in ("AUTO", "MANUAL"):
            bad("OS-DCF:diskConfig", s['OS-DCF:diskConfig'], "It must be one of AUTO, MANUAL.")
        server.system_metadata = {**(server.system_metadata or {}), "disk_config": s["OS-DCF:diskConfig"]}
    db.flush()
    return server


def delete(db: Session, ctx, server: Server, *, plan_context, request_id: str | None, settings) -> None:
    states.check(server, "delete", None, None, admin=ctx.is_admin)
    res = db.get(Resource, server.id)
    jobs = {"settings": settings, "context": plan_context, "request_id": request_id}
    if res is None or res.status == DELETED or not res.hosts:
        doomed = attachments.detach_all_for_server(db, server.id, **jobs)
        _delete_locally(db, server, res)
        attachments.delete_on_termination(db, ctx, server.id, doomed, **jobs)
        instance_actions.record(db, ctx, server, instance_actions.DELETE, req_id=request_id, finished=True)
        return
    if res.status == DELETING:
        return  # already on its way (Nova answers 204 again)
    server.task_state = states.DELETING
    networks = list((res.attributes or {}).get("networks") or [])
    # its volumes first: the detach jobs lock the server, so they run before its delete
    # and no export outlives the guest; the volumes it was to delete go after it
    doomed = attachments.detach_all_for_server(db, server.id, **jobs)
    job = pipeline.submit_delete(db, [server.id], project_id=server.project_id, request_id=request_id,
                                 max_attempts=settings.job_max_attempts, timeout=settings.job_timeout,
                                 context=plan_context)
    nics.follow(db, networks, context=plan_context, request_id=request_id, project_id=server.project_id)
    attachments.delete_on_termination(db, ctx, server.id, doomed, after=job.id, **jobs)
    instance_actions.record(db, ctx, server, instance_actions.DELETE, job.id, req_id=request_id)


def _delete_locally(db: Session, server: Server, res: Resource | None) -> None:
    """Nova's local delete: nothing exists on a host, so only the records change (the
    ports it was given unbound, those made for it deleted)."""
    nics.release(db, server.id, None if res is None else pipeline.planned_from(res))
    quotas.release(db, server.id)
    if res is not None:
        res.status, res.status_reason = DELETED, "deleted before it reached a host"
    sync.mark_deleted(db, server)
    db.flush()
