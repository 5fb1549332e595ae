"""What the ``OS::Nova::Server`` modules share: the host's libvirt URI, the image
service as hosts reach it (with tickets the controller signs), and the registry of
server actions (``nova_actions``, ``nova_moves`` register theirs with :func:`action`)."""

from __future__ import annotations

import uuid as uuidlib

from stratus.image import tickets
from stratus.orchestration.actions import Actions
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.resources import PlannedResource

# The host's libvirt URI: a host variable, else the system instance.
URI = {"uri": "{{ stratus_libvirt_uri | default('qemu:///system') }}"}
GIB = 1024**3

# the server actions: ``@action(name, help)`` registers one
action = Actions()
ACTION_HELP = action.help
ACTION_PLANNERS = action.planners


def _context(res: PlannedResource):
    ctx = res.context
    if ctx is None or ctx.settings is None or ctx.keys is None:
        raise TemplateError("an OS::Nova::Server reaches the image service with a ticket the "
                            "controller signs; submit it to the controller (no offline compile)",
                            ("resources", res.name))
    return ctx


def image_service_url(res: PlannedResource) -> str:
    """The image API's URL as compute hosts reach it (``image_url_for_hosts``)."""
    return _context(res).settings.hosts_image_url


def shutdown_timeout(res: PlannedResource) -> int:
    """Seconds the guest gets to stop cleanly before it is powered off (the setting
    ``shutdown_timeout``; Nova's default offline)."""
    settings = res.context.settings if res.context is not None else None
    return int(getattr(settings, "shutdown_timeout", 60))


def image_cache_task(res: PlannedResource, facts: dict) -> dict:
    """The task that brings the image of ``facts`` (its id, disk_format, os_hash_*) into
    the host's image cache from the image service, with a download ticket; its result
    is registered as ``stratus_image_cache`` (``.image.path``: the cached file). Servers
    and volumes from images share it."""
    from stratus.orchestration.resources import task

    image_id, fmt = facts["id"], facts["disk_format"]
    base = image_service_url(res)
    return task(res, "stratus.cloud.image_cache", {
        "image_id": image_id, "source": f"{base}/images/{image_id}/file",
        "os_hash_algo": facts["os_hash_algo"], "os_hash_value": facts["os_hash_value"],
        "source_format": fmt, "disk_format": fmt, "allowed_sources": [f"{base}/images/"],
        "headers": {tickets.HEADER: ticket(res, image_id, tickets.DOWNLOAD)},
    }, "image", register="stratus_image_cache")


def ticket(res: PlannedResource, image_id: str, purpose: str) -> str:
    """A ticket for ``purpose`` on ``image_id``, valid ``image_ticket_lifetime``."""
    ctx = _context(res)
    return tickets.issue(ctx.keys, image_id, purpose, ctx.settings.image_ticket_lifetime)


def queued_image_id(args: dict, action_name: str) -> str:
    """The ``image_id`` argument of an action that uploads into a queued image (a server
    snapshot, a volume upload), as a canonical UUID; a 400 check failure otherwise."""
    image_id = str(args.get("image_id") or "")
    try:
        return str(uuidlib.UUID(image_id))
    except ValueError:
        raise ResourceCheckFailed(f"{action_name} needs image_id, the id of a queued image; "
                                  f"{image_id!r} is not an image id", status=400) from None
