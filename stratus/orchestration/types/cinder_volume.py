"""``OS::Cinder::Volume``: a block-storage volume on the storage host the scheduler chose.

``check`` resolves what the tasks need into attributes, so that ``plan_*`` stay pure:

- ``volume_type`` (its id or name; the default type without one) → ``volume_type_id``,
  ``volume_type_name``;
- where the volume lives (``host``, ``backend``): a copy of a snapshot or a clone of a
  volume lives on its source's host and backend (no scheduling; the source must be
  ``available``/``in-use``), any other volume where
  :func:`stratus.volume.scheduler.choose` puts it (capacity, type, zone; ``need_data``
  for a volume from an image, so LVM backends without activation are skipped). A
  scheduling failure is :class:`NoBackend` (the API's create records the volume in
  ``error``, as Cinder does);
- ``image`` (a Glance id the project may see, active, raw or qcow2) → ``image_facts``,
  and the size must hold the image (Cinder's words when it does not).

It writes the volume's ``volume_volumes`` row when a template rather than ``POST
/volumes`` makes it (:func:`stratus.volume.volumes.ensure_row`), so a stack's volume is
listed by the volume API.

Create: from an image, the storage host first fetches the image into its image cache
(``image_cache`` with a download ticket, as ``OS::Nova::Server`` does) and the
``volume`` module converts it into the volume; otherwise ``volume`` alone. An update of
``size`` extends (the module refuses while the volume is attached); delete is ``volume``
absent, with ``cascade`` when the service set the attribute ``cascade`` (its
snapshots go too). ``realize`` records ``path`` (Cinder's provider_location),
``size_gb`` and ``format``; ``on_state``/``on_job_end`` keep the record's status in step
(:mod:`stratus.volume.sync`).

Actions come from the registry :data:`stratus.orchestration.types.cinder_common.action`.
"""

from __future__ import annotations

import math
from typing import Any

from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.properties import BOOLEAN, INTEGER, MAP, STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType, task
from stratus.orchestration.types.cinder_common import BACKEND, USAGE, action

GIB = 1024**3
# the volume module's formats; image_cache keeps an image in its own format
IMAGE_FORMATS = ("raw", "qcow2")


class NoBackend(ResourceCheckFailed):
    """No storage host and backend can hold the volume (Cinder's NoValidBackend)."""


class Volume(ResourceType):
    type_name = "OS::Cinder::Volume"
    snapshot_allowed = True  # deletion_policy: Snapshot
    description = "A block-storage volume on a storage host (LVM or file backend)."
    idempotent = True
    properties_schema = {
        "size": Schema(INTEGER, "Size in GiB (at least the image's or the source's size; default: the "
                       "source's size). A larger size extends the volume (detached only).",
                       min_value=1, update_allowed=True),
        "name": Schema(STRING, "The volume's display name.", update_allowed=True),
        "description": Schema(STRING, "A description.", update_allowed=True),
        "volume_type": Schema(STRING, "The volume type's id or name (default: the cloud's default type)."),
        "image": Schema(STRING, "A Glance image id (active, raw or qcow2) to copy into the volume; "
                        "the volume becomes bootable."),
        "snapshot_id": Schema(STRING, "Create the volume from this snapshot (on its backend)."),
        "source_volid": Schema(STRING, "Create the volume as a clone of this volume (on its backend)."),
        "metadata": Schema(MAP, "Key/value metadata.", default={}, update_allowed=True),
        "availability_zone": Schema(STRING, "The availability zone (default: the cloud's default zone)."),
        "multiattach": Schema(BOOLEAN, "Whether several servers may attach it (the type may allow it).",
                              default=False),
    }
    attributes_schema = {
        "host": "The storage host the volume lives on.",
        "backend": "Its backend on that host (lvm or file).",
        "volume_type_id": "The volume type's id as resolved when it was checked.",
        "volume_type_name": "The volume type's name.",
        "availability_zone": "The availability zone of the volume.",
        "multiattach": "Whether several servers may attach it (the property, or the type's "
                       "``multiattach: <is> True`` extra spec).",
        "image_facts": "The image it was made from: id, disk_format, os_hash_algo, os_hash_value, "
                       "size, virtual_size, min_disk, min_ram, properties.",
        "path": "Its block device or file on the storage host (Cinder's provider_location).",
        "size_gb": "Its size as the host reported it.",
        "source_size": "The size of the snapshot or volume it copies (its size without ``size``).",
        "format": "raw or qcow2.",
        "show": "All attributes.",
    }
    actions = action.help

    # planner hooks ----------------------------------------------------------------------
    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        from stratus.volume import volumes

        p = res.properties
        where = ("resources", res.name, "properties")
        if res.attributes.get("host"):  # an update: it stays where it is, and only grows
            vol = volumes.ensure_row(db, res)
            if p.get("size") is not None and int(p["size"]) < vol.size:
                raise ResourceCheckFailed(f"a volume only grows: it has {vol.size} GiB, the template asks for "
                                          f"{p['size']}", (*where, "size"))
            return
        vt = volumes.resolve_type(db, res, p.get("volume_type"))
        res.attributes["volume_type_id"], res.attributes["volume_type_name"] = vt.id, vt.name
        res.attributes["multiattach"] = bool(p.get("multiattach")) or volumes.type_multiattach(db, vt.id)
        source = volumes.source_of(db, res)
        if source is not None:
            res.attributes["source_size"] = source["size"]
            res.attributes.update(host=source["host"], backend=source["backend"],
                                  availability_zone=source["availability_zone"])
        else:
            if p.get("image"):
                facts = res.attributes.get("image_facts") or image_facts(db, res)
                res.attributes["image_facts"] = facts
                check_image_fits(facts, p.get("size"), (*where, "size"))
            if p.get("size") is None:
                raise ResourceCheckFailed("a volume needs a size in GiB (or a snapshot or volume to "
                                          "copy the size from)", (*where, "size"))
            res.attributes.update(volumes.schedule(db, res, vt))
        volumes.ensure_row(db, res)

    @classmethod
    def quota_usage(cls, props, attributes=None):
        from stratus.volume.volumes import quota_usage

        attributes = attributes or {}
        return quota_usage(size_of(props, attributes), attributes.get("volume_type_name"))

    @classmethod
    def host_group(cls, props):
        return "block_storage"

    @classmethod
    def hosts(cls, db, res):
        host = res.attributes.get("host")
        return [host] if host else None

    @classmethod
    def locks(cls, res):
        # a copy reads its source: the source's jobs (extend, delete) wait
        return [s for s in (res.properties.get("source_volid"), res.properties.get("snapshot_id")) if s]

    @classmethod
    def realize(cls, result, host=None):
        vol = result.get("volume")
        if not isinstance(vol, dict) or not vol.get("path"):
            return {}
        return {"host": host, "path": vol["path"], "size_gb": vol.get("size_gb"),
                "format": vol.get("format", "raw")}

    @classmethod
    def on_state(cls, db, resource):
        from stratus.volume import sync

        sync.on_state(db, resource)

    @classmethod
    def on_job_end(cls, db, resource, job):
        from stratus.volume import sync

        sync.job_ended(db, resource, job)

    # compiler hooks ---------------------------------------------------------------------
    @classmethod
    def _volume(cls, res: PlannedResource, **extra: Any) -> dict[str, Any]:
        """The ``volume`` module's task (present, the properties' size)."""
        a = res.attributes
        args = {"id": res.resource_id, "state": "present", "size": size_of(res.properties, a),
                "backend": backend_of(res),
                "multiattach": bool(a.get("multiattach", res.properties.get("multiattach")))}
        templated = {**BACKEND, **USAGE}
        if a.get("format"):
            args["format"] = a["format"]
        for key in ("snapshot_id", "source_volid"):
            if res.properties.get(key) and "path" not in a:
                args[key] = res.properties[key]
        if extra.pop("image", False):
            args["image_format"] = a["image_facts"]["disk_format"]
            templated["image"] = "{{ stratus_image_cache.image.path }}"
        return task(res, "stratus.cloud.volume", args, templated=templated)

    @classmethod
    def plan_create(cls, res):
        """From an image: the image into the storage host's cache, then the volume."""
        if not res.properties.get("image"):
            return [cls._volume(res)]
        from stratus.orchestration.types.nova_common import image_cache_task

        if not res.attributes.get("image_facts"):
            raise TemplateError("the image of an OS::Cinder::Volume is looked up in the image service "
                                "when the request is checked; submit it to the controller",
                                ("resources", res.name, "properties", "image"))
        cache = image_cache_task(res, res.attributes["image_facts"])
        return [cache, cls._volume(res, image=True)]

    @classmethod
    def plan_update(cls, res, prop_diff):
        """A larger size extends the volume; name, description and metadata are records."""
        cls.check_update_allowed(res, prop_diff)
        if "size" not in prop_diff:
            return []
        return [cls._volume(res)]

    @classmethod
    def plan_delete(cls, res):
        args = {"id": res.resource_id, "state": "absent", "backend": backend_of(res),
                "cascade": bool(res.attributes.get("cascade"))}
        return [task(res, "stratus.cloud.volume", args, templated={**BACKEND, **USAGE})]

    @classmethod
    def plan_action(cls, res, name, args):
        return action.plan(res, name, args)


def size_of(props: dict[str, Any], attributes: dict[str, Any]) -> int:
    """The volume's size in GiB: the property, else its source's (a copy without one)."""
    return int(props.get("size") or attributes.get("source_size") or 0)


def backend_of(res: PlannedResource) -> str:
    """The backend ``check`` chose (``lvm`` or ``file``)."""
    backend = res.attributes.get("backend")
    if not backend:
        raise TemplateError("an OS::Cinder::Volume's backend is chosen by the controller's scheduler; "
                            "submit it to the controller (no offline compile)", ("resources", res.name))
    return backend


def image_facts(db, res: PlannedResource) -> dict[str, Any]:
    """The image's facts as the request's project sees it (Cinder's 404/400 words)."""
    from stratus.orchestration.types.nova_server import image_facts as server_image_facts

    return server_image_facts(db, res)


def image_gb(facts: dict[str, Any]) -> int:
    """GiB the image needs: its virtual size (its file size for raw), rounded up."""
    return max(1, math.ceil(max(facts.get("virtual_size") or 0, facts.get("size") or 0) / GIB))


def check_image_fits(facts: dict[str, Any], size: int | None, where: tuple[str, ...]) -> None:
    """Cinder's refusals of a volume smaller than its image (or its ``min_disk``)."""
    if size is None:
        return
    need = image_gb(facts)
    if need > int(size):
        raise ResourceCheckFailed(f"Invalid input received: Size of specified image {need}GB is larger "
                                  f"than volume size {size}GB.", where)
    if (facts.get("min_disk") or 0) > int(size):
        raise ResourceCheckFailed(f"Invalid input received: Volume size {size}GB cannot be smaller than "
                                  f"the image minDisk size {facts['min_disk']}GB.", where)
