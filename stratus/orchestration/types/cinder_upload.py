"""The ``upload_image`` action of ``OS::Cinder::Volume`` (Cinder's
``os-volume_upload_image``), the contract with its caller :mod:`stratus.volume.upload`:
the caller created the image (``queued``) and submits ``{"image_id": <id>,
"disk_format": "raw"|"qcow2"}`` with the controller's context. The job runs
``image_upload`` on the volume's storage host: the volume (found by id on its backend,
with the host's backend options :data:`cinder_common.BACKEND`) converted into
``disk_format`` is PUT to ``<image_url_for_hosts>/images/<id>/file`` with an upload
ticket, as a server snapshot is (``nova_moves.snapshot``). A retried job finds the image
no longer queued (409) and succeeds without a second upload; a refused upload fails
the job (the caller kills the image).
"""

from __future__ import annotations

from stratus.image import tickets
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.resources import task
from stratus.orchestration.types.cinder_common import BACKEND, action
from stratus.orchestration.types.nova_common import image_service_url, queued_image_id, ticket

DISK_FORMATS = ("raw", "qcow2")


@action("upload_image", "Upload the volume's data as the data of a queued image (args: image_id, "
        "disk_format raw or qcow2).")
def upload_image(res, args):
    image_id = queued_image_id(args, "upload_image")
    fmt = str(args.get("disk_format") or "raw")
    if fmt not in DISK_FORMATS:
        raise ResourceCheckFailed(f"upload_image writes raw or qcow2, not {fmt!r}", status=400)
    backend = res.attributes.get("backend")
    if not backend:
        raise ResourceCheckFailed("the volume has no backend yet (it was never created on a storage "
                                  "host); wait until it is available", status=400)
    base = image_service_url(res)
    return [task(res, "stratus.cloud.image_upload", {
        "volume_id": res.resource_id, "backend": backend, "disk_format": fmt,
        "image_id": image_id, "url": f"{base}/images/{image_id}/file",
        "allowed_sources": [f"{base}/images/"],
        "headers": {tickets.HEADER: ticket(res, image_id, tickets.UPLOAD)},
    }, "upload", templated=BACKEND)]
