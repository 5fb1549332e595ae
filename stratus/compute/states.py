"""Nova's server states: ``vm_state`` (what the server is), ``task_state`` (what is
being done to it), ``power_state`` (what the hypervisor last said), the API ``status``
derived from the first two, and the checks that refuse an action in the wrong state
with Nova's 409.
"""

from __future__ import annotations

from collections.abc import Iterable

from stratus.errors import Conflict

# vm_states
ACTIVE, BUILDING, PAUSED, SUSPENDED, STOPPED = "active", "building", "paused", "suspended", "stopped"
RESCUED, RESIZED, SOFT_DELETED, DELETED, ERROR = "rescued", "resized", "soft-delete", "deleted", "error"
SHELVED, SHELVED_OFFLOADED = "shelved", "shelved_offloaded"

# task_states (None: nothing in progress)
SCHEDULING, SPAWNING, BLOCK_DEVICE_MAPPING, NETWORKING = "scheduling", "spawning", "block_device_mapping", "networking"
IMAGE_SNAPSHOT, IMAGE_SNAPSHOT_PENDING, IMAGE_UPLOADING = "image_snapshot", "image_snapshot_pending", "image_uploading"
UPDATING_PASSWORD = "updating_password"
RESIZE_PREP, RESIZE_MIGRATING, RESIZE_MIGRATED, RESIZE_FINISH = (
    "resize_prep", "resize_migrating", "resize_migrated", "resize_finish")
RESIZE_REVERTING, RESIZE_CONFIRMING = "resize_reverting", "resize_confirming"
REBOOTING, REBOOT_PENDING, REBOOT_STARTED = "rebooting", "reboot_pending", "reboot_started"
REBOOTING_HARD, REBOOT_PENDING_HARD, REBOOT_STARTED_HARD = (
    "rebooting_hard", "reboot_pending_hard", "reboot_started_hard")
PAUSING, UNPAUSING, SUSPENDING, RESUMING = "pausing", "unpausing", "suspending", "resuming"
POWERING_OFF, POWERING_ON = "powering-off", "powering-on"
RESCUING, UNRESCUING = "rescuing", "unrescuing"
REBUILDING, REBUILD_BLOCK_DEVICE_MAPPING, REBUILD_SPAWNING = (
    "rebuilding", "rebuild_block_device_mapping", "rebuild_spawning")
MIGRATING, DELETING, RESTORING = "migrating", "deleting", "restoring"
SHELVING, SHELVING_IMAGE_PENDING_UPLOAD, SHELVING_IMAGE_UPLOADING = (
    "shelving", "shelving_image_pending_upload", "shelving_image_uploading")
SHELVING_OFFLOADING, UNSHELVING = "shelving_offloading", "unshelving"

# power_state values as Nova reports them (OS-EXT-STS:power_state)
NOSTATE, RUNNING, POWER_PAUSED, SHUTDOWN, CRASHED, POWER_SUSPENDED = 0, 1, 3, 4, 6, 7
# what the instance module reports -> power_state
POWER_STATES = {"running": RUNNING, "paused": POWER_PAUSED, "stopped": SHUTDOWN, "shutoff": SHUTDOWN,
                "suspended": POWER_SUSPENDED, "crashed": CRASHED, "absent": NOSTATE}

# Nova's api/openstack/common.py _STATE_MAP: vm_state -> {task_state: status}
_STATUS: dict[str, dict[str | None, str]] = {
    ACTIVE: {"default": "ACTIVE", REBOOTING: "REBOOT", REBOOT_PENDING: "REBOOT",
             REBOOT_STARTED: "REBOOT", REBOOTING_HARD: "HARD_REBOOT",
             REBOOT_PENDING_HARD: "HARD_REBOOT", REBOOT_STARTED_HARD: "HARD_REBOOT",
             UPDATING_PASSWORD: "PASSWORD", REBUILDING: "REBUILD",
             REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD", REBUILD_SPAWNING: "REBUILD",
             MIGRATING: "MIGRATING", RESIZE_PREP: "RESIZE", RESIZE_MIGRATING: "RESIZE",
             RESIZE_MIGRATED: "RESIZE", RESIZE_FINISH: "RESIZE"},
    BUILDING: {"default": "BUILD"},
    STOPPED: {"default": "SHUTOFF", RESIZE_PREP: "RESIZE", RESIZE_MIGRATING: "RESIZE",
              RESIZE_MIGRATED: "RESIZE", RESIZE_FINISH: "RESIZE", REBUILDING: "REBUILD",
              REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD", REBUILD_SPAWNING: "REBUILD"},
    RESIZED: {"default": "VERIFY_RESIZE", RESIZE_REVERTING: "REVERT_RESIZE"},
    PAUSED: {"default": "PAUSED", MIGRATING: "MIGRATING"},
    SUSPENDED: {"default": "SUSPENDED"},
    RESCUED: {"default": "RESCUE"},
    ERROR: {"default": "ERROR", REBUILDING: "REBUILD", REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD",
            REBUILD_SPAWNING: "REBUILD"},
    DELETED: {"default": "DELETED"},
    SOFT_DELETED: {"default": "SOFT_DELETED"},
    SHELVED: {"default": "SHELVED"},
    SHELVED_OFFLOADED: {"default": "SHELVED_OFFLOADED"},
}

# status (as in ?status=) -> vm_states, and task_states that also mean it (Nova's
# task_and_vm_state_from_status)
STATUSES = sorted({st for m in _STATUS.values() for st in m.values()} | {"UNKNOWN"})


def status(vm_state: str, task_state: str | None) -> str:
    """The API ``status`` of a server in ``vm_state`` doing ``task_state``."""
    m = _STATUS.get(vm_state)
    if m is None:
        return "UNKNOWN"
    if vm_state == ACTIVE and task_state == DELETING:
        return "ACTIVE"
    return m.get(task_state, m["default"])


def vm_and_task_states(wanted: str) -> tuple[set[str], set[str | None]]:
    """The (vm_states, task_states) a ``?status=`` filter selects; the task states
    include None where the status is a vm_state's default."""
    vms: set[str] = set()
    tasks: set[str | None] = set()
    for vm, m in _STATUS.items():
        for task, st in m.items():
            if st == wanted.upper():
                vms.add(vm)
                if task == "default":
                    tasks.update(t for t in (None, *m) if t != "default" and m.get(t, st) == st)
                else:
                    tasks.add(task)
    return vms, tasks


def check(server, action: str, vm_states: Iterable[str] | None = None,
          task_states: Iterable[str | None] | None = (None,), *, admin: bool = False,
          must_have_launched: bool = False) -> None:
    """Nova's ``check_instance_state`` and ``check_instance_lock``: refuse ``action``
    (409, Nova's words) unless ``server`` is in one of ``vm_states`` and ``task_states``
    (``None`` in the list: no task), and not locked (an admin passes a lock)."""
    if server.locked and not admin:
        raise Conflict(f"Instance {server.id} is locked")
    if vm_states is not None and server.vm_state not in set(vm_states):
        raise Conflict(f"Cannot '{action}' instance {server.id} while it is in vm_state {server.vm_state}")
    if task_states is not None and server.task_state not in set(task_states):
        raise Conflict(f"Cannot '{action}' instance {server.id} while it is in task_state {server.task_state}")
    if must_have_launched and server.launched_at is None:
        raise Conflict(f"Cannot '{action}' instance {server.id} while it is in vm_state {server.vm_state}")
