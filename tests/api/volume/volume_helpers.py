"""What the volume API tests share: a controller with a real storage host
(:func:`storage_cloud`: this machine, registered as a ``block_storage`` host with a
fresh file-backend directory under /var/tmp and, when asked, an LVM backend on a loop
VG), waiting for a volume's status (:func:`wait_volume`), a raw Cinder client per caller
(:class:`Cinder`) and what a volume left on the host (:func:`host_objects`).

Everything a test makes on the host is removed by the finalizers ``storage_cloud``
registers, also when the test fails: the directory, the VG with its LVs, the loop device
and the images the storage host cached.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from stratus.db.session import Database
from tests.integration.storage.conftest import device_mapper_works, loop_vg_at, sh

API = "/volume/v3"
FINAL_ERRORS = ("error", "error_extending", "error_deleting")


def storage_cloud(factory, tmp_path: Path, request, *, backend: str = "sqlite", lvm: bool = False,
                  activation: str = "off", host: str = "st1", **settings):
    """A controller (``factory(backend, **settings)``: ``controller_factory`` or the
    ``_Factory`` of ``servers_helpers.start_controller``) whose block-storage host
    ``host`` is this machine: the ``file`` backend in a fresh /var/tmp directory (0755, so
    QEMU reaches it) and, with ``lvm``, the ``lvm`` backend on a loop VG
    (``stratus_lvm_activation``: ``activation``; this CI host has no device-mapper, so
    ``off`` unless :func:`device_mapper_works`). Hosts refreshed. ``ctl.storage`` = {host, dir, vg}. Cleanup through ``request.addfinalizer``."""
    stack = contextlib.ExitStack()
    request.addfinalizer(stack.close)
    vol_dir = Path(f"/var/tmp/stratus-vol-{uuid.uuid4().hex[:8]}")
    vol_dir.mkdir(mode=0o755)
    stack.callback(shutil.rmtree, vol_dir, ignore_errors=True)
    host_vars: dict[str, Any] = {"ansible_connection": "local", "stratus_volume_dir": str(vol_dir),
                                 "stratus_lvm_activation": activation}
    vg = None
    if lvm:
        vg = stack.enter_context(loop_vg_at(tmp_path / f"pv-{uuid.uuid4().hex[:6]}.img"))["vg"]
        host_vars["stratus_volume_vg"] = vg
    else:
        host_vars["stratus_volume_vg"] = f"stv-none-{uuid.uuid4().hex[:6]}"  # reported unavailable
    ctl = factory(backend, **settings)
    from tests.integration.pipeline.conftest import sync_hosts

    sync_hosts(ctl, tmp_path, {host: host_vars}, ["block_storage"])
    ctl.stratus("host", "refresh")
    ctl.storage = {"host": host, "dir": str(vol_dir), "vg": vg}
    return ctl


def activation_works() -> bool:
    return device_mapper_works()


class Cinder:
    """Raw requests under /volume/v3/<project> with one caller's token and a microversion."""

    def __init__(self, ctl, creds=None, version: str = "3.0") -> None:
        self.ctl = ctl
        self.creds = creds
        self.token = ctl.token(creds) if creds else ctl.admin_token()
        self.project_id = creds.project_id if creds else None
        self.version = version

    def __call__(self, method: str, path: str, version: str | None = None, **kw):
        headers = {"OpenStack-API-Version": f"volume {version or self.version}", **kw.pop("headers", {})}
        return self.ctl.request(method, API + path, token=self.token, headers=headers, **kw)

    def create(self, expect: int = 202, **volume) -> dict:
        r = self("POST", "/volumes", json={"volume": {"size": 1, **volume}})
        assert r.status_code == expect, r.text
        return r.json().get("volume", r.json())

    def show(self, volume_id: str) -> dict:
        r = self("GET", f"/volumes/{volume_id}")
        assert r.status_code == 200, r.text
        return r.json()["volume"]


def fault(r, code: int) -> str:
    """The message of Cinder's fault body with ``code``."""
    assert r.status_code == code, r.text
    ((_, body),) = r.json().items()
    assert body["code"] == code, body
    return body["message"]


def wait_volume(ctl_or_conn, volume_id: str, status: str | None = "available", timeout: float = 120,
                token: str | None = None) -> dict | None:
    """Poll until the volume has ``status`` (``None``: until it is gone, 404); fails
    early when it lands in an error status it was not waited for. Takes a Controller
    (raw API, admin token unless ``token``) or an openstacksdk connection."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if hasattr(ctl_or_conn, "block_storage"):
            got = ctl_or_conn.block_storage.find_volume(volume_id, ignore_missing=True)
            last = got.to_dict() if got is not None else None
        else:
            r = ctl_or_conn.request("GET", f"{API}/volumes/{volume_id}", token=token)
            assert r.status_code in (200, 404), r.text
            last = r.json()["volume"] if r.status_code == 200 else None
        if last is None and status is None:
            return None
        if last is not None and last["status"] == status:
            return last
        if last is not None and last["status"] in FINAL_ERRORS and status not in FINAL_ERRORS:
            raise AssertionError(f"volume {volume_id} went to {last['status']}: {_why(ctl_or_conn, volume_id)}")
        time.sleep(0.3)
    raise AssertionError(f"volume {volume_id} not {status} after {timeout}s: {last}")


def _why(ctl_or_conn, volume_id: str) -> str:
    """The record's status_reason (not on the wire) for a failure message."""
    url = getattr(ctl_or_conn, "database_url", None)
    if url is None:
        return "(see the job's events)"
    from stratus.db.models.volume import Volume

    db = Database(url)
    try:
        with db.session() as s:
            vol = s.get(Volume, volume_id)
            return vol.status_reason if vol else "gone"
    finally:
        db.dispose()


def host_objects(ctl) -> dict[str, list[str]]:
    """The volumes on the storage host: files in its directory, LVs in its VG."""
    files = sorted(p.name for p in Path(ctl.storage["dir"]).iterdir()) if os.path.isdir(ctl.storage["dir"]) else []
    lvs: list[str] = []
    if ctl.storage.get("vg"):
        out = sh("lvs", "--driverloaded", "n", "--noheadings", "-o", "lv_name", ctl.storage["vg"], check=False)
        lvs = sorted(x.strip() for x in out.stdout.split() if x.strip())
    return {"files": files, "lvs": lvs}
