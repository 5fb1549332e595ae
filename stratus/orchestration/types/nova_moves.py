"""Server actions that move or copy the guest: the snapshot (Nova's ``createImage``)
and, as the compute API grows, resize, migrate, live-migrate, shelve and unshelve.

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

import uuid as uuidlib

from stratus.image import tickets
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.resources import task
from stratus.orchestration.types.nova_common import action, image_service_url, ticket


@action("snapshot", "Upload the root disk as the data of a queued image (args: image_id).")
def snapshot(res, args):
    image_id = str(args.get("image_id") or "")
    try:
        image_id = str(uuidlib.UUID(image_id))
    except ValueError:
        raise ResourceCheckFailed(f"snapshot needs image_id, the id of a queued image; "
                                  f"{image_id!r} is not an image id", status=400) from None
    base = image_service_url(res)
    return [task(res, "stratus.cloud.image_upload", {
        "uuid": res.resource_id, "image_id": image_id, "url": f"{base}/images/{image_id}/file",
        "allowed_sources": [f"{base}/images/"],
        "headers": {tickets.HEADER: ticket(res, image_id, tickets.UPLOAD)},
    }, "snapshot")]
