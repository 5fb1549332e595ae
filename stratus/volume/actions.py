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


def handlers() -> dict[str, Handler]:
    """Every volume action by its body key."""
    from stratus.volume import attach_actions, upload

    return {**HANDLERS, **attach_actions.HANDLERS, **upload.HANDLERS}
