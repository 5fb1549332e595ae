"""``OS::Nova::Server``: a libvirt guest on the compute host placement chose.

Create: the image into the host's image cache, then the ``instance`` module; update of
the flavor resizes in place (the host's capacity is checked again), of the name or
metadata redefines; ``reboot`` is an action; delete removes the guest. The compute API
grows this type (flavors and images from their APIs, NICs, volumes); until then the
flavor names one of Nova's classic flavors and ``image_source`` tells the host where to
fetch the image from.
"""

from __future__ import annotations

from typing import Any

from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import BOOLEAN, MAP, STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType, task

# name: (vcpus, memory_mb, root_gb) — Nova's classic defaults plus two small ones.
FLAVORS: dict[str, tuple[int, int, int]] = {
    "m1.nano": (1, 128, 1),
    "m1.micro": (1, 192, 1),
    "m1.tiny": (1, 512, 1),
    "m1.small": (1, 2048, 20),
    "m1.medium": (2, 4096, 40),
    "m1.large": (4, 8192, 80),
}
# The host's libvirt URI: a host variable, else the system instance.
URI = {"uri": "{{ stratus_libvirt_uri | default('qemu:///system') }}"}


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
        "image": Schema(STRING, "The image id.", required=True),
        "image_source": Schema(STRING, "Where the host fetches the image (a path or URL).", required=True),
        "image_checksum": Schema(STRING, "The image's sha256.", required=True),
        "image_format": Schema(STRING, "The image's disk format.", default="qcow2",
                               allowed_values=("qcow2", "raw")),
        "metadata": Schema(MAP, "Key/value metadata (in the config drive).", default={}, update_allowed=True),
        "user_data": Schema(STRING, "User data for the guest (in the config drive).", default=""),
        "config_drive": Schema(BOOLEAN, "Attach a config drive.", default=True),
    }
    attributes_schema = {
        "host": "The compute host the server runs on.",
        "instance_name": "The libvirt domain name.",
        "power_state": "running, stopped, paused or suspended.",
        "show": "All attributes.",
    }
    actions = {"reboot": "Reboot the guest (args: type=SOFT|HARD)."}

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        if res.properties.get("flavor") not in FLAVORS:
            raise ResourceCheckFailed(
                f"flavor {res.properties.get('flavor')!r} does not exist; use one of {', '.join(FLAVORS)}",
                ("resources", res.name, "properties", "flavor"), status=400)

    @classmethod
    def quota_usage(cls, props):
        vcpus, ram, _ = FLAVORS.get(props.get("flavor"), (0, 0, 0))
        return {"instances": 1, "cores": vcpus, "ram": ram}

    @classmethod
    def host_usage(cls, props):
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
        p = res.properties
        cache = task(res, "stratus.cloud.image_cache",
                     {"image_id": p["image"], "source": p["image_source"], "os_hash_algo": "sha256",
                      "os_hash_value": p["image_checksum"], "disk_format": p.get("image_format") or "qcow2"},
                     "image", register="stratus_image_cache")
        return [cache, task(res, "stratus.cloud.instance", cls._instance(res, "running"), templated=URI)]

    @classmethod
    def plan_delete(cls, res):
        return [task(res, "stratus.cloud.instance", {"uuid": res.resource_id, "state": "absent"},
                     templated=URI)]

    @classmethod
    def plan_action(cls, res, action, args):
        if action != "reboot":
            raise KeyError(action)
        kind = str(args.get("type", "SOFT")).upper()
        if kind not in ("SOFT", "HARD"):
            raise ResourceCheckFailed(f"reboot type {kind!r} must be SOFT or HARD", status=400)
        return [task(res, "stratus.cloud.instance_action",
                     {"uuid": res.resource_id, "action": "reboot", "reboot_type": kind.lower()}, "reboot",
                     templated=URI)]


def resource_mapping():
    return {Server.type_name: Server}
