"""``OS::Glance::WebImage`` and ``OS::Glance::Image``: images that templates make.

An image is a record of the image service, not a thing on a host: the resource's id is
the image's id, and its checks do the work in the request's transaction. Create makes
the image (as ``POST /v2/images`` does, for the template's project) and, once the
transaction commits, starts Glance's ``web-download`` import of ``location`` in the
controller (the URL must match ``image_web_download_allowed``, as for the API); the
resource is ``ACTIVE`` when the record is made, the image itself ``active`` when the
import finished (``show`` says which). Update changes the image in place (name, tags,
properties, ``min_disk``/``min_ram``, ``protected``, visibility); another location or
format replaces it. Delete removes the image and its data; a protected image is
refused (409) until ``protected`` is updated to false. Offline (``stratus compile``)
nothing can be made: these types need the controller.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from stratus.db.models.images import Image
from stratus.db.models.jobs import Resource
from stratus.errors import ApiError
from stratus.identity.context import RequestContext
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import BOOLEAN, INTEGER, LIST, MAP, STRING, Schema
from stratus.orchestration.resources import ControllerRecord, PlannedResource

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ova", "ovf")
# Properties stored as the image's extra properties of the same name.
NAMED_PROPERTIES = ("architecture", "kernel_id", "os_distro", "ramdisk_id")


def _common_schema() -> dict[str, Schema]:
    return {
        "name": Schema(STRING, "The image's name.", update_allowed=True),
        "location": Schema(STRING, "URL the image service downloads the data from (web-download; "
                           "it must match the cloud's image_web_download_allowed).", required=True),
        "disk_format": Schema(STRING, "Disk format of the data.", required=True,
                              allowed_values=DISK_FORMATS),
        "min_disk": Schema(INTEGER, "Disk (GB) needed to boot the image.", default=0, min_value=0,
                           update_allowed=True),
        "min_ram": Schema(INTEGER, "RAM (MB) needed to boot the image.", default=0, min_value=0,
                          update_allowed=True),
        "protected": Schema(BOOLEAN, "The image cannot be deleted while true.", default=False,
                            update_allowed=True),
        "tags": Schema(LIST, "Tags of the image.", update_allowed=True),
        "extra_properties": Schema(MAP, "More image properties (strings).", default={}, update_allowed=True),
        "owner": Schema(STRING, "Project that owns the image (cloud admins only; default: the "
                        "template's project).", update_allowed=True),
        **{name: Schema(STRING, f"The image property {name}.", update_allowed=True)
           for name in NAMED_PROPERTIES},
    }


class WebImage(ControllerRecord):
    type_name = "OS::Glance::WebImage"
    description = "An image of the image service, its data downloaded from a URL."
    properties_schema = {
        **_common_schema(),
        "container_format": Schema(STRING, "Container format of the data.", default="bare",
                                   allowed_values=CONTAINER_FORMATS),
        "visibility": Schema(STRING, "Who may see and boot the image.", default="private",
                             allowed_values=("public", "private", "shared", "community"),
                             update_allowed=True),
    }
    attributes_schema = {"show": "The image as the image API shows it.",
                         "status": "The image's status when the resource was last planned."}
    record_kind = "images"

    @classmethod
    def visibility(cls, props: dict[str, Any]) -> str:
        return props.get("visibility") or "private"

    @classmethod
    def image_body(cls, props: dict[str, Any]) -> dict[str, Any]:
        """The ``POST /v2/images`` body the properties stand for."""
        body: dict[str, Any] = {k: props[k] for k in ("name", "disk_format", "container_format",
                                                       "min_disk", "min_ram", "protected", "owner")
                                if props.get(k) is not None}
        body["visibility"] = cls.visibility(props)
        body["tags"] = list(props.get("tags") or [])
        for name in NAMED_PROPERTIES:
            if props.get(name) is not None:
                body[name] = props[name]
        for key, value in (props.get("extra_properties") or {}).items():
            body[str(key)] = value if isinstance(value, str) else str(value)
        return body

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        context = cls.controller(res)
        from stratus.image import images, imports

        ctx = _caller(res, context.cloud_admin)
        row = db.get(Resource, res.resource_id)
        try:
            if db.get(Image, res.resource_id) is None:
                cls._create(db, res, ctx, context)
            elif row is not None:
                changes = _changes(cls.image_body(row.properties), cls.image_body(res.properties))
                images.update(db, ctx, context.settings, res.resource_id, changes,
                              may_publicize=context.cloud_admin)
        except ApiError as exc:
            raise ResourceCheckFailed(exc.message, ("resources", res.name), status=exc.status) from exc
        image = db.get(Image, res.resource_id)
        res.attributes["status"] = image.status if image is not None else imports.QUEUED

    @classmethod
    def _create(cls, db, res: PlannedResource, ctx: RequestContext, context) -> None:
        from stratus.image import images, imports

        settings = context.settings
        body = {**cls.image_body(res.properties), "id": res.resource_id}
        image = images.create(db, ctx, settings, body, may_publicize=context.cloud_admin)
        method, uri, stores = imports.parse(
            {"method": {"name": "web-download", "uri": res.properties["location"]}}, settings)
        imports.begin(db, image, method, stores, settings)
        db.flush()

        @event.listens_for(db, "after_commit", once=True)
        def _start(session):  # the import thread reads the committed image
            imports.start(context.database, settings, image.id, method, uri, stores)

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        from stratus.image import images

        if db.get(Image, res.resource_id) is None:
            return  # deleted through the image API already
        context = res.context
        try:
            images.delete(db, _caller(res, True), context.settings if context else None, res.resource_id)
        except ApiError as exc:
            raise ResourceCheckFailed(exc.message, ("resources", res.name),
                                      status=409 if exc.status == 403 else exc.status) from exc

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        return {"show": {"id": res.resource_id, "name": res.properties.get("name"),
                         "location": res.properties.get("location")}}


class Image_(WebImage):  # noqa: N801 - Image is the model's name
    type_name = "OS::Glance::Image"
    description = ("An image of the image service, its data downloaded from a URL (Heat's "
                   "older type: is_public instead of visibility).")
    properties_schema = {
        **_common_schema(),
        "container_format": Schema(STRING, "Container format of the data.", required=True,
                                   allowed_values=CONTAINER_FORMATS),
        "is_public": Schema(BOOLEAN, "Public (every project) rather than private.", default=False,
                            update_allowed=True),
    }

    @classmethod
    def visibility(cls, props: dict[str, Any]) -> str:
        return "public" if props.get("is_public") else "private"


def _caller(res: PlannedResource, cloud_admin: bool) -> RequestContext:
    """The template's project as the image service's caller."""
    roles = ("admin", "member", "reader") if cloud_admin else ("member", "reader")
    return RequestContext(user_id="", user_name="stratus-orchestration", user_domain_id="default",
                          roles=roles, project_id=res.project_id, is_admin_project=cloud_admin)


def _changes(old: dict[str, Any], new: dict[str, Any]):
    """The JSON-patch changes that turn image body ``old`` into ``new``."""
    from stratus.image.patch import Change

    out = []
    for key in sorted(set(old) | set(new)):
        if key in ("disk_format", "container_format") or old.get(key) == new.get(key):
            continue
        if key not in new:
            out.append(Change("remove", key))
        else:
            out.append(Change("replace" if key in old else "add", key, new[key]))
    return out


def resource_mapping():
    return {c.type_name: c for c in (WebImage, Image_)}
