"""Server actions that move or copy the guest: the snapshot (Nova's ``createImage``),
``migrate`` (cold, or live with ``live=true``: ``instance_action migrate`` on the
source host towards ``dest_uri``), ``shelve`` (the snapshot, then the guest removed
from its host) and ``shelve_offload``. Resize is an update of the flavor; unshelve a
create again from the snapshot image (``stratus.compute.moves``/``.snapshots``).

The ``snapshot`` action (Nova's ``createImage``) - the contract with its caller, the
compute API: the caller creates the image first (``queued``, ``image_type=snapshot``,
the instance's properties such as ``instance_uuid``, ``base_image_ref`` from the
attribute ``image_facts``, ``min_disk``/``min_ram`` from the flavor, ``disk_format``
qcow2, ``container_format`` bare) and submits ``{"snapshot": {"image_id": <id>}}``
with the controller's context. The job runs ``image_upload`` on the server's host: its
root disk, flattened to one qcow2, is PUT to ``<image_url_for_hosts>/images/<id>/file``
with an upload ticket; the image API checks the ticket, the format and the checksum
and makes the image ``active``. A retried job finds the image no longer queued (409)
and succeeds without a second upload. The job fails if the upload is refused; the
caller then marks the image ``killed`` or deletes it.
"""

from __future__ import annotations

from stratus.image import tickets
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.resources import task
from stratus.orchestration.types.nova_common import (
    URI,
    action,
    image_service_url,
    queued_image_id,
    shutdown_timeout,
    ticket,
)


@action("snapshot", "Upload the root disk as the data of a queued image (args: image_id).")
def snapshot(res, args):
    image_id = queued_image_id(args, "snapshot")
    base = image_service_url(res)
    return [task(res, "stratus.cloud.image_upload", {
        "uuid": res.resource_id, "image_id": image_id, "url": f"{base}/images/{image_id}/file",
        "allowed_sources": [f"{base}/images/"],
        "headers": {tickets.HEADER: ticket(res, image_id, tickets.UPLOAD)},
    }, "snapshot")]


@action("migrate", "Move the guest to another compute host (args: dest_uri, the destination's "
        "libvirt URI as this host reaches it; live=true keeps it running, migration_uri where the "
        "destination's QEMU listens).")
def migrate(res, args):
    dest = str(args.get("dest_uri") or "")
    if not dest:
        raise ResourceCheckFailed("migrate needs dest_uri, the libvirt URI of the destination host",
                                  status=400)
    params = {"uuid": res.resource_id, "action": "migrate", "dest_uri": dest, "timeout": shutdown_timeout(res)}
    if args.get("live"):
        params["live"] = True
        if args.get("migration_uri"):
            params["migration_uri"] = str(args["migration_uri"])
    return [task(res, "stratus.cloud.instance_action", params, "migrate", templated=URI)]


@action("shelve", "Upload the root disk as the data of a queued image (args: image_id), then "
        "remove the guest from its host.")
def shelve(res, args):
    return [*snapshot(res, args), *offload(res, args)]


@action("shelve_offload", "Remove the guest from its host (a shelved server keeps its snapshot image).")
def offload(res, args):
    return [task(res, "stratus.cloud.instance", {"uuid": res.resource_id, "state": "absent",
                                                 "shutdown_timeout": shutdown_timeout(res)}, "offload",
                 templated=URI)]
