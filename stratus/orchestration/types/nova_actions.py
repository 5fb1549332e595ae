"""Server actions that act on the guest where it is: power (start, stop, pause,
unpause, suspend, resume) through the ``instance`` module with the server's whole
definition and the wanted state, and reboot, rebuild, rescue, unrescue and the console
log through ``instance_action``.

Each task's step is named as Nova names the event (``stop_instance`` ...), so the
instance actions of the compute API show ``compute_stop_instance`` events."""

from __future__ import annotations

import dataclasses
from typing import Any

from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.resources import PlannedResource, task
from stratus.orchestration.types.nova_common import URI, action, shutdown_timeout

# action -> (the instance module's state, the event step)
POWER = {"start": ("running", "start_instance"), "stop": ("stopped", "stop_instance"),
         "pause": ("paused", "pause_instance"), "unpause": ("running", "unpause_instance"),
         "suspend": ("suspended", "suspend_instance"), "resume": ("running", "resume_instance")}


def _power(name: str):
    state, step = POWER[name]

    def planner(res: PlannedResource, args: dict[str, Any]) -> list[dict[str, Any]]:
        from stratus.orchestration.types.nova_server import Server

        return [task(res, "stratus.cloud.instance", Server._instance(res, state), step, templated=URI)]

    return planner


for _name, (_state, _) in POWER.items():
    action(_name, f"Bring the guest to the power state {_state}.")(_power(_name))


@action("reboot", "Reboot the guest (args: type=SOFT|HARD).")
def reboot(res, args):
    kind = str(args.get("type", "SOFT")).upper()
    if kind not in ("SOFT", "HARD"):
        raise ResourceCheckFailed(f"reboot type {kind!r} must be SOFT or HARD", status=400)
    return [task(res, "stratus.cloud.instance_action",
                 {"uuid": res.resource_id, "action": "reboot", "reboot_type": kind.lower(),
                  "timeout": shutdown_timeout(res)},
                 "reboot_instance", templated=URI)]


def image_into_cache(res: PlannedResource, facts: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The task that brings the image of ``facts`` (``nova_server.image_facts``) into the
    host's image cache, as a create does; none without facts (the server's own image)."""
    from stratus.orchestration.types.nova_server import Server

    if not facts:
        return []
    other = dataclasses.replace(res, attributes={**res.attributes, "image_facts": facts})
    return [t for t in Server.plan_create(other) if "stratus.cloud.image_cache" in t]


def config_drive(res: PlannedResource) -> dict[str, Any]:
    """The config drive content of the server as it is now (a rebuild writes it anew)."""
    from stratus.orchestration.types.nova_server import Server

    inst = Server._instance(res, "running")
    meta = {"name": inst.get("display_name"), "hostname": inst.get("hostname"),
            "meta": inst.get("metadata") or {}, "public_keys": inst.get("keys") or {}}
    drive = {"meta_data": {k: v for k, v in meta.items() if v is not None}, "user_data": inst.get("user_data") or ""}
    if inst.get("network_data"):  # its NICs, as the create wrote them
        drive["network_data"] = inst["network_data"]
    return drive


@action("rebuild", "Re-create the root disk from an image (args: image_id, image_facts).")
def rebuild(res, args):
    image_id = str(args.get("image_id") or "")
    if not image_id:
        raise ResourceCheckFailed("rebuild needs image_id, the image to rebuild the server on", status=400)
    body: dict[str, Any] = {"uuid": res.resource_id, "action": "rebuild", "image_id": image_id,
                            "config_drive": config_drive(res), "timeout": shutdown_timeout(res)}
    return [*image_into_cache(res, args.get("image_facts")),
            task(res, "stratus.cloud.instance_action", body, "rebuild_instance", templated=URI)]


@action("rescue", "Boot the guest from a rescue image, its disk second (args: image_id, image_facts).")
def rescue(res, args):
    body = {"uuid": res.resource_id, "action": "rescue"}
    if args.get("image_id"):
        body["image_id"] = str(args["image_id"])
    return [*image_into_cache(res, args.get("image_facts")),
            task(res, "stratus.cloud.instance_action", body, "rescue_instance", templated=URI)]


@action("unrescue", "Boot the guest from its own disk again after a rescue.")
def unrescue(res, args):
    return [task(res, "stratus.cloud.instance_action", {"uuid": res.resource_id, "action": "unrescue"},
                 "unrescue_instance", templated=URI)]


@action("console_log", "Read the end of the serial console log (args: lines).")
def console_log(res, args):
    body: dict[str, Any] = {"uuid": res.resource_id, "action": "console_log"}
    if args.get("lines"):
        body["lines"] = int(args["lines"])
    return [task(res, "stratus.cloud.instance_action", body, "get_console_output", templated=URI)]


def realize(result: dict[str, Any], host: str | None) -> dict[str, Any] | None:
    """What an ``instance_action`` result tells about the server (its power state, the
    console log it read); None for another module's result."""
    if "action" not in result or not isinstance(result.get("instance"), dict):
        return None
    out: dict[str, Any] = {"host": host, "power_state": result["instance"].get("power_state")}
    if result["action"] == "console_log":
        out["console_output"] = "\n".join(result.get("lines") or [])
    return out


@action("interfaces", "Plug and unplug the guest's NICs to match its ports (the attributes nics and "
        "network_data, the host state in segments and converge), in the power state it is in.")
def interfaces(res, args):
    from stratus.orchestration.types.nova_server import STOPPED, Server, converge_tasks

    power = res.attributes.get("power_state")
    state = "paused" if power == "paused" else "stopped" if power in STOPPED else "running"
    return [*converge_tasks(res, "segments"),
            task(res, "stratus.cloud.instance", Server._instance(res, state), "interfaces", templated=URI),
            *converge_tasks(res, "converge")]
