"""The server document Nova answers, at every microversion from 2.1 to 2.79.

:func:`server` is ``GET /servers/{id}`` (and each entry of ``/servers/detail``);
:func:`brief` an entry of ``GET /servers``. Keys by microversion (Nova's
``views/servers.py`` and ``rest_api_version_history.rst``):

- always: id, name, status, tenant_id, user_id, metadata, hostId, image, flavor,
  created, updated, addresses, accessIPv4/6, links, key_name, config_drive, progress
  (while building or moving), the ``OS-EXT-STS``/``OS-EXT-AZ``/``OS-DCF``/``OS-SRV-USG``
  keys, ``os-extended-volumes:volumes_attached`` (the server's volume attachment rows,
  whatever their status, as Nova lists its block device mappings), and for admins the
  ``OS-EXT-SRV-ATTR`` host, hypervisor_hostname and instance_name;
- 2.3: the other ``OS-EXT-SRV-ATTR`` keys for admins (reservation_id, launch_index,
  kernel_id, ramdisk_id, hostname, root_device_name, user_data) and
  ``delete_on_termination`` in volumes_attached;
- 2.9 ``locked``; 2.16 ``host_status`` (admins); 2.19 ``description``; 2.26 ``tags``;
  2.47 the flavor embedded (original_name, vcpus, ram, disk, ephemeral, swap,
  extra_specs) instead of a link; 2.63 ``trusted_image_certificates``; 2.71
  ``server_groups``; 2.73 ``locked_reason``;
- ``fault`` only in ERROR or DELETED, its ``details`` for admins or when the code is
  not 500;
- ``PUT /servers/{id}`` answers without the extension keys before 2.75 (:meth:`View.updated`).

``addresses``: the fixed IPs of the server's ports by network name, each with the
floating IPs associated with it (``stratus.compute.nics.addresses``, one query per page).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.compute import states
from stratus.db.models.compute import ComputeService, Server, ServerGroupMember, ServerTag
from stratus.db.models.volume import VolumeAttachment

# Nova shows progress only while the server is in one of these statuses.
_PROGRESS = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}


_NOT_IN_OLD_UPDATE = {"config_drive", "key_name", "host_status", "server_groups",
                      "os-extended-volumes:volumes_attached"}
_NOT_IN_OLD_UPDATE_PREFIXES = ("OS-EXT-AZ:", "OS-EXT-SRV-ATTR:", "OS-EXT-STS:", "OS-SRV-USG:")


class View:
    """What every server document of one request needs: the version, whether the caller
    is an admin, the compute service root for links, and the DB for the extras (tags,
    groups, host status) read once for a page of servers."""

    def __init__(self, db: Session, version, *, admin: bool, base_url: str,
                 default_zone: str = "nova") -> None:
        self.db = db
        self.version = version
        self.admin = admin
        self.default_zone = default_zone  # the zone of a placed server's host in no zone
        self.root = f"{base_url}/compute"  # links: <root>/v2.1/... (self), <root>/... (bookmark)

    def links(self, kind: str, item_id: str, project_id: str | None = None) -> list[dict[str, str]]:
        path = f"{project_id}/{kind}/{item_id}" if project_id else f"{kind}/{item_id}"
        return [{"rel": "self", "href": f"{self.root}/v2.1/{path}"},
                {"rel": "bookmark", "href": f"{self.root}/{path}"}]

    def bookmark(self, kind: str, item_id: str) -> list[dict[str, str]]:
        return [{"rel": "bookmark", "href": f"{self.root}/{kind}/{item_id}"}]

    # -- the documents ---------------------------------------------------------------
    def brief(self, s: Server) -> dict[str, Any]:
        return {"id": s.id, "name": s.name, "links": self.links("servers", s.id)}

    def servers(self, rows: list[Server]) -> list[dict[str, Any]]:
        """Detailed documents for a page of servers (extras read in one query each)."""
        extras = self._extras([s.id for s in rows], {s.host for s in rows if s.host})
        return [self._server(s, extras) for s in rows]

    def server(self, s: Server) -> dict[str, Any]:
        return self.servers([s])[0]

    def updated(self, s: Server) -> dict[str, Any]:
        """``PUT /servers/{id}``'s answer: before 2.75 without the extension keys
        (zone, config drive, key name, extended status/attributes/volumes, usage, host
        status, server groups); from 2.75 the full document."""
        doc = self.server(s)
        if self.version >= (2, 75):
            return doc
        return {k: v for k, v in doc.items()
                if k not in _NOT_IN_OLD_UPDATE and not k.startswith(_NOT_IN_OLD_UPDATE_PREFIXES)}

    def _server(self, s: Server, extras: dict[str, Any]) -> dict[str, Any]:
        v = self.version
        status = states.status(s.vm_state, s.task_state)
        doc: dict[str, Any] = {
            "id": s.id, "name": s.name, "status": status,
            "tenant_id": s.project_id, "user_id": s.user_id,
            "metadata": dict(s.metadata_ or {}),
            "hostId": host_id(s.project_id, s.host),
            "image": ({"id": s.image_id, "links": self.bookmark("images", s.image_id)}
                      if s.image_id else ""),
            "flavor": self._flavor(s.flavor or {}, s.flavor_id),
            "created": api_time(s.created_at), "updated": api_time(s.updated_at),
            "addresses": extras["addresses"].get(s.id, {}),
            "accessIPv4": s.access_ip_v4 or "", "accessIPv6": s.access_ip_v6 or "",
            "links": self.links("servers", s.id),
            "OS-DCF:diskConfig": (s.system_metadata or {}).get("disk_config", "MANUAL"),
            "key_name": s.key_name,
            "config_drive": "True" if s.config_drive else "",
            "OS-EXT-AZ:availability_zone": s.availability_zone or (self.default_zone if s.host else ""),
            "OS-EXT-STS:vm_state": s.vm_state,
            "OS-EXT-STS:task_state": s.task_state,
            "OS-EXT-STS:power_state": s.power_state,
            "OS-SRV-USG:launched_at": usage_time(s.launched_at),
            "OS-SRV-USG:terminated_at": usage_time(s.terminated_at),
            "os-extended-volumes:volumes_attached": [
                {"id": a.volume_id, "delete_on_termination": bool(a.delete_on_termination)} if v >= (2, 3)
                else {"id": a.volume_id} for a in extras["volumes"].get(s.id, [])],
        }
        if status in _PROGRESS:
            doc["progress"] = s.progress or 0
        if self.admin:
            doc.update({
                "OS-EXT-SRV-ATTR:host": s.host,
                "OS-EXT-SRV-ATTR:hypervisor_hostname": s.node,
                "OS-EXT-SRV-ATTR:instance_name": f"instance-{s.id}",
            })
            if v >= (2, 3):
                doc.update({
                    "OS-EXT-SRV-ATTR:reservation_id": s.reservation_id,
                    "OS-EXT-SRV-ATTR:launch_index": s.launch_index,
                    "OS-EXT-SRV-ATTR:kernel_id": "",
                    "OS-EXT-SRV-ATTR:ramdisk_id": "",
                    "OS-EXT-SRV-ATTR:hostname": s.hostname,
                    "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                    "OS-EXT-SRV-ATTR:user_data": s.user_data,
                })
        fault = self._fault(s)
        if fault is not None:
            doc["fault"] = fault
        if v >= (2, 9):
            doc["locked"] = bool(s.locked)
        if v >= (2, 16) and self.admin:
            doc["host_status"] = extras["host_status"].get(s.host, "") if s.host else ""
        if v >= (2, 19):
            doc["description"] = s.description
        if v >= (2, 26):
            doc["tags"] = extras["tags"].get(s.id, [])
        if v >= (2, 63):
            doc["trusted_image_certificates"] = None
        if v >= (2, 71):
            group = extras["groups"].get(s.id)
            doc["server_groups"] = [group] if group else []
        if v >= (2, 73):
            doc["locked_reason"] = s.locked_reason if s.locked else None
        return doc

    def _flavor(self, fl: dict[str, Any], flavor_id: str) -> dict[str, Any]:
        if self.version >= (2, 47):
            return {"vcpus": fl.get("vcpus", 0), "ram": fl.get("ram", 0), "disk": fl.get("disk", 0),
                    "ephemeral": fl.get("ephemeral", 0), "swap": fl.get("swap", 0),
                    "original_name": fl.get("name", ""), "extra_specs": dict(fl.get("extra_specs") or {})}
        return {"id": flavor_id, "links": self.bookmark("flavors", flavor_id)}

    def _fault(self, s: Server) -> dict[str, Any] | None:
        if not s.fault or s.vm_state not in (states.ERROR, states.DELETED):
            return None
        f = s.fault
        out = {"code": f.get("code", 500), "created": f.get("created") or api_time(s.updated_at),
               "message": f.get("message", "")}
        if f.get("details") and (self.admin or out["code"] != 500):
            out["details"] = f["details"]
        return out

    def _extras(self, ids: list[str], hosts: set[str]) -> dict[str, Any]:
        from stratus.compute import nics

        out: dict[str, Any] = {"tags": {}, "groups": {}, "host_status": {}, "addresses": {}, "volumes": {}}
        if not ids:
            return out
        out["addresses"] = nics.addresses(self.db, ids)
        for a in self.db.scalars(select(VolumeAttachment).where(VolumeAttachment.instance_uuid.in_(ids))
                                 .order_by(VolumeAttachment.created_at, VolumeAttachment.id)):
            out["volumes"].setdefault(a.instance_uuid, []).append(a)
        if self.version >= (2, 26):
            for t in self.db.scalars(select(ServerTag).where(ServerTag.server_id.in_(ids))
                                     .order_by(ServerTag.tag)):
                out["tags"].setdefault(t.server_id, []).append(t.tag)
        if self.version >= (2, 71):
            for m in self.db.scalars(select(ServerGroupMember).where(ServerGroupMember.server_id.in_(ids))):
                out["groups"][m.server_id] = m.group_id
        if self.version >= (2, 16) and self.admin and hosts:
            out["host_status"] = host_statuses(self.db, hosts)
        return out


def host_statuses(db: Session, hosts: set[str]) -> dict[str, str]:
    """Nova's host_status: MAINTENANCE when the host's compute service is disabled,
    DOWN when it is forced down, UP when the registry knows the host, else UNKNOWN."""
    from stratus.db.models.hosts import Host

    known = set(db.scalars(select(Host.name).where(Host.name.in_(hosts))))
    services = {c.host: c for c in db.scalars(select(ComputeService).where(
        ComputeService.host.in_(hosts), ComputeService.binary == "nova-compute"))}
    out = {}
    for h in hosts:
        svc = services.get(h)
        if svc is not None and svc.forced_down:
            out[h] = "DOWN"
        elif svc is not None and svc.disabled:
            out[h] = "MAINTENANCE"
        else:
            out[h] = "UP" if h in known else "UNKNOWN"
    return out


def host_id(project_id: str, host: str | None) -> str:
    """Nova's ``hostId``: the host hashed with the project (the same host looks
    different to each project); "" while the server has no host."""
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def api_time(t: datetime | None) -> str | None:
    """Nova's created/updated format: ``2024-01-02T03:04:05Z``."""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else None


def usage_time(t: datetime | None) -> str | None:
    """``OS-SRV-USG`` times as Nova writes them: ``2024-01-02T03:04:05.000000``."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") if t else None
