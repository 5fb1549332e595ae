"""Volume actions (``POST /volumes/{id}/action``) of the volume records: ``os-extend``,
``os-set_bootable``, ``os-reset_status``, ``os-force_delete``, ``os-retype``,
``os-update_readonly_flag``, ``os-set_image_metadata``/``os-unset_image_metadata``,
``os-show_image_metadata``.

A handler is ``handler(request, db, ctx, policy, version, volume_id, args) -> (status,
body or None)``; it raises ``stratus.errors`` exceptions (Cinder's words). The route
commits after it. :func:`handlers` joins these with the attach actions
(``stratus.volume.attach_actions``) and the image upload (``stratus.volume.upload``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[..., tuple[int, dict[str, Any] | None]]

# filled below by the volume records' actions
HANDLERS: dict[str, Handler] = {}


def _jobs(request) -> dict[str, Any]:
    from stratus.api.routes.volume._common import jobs

    return jobs(request)


def extend(request, db, ctx, policy, version, volume_id, args):
    """``os-extend`` ``{"new_size": <GiB>}``: a detached volume grows (this backend
    extends only detached volumes: an in-use one is refused with 400, saying so)."""
    from stratus.errors import BadRequest
    from stratus.volume import records, volumes

    vol = records.volume_for(db, ctx, volume_id)
    policy.enforce("volume:extend", {"project_id": vol.project_id})
    if not isinstance(args, dict) or "new_size" not in args:
        raise BadRequest("Invalid input received: os-extend needs {\"new_size\": <GiB>}.")
    volumes.extend(db, ctx, vol, args["new_size"], **_jobs(request))
    return 202, None


HANDLERS["os-extend"] = extend


def handlers() -> dict[str, Handler]:
    """Every volume action by its body key."""
    from stratus.volume import attach_actions, upload

    return {**HANDLERS, **attach_actions.HANDLERS, **upload.HANDLERS}
