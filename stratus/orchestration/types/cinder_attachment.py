"""``OS::Cinder::VolumeAttachment``: a volume attached to a server.

The attachment spans two hosts. The play runs on the server's compute host (and names
the volume's storage host too, so that it is in the job's inventory):

1. when the storage host is another host, ``volume_export`` runs there
   (``delegate_to``) for this attachment: an NBD export that only the compute host's
   storage address (``stratus_storage_ip``) may reach; its ``export.connection`` is
   what the next task takes;
2. ``volume_attachment`` on the compute host makes the volume a disk of the guest
   (``instance-<server id>``), live and persistent, as device ``mountpoint``; on the
   same host it opens the volume on the host's own backend.

Both run in a block whose rescue removes the disk and the export and then fails with
the reason: a failure on either side leaves neither half. The delete removes the disk,
then the export. Its jobs lock the volume and the server (attach, detach, the server's
own jobs and the volume's take turns).

``check`` resolves the volume and the server (the project's; Cinder's and Nova's
404s), writes the attachment row when a template rather than the API makes it
(``stratus.volume.attachments.ensure_row``) and chooses the mountpoint when none is
given (``attachments.choose_device``: the name the guest will see). ``on_placed``
records the hosts (the server's, and the volume's ``host``/``backend``). ``on_state``
keeps the row and the volume's status in step (``attachments.on_state``): attaching
→ in-use, detaching → available. ``realize`` records the device the module reported
(the mountpoint) and the export's connection.
"""

from __future__ import annotations

import re
from typing import Any

from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.functions import jinja_literal
from stratus.orchestration.properties import STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType, register_var, task
from stratus.orchestration.types.cinder_common import BACKEND, USAGE

# planned servers of the same template, by attachment id, between check and placement
_PENDING_SERVERS: dict[str, PlannedResource] = {}


def on_host(templated: dict[str, str], host: str) -> dict[str, str]:
    """Templated module options (``{{ stratus_x | default(...) }}``) read from ``host``'s
    variables: a delegated task is templated with the play host's variables, not the
    delegate's."""
    ref = f"hostvars[{jinja_literal(host)}]"
    return {k: re.sub(r"\{\{ (stratus_\w+)", lambda m: f"{{{{ {ref}[{jinja_literal(m.group(1))}]", v)
            for k, v in templated.items()}


def _storage_ip(host: str) -> str:
    ref = f"hostvars[{jinja_literal(host)}]"
    return f"{ref}['stratus_storage_ip'] | default({ref}['ansible_host'] | default('127.0.0.1'))"


class VolumeAttachment(ResourceType):
    type_name = "OS::Cinder::VolumeAttachment"
    description = "A volume attached to a server (a disk of its guest, through an export when remote)."
    idempotent = True
    properties_schema = {
        "volume_id": Schema(STRING, "The volume to attach (``available``, or ``in-use`` and multiattach).",
                            required=True),
        "instance_uuid": Schema(STRING, "The server to attach it to (on a compute host).", required=True),
        "mountpoint": Schema(STRING, "The device the guest sees (``/dev/vdb``); unset: the next free one."),
    }
    attributes_schema = {
        "device": "The device of the volume in the guest (``/dev/vdb``).",
        "compute_host": "The server's compute host.",
        "storage_host": "The volume's storage host.",
        "backend": "The volume's backend on the storage host (``file``, ``lvm``).",
        "multiattach": "Whether the volume may be attached to several servers.",
        "connection": "How the compute host reaches the volume (the export's connection; {} on the same host).",
        "show": "All attributes.",
    }

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        from stratus.db.models.compute import Server
        from stratus.db.models.volume import Volume
        from stratus.errors import ApiError
        from stratus.volume import attachments

        if db is None:
            raise ResourceCheckFailed(f"{cls.type_name} needs the controller's records: submit the "
                                      "template to its API")
        where = ("resources", res.name, "properties")
        volume_id = str(res.properties.get("volume_id") or "")
        server_id = str(res.properties.get("instance_uuid") or "")
        vol = db.get(Volume, volume_id)
        if vol is None or (res.project_id is not None and vol.project_id != res.project_id):
            raise ResourceCheckFailed(f"Volume {volume_id} could not be found.", (*where, "volume_id"), 404)
        server = db.get(Server, server_id)
        if server is None or server.deleted or (res.project_id is not None and server.project_id != res.project_id):
            raise ResourceCheckFailed(f"Instance {server_id} could not be found.", (*where, "instance_uuid"), 404)
        same_request = (planned or {}).get(server_id)
        if same_request is not None and not server.host:
            _PENDING_SERVERS[res.resource_id] = same_request
        elif not server.host:
            raise ResourceCheckFailed(f"Instance {server_id} is not on a compute host: attach the volume once "
                                      "the server is built", (*where, "instance_uuid"), 409)
        vol_planned = (planned or {}).get(volume_id)
        host = vol.host or (vol_planned.attributes.get("host") if vol_planned else None)
        backend = vol.backend or (vol_planned.attributes.get("backend") if vol_planned else None)
        if not host or not backend:
            raise ResourceCheckFailed(f"Volume {volume_id} is on no storage host (status {vol.status}): "
                                      "attach it once it is available", (*where, "volume_id"), 400)
        mountpoint = res.properties.get("mountpoint") or attachments.choose_device(db, server,
                                                                                   exclude=res.resource_id)
        try:
            attachments.ensure_row(db, attachment_id=res.resource_id, volume=vol, server=server,
                                   mountpoint=mountpoint, same_request=vol_planned is not None)
        except ApiError as exc:
            raise ResourceCheckFailed(exc.message, (*where, "volume_id"), exc.status) from None
        from stratus.volume.qos_apply import qos_iotune

        res.attributes.update(storage_host=host, backend=backend, multiattach=bool(vol.multiattach),
                              device=mountpoint, compute_host=server.host, iotune=qos_iotune(db, vol))

    @classmethod
    def hosts(cls, db, res: PlannedResource) -> list[str]:
        server = _PENDING_SERVERS.pop(res.resource_id, None)
        if server is not None:
            res.attributes["compute_host"] = server.hosts[0]
        compute, storage = res.attributes["compute_host"], res.attributes["storage_host"]
        return [compute] if storage == compute else [compute, storage]

    @classmethod
    def locks(cls, res: PlannedResource) -> list[str]:
        return [str(res.properties.get("volume_id") or ""), str(res.properties.get("instance_uuid") or "")]

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        """A stack's delete moves the row to ``detaching`` (the API's detach did already)."""
        from stratus.db.models.volume import VolumeAttachment as Row
        from stratus.volume import attachments

        row = db.get(Row, res.resource_id) if db is not None else None
        if row is not None and row.attach_status != "detaching":
            row.attach_status = "detaching"
            db.flush()
            attachments.settle_volume(db, row.volume_id)

    @classmethod
    def realize(cls, result: dict[str, Any], host: str | None = None) -> dict[str, Any]:
        if isinstance(result.get("export"), dict) and result["export"].get("connection"):
            return {"connection": result["export"]["connection"]}
        if "device" in result and "attachment" in result:
            return {"device": result.get("device") or ""} if result.get("device") else {}
        return {}

    @classmethod
    def on_state(cls, db, resource) -> None:
        from stratus.volume import attachments

        attachments.on_state(db, resource)

    @classmethod
    def on_job_end(cls, db, resource, job) -> None:
        from stratus.volume import attachments

        attachments.on_job_end(db, resource, job)

    # -- tasks ----------------------------------------------------------------------------

    @classmethod
    def _parts(cls, res: PlannedResource, state: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """(the export task or None on the same host, the guest's disk task)."""
        a = res.attributes
        compute, storage = a["compute_host"], a["storage_host"]
        volume_id = str(res.properties["volume_id"])
        disk_args: dict[str, Any] = {"instance": f"instance-{res.properties['instance_uuid']}",
                                     "volume_id": volume_id, "state": state}
        export = None
        templated = {**USAGE}
        if state == "present":
            disk_args["device"] = str(a.get("device") or res.properties.get("mountpoint") or "").removeprefix("/dev/")
            disk_args["multiattach"] = bool(a.get("multiattach"))
            if a.get("iotune"):  # the type's front-end QoS specs, as libvirt <iotune>
                disk_args["iotune"] = dict(a["iotune"])
        if storage == compute:
            disk_args["backend"] = a["backend"]
            templated.update(BACKEND)
        else:
            export_args: dict[str, Any] = {"volume_id": volume_id, "attachment_id": res.resource_id,
                                           "backend": a["backend"], "state": state}
            export_templated = on_host({**BACKEND, **USAGE}, storage)
            if state == "present":
                export_templated.update(
                    host="{{ " + _storage_ip(storage) + " }}",
                    allowed="{{ [" + _storage_ip(compute) + "] }}",
                    netns="{{ " + f"hostvars[{jinja_literal(storage)}]['stratus_storage_netns'] | default('')"
                    + " }}")
                templated["connection"] = "{{ " + _export_var(res) + ".export.connection }}"
            else:
                export_templated["netns"] = ("{{ " + f"hostvars[{jinja_literal(storage)}]"
                                             "['stratus_storage_netns'] | default('') }}")
            export = task(res, "stratus.cloud.volume_export", export_args, f"export on {storage}",
                          templated=export_templated, delegate_to=storage, register=_export_var(res))
        disk = task(res, "stratus.cloud.volume_attachment", disk_args, f"disk of the guest on {compute}",
                    templated=templated)
        return export, disk

    @classmethod
    def plan_create(cls, res: PlannedResource) -> list[dict[str, Any]]:
        """The export (delegated to the storage host) then the disk, in a block whose
        rescue takes both away again and fails with the reason."""
        export, disk = cls._parts(res, "present")
        undo_export, undo_disk = cls._parts(res, "absent")
        for undo in (undo_export, undo_disk):
            if undo is not None:
                undo["name"] = f"{undo['name']} (undo)"
                undo["ignore_errors"] = True
                undo["register"] = register_var(res.name) + "_undo"
        fail = {"name": f"{res.name}: failed, both halves removed",
                "ansible.builtin.fail": {"msg": "attaching the volume failed: {{ ansible_failed_result.msg"
                                         " | default('unknown error') }} (the disk and the export were removed)"},
                "tags": [res.name]}
        return [{"name": f"{res.name}: attach", "block": [t for t in (export, disk) if t is not None],
                 "rescue": [undo_disk, *([undo_export] if undo_export is not None else []), fail],
                 "when": f"inventory_hostname == {jinja_literal(res.attributes['compute_host'])}",
                 "tags": [res.name]}]

    @classmethod
    def plan_delete(cls, res: PlannedResource) -> list[dict[str, Any]]:
        """The disk taken from the guest, then the export removed."""
        export, disk = cls._parts(res, "absent")
        return [{"name": f"{res.name}: detach", "block": [t for t in (disk, export) if t is not None],
                 "when": f"inventory_hostname == {jinja_literal(res.attributes['compute_host'])}",
                 "tags": [res.name]}]


def _export_var(res: PlannedResource) -> str:
    return register_var(res.name) + "_export"
