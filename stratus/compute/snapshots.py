"""Server actions that copy the guest into the image service: ``createImage`` and
``shelve``/``shelveOffload``/``unshelve``, with their settlers.

createImage makes the image first (``queued``, private to the caller's project,
``image_type=snapshot``, ``instance_uuid``, ``user_id``, ``base_image_ref``, the base
image's inheritable properties and the request's metadata, ``min_disk`` the flavor's
disk, ``min_ram`` the base image's), then submits the server's ``snapshot`` action
(``nova_moves``): the host uploads the flattened root disk with a ticket and the image
turns ``active``. A failed job leaves the image ``killed``. 2.45 answers
``{"image_id": ...}``; before, the image's URL in ``Location``.

shelve does the same into ``<name>-shelved`` and removes the guest from its host in
the same job (Nova's default ``shelved_offload_time`` 0: offloaded at once); the
server is ``SHELVED_OFFLOADED`` with its host allocations released (its quota stays).
unshelve creates the server's resource again from that image: the scheduler places it
(2.77: in the ``availability_zone`` asked for), the image is cached there and the
guest defined and started; the server keeps its own ``image`` (the original).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.compute import instance_actions, states
from stratus.compute.actions import ActionCall, ActionResult, handles
from stratus.compute.moves import allow, null_body
from stratus.compute.settle import settles
from stratus.compute.validation import bad, only
from stratus.db.models.compute import Server
from stratus.db.models.images import KILLED, QUEUED, SAVING, Image
from stratus.db.models.jobs import SUCCEEDED, Job, Resource
from stratus.db.models.quotas import Allocation
from stratus.db.types import utcnow
from stratus.errors import BadRequest, Conflict
from stratus.image import images
from stratus.jobs.runner import UNSAFE
from stratus.orchestration.resources import get_type
from stratus.orchestration.submit import submit, submit_action

# Base image properties a snapshot does not inherit (Nova's NON_INHERITABLE_IMAGE_PROPERTIES
# and namespaces)
NOT_INHERITED = {"cinder_encryption_key_id", "cinder_encryption_key_deletion_policy",
                 "img_signature", "img_signature_hash_method", "img_signature_key_type",
                 "img_signature_certificate_uuid", "instance_uuid", "image_type", "base_image_ref",
                 "user_id", "image_location", "owner_project_name", "owner_user_name"}
NOT_INHERITED_PREFIXES = ("os_glance",)
# system_metadata keys of a shelved server
SHELVED_IMAGE, SHELVED_AT, SHELVED_HOST = "shelved_image_id", "shelved_at", "shelved_host"
SNAPSHOT_STATES = [states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED]


def _metadata(call: ActionCall, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        bad("metadata", value, f"{value!r} is not of type 'object'")
    for key, item in value.items():
        if not isinstance(item, str) or not 0 < len(key) <= 255 or len(item) > 255:
            bad("metadata", value, "Each key must be 1 to 255 characters and "
                          "each value a string of at most 255 characters.")
    return dict(value)


def _resource(db: Session, server: Server) -> Resource:
    row = db.get(Resource, server.id)
    if row is None or not row.hosts:
        raise Conflict(f"Instance {server.id} is not on a host; there is no disk to snapshot.")
    from stratus.volume import boot

    boot.refuse_volume_backed(row, "snapshot")
    return row


def new_image(call: ActionCall, name: str, image_type: str, metadata: dict[str, str]) -> Image:
    """The queued image a snapshot of ``call.server`` is uploaded into (Nova's properties)."""
    db, server = call.db, call.server
    base = db.get(Image, server.image_id) if server.image_id else None
    props: dict[str, str] = {}
    if base is not None:
        props.update({p.name: p.value for p in base.properties if p.name not in NOT_INHERITED
                      and not p.name.startswith(NOT_INHERITED_PREFIXES)})
    props.update({"image_type": image_type, "instance_uuid": server.id, "user_id": call.ctx.user_id,
                  "base_image_ref": server.image_id or "", "image_location": "snapshot"})
    body: dict[str, Any] = {"name": name, "disk_format": "qcow2", "container_format": "bare",
                            "min_disk": int((server.flavor or {}).get("disk") or 0),
                            "min_ram": base.min_ram if base is not None else 0}
    if call.ctx.project_id != server.project_id:  # an admin's snapshot of another project's server
        body["visibility"], props["instance_owner"] = "shared", server.project_id
    else:
        body["visibility"] = "private"
    body.update(props)
    body.update(metadata)
    return images.create(db, call.ctx, call.settings, body, may_publicize=False)


@handles("createImage")
def create_image(call: ActionCall) -> ActionResult:
    body = call.body
    if not isinstance(body, dict):
        bad(call.name, body, f"{body!r} is not of type 'object'")
    only(body, call.name, {"name", "metadata"})
    name = body.get("name")
    if "name" not in body:
        bad(call.name, body, "'name' is a required property")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        bad("name", name, "It must be a non-empty string of at most 255 characters.")
    metadata = _metadata(call, body.get("metadata"))
    allow(call)
    server, db = call.server, call.db
    states.check(server, "createImage", SNAPSHOT_STATES, [None], admin=call.ctx.is_admin)
    _resource(db, server)
    image = new_image(call, name, "snapshot", metadata)
    job = submit_action(db, server.id, "snapshot", {"image_id": image.id}, project_id=server.project_id,
                        request_id=call.request_id, context=call.plan)
    server.task_state = states.IMAGE_SNAPSHOT
    instance_actions.record(db, call.ctx, server, instance_actions.CREATE_IMAGE, job.id, req_id=call.request_id)
    if call.version >= (2, 45):
        return ActionResult(202, {"image_id": image.id})
    return ActionResult(202, headers={"Location": f"{call.settings.endpoint_url}/image/v2/images/{image.id}"})


def kill_image(db: Session, image_id: str | None) -> None:
    """A queued (or saving) image whose upload failed becomes ``killed``."""
    image = db.get(Image, image_id) if image_id else None
    if image is not None and image.status in (QUEUED, SAVING):
        image.status, image.updated_at = KILLED, utcnow()


def uploaded_image(db: Session, job: Job) -> str | None:
    """The image id a snapshot, shelve or volume upload job uploaded into (from its
    image_upload task's arguments)."""
    for play in job.playbook or []:
        for task in play.get("tasks", []):
            args = task.get("stratus.cloud.image_upload")
            if isinstance(args, dict):
                value = args.get(UNSAFE, args).get("image_id")
                return value.get(UNSAFE, value) if isinstance(value, dict) else value
    return None


@settles("action:snapshot")
def snapshotted(db: Session, server: Server, resource: Resource, job: Job) -> None:
    server.task_state = None
    if job.status != SUCCEEDED:
        kill_image(db, uploaded_image(db, job))


# --- shelve ---------------------------------------------------------------------------------

@handles("shelve")
def shelve(call: ActionCall) -> ActionResult:
    null_body(call)
    allow(call)
    server, db = call.server, call.db
    states.check(server, "shelve", SNAPSHOT_STATES, [None], admin=call.ctx.is_admin)
    _resource(db, server)
    image = new_image(call, f"{server.name}-shelved", "snapshot", {})
    job = submit_action(db, server.id, "shelve", {"image_id": image.id}, project_id=server.project_id,
                        request_id=call.request_id, context=call.plan)
    server.system_metadata = {**(server.system_metadata or {}), SHELVED_IMAGE: image.id,
                              SHELVED_AT: utcnow().isoformat(), SHELVED_HOST: server.host}
    server.task_state = states.SHELVING
    instance_actions.record(db, call.ctx, server, instance_actions.SHELVE, job.id, req_id=call.request_id)
    return ActionResult(202)


@handles("shelveOffload")
def shelve_offload(call: ActionCall) -> ActionResult:
    null_body(call)
    allow(call)
    server, db = call.server, call.db
    states.check(server, "shelveOffload", [states.SHELVED], [None], admin=call.ctx.is_admin)
    job = submit_action(db, server.id, "shelve_offload", {}, project_id=server.project_id,
                        request_id=call.request_id, context=call.plan)
    server.task_state = states.SHELVING_OFFLOADING
    instance_actions.record(db, call.ctx, server, instance_actions.SHELVE_OFFLOAD, job.id,
                            req_id=call.request_id)
    return ActionResult(202)


def offloaded(db: Session, server: Server, resource: Resource) -> None:
    """The guest is gone from its host: the server holds no host capacity."""
    for row in db.scalars(select(Allocation).where(Allocation.consumer_id == server.id,
                                                   Allocation.host.is_not(None))):
        db.delete(row)
    server.vm_state, server.power_state = states.SHELVED_OFFLOADED, states.NOSTATE
    server.host = server.node = None
    resource.hosts = []
    resource.attributes = {**(resource.attributes or {}), "host": None, "power_state": "absent"}


@settles("action:shelve", "action:shelve_offload")
def shelved(db: Session, server: Server, resource: Resource, job: Job) -> None:
    server.task_state = None
    if job.status == SUCCEEDED:
        offloaded(db, server, resource)
    elif job.kind == "action:shelve":
        kill_image(db, uploaded_image(db, job))


@handles("unshelve")
def unshelve(call: ActionCall) -> ActionResult:
    body = call.body
    zone = None
    if body is not None:
        if call.version < (2, 77) or not isinstance(body, dict):
            bad(call.name, body, f"{body!r} is not of type 'null'")
        only(body, call.name, {"availability_zone"})
        zone = body.get("availability_zone")
        if not isinstance(zone, str) or not zone:
            bad("availability_zone", zone, "It must be a zone name.")
    allow(call)
    server, db = call.server, call.db
    states.check(server, "unshelve", [states.SHELVED, states.SHELVED_OFFLOADED], [None],
                 admin=call.ctx.is_admin)
    if zone is not None and server.vm_state != states.SHELVED_OFFLOADED:
        raise Conflict(f"The availability_zone can only be given when unshelving an offloaded server; "
                       f"instance {server.id} is in vm_state {server.vm_state}.")
    image_id = (server.system_metadata or {}).get(SHELVED_IMAGE)
    image = db.get(Image, image_id) if image_id else None
    if image is None:
        raise BadRequest(f"Image {image_id} could not be found: the shelved server's snapshot is gone "
                         "and it cannot be unshelved.")
    resource = db.get(Resource, server.id)
    if resource is None:
        raise Conflict(f"Instance {server.id} has no resource record to unshelve.")
    props = {**resource.properties, "image": image.id}
    cls = get_type(resource.type)
    if zone is not None:
        server.availability_zone = zone
        if cls is not None and "availability_zone" in cls.properties_schema:
            props["availability_zone"] = zone
    template = {"heat_template_version": "2018-08-31",
                "resources": {resource.name: {"type": resource.type, "properties": props}}}
    job = submit(db, template, project_id=server.project_id, cloud_admin=False, request_id=call.request_id,
                 kind="action:unshelve", resource_ids={resource.name: resource.id}, context=call.plan)
    server.task_state = states.UNSHELVING
    instance_actions.record(db, call.ctx, server, instance_actions.UNSHELVE, job.id, req_id=call.request_id)
    return ActionResult(202)


@settles("action:unshelve")
def unshelved(db: Session, server: Server, resource: Resource, job: Job) -> None:
    server.task_state = None
    if job.status != SUCCEEDED:
        server.fault = {"code": 500, "message": f"Unshelve failed: {job.status_reason}"}
        return
    host = (resource.hosts or [None])[0]
    server.vm_state, server.power_state = states.ACTIVE, states.RUNNING
    server.host = server.node = host
    meta = dict(server.system_metadata or {})
    for key in (SHELVED_IMAGE, SHELVED_AT, SHELVED_HOST):
        meta.pop(key, None)
    server.system_metadata = meta
