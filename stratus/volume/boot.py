"""Boot from volume: the volumes of a server's block device mapping (Nova's
``block_device_mapping_v2``) and how the server's guest reaches its root volume.

The way of one ``POST /servers`` that boots from a volume:

- :func:`parse` checks the mapping as Nova does (``nova/block_device.py``,
  ``nova/compute/api.py:_validate_bdm``; Nova's words and its 400s): one root entry at
  ``boot_index`` 0, either ``source_type=image`` + ``destination_type=volume`` +
  ``volume_size`` (Nova makes the volume from the image) or ``source_type=volume`` +
  ``uuid`` (an existing volume); ``delete_on_termination`` (default false). ``imageRef``
  is then empty (the server's ``image`` is ``""``), as the clients send it.
- :func:`check_request` (the compute service, before the submit): an existing volume must
  be the project's (``Block Device Mapping is Invalid: failed to get volume …``),
  ``available`` and bootable.
- :func:`template` adds, for an image, an ``OS::Cinder::Volume`` (size, image) per server
  and gives the ``OS::Nova::Server`` Heat's ``block_device_mapping_v2`` property
  ``[{volume_id: {get_resource: <volume>}, boot_index: 0, delete_on_termination}]``,
  so the server depends on its volume: the volume is scheduled, made (the image fetched
  into the storage host's cache and converted), then the guest defined on it. A Heat
  stack may write the same property by hand.
- ``OS::Nova::Server.check`` calls :func:`resolve`: the root volume (planned in the same
  template, or recorded) is recorded in the server's attribute ``root_volume``
  (id, host, backend, format, delete_on_termination); an existing volume is
  ``reserved`` so no other server takes it meanwhile. The scheduler is sent to the
  volume's storage host (:func:`storage_host`: the host must also be a compute host;
  else "No valid host": an NBD export for a root disk is not done yet);
  :func:`check_placed` refuses any other host (an admin's forced one) and records the
  local path (the storage host's registered
  variables); :func:`instance_option` is the ``instance`` module's ``root_volume``.
- ``OS::Nova::Server.on_job_end`` calls :func:`job_ended`: once the guest runs the root
  volume is recorded as the server's attachment (``attachments.record_boot``,
  ``/dev/vda``: ``in-use``, listed in ``os-extended-volumes:volumes_attached``); a failed
  build gives a reserved volume back (``available``).

Deleting the server (``stratus.compute.servers.delete``) detaches its attachments and
deletes the volumes whose attachment says ``delete_on_termination`` once the guest is
gone (``attachments.detach_all_for_server`` / ``delete_on_termination``); the others
become ``available`` again (``attachments.server_gone``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from stratus.errors import BadRequest

ROOT_DEVICE = "/dev/vda"
SOURCES = ("volume", "image", "snapshot", "blank")
DESTINATIONS = ("local", "volume")
_KEYS = {"uuid", "source_type", "destination_type", "boot_index", "delete_on_termination", "volume_size",
         "device_name", "device_type", "disk_bus", "guest_format", "no_device", "tag", "volume_type"}
BOOT_SEQUENCE = "Boot sequence for the instance and image/block device mapping combination is not valid."


@dataclass(frozen=True)
class BootVolume:
    """The root entry of a block device mapping that boots from a volume."""

    source: str  # image | volume
    uuid: str  # the image or the volume
    size: int | None = None  # GiB of the volume made from the image
    delete_on_termination: bool = False
    volume_type: str | None = None


def _invalid(details: str) -> BadRequest:
    return BadRequest(f"Block Device Mapping is Invalid: {details}")


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _bool(value: Any, field: str) -> bool:
    from stratus.compute.validation import as_bool, bad, boolean_type

    if value not in boolean_type["enum"]:
        bad(field, value, f"{value!r} is not of type 'boolean'")
    return as_bool(value)


def _entry(bdm: Any, version) -> dict[str, Any]:
    """One mapping checked in form (Nova's schema and ``BlockDeviceDict.from_api``)."""
    from stratus.compute.validation import bad, check_unknown

    if not isinstance(bdm, dict):
        bad("block_device_mapping_v2", bdm, "It is not of type 'object'.")
    check_unknown(bdm, _KEYS)
    if "tag" in bdm:
        bad("tag", bdm["tag"], "Device tags are not supported: leave tag out.")
    if "volume_type" in bdm and version < (2, 67):
        bad("block_device_mapping_v2", bdm, "Additional properties are not allowed ('volume_type' was "
            "unexpected): volume_type needs microversion 2.67.")
    if bdm.get("no_device"):
        return dict(bdm)
    source = bdm.get("source_type")
    if source not in SOURCES:
        raise _invalid("Invalid source_type field.")
    dest = bdm.get("destination_type", "volume" if source == "volume" else "local")
    if dest not in DESTINATIONS:
        bad("destination_type", dest, f"{dest!r} is not one of {list(DESTINATIONS)}")
    if source == "blank" and bdm.get("uuid"):
        raise _invalid("Invalid device UUID.")
    if source != "blank" and not bdm.get("uuid"):
        raise _invalid("Missing device UUID.")
    if source != "blank" and not _is_uuid(bdm["uuid"]):
        bad("uuid", bdm["uuid"], "It is not a UUID.")
    out = dict(bdm, source_type=source, destination_type=dest)
    boot_index = bdm.get("boot_index")
    if boot_index is None or boot_index == "none":
        out["boot_index"] = None
    else:
        try:
            out["boot_index"] = int(boot_index)
        except (TypeError, ValueError):
            raise _invalid("Boot index is invalid.") from None
    if bdm.get("volume_size") is not None:
        try:
            size = int(bdm["volume_size"])
        except (TypeError, ValueError):
            size = -1
        if size < 0 or isinstance(bdm["volume_size"], bool):
            raise _invalid("Invalid volume_size.")
        out["volume_size"] = size
    out["delete_on_termination"] = _bool(bdm.get("delete_on_termination", False), "delete_on_termination")
    return out


def parse(server: dict, image: str, max_count: int, version) -> BootVolume | None:
    """The root volume of ``server``'s ``block_device_mapping_v2``; None for a plain image
    boot (no mapping, or the image's own ``image`` → ``local`` entry). BadRequest in
    Nova's words for what Nova refuses, and for what Stratus does not do (say which)."""
    if "block_device_mapping" in server:
        from stratus.compute.validation import bad

        bad("block_device_mapping", server["block_device_mapping"],
            "The legacy block device mapping is not supported: use block_device_mapping_v2 "
            "(openstack server create --volume/--boot-from-volume sends it).")
    bdms = server.get("block_device_mapping_v2")
    if bdms is None:
        return None
    if not isinstance(bdms, list):
        from stratus.compute.validation import bad

        bad("block_device_mapping_v2", bdms, "It is not of type 'array'.")
    entries = [_entry(b, version) for b in bdms]
    entries = [e for e in entries if not e.get("no_device")]
    roots = [e for e in entries if e.get("boot_index") == 0]
    if len(roots) > 1 or (not roots and entries and not image):
        raise BadRequest(BOOT_SEQUENCE)
    for e in entries:
        if e.get("boot_index") not in (0, None, -1) and e["boot_index"] < 0:
            raise BadRequest(BOOT_SEQUENCE)
    others = [e for e in entries if e.get("boot_index") != 0]
    if others:
        raise BadRequest("Only the root disk may be given in block_device_mapping_v2 here: attach "
                         "further volumes after the server is built (openstack server add volume); "
                         "ephemeral and swap disks come from the flavor.")
    if not roots:
        return None
    root = roots[0]
    source, dest = root["source_type"], root["destination_type"]
    if source == "image" and dest == "local":
        if not image:  # Nova: only the mapping the clients make of imageRef
            raise _invalid("Mapping image to local is not supported.")
        if root["uuid"] != image:
            raise BadRequest(BOOT_SEQUENCE)
        return None  # the plain image boot
    if image and not (source == "image" and root["uuid"] == image):
        raise BadRequest(f"{BOOT_SEQUENCE} Give either imageRef or a root volume (boot_index 0), "
                         "not both.")
    if source == "image":
        if not root.get("volume_size"):
            raise BadRequest("Images with destination_type 'volume' need to have a non-zero size specified")
        return BootVolume("image", root["uuid"], root["volume_size"], root["delete_on_termination"],
                          root.get("volume_type"))
    if source == "volume":
        if dest != "volume":
            raise _invalid("Mapping a volume to local is not supported: give destination_type volume.")
        if max_count > 1:
            raise BadRequest("Cannot attach one or more volumes to multiple instances")
        return BootVolume("volume", root["uuid"].lower(), None, root["delete_on_termination"])
    if source == "snapshot":
        raise BadRequest("Booting from a volume snapshot is not supported: create a volume from the "
                         "snapshot (openstack volume create --snapshot) and boot from that volume.")
    raise BadRequest(BOOT_SEQUENCE)  # a blank root disk has nothing to boot


def check_request(db: Session, ctx, boot: BootVolume | None) -> None:
    """Before the submit: an existing root volume is the project's, ``available`` and
    bootable (Nova's 400s); nothing to check for one made from an image (its type checks
    the image)."""
    if boot is None or boot.source != "volume":
        return
    volume_usable(db, ctx.project_id, boot.uuid, admin=ctx.is_admin)


def volume_usable(db: Session, project_id: str | None, volume_id: str, *, admin: bool = False):
    """The volume as a root disk: the project's (an admin's request: any), ``available``,
    bootable; BadRequest in Nova's words otherwise."""
    from stratus.db.models.volume import Volume

    vol = db.get(Volume, volume_id)
    if vol is None or (not admin and vol.project_id != project_id):
        raise _invalid(f"failed to get volume {volume_id}.")
    if vol.status != "available":
        raise BadRequest(f"Invalid volume: volume '{volume_id}' status must be 'available'. "
                         f"Currently in '{vol.status}'")
    if not vol.bootable:
        raise BadRequest(f"Block Device {volume_id} is not bootable.")
    return vol


# -- the template ------------------------------------------------------------------------


def volume_name(server_res: str) -> str:
    """The template name of the volume a server boots from (made from an image)."""
    return f"{server_res}-root-volume"


def template(boot: BootVolume | None, server_res: str, server_name: str,
             zone: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(extra resources, extra server properties) for a server that boots from ``boot``."""
    if boot is None:
        return {}, {}
    if boot.source == "volume":
        ref: Any = boot.uuid
        extra: dict[str, Any] = {}
    else:
        name = volume_name(server_res)
        props: dict[str, Any] = {"size": boot.size, "image": boot.uuid, "name": ""}
        if boot.volume_type:
            props["volume_type"] = boot.volume_type
        if zone:
            props["availability_zone"] = zone
        extra = {name: {"type": "OS::Cinder::Volume", "properties": props}}
        ref = {"get_resource": name}
    bdm = [{"volume_id": ref, "boot_index": 0, "delete_on_termination": boot.delete_on_termination}]
    return extra, {"block_device_mapping_v2": bdm}


# -- OS::Nova::Server's hooks -------------------------------------------------------------


def root_entry(props: dict[str, Any]) -> dict[str, Any] | None:
    """The ``block_device_mapping_v2`` entry at boot index 0 with a volume (Heat's form)."""
    for e in props.get("block_device_mapping_v2") or ():
        if isinstance(e, dict) and str(e.get("boot_index", 0)) == "0" and e.get("volume_id"):
            return e
    return None


def resolve(db: Session, res, planned: dict | None = None) -> dict[str, Any] | None:
    """``OS::Nova::Server.check``: the root volume into ``res.attributes["root_volume"]``
    (id, host, backend, format, delete_on_termination); None when the server boots from
    an image. A volume planned in the same template is read from ``planned`` (its type's
    check ran first: the server depends on it); a recorded one must be usable
    (:func:`volume_usable`) and becomes ``reserved``. Refusals are ResourceCheckFailed."""
    from stratus.errors import ApiError
    from stratus.orchestration.errors import ResourceCheckFailed

    entry = root_entry(res.properties)
    if entry is None:
        return None
    where = ("resources", res.name, "properties", "block_device_mapping_v2")
    known = res.attributes.get("root_volume")
    if known:  # an update of an existing server: it keeps its root volume
        return known
    volume_id = str(entry["volume_id"])
    other = (planned or {}).get(volume_id)
    if other is not None and other.type == "OS::Cinder::Volume" and other is not res:
        attrs = other.attributes
        root = {"id": volume_id, "host": attrs.get("host"), "backend": attrs.get("backend"),
                "format": attrs.get("format") or "raw"}
    else:
        admin = bool(res.context and res.context.cloud_admin)
        try:
            vol = volume_usable(db, res.project_id, volume_id, admin=admin)
        except ApiError as exc:
            raise ResourceCheckFailed(exc.message, where) from None
        vol.status = "reserved"
        db.flush()
        root = {"id": vol.id, "host": vol.host, "backend": vol.backend, "format": vol.format or "raw"}
    if not root["host"] or not root["backend"]:
        raise ResourceCheckFailed(f"volume {volume_id} has no storage host yet; wait until it is "
                                  "available and boot from it then", where)
    root["delete_on_termination"] = bool(entry.get("delete_on_termination"))
    res.attributes["root_volume"] = root
    return root


VOLUME_BACKED = {
    "snapshot": "Snapshots of a server booted from a volume are not supported: snapshot its volume "
                "(openstack volume snapshot create) or upload the volume as an image (openstack image "
                "create --volume).",
    "rebuild": "Unable to rebuild a volume-backed server: its root disk is a volume; create a new "
               "server (openstack server create --boot-from-volume) instead.",
}


def refuse_volume_backed(resource, what: str) -> None:
    """The server actions that work on an image-backed root disk (``snapshot`` for
    createImage and shelve, ``rebuild``) refuse a server booted from a volume (400)."""
    if resource is not None and (resource.attributes or {}).get("root_volume"):
        raise BadRequest(VOLUME_BACKED[what])


def storage_host(res) -> str | None:
    """The host a server booted from a volume must run on (its root volume's storage
    host: the guest opens the volume there), for the scheduler; None otherwise."""
    root = res.attributes.get("root_volume")
    return root["host"] if root else None


# the block_storage role's defaults of the backends' host variables (cinder_common.BACKEND)
DEFAULT_DIR, DEFAULT_VG = "/var/lib/stratus/volumes", "stratus-volumes"


def check_placed(db: Session, res) -> None:
    """``OS::Nova::Server.on_placed``: the guest reaches its root volume as a local path on
    the volume's backend, so the compute host must be the volume's storage host; the
    path (from the storage host's registered variables, as the volume modules take them)
    is recorded as the root volume's ``connection``, with the backends' ``volume_roots``."""
    from stratus.db.models.hosts import Host
    from stratus.orchestration.errors import ResourceCheckFailed

    root = res.attributes.get("root_volume")
    if not root or not res.hosts:
        return
    if res.hosts[0] != root["host"]:
        raise ResourceCheckFailed(
            f"the root volume {root['id']} lives on storage host {root['host']} and the server was "
            f"placed on {res.hosts[0]}: booting from a volume of another host (an NBD export) is not "
            f"supported yet; boot in the volume's zone on a host that is both (admins: "
            f"availability_zone <zone>:{root['host']})",
            ("resources", res.name, "properties", "block_device_mapping_v2"))
    host = db.get(Host, root["host"])
    hv = dict(host.vars or {}) if host is not None else {}
    directory = str(hv.get("stratus_volume_dir") or DEFAULT_DIR).rstrip("/")
    vg = str(hv.get("stratus_volume_vg") or DEFAULT_VG)
    vid = str(uuid.UUID(root["id"]))
    path = f"/dev/{vg}/volume-{vid}" if root["backend"] == "lvm" else f"{directory}/volume-{vid}"
    fmt = root.get("format") if root.get("format") in ("raw", "qcow2") else "raw"
    root["connection"] = {"driver_volume_type": "local", "path": path, "format": fmt}
    root["volume_roots"] = [directory, f"/dev/{vg}"]


def instance_option(res) -> dict[str, Any]:
    """The ``instance`` module's ``root_volume`` and ``volume_roots`` for ``res`` ({} when
    it boots from an image): every task of the guest (create, power, resize, NICs) names
    its root disk."""
    root = res.attributes.get("root_volume")
    if not root or not root.get("connection"):
        return {}
    return {"root_volume": {"serial": root["id"], "connection": dict(root["connection"])},
            "volume_roots": list(root["volume_roots"])}


def job_ended(db: Session, resource, job) -> None:
    """``OS::Nova::Server.on_job_end``: when the job that built the guest ends with it
    running, its root volume is its attachment (``/dev/vda``, ``in-use``). At the job's
    end, not at the server's ACTIVE: the volume made in the same job is ``available`` by
    then whatever order the job's resources settle in. A failed build gives a volume it
    reserved back (``available``)."""
    from stratus.db.models.jobs import ACTIVE, ERROR
    from stratus.db.models.volume import Volume
    from stratus.volume import attachments

    root = (resource.attributes or {}).get("root_volume")
    if not root or job.kind != "template":
        return
    vol = db.get(Volume, root["id"])
    if vol is None:
        return
    if resource.status == ACTIVE:
        host = (resource.attributes or {}).get("host") or (resource.hosts[0] if resource.hosts else None)
        attachments.record_boot(db, server_id=resource.id, volume=vol, host=host,
                                connection=root.get("connection"),
                                delete_on_termination=bool(root.get("delete_on_termination")))
    elif resource.status == ERROR and vol.status == "reserved":
        vol.status = "available"
        db.flush()
