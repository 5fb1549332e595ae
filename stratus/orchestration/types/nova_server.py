"""``OS::Nova::Server``: a libvirt guest on the compute host placement chose.

Create: the image into the host's image cache, then the ``instance`` module; update of
the flavor resizes in place (the host's capacity is checked again), of the name or
metadata redefines; ``reboot`` and ``snapshot`` are actions; delete removes the guest.

``check`` resolves the flavor (its id, else its name; a private one only for projects
with access, any for cloud admins) into the attribute ``flavor`` (Nova's embedded flavor,
what ``quota_usage``/``host_usage`` and the tasks read), puts the requesting user's key
pair (``key_name``, ``PlanContext.user_id``) into ``keys`` for the config drive, and
writes the server's ``compute_servers`` row when a template rather than ``POST
/servers`` makes it (``stratus.compute.create.ensure_server_row``), so a stack's server
is listed by the compute API. ``scheduling`` gives the scheduler the flavor, the image's
properties, the zone (``zone:host:node`` forces a host for admins) and the group hint.
The guest's hostname in the config drive is the name sanitized as Nova does. Volumes
come with their API; a server boots from a volume with Heat's ``block_device_mapping_v2``
(``stratus.volume.boot``: the root volume resolved by ``check``, the ``instance``
module's ``root_volume``, the attachment recorded when the guest runs).

NICs (``stratus.compute.nics``): ``check`` makes or claims a port per ``networks``
entry, ``on_placed`` binds them on the chosen host and records ``nics``,
``network_data`` and the network service's host state; ``plan_create`` brings the
segments to the host before the guest and plugs the ports with their security after it
(libvirt makes the taps); ``check_delete`` deletes the ports Nova made and unbinds the
others, and ``plan_delete`` unplugs them after the guest is gone. The action
``interfaces`` hot-plugs a changed NIC list (os-interface).

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

from stratus.image.records import visible_to_project
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.properties import BOOLEAN, LIST, MAP, STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType, task
from stratus.orchestration.types.nova_common import (
    ACTION_HELP,
    ACTION_PLANNERS,
    GIB,
    URI,
    image_cache_task,
    shutdown_timeout,
)

# Disk formats the compute hosts boot from (image_cache keeps them as they are).
HOST_FORMATS = ("qcow2", "raw")
# power states (as the instance module reports them) a redefined guest is left off in
STOPPED = ("stopped", "shutoff", "shutdown")


def flavor(attributes: dict[str, Any] | None) -> dict[str, Any]:
    """The server's flavor as ``check`` resolved it (Nova's embedded flavor: id, name,
    vcpus, ram, disk, ephemeral, swap, extra_specs); {} before it is checked."""
    return dict((attributes or {}).get("flavor") or {})


class Server(ResourceType):
    type_name = "OS::Nova::Server"
    description = "A virtual machine (libvirt guest) on a compute host."
    idempotent = True
    properties_schema = {
        "name": Schema(STRING, "The server's display name.", update_allowed=True),
        "flavor": Schema(STRING, "The flavor's id or name (``openstack flavor list``); a private "
                         "flavor only for projects given access.", required=True, update_allowed=True),
        "image": Schema(STRING, "The Glance image id to boot from (active, qcow2 or raw, visible "
                        "to the project); required unless the server boots from a volume."),
        "block_device_mapping_v2": Schema(LIST, "Heat's block device mapping: the root volume as "
                                          "``[{volume_id: <id or get_resource>, boot_index: 0, "
                                          "delete_on_termination: bool}]`` (boot from volume)."),
        "metadata": Schema(MAP, "Key/value metadata (in the config drive).", default={}, update_allowed=True),
        "user_data": Schema(STRING, "User data for the guest (in the config drive).", default=""),
        "config_drive": Schema(BOOLEAN, "Attach a config drive.", default=True),
        "key_name": Schema(STRING, "A key pair of the requesting user; its public key goes into "
                           "the config drive."),
        "availability_zone": Schema(STRING, "The availability zone to place the server in "
                                    "(an admin may add ``:host`` to name the host)."),
        "scheduler_hints": Schema(MAP, "Nova's scheduler hints (``group``: a server group id).", default={}),
        "networks": Schema(LIST, "The server's NICs, Heat's list: each ``{network: <id>[, fixed_ip]}`` "
                           "(a port is made on it), ``{port: <id>}`` (an unused port of the project) "
                           "or ``{allocate_network: auto|none}``; absent: the project's one network."),
        "security_groups": Schema(LIST, "Names or ids of the security groups of the ports made for "
                                  "the server (default: the project's ``default`` group).", default=[]),
    }
    attributes_schema = {
        "host": "The compute host the server runs on.",
        "instance_name": "The libvirt domain name.",
        "power_state": "running, stopped, paused or suspended.",
        "image_facts": "The image it was built from: id, disk_format, os_hash_algo, "
                       "os_hash_value, size, virtual_size, min_disk, min_ram, properties.",
        "flavor": "The flavor as resolved when the server was checked (id, name, vcpus, ram, "
                  "disk, ephemeral, swap, extra_specs).",
        "keys": "The key pair's public key by name (config drive ``public_keys``).",
        "ports": "The server's ports: ``[{id, made}]`` (``made``: deleted with the server).",
        "nics": "The NICs the guest has: port_id, mac, bridge, target (tap), mtu.",
        "network_data": "Nova's network_data.json of the guest's config drive.",
        "show": "All attributes.",
    }
    actions = ACTION_HELP  # filled by nova_actions and nova_moves

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        where = ("resources", res.name, "properties", "flavor")
        fl = resolve_flavor(db, str(res.properties.get("flavor") or ""), res.project_id, where,
                            admin=bool(res.context and res.context.cloud_admin))
        res.attributes["flavor"] = fl
        from stratus.volume import boot

        if boot.resolve(db, res, planned) is not None:
            cls._check_rest(db, res)
            return
        if not res.properties.get("image"):
            raise ResourceCheckFailed("An image (image) or a root volume (block_device_mapping_v2 "
                                      "with boot_index 0) is required.", where[:-1])
        facts = res.attributes.get("image_facts") or image_facts(db, res)
        res.attributes["image_facts"] = facts
        root = fl["disk"] * GIB
        image_bytes = max(facts["size"], facts["virtual_size"])
        if root and image_bytes > root:
            raise ResourceCheckFailed(
                f"Flavor's disk is too small for requested image. Flavor disk is {root} bytes, "
                f"image is {image_bytes} bytes.", where)
        if root and facts["min_disk"] * GIB > root:
            raise ResourceCheckFailed(
                "Flavor's disk is smaller than the minimum size specified in image metadata. "
                f"Flavor disk is {root} bytes, minimum size is {facts['min_disk'] * GIB} bytes.", where)
        if facts["min_ram"] > fl["ram"]:
            raise ResourceCheckFailed("Flavor's memory is too small for requested image.", where)
        cls._check_rest(db, res)

    @classmethod
    def _check_rest(cls, db, res: PlannedResource) -> None:
        """The key pair, the server's row and its ports (every server)."""
        key_name = res.properties.get("key_name")
        if key_name and "keys" not in res.attributes:
            res.attributes["keys"] = {key_name: key_of(db, res, key_name)}
        from stratus.compute import create, nics

        create.ensure_server_row(db, res)
        nics.prepare(db, res)

    @classmethod
    def on_placed(cls, db, res: PlannedResource) -> None:
        from stratus.compute import nics
        from stratus.volume import boot

        boot.check_placed(db, res)
        nics.on_placed(db, res)

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        from stratus.compute import nics

        nics.release(db, res.resource_id, res)

    @classmethod
    def quota_usage(cls, props, attributes=None):
        fl = flavor(attributes)
        return {"instances": 1, "cores": fl.get("vcpus", 0), "ram": fl.get("ram", 0)}

    @classmethod
    def host_usage(cls, props, attributes=None):
        fl = flavor(attributes)
        root = 0 if (attributes or {}).get("root_volume") else fl.get("disk", 0)  # a volume: no local root
        return {"vcpus": fl.get("vcpus", 0), "memory_mb": fl.get("ram", 0),
                "disk_gb": root + fl.get("ephemeral", 0)}

    @classmethod
    def scheduling(cls, db, res: PlannedResource):
        from stratus.compute import create

        return create.request_spec(db, res)

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
        fl = flavor(res.attributes)
        return {"uuid": res.resource_id, "display_name": p.get("name") or res.name,
                "hostname": hostname(p.get("name") or res.name, res.resource_id), "image_id": p.get("image") or "",
                "vcpus": fl["vcpus"], "memory_mb": fl["ram"], "root_gb": fl["disk"],
                "ephemeral_gb": fl.get("ephemeral", 0), "swap_mb": fl.get("swap", 0),
                "metadata": p.get("metadata") or {}, "user_data": p.get("user_data") or "",
                "keys": dict(res.attributes.get("keys") or {}),
                "config_drive": p.get("config_drive", True), "state": state,
                "shutdown_timeout": shutdown_timeout(res), **nic_options(res), **root_volume(res)}

    @classmethod
    def _define(cls, res, state: str):
        """The image into the host's cache, then the guest defined in ``state`` (a guest
        booted from a volume: no image, its root disk the volume)."""
        if res.attributes.get("root_volume"):
            return [task(res, "stratus.cloud.instance", cls._instance(res, state), templated=URI)]
        facts = res.attributes.get("image_facts")
        if not facts:
            raise TemplateError("the image of an OS::Nova::Server is looked up in the image service "
                                "when the request is checked; submit it to the controller",
                                ("resources", res.name, "properties", "image"))
        cache = image_cache_task(res, facts)
        return [cache, task(res, "stratus.cloud.instance", cls._instance(res, state), templated=URI)]

    @classmethod
    def plan_create(cls, res):
        """The guest's bridges (segments) on its host, the guest, then its ports plugged
        with port security (the taps exist once libvirt made them)."""
        from stratus.network import hostplan

        return [*hostplan.recorded_tasks(res, "segments"), *cls._define(res, "running"),
                *hostplan.recorded_tasks(res, "converge")]

    @classmethod
    def plan_update(cls, res, prop_diff):
        """The guest redefined with the new properties (a resize), in the power state it
        is in: a stopped server stays stopped."""
        cls.check_update_allowed(res, prop_diff)
        return cls._define(res, "stopped" if res.attributes.get("power_state") in STOPPED else "running")

    @classmethod
    def plan_delete(cls, res):
        # Nova's delete destroys the guest at once (no clean shutdown), then its ports
        # and the segments no other port needs leave the host
        from stratus.network import hostplan

        return [task(res, "stratus.cloud.instance", {"uuid": res.resource_id, "state": "absent",
                                                     "shutdown_timeout": 0},
                     templated=URI), *hostplan.recorded_tasks(res, "converge")]

    @classmethod
    def locks(cls, res):
        # its jobs and the network service's converge jobs on its networks take turns
        return list(res.attributes.get("networks") or [])

    @classmethod
    def on_state(cls, db, resource):
        from stratus.compute import nics, sync

        sync.on_state(db, resource)
        nics.on_state(db, resource)

    @classmethod
    def on_job_end(cls, db, resource, job):
        from stratus.compute import settle
        from stratus.volume import boot

        settle.job_ended(db, resource, job)
        boot.job_ended(db, resource, job)

    @classmethod
    def plan_action(cls, res, action, args):
        planner = ACTION_PLANNERS.get(action)
        if planner is None:
            raise KeyError(action)
        return planner(res, args)

    # a stack's suspend and resume (Heat's handle_suspend / handle_resume): the guest's
    # own suspend and resume actions
    @classmethod
    def plan_suspend(cls, res):
        return cls.plan_action(res, "suspend", {})

    @classmethod
    def plan_resume(cls, res):
        return cls.plan_action(res, "resume", {})


def nic_options(res: PlannedResource) -> dict[str, Any]:
    """The ``instance`` module's ``nics`` and ``network_data`` of a server with ports
    (none for a server made before it had any: the module keeps what the guest has)."""
    if "nics" not in res.attributes:
        return {}
    nics = [{k: n[k] for k in ("mac", "bridge", "target", "mtu")} for n in res.attributes["nics"]]
    return {"nics": nics, "network_data": res.attributes.get("network_data") or {}}


def root_volume(res: PlannedResource) -> dict[str, Any]:
    """The ``instance`` module's root volume options ({} for a server booted from an image)."""
    from stratus.volume import boot

    return boot.instance_option(res)


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
            "min_disk": image.min_disk or 0, "min_ram": image.min_ram or 0,
            "properties": {p.name: p.value for p in image.properties}}


def resolve_flavor(db, ref: str, project_id: str | None, where: tuple[str, ...], *,
                   admin: bool = False) -> dict[str, Any]:
    """The flavor ``ref`` (its id, else its name) as Nova embeds it in a server;
    ResourceCheckFailed in Nova's words when it does not exist for ``project_id`` (a
    private flavor without access) or is disabled."""
    from sqlalchemy import select

    from stratus.db.models.compute import Flavor, FlavorAccess, FlavorExtraSpec

    row = db.get(Flavor, ref) if ref else None
    if row is None and ref:
        row = db.scalar(select(Flavor).where(Flavor.name == ref))
    if (row is not None and not row.is_public and not admin
            and db.get(FlavorAccess, (row.id, project_id or "")) is None):
        row = None
    if row is None:
        raise ResourceCheckFailed(f"Flavor {ref} could not be found: give the id or name of a flavor "
                                  "the project may use (openstack flavor list).", where)
    if row.disabled:
        raise ResourceCheckFailed(f"Flavor {ref} is disabled.", where)
    specs = {e.key: e.value for e in db.scalars(select(FlavorExtraSpec).where(FlavorExtraSpec.flavor_id == row.id))}
    return {"id": row.id, "name": row.name, "vcpus": row.vcpus, "ram": row.memory_mb, "disk": row.root_gb,
            "ephemeral": row.ephemeral_gb, "swap": row.swap, "extra_specs": specs}


def key_of(db, res: PlannedResource, key_name: str) -> str:
    """The public key of the requesting user's key pair ``key_name`` (Nova's 400)."""
    from sqlalchemy import select

    from stratus.db.models.compute import KeyPair

    user_id = res.context.user_id if res.context else None
    key = db.scalar(select(KeyPair).where(KeyPair.user_id == (user_id or ""), KeyPair.name == key_name))
    if key is None:
        raise ResourceCheckFailed("Invalid key_name provided.",
                                  ("resources", res.name, "properties", "key_name"))
    return key.public_key


def hostname(name: str, server_id: str) -> str:
    """Nova's sanitized hostname of a display name (at most 63 characters, letters,
    digits and hyphens); ``server-<id>`` when nothing is left."""
    import re

    host = re.sub(r"[ _.]", "-", name.encode("ascii", "ignore").decode())
    host = re.sub(r"[^\w-]+", "", host).lower().strip("-")[:63].rstrip("-")
    return host or f"server-{server_id}"
