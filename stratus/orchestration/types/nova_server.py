"""``OS::Nova::Server``: a libvirt guest on the compute host placement chose.

Create: the image into the host's image cache, then the ``instance`` module; update of
the flavor resizes in place (the host's capacity is checked again), of the name or
metadata redefines; ``reboot`` and ``snapshot`` are actions; delete removes the guest.
The compute API grows this type (flavors from their API, NICs, volumes); until then the
flavor names one of Nova's classic flavors.

The image is a Glance image id. ``check`` looks it up as the request's project sees it
(``stratus.image.records.visible_to_project``): it must be ``active``, qcow2 or raw,
and fit the flavor (``min_disk``, ``min_ram``, its size), with Nova's answers. Its facts
(``os_hash_*``, ``disk_format``, sizes) are kept in the attribute ``image_facts`` at
plan time, so the compiled tasks read no DB, and an existing server keeps the facts of
the image it was built from (a resize does not need the image to still exist).
``plan_create`` has the host fetch ``<image_url_for_hosts>/images/<id>/file`` with a
download ticket in ``X-Image-Ticket``, checked against the image's ``os_hash_value``;
only that URL prefix is allowed. The ticket is signed at compile time with the
controller's keys (``PlannedResource.context``) and lives only in the job's playbook:
the ``image_cache`` module takes ``headers`` as ``no_log``, so results and events
never show it.

Actions are registered by ``nova_actions`` and ``nova_moves`` (``nova_common.action``).
"""

from __future__ import annotations

from typing import Any

from stratus.image import tickets
from stratus.image.records import visible_to_project
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.properties import BOOLEAN, MAP, STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType, task
from stratus.orchestration.types.nova_common import (
    ACTION_HELP,
    ACTION_PLANNERS,
    GIB,
    URI,
    image_service_url,
    ticket,
)

# name: (vcpus, memory_mb, root_gb) — Nova's classic defaults plus two small ones.
FLAVORS: dict[str, tuple[int, int, int]] = {
    "m1.nano": (1, 128, 1),
    "m1.micro": (1, 192, 1),
    "m1.tiny": (1, 512, 1),
    "m1.small": (1, 2048, 20),
    "m1.medium": (2, 4096, 40),
    "m1.large": (4, 8192, 80),
}
# Disk formats the compute hosts boot from (image_cache keeps them as they are).
HOST_FORMATS = ("qcow2", "raw")


def flavor(props: dict[str, Any]) -> tuple[int, int, int]:
    return FLAVORS[props["flavor"]]


class Server(ResourceType):
    type_name = "OS::Nova::Server"
    description = "A virtual machine (libvirt guest) on a compute host."
    idempotent = True
    properties_schema = {
        "name": Schema(STRING, "The server's display name.", update_allowed=True),
        "flavor": Schema(STRING, "The flavor (vCPUs, RAM, root disk): " + ", ".join(FLAVORS) + ".",
                         required=True, update_allowed=True),
        "image": Schema(STRING, "The Glance image id to boot from (active, qcow2 or raw, visible "
                        "to the project).", required=True),
        "metadata": Schema(MAP, "Key/value metadata (in the config drive).", default={}, update_allowed=True),
        "user_data": Schema(STRING, "User data for the guest (in the config drive).", default=""),
        "config_drive": Schema(BOOLEAN, "Attach a config drive.", default=True),
    }
    attributes_schema = {
        "host": "The compute host the server runs on.",
        "instance_name": "The libvirt domain name.",
        "power_state": "running, stopped, paused or suspended.",
        "image_facts": "The image it was built from: id, disk_format, os_hash_algo, "
                       "os_hash_value, size, virtual_size, min_disk, min_ram.",
        "show": "All attributes.",
    }
    actions = ACTION_HELP  # filled by nova_actions and nova_moves

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        if res.properties.get("flavor") not in FLAVORS:
            raise ResourceCheckFailed(
                f"flavor {res.properties.get('flavor')!r} does not exist; use one of {', '.join(FLAVORS)}",
                ("resources", res.name, "properties", "flavor"), status=400)
        facts = res.attributes.get("image_facts") or image_facts(db, res)
        res.attributes["image_facts"] = facts
        _, ram, disk = flavor(res.properties)
        where = ("resources", res.name, "properties", "flavor")
        root = disk * GIB
        image_bytes = max(facts["size"], facts["virtual_size"])
        if image_bytes > root:
            raise ResourceCheckFailed(
                f"Flavor's disk is too small for requested image. Flavor disk is {root} bytes, "
                f"image is {image_bytes} bytes.", where)
        if facts["min_disk"] * GIB > root:
            raise ResourceCheckFailed(
                "Flavor's disk is smaller than the minimum size specified in image metadata. "
                f"Flavor disk is {root} bytes, minimum size is {facts['min_disk'] * GIB} bytes.", where)
        if facts["min_ram"] > ram:
            raise ResourceCheckFailed("Flavor's memory is too small for requested image.", where)

    @classmethod
    def quota_usage(cls, props, attributes=None):
        vcpus, ram, _ = FLAVORS.get(props.get("flavor"), (0, 0, 0))
        return {"instances": 1, "cores": vcpus, "ram": ram}

    @classmethod
    def host_usage(cls, props, attributes=None):
        vcpus, ram, disk = FLAVORS.get(props.get("flavor"), (0, 0, 0))
        return {"vcpus": vcpus, "memory_mb": ram, "disk_gb": disk}

    @classmethod
    def host_group(cls, props):
        return "compute"

    @classmethod
    def plan_attributes(cls, res):
        return {"instance_name": f"instance-{res.resource_id}"}

    @classmethod
    def realize(cls, result, host=None):
        from stratus.orchestration.types.nova_actions import realize as realize_action

        acted = realize_action(result, host)
        if acted is not None:
            return acted
        inst = result.get("instance")
        if not isinstance(inst, dict):
            return {}
        return {"host": host, "instance_name": inst.get("name"), "power_state": inst.get("state")}

    @classmethod
    def _instance(cls, res: PlannedResource, state: str) -> dict[str, Any]:
        p = res.properties
        vcpus, ram, disk = flavor(p)
        return {"uuid": res.resource_id, "display_name": p.get("name") or res.name,
                "hostname": "server-" + res.resource_id[:8], "image_id": p["image"],
                "vcpus": vcpus, "memory_mb": ram, "root_gb": disk, "metadata": p.get("metadata") or {},
                "user_data": p.get("user_data") or "", "config_drive": p.get("config_drive", True),
                "state": state}

    @classmethod
    def plan_create(cls, res):
        facts = res.attributes.get("image_facts")
        if not facts:
            raise TemplateError("the image of an OS::Nova::Server is looked up in the image service "
                                "when the request is checked; submit it to the controller",
                                ("resources", res.name, "properties", "image"))
        image_id, fmt = facts["id"], facts["disk_format"]
        base = image_service_url(res)
        cache = task(res, "stratus.cloud.image_cache", {
            "image_id": image_id, "source": f"{base}/images/{image_id}/file",
            "os_hash_algo": facts["os_hash_algo"], "os_hash_value": facts["os_hash_value"],
            "source_format": fmt, "disk_format": fmt, "allowed_sources": [f"{base}/images/"],
            "headers": {tickets.HEADER: ticket(res, image_id, tickets.DOWNLOAD)},
        }, "image", register="stratus_image_cache")
        return [cache, task(res, "stratus.cloud.instance", cls._instance(res, "running"), templated=URI)]

    @classmethod
    def plan_delete(cls, res):
        return [task(res, "stratus.cloud.instance", {"uuid": res.resource_id, "state": "absent"},
                     templated=URI)]

    @classmethod
    def on_state(cls, db, resource):
        from stratus.compute import sync

        sync.on_state(db, resource)

    @classmethod
    def on_job_end(cls, db, resource, job):
        from stratus.compute import settle

        settle.job_ended(db, resource, job)

    @classmethod
    def plan_action(cls, res, action, args):
        planner = ACTION_PLANNERS.get(action)
        if planner is None:
            raise KeyError(action)
        return planner(res, args)


def image_facts(db, res: PlannedResource) -> dict[str, Any]:
    """The facts of the image ``res`` boots from, as the request's project sees it;
    ResourceCheckFailed (400, Nova's words) when it cannot be booted."""
    image_id = str(res.properties.get("image") or "")
    where = ("resources", res.name, "properties", "image")
    image = visible_to_project(db, res.project_id, image_id)
    if image is None:
        raise ResourceCheckFailed(f"Image {image_id} could not be found.", where)
    if image.status != "active":
        raise ResourceCheckFailed(f"Image {image_id} is not active.", where)
    if image.disk_format not in HOST_FORMATS:
        raise ResourceCheckFailed(
            f"Image {image_id} has disk_format {image.disk_format!r}; compute hosts boot "
            f"{' or '.join(HOST_FORMATS)} images: convert it (qemu-img convert -O qcow2) and "
            "upload it as a new image.", where)
    if not image.os_hash_value:
        raise ResourceCheckFailed(f"Image {image_id} has no os_hash_value to verify its data "
                                  "with; upload its data through the image API.", where)
    return {"id": image.id, "disk_format": image.disk_format,
            "os_hash_algo": image.os_hash_algo or "sha512", "os_hash_value": image.os_hash_value,
            "size": image.size or 0, "virtual_size": image.virtual_size or 0,
            "min_disk": image.min_disk or 0, "min_ram": image.min_ram or 0}
