"""OpenStack config drives: the ``config-2`` ISO that Nova attaches as ``disk.config``.

The layout is Nova's (``nova/virt/configdrive.py`` + ``nova/api/metadata/base.py``), so
cloud-init's ConfigDrive datasource and the Stratus test guest read it alike::

    openstack/<version>/meta_data.json     every version
    openstack/<version>/user_data          when there is user data
    openstack/<version>/vendor_data.json   from 2013-10-17
    openstack/<version>/network_data.json  from 2015-10-15
    openstack/<version>/vendor_data2.json  from 2016-10-06
    openstack/latest/...                   the newest layout

Pure parts: :func:`drive_files` (the files of a drive), :func:`content_hash`,
:func:`network_data` (Nova's ``network_data.json`` from a simple NIC list) and
:func:`meta_data` (Nova's ``meta_data.json``). :class:`ConfigDrive` writes the ISO
with ``genisoimage`` (or ``xorriso -as mkisofs``) atomically and reads back the
content hash it stores in the ISO's application id, so a caller can tell whether an
existing drive already holds the wanted content without rebuilding it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.stratus.cloud.plugins.module_utils.common.command import (
    Runner,
    check_output,
    subprocess_run,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    CommandFailed,
    InvalidInput,
)

VOLUME_LABEL = "config-2"
PUBLISHER = "Stratus"
APP_ID_PREFIX = "stratus-config-drive sha256:"
# Nova's OPENSTACK_VERSIONS and the first version that carries each optional file.
VERSIONS = (
    "2012-08-10",
    "2013-04-04",
    "2013-10-17",
    "2015-10-15",
    "2016-06-30",
    "2016-10-06",
    "2017-02-22",
    "2018-08-27",
    "2020-10-14",
)
VENDOR_DATA_SINCE = "2013-10-17"
NETWORK_DATA_SINCE = "2015-10-15"
VENDOR_DATA2_SINCE = "2016-10-06"

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def _dumps(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(", ", ": ")).encode()


def drive_files(
    meta_data: Mapping[str, Any],
    user_data: bytes | str | None = None,
    network_data: Mapping[str, Any] | None = None,
    vendor_data: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """The files of a config drive: relative path -> content. Pure.

    ``vendor_data`` and ``network_data`` default to ``{}`` as Nova writes them.
    """
    if not isinstance(meta_data, Mapping) or not meta_data.get("uuid"):
        raise InvalidInput("config drive meta_data must be a mapping with at least a 'uuid'")
    if isinstance(user_data, str):
        user_data = user_data.encode()
    md = _dumps(dict(meta_data))
    nd = _dumps(dict(network_data or {}))
    vd = _dumps(dict(vendor_data or {}))
    files: dict[str, bytes] = {}
    for version in (*VERSIONS, "latest"):
        base = f"openstack/{version}/"
        files[base + "meta_data.json"] = md
        if user_data is not None:
            files[base + "user_data"] = user_data
        if version == "latest" or version >= VENDOR_DATA_SINCE:
            files[base + "vendor_data.json"] = vd
        if version == "latest" or version >= NETWORK_DATA_SINCE:
            files[base + "network_data.json"] = nd
        if version == "latest" or version >= VENDOR_DATA2_SINCE:
            files[base + "vendor_data2.json"] = b"{}"
    return files


def content_hash(files: Mapping[str, bytes]) -> str:
    """sha256 over the sorted paths and contents: equal hash, equal drive."""
    h = hashlib.sha256()
    for path in sorted(files):
        data = files[path]
        h.update(f"{path}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def meta_data(
    uuid: str,
    name: str,
    *,
    hostname: str | None = None,
    public_keys: Mapping[str, str] | None = None,
    meta: Mapping[str, str] | None = None,
    availability_zone: str | None = "nova",
    project_id: str | None = None,
    launch_index: int = 0,
) -> dict[str, Any]:
    """Nova's ``meta_data.json`` for an instance (without the per-boot random_seed)."""
    if not hostname:
        hostname = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63] or "instance"
    keys = dict(public_keys or {})
    return {
        "uuid": uuid,
        "name": name,
        "hostname": hostname,
        "launch_index": launch_index,
        "availability_zone": availability_zone,
        "project_id": project_id,
        "meta": dict(meta or {}),
        "public_keys": keys,
        "keys": [{"name": k, "type": "ssh", "data": v} for k, v in sorted(keys.items())],
        "devices": [],
    }


def _link_id(nic: Mapping[str, Any], index: int) -> str:
    if nic.get("devname"):
        return str(nic["devname"])
    if nic.get("port_id"):
        return "tap" + str(nic["port_id"])[:11]
    return f"interface{index}"


def network_data(nics: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Nova's ``network_data.json`` from a simple NIC list. Pure.

    Each NIC: ``mac`` (required), then either ``dhcp: true`` or ``ip`` (``"10.0.0.5"``
    with ``prefix``, or ``"10.0.0.5/24"``), optional ``gateway``, ``dns`` (list),
    ``routes`` (list of ``{"cidr", "gateway"}``); optional ``mtu``, ``port_id``,
    ``network_id``, ``devname`` (the host tap name, Nova's link id), ``type``
    (the VIF type, default ``bridge``). IPv4 or IPv6 addresses.
    """
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    services: list[dict[str, str]] = []
    for i, nic in enumerate(nics):
        mac = str(nic.get("mac", "")).lower()
        if not _MAC.match(mac):
            raise InvalidInput(f"NIC {i}: mac {nic.get('mac')!r} is not a MAC address like fa:16:3e:00:00:01")
        link_id = _link_id(nic, i)
        links.append(
            {
                "id": link_id,
                "vif_id": nic.get("port_id"),
                "type": nic.get("type", "bridge"),
                "mtu": nic.get("mtu"),
                "ethernet_mac_address": mac,
            }
        )
        net_id = f"network{len(networks)}"
        if nic.get("dhcp") or not nic.get("ip"):
            if not nic.get("dhcp"):
                raise InvalidInput(f"NIC {i} ({mac}): give either dhcp: true or an ip address")
            networks.append(
                {"id": net_id, "type": "ipv4_dhcp", "link": link_id, "network_id": nic.get("network_id")}
            )
            continue
        ip_text = str(nic["ip"])
        if "/" not in ip_text:
            if nic.get("prefix") is None:
                raise InvalidInput(f"NIC {i} ({mac}): ip {ip_text} needs a prefix (or write it as ip/prefix)")
            ip_text = f"{ip_text}/{nic['prefix']}"
        try:
            iface = ipaddress.ip_interface(ip_text)
        except ValueError as exc:
            raise InvalidInput(f"NIC {i} ({mac}): {exc}") from None
        version = iface.version
        routes: list[dict[str, str]] = []
        if nic.get("gateway"):
            gw = ipaddress.ip_address(str(nic["gateway"]))
            if gw.version != version or gw not in iface.network:
                raise InvalidInput(f"NIC {i} ({mac}): gateway {gw} is not inside {iface.network}")
            any_net = "0.0.0.0" if version == 4 else "::"
            routes.append({"network": any_net, "netmask": any_net, "gateway": str(gw)})
        for r in nic.get("routes") or ():
            net = ipaddress.ip_network(str(r["cidr"]), strict=False)
            routes.append(
                {"network": str(net.network_address), "netmask": str(net.netmask), "gateway": str(r["gateway"])}
            )
        dns = [{"type": "dns", "address": str(ipaddress.ip_address(str(a)))} for a in nic.get("dns") or ()]
        networks.append(
            {
                "id": net_id,
                "type": f"ipv{version}",
                "link": link_id,
                "ip_address": str(iface.ip),
                "netmask": str(iface.netmask),
                "routes": routes,
                "network_id": nic.get("network_id"),
                "services": dns,
            }
        )
        services += [d for d in dns if d not in services]
    return {"links": links, "networks": networks, "services": services}


class ConfigDrive:
    """Builds and inspects config-2 ISOs with genisoimage (or xorriso) and isoinfo.

    ``run(argv) -> (rc, stdout, stderr)`` is ``common.command.subprocess_run`` unless a
    test passes its own.
    """

    def __init__(self, run: Runner | None = None, mkisofs: list[str] | None = None):
        self.run = run or subprocess_run
        if mkisofs is None:
            if shutil.which("genisoimage"):
                mkisofs = ["genisoimage"]
            elif shutil.which("xorriso"):
                mkisofs = ["xorriso", "-as", "mkisofs"]
            else:
                mkisofs = ["genisoimage"]
        self.mkisofs = mkisofs

    def _check(self, argv: list[str]) -> str:
        return check_output(self.run, argv, error=CommandFailed)

    def iso_argv(self, output: str, source_dir: str, digest: str) -> list[str]:
        return [
            *self.mkisofs,
            "-o", output,
            "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
            "-publisher", PUBLISHER,
            "-A", APP_ID_PREFIX + digest,
            "-quiet", "-J", "-r",
            "-V", VOLUME_LABEL,
            "-input-charset", "utf-8",
            source_dir,
        ]  # fmt: skip

    def current_hash(self, path: str) -> str | None:
        """The content hash stored in an existing drive; None if absent or not ours."""
        if not os.path.exists(path):
            return None
        try:
            out = self._check(["isoinfo", "-d", "-i", path])
        except CommandFailed:
            return None
        for line in out.splitlines():
            if line.startswith("Application id:"):
                value = line.split(":", 1)[1].strip()
                if value.startswith(APP_ID_PREFIX):
                    return value[len(APP_ID_PREFIX) :]
        return None

    def is_current(self, path: str, files: Mapping[str, bytes]) -> bool:
        return self.current_hash(path) == content_hash(files)

    def write(self, path: str, files: Mapping[str, bytes], mode: int = 0o600) -> str:
        """Write the drive to ``path`` atomically (temp file + rename); returns the hash.
        ``0600``: the drive holds the guest's ``user_data``.

        On failure nothing is left behind and an existing drive stays as it was.
        """
        digest = content_hash(files)
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise InvalidInput(f"cannot write config drive {path}: directory {directory} does not exist")
        with tempfile.TemporaryDirectory(prefix=".config-drive-", dir=directory) as tmp:
            src = os.path.join(tmp, "root")
            for rel, data in files.items():
                full = os.path.join(src, rel)
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "wb") as f:
                    f.write(data)
            out = os.path.join(tmp, "drive.iso")
            self._check(self.iso_argv(out, src, digest))
            os.chmod(out, mode)
            os.replace(out, path)
        return digest

    def ensure(
        self,
        path: str,
        meta_data: Mapping[str, Any],
        user_data: bytes | str | None = None,
        network_data: Mapping[str, Any] | None = None,
        vendor_data: Mapping[str, Any] | None = None,
        *,
        check: bool = False,
    ) -> tuple[bool, str | None, str]:
        """Make ``path`` hold this content: returns ``(changed, before_hash, after_hash)``."""
        files = drive_files(meta_data, user_data, network_data, vendor_data)
        wanted = content_hash(files)
        before = self.current_hash(path)
        if before == wanted:
            return False, before, wanted
        if not check:
            self.write(path, files)
        return True, before, wanted

    def read(self, path: str, rel: str) -> bytes:
        """One file of an existing drive, e.g. ``openstack/latest/meta_data.json``."""
        proc = subprocess.run(
            ["isoinfo", "-R", "-x", "/" + rel.lstrip("/"), "-i", path], capture_output=True
        )
        if proc.returncode != 0:
            raise CommandFailed(proc.args, proc.returncode, proc.stderr.decode(errors="replace"))
        return proc.stdout

    def listing(self, path: str) -> list[str]:
        """Every path in an existing drive (Rock Ridge names), without the leading slash."""
        out = self._check(["isoinfo", "-R", "-f", "-i", path])
        return sorted(line.lstrip("/") for line in out.splitlines() if line.strip())
