"""Power actions of ``POST /servers/{id}/action``: os-start, os-stop, reboot (SOFT/HARD),
pause/unpause, suspend/resume, lock/unlock, and forceDelete/restore as Nova answers
them without soft delete (``reclaim_instance_interval`` 0: forceDelete deletes,
restore finds nothing soft-deleted: 409).

A guest action checks the state as Nova does (409 in Nova's words, nothing changed),
sets the task state, submits the server's action job and records the instance action;
its settler (``stratus.compute.settle``) gives the server its new vm and power state
when the job succeeds, and clears the task state either way."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from stratus.compute import instance_actions as ia
from stratus.compute import states as st
from stratus.compute.actions import ActionCall, ActionResult, handles
from stratus.compute.settle import settles
from stratus.compute.validation import obj, string, validate
from stratus.db.models.compute import Server
from stratus.db.models.jobs import SUCCEEDED, Job, Resource
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.orchestration.submit import submit_action

_P = "os_compute_api:"
register_defaults([
    RuleDefault(f"{_P}servers:start", "rule:admin_or_member", "Start a server"),
    RuleDefault(f"{_P}servers:stop", "rule:admin_or_member", "Stop a server"),
    RuleDefault(f"{_P}servers:reboot", "rule:admin_or_member", "Reboot a server"),
    RuleDefault(f"{_P}os-pause-server:pause", "rule:admin_or_member", "Pause a server"),
    RuleDefault(f"{_P}os-pause-server:unpause", "rule:admin_or_member", "Unpause a server"),
    RuleDefault(f"{_P}os-suspend-server:suspend", "rule:admin_or_member", "Suspend a server"),
    RuleDefault(f"{_P}os-suspend-server:resume", "rule:admin_or_member", "Resume a server"),
    RuleDefault(f"{_P}os-lock-server:lock", "rule:admin_or_member", "Lock a server"),
    RuleDefault(f"{_P}os-lock-server:unlock", "rule:admin_or_member", "Unlock a server"),
    RuleDefault(f"{_P}os-lock-server:unlock:unlock_override", "rule:admin_required",
                "Unlock a server an administrator locked"),
    RuleDefault(f"{_P}os-deferred-delete:force", "rule:admin_or_member", "Force delete a server"),
    RuleDefault(f"{_P}os-deferred-delete:restore", "rule:admin_or_member", "Restore a soft deleted server"),
])

# Nova's vm_states.ALLOW_SOFT_REBOOT / ALLOW_HARD_REBOOT and task_states.ALLOW_REBOOT
ALLOW_SOFT_REBOOT = (st.ACTIVE,)
ALLOW_HARD_REBOOT = (*ALLOW_SOFT_REBOOT, st.STOPPED, st.PAUSED, st.SUSPENDED, st.ERROR)
ALLOW_REBOOT = (None, st.REBOOTING, st.REBOOT_PENDING, st.REBOOT_STARTED, st.RESUMING,
                st.REBOOTING_HARD, st.UNPAUSING, st.PAUSING, st.SUSPENDING)

REBOOT_SCHEMA = obj({"type": {"type": "string",
                              "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}}, ("type",))
LOCK_SCHEMA_2_73 = obj({"locked_reason": string(255)}, nullable=True)


def authorize(call: ActionCall, rule: str) -> None:
    """403 unless the caller may ``rule`` on the call's server."""
    if call.policy is not None:
        call.policy.enforce(rule, {"project_id": call.server.project_id, "user_id": call.server.user_id})


def run_on_host(call: ActionCall, host_action: str, args: dict[str, Any] | None, task_state: str | None,
                nova_action: str | None) -> Job:
    """Submit the server's action job ``host_action`` (``OS::Nova::Server`` actions),
    set ``task_state`` and record the instance action ``nova_action`` for it (None:
    Nova records none, e.g. for reading the console)."""
    job = submit_action(call.db, call.server.id, host_action, args or {}, project_id=call.server.project_id, request_id=call.request_id,
                                      context=call.plan)
    call.server.task_state = task_state
    if nova_action is not None:
        ia.record(call.db, call.ctx, call.server, nova_action, job.id, req_id=call.request_id)
    return job


# body key -> (policy, Nova's action name, host action, allowed vm_states, task while running)
GUEST_POWER: dict[str, tuple[str, str, str, tuple[str, ...], str]] = {
    "os-start": (f"{_P}servers:start", ia.START, "start", (st.STOPPED,), st.POWERING_ON),
    "os-stop": (f"{_P}servers:stop", ia.STOP, "stop", (st.ACTIVE, st.RESCUED, st.ERROR), st.POWERING_OFF),
    "pause": (f"{_P}os-pause-server:pause", ia.PAUSE, "pause", (st.ACTIVE,), st.PAUSING),
    "unpause": (f"{_P}os-pause-server:unpause", ia.UNPAUSE, "unpause", (st.PAUSED,), st.UNPAUSING),
    "suspend": (f"{_P}os-suspend-server:suspend", ia.SUSPEND, "suspend", (st.ACTIVE,), st.SUSPENDING),
    "resume": (f"{_P}os-suspend-server:resume", ia.RESUME, "resume", (st.SUSPENDED,), st.RESUMING),
}
# host action -> (vm_state, power_state) once it succeeded
OUTCOME = {"start": (st.ACTIVE, st.RUNNING), "stop": (st.STOPPED, st.SHUTDOWN),
           "pause": (st.PAUSED, st.POWER_PAUSED), "unpause": (st.ACTIVE, st.RUNNING),
           "suspend": (st.SUSPENDED, st.POWER_SUSPENDED), "resume": (st.ACTIVE, st.RUNNING),
           "reboot": (st.ACTIVE, st.RUNNING)}


@handles(*GUEST_POWER)
def guest_power(call: ActionCall) -> ActionResult:
    rule, nova_action, host_action, vm_states, task_state = GUEST_POWER[call.name]
    authorize(call, rule)
    st.check(call.server, nova_action, vm_states, admin=call.ctx.is_admin)
    run_on_host(call, host_action, None, task_state, nova_action)
    return ActionResult(202)


@handles("reboot")
def reboot(call: ActionCall) -> ActionResult:
    authorize(call, f"{_P}servers:reboot")
    validate(call.body, REBOOT_SCHEMA, "reboot")
    kind = call.body["type"].upper()
    admin = call.ctx.is_admin
    st.check(call.server, ia.REBOOT, (*ALLOW_HARD_REBOOT,), ALLOW_REBOOT, admin=admin)
    if kind == "SOFT":
        st.check(call.server, ia.REBOOT, ALLOW_SOFT_REBOOT, (None,), admin=admin)
    run_on_host(call, "reboot", {"type": kind}, st.REBOOTING if kind == "SOFT" else st.REBOOTING_HARD,
                ia.REBOOT)
    return ActionResult(202)


def settle_power(db: Session, server: Server, resource: Resource, job: Job) -> None:
    """A power action's job ended: the new vm and power state if it succeeded; the task
    state cleared either way (Nova reverts the task state of a failed action)."""
    host_action = job.kind.split(":", 1)[1]
    if job.status == SUCCEEDED:
        server.vm_state, server.power_state = OUTCOME[host_action]
    server.task_state = None


settles(*(f"action:{name}" for name in OUTCOME))(settle_power)


@handles("lock")
def lock(call: ActionCall) -> ActionResult:
    authorize(call, f"{_P}os-lock-server:lock")
    reason = None
    if call.version >= (2, 73):
        validate(call.body, LOCK_SCHEMA_2_73, "lock")
        reason = (call.body or {}).get("locked_reason")
    server = call.server
    server.locked = True
    server.locked_by = "owner" if call.ctx.project_id == server.project_id else "admin"
    server.locked_reason = reason
    ia.record(call.db, call.ctx, server, ia.LOCK, None, req_id=call.request_id, finished=True)
    return ActionResult(202)


@handles("unlock")
def unlock(call: ActionCall) -> ActionResult:
    authorize(call, f"{_P}os-lock-server:unlock")
    server = call.server
    expected = "owner" if call.ctx.project_id == server.project_id else "admin"
    if server.locked and server.locked_by not in (None, expected):
        authorize(call, f"{_P}os-lock-server:unlock:unlock_override")
    server.locked, server.locked_by, server.locked_reason = False, None, None
    ia.record(call.db, call.ctx, server, ia.UNLOCK, None, req_id=call.request_id, finished=True)
    return ActionResult(202)


@handles("forceDelete")
def force_delete(call: ActionCall) -> ActionResult:
    """Without soft delete a server is never SOFT_DELETED: forceDelete deletes it as
    ``DELETE /servers/{id}`` does (Nova's ``force_delete`` takes any vm_state)."""
    from stratus.compute import servers

    authorize(call, f"{_P}os-deferred-delete:force")
    server = call.server
    servers.delete(call.db, call.ctx, server, plan_context=call.plan, request_id=call.request_id,
                   settings=call.settings)  # records the instance action "delete"
    return ActionResult(202)


@handles("restore")
def restore(call: ActionCall) -> ActionResult:
    authorize(call, f"{_P}os-deferred-delete:restore")
    st.check(call.server, ia.RESTORE, (st.SOFT_DELETED,), admin=call.ctx.is_admin)
    return ActionResult(202)  # unreachable without soft delete: no server is SOFT_DELETED
