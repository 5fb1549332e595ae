"""Server actions that act on the guest where it is: reboot (and, as the compute API
grows, start/stop, pause, suspend, rescue, rebuild, console output)."""

from __future__ import annotations

from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.resources import task
from stratus.orchestration.types.nova_common import URI, action


@action("reboot", "Reboot the guest (args: type=SOFT|HARD).")
def reboot(res, args):
    kind = str(args.get("type", "SOFT")).upper()
    if kind not in ("SOFT", "HARD"):
        raise ResourceCheckFailed(f"reboot type {kind!r} must be SOFT or HARD", status=400)
    return [task(res, "stratus.cloud.instance_action",
                 {"uuid": res.resource_id, "action": "reboot", "reboot_type": kind.lower()}, "reboot",
                 templated=URI)]
