#!/usr/bin/env python3
"""Volumes through the API: create -> ``available`` latency (empty and from an image),
attach -> visible in the guest, for the file and the LVM backend, against the modules
alone in the same run.

    .venv/bin/python bench/volume_bench.py [--samples 3] [--skip-attach]   (or: make bench)

1. module: ``stratus.cloud.volume`` through the ``ansible`` CLI, as the job pipeline
   runs it on a storage host: an empty 1 GiB volume, and one from the tiny image (raw);
   ``volume_attachment`` of a volume to a running guest until the guest sees a disk with
   the volume's serial (on its serial console).
2. API: a controller (SQLite) whose one host is this machine as compute and storage host
   (file backend in a fresh /var/tmp directory, LVM on a loop VG with
   ``lvm_activation=auto``); ``POST /volume/v3/volumes`` until ``GET`` shows
   ``available``, then deleted; ``POST /servers/{id}/os-volume_attachments`` until the
   guest sees the disk, then detached.

LVM: a volume from an image and an attach need the LV's data, so they run only where
the device-mapper probe (``tests/integration/storage/conftest.device_mapper_works``)
says LVs can be activated; elsewhere the LVM rows say "skipped" and only the empty
create (LVM metadata) is measured. Parts that this tree does not serve yet (an answer
404/405/501) are skipped with a note. p50/p99 (nearest rank) of ``--samples`` runs each;
ratios API/module, from-image/empty and lvm/file.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tools"), str(REPO / "collections"), str(REPO / "bench")]

from compute import ApiBench, Figures  # noqa: E402

from tests.helpers.ansible import run_module  # noqa: E402
from tests.helpers.guest_console import GuestConsole  # noqa: E402
from tests.integration.storage.conftest import device_mapper_works, loop_vg_at  # noqa: E402
from tests.integration.storage.test_guests import find_dev  # noqa: E402

VOL = "/volume/v3"


class VolumeFigures(Figures):
    def show(self) -> None:
        print("\n== bench/volume_bench.py figures")
        for label, text in self.rows:
            print(f"{label:<46} {text}")


def timed(fn) -> float:
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


# --- the modules alone ------------------------------------------------------------------

def module_create(store: dict, image: str | None) -> float:
    vid = str(uuid.uuid4())
    args = {**store, "id": vid, "size": 1, **({"image": image, "image_format": "raw"} if image else {})}
    t0 = time.monotonic()
    res = run_module("volume", args)
    took = time.monotonic() - t0
    assert res.changed and not res.failed, res
    assert not run_module("volume", {**store, "id": vid, "state": "absent"}).failed
    return took


def bench_modules(fig: VolumeFigures, store: dict, lvm: dict | None, raw: str, n: int, data_lvm: bool) -> None:
    fig.times("module: file, empty", [module_create(store, None) for _ in range(n)])
    fig.times("module: file, from image", [module_create(store, raw) for _ in range(n)])
    if lvm is None:
        fig.add("module: lvm", "skipped: no loop VG could be made")
        return
    fig.times("module: lvm, empty", [module_create(lvm, None) for _ in range(n)])
    if data_lvm:
        fig.times("module: lvm, from image", [module_create(lvm, raw) for _ in range(n)])
    else:
        fig.add("module: lvm, from image", "skipped: no device-mapper on this host (LV data)")


def module_attach(domain: str, con: GuestConsole, store: dict) -> float:
    vid = str(uuid.uuid4())
    assert run_module("volume", {**store, "id": vid, "size": 1}).changed
    try:
        t0 = time.monotonic()
        res = run_module("volume_attachment", {"instance": domain, "volume_id": vid, **store})
        assert not res.failed, res
        assert find_dev(con, vid), "the guest did not see the volume"
        took = time.monotonic() - t0
        assert not run_module("volume_attachment", {"instance": domain, "volume_id": vid,
                                                    "state": "absent"}).failed
        find_dev(con, vid, present=False)
    finally:
        run_module("volume", {**store, "id": vid, "state": "absent"})
    return took


# --- through the API --------------------------------------------------------------------

class VolumeApi(ApiBench):
    """ApiBench's controller with its host ``bench1`` also a storage host."""

    def __init__(self, work: Path, host_vars: dict) -> None:
        super().__init__(work)
        import yaml

        host = {"ansible_connection": "local", "stratus_libvirt_uri": "qemu:///system", **host_vars}
        inv = {"all": {"children": {g: {"hosts": {"bench1": host}} for g in ("compute", "block_storage")}}}
        path = work / "inventory-volumes.yml"
        path.write_text(yaml.safe_dump(inv))
        self.ctl.stratus("host", "sync", "-i", str(path))
        self.ctl.stratus("host", "refresh")
        self.vv = {"OpenStack-API-Version": "volume 3.27"}
        self.types: dict[str, str] = {}

    def vcall(self, method: str, path: str, expect=(200,), **kw):
        return self.call(method, VOL + path, expect, headers=self.vv, **kw)

    def can_create_volumes(self) -> str | None:
        r = self.ctl.request("GET", VOL + "/volumes", headers=self.vv)
        if r.status_code != 200:
            return f"GET /volume/v3/volumes answers {r.status_code} on this tree (volumes branch not merged)"
        return None

    def add_types(self) -> None:
        """``__DEFAULT__`` and one type per backend (``volume_backend_name``), straight
        into the tables (the type API is another branch's)."""
        from stratus.db.models.volume import VolumeType, VolumeTypeExtraSpec
        from stratus.db.session import Database

        db = Database(self.ctl.database_url)
        try:
            with db.session() as s:
                names = {t.name for t in s.query(VolumeType)}
                for name, backend in (("__DEFAULT__", None), ("bench-file", "file"), ("bench-lvm", "lvm")):
                    if name in names:
                        continue
                    vt = VolumeType(id=str(uuid.uuid4()), name=name, description=name)
                    s.add(vt)
                    s.flush()
                    if backend:
                        s.add(VolumeTypeExtraSpec(volume_type_id=vt.id, key="volume_backend_name",
                                                  value=backend))
        finally:
            db.dispose()

    def wait_volume(self, vid: str, status: str | None, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.ctl.request("GET", f"{VOL}/volumes/{vid}", headers=self.vv)
            if status is None and r.status_code == 404:
                return
            if r.status_code == 200:
                got = r.json()["volume"]["status"]
                if got == status:
                    return
                if got.startswith("error"):
                    raise RuntimeError(f"volume {vid} went {got}")
            time.sleep(0.1)
        raise RuntimeError(f"volume {vid} not {status} after {timeout}s")

    def create(self, vtype: str, image: str | None = None) -> tuple[str, float]:
        body = {"size": 1, "volume_type": vtype, **({"imageRef": image} if image else {})}
        t0 = time.monotonic()
        vid = self.vcall("POST", "/volumes", (202,), json={"volume": body}).json()["volume"]["id"]
        self.wait_volume(vid, "available")
        return vid, time.monotonic() - t0

    def delete(self, vid: str) -> None:
        self.vcall("DELETE", f"/volumes/{vid}", (202, 404))
        self.wait_volume(vid, None)

    def create_delete(self, vtype: str, image: str | None = None) -> float:
        vid, took = self.create(vtype, image)
        self.delete(vid)
        return took

    def attach(self, sid: str, vid: str, con: GuestConsole) -> float:
        t0 = time.monotonic()
        self.call("POST", f"/compute/v2.1/servers/{sid}/os-volume_attachments", (200,),
                  json={"volumeAttachment": {"volumeId": vid}})
        try:
            self.wait_volume(vid, "in-use")  # the attach job ran; then the guest's own probe
            assert find_dev(con, vid), "the guest did not see the volume"
            return time.monotonic() - t0
        finally:
            self.call("DELETE", f"/compute/v2.1/servers/{sid}/os-volume_attachments/{vid}", (202, 404))
            self.wait_volume(vid, "available")


def bench_api(fig: VolumeFigures, work: Path, host_vars: dict, raw: str, qcow2: str, n: int,
              data_lvm: bool, lvm: bool, attach: bool, file_store: dict, create: bool = True) -> None:
    api = VolumeApi(work, host_vars)
    try:
        why = api.can_create_volumes()
        if why:
            fig.add("API: volumes", f"skipped: {why}")
            return
        api.add_types()
        r = api.call("POST", "/image/v2/images", (201,), json={
            "name": "bench-volume", "disk_format": "raw", "container_format": "bare", "visibility": "public"})
        image = r.json()["id"]
        api.call("PUT", f"/image/v2/images/{image}/file", (204,), content=Path(raw).read_bytes(),
                 headers={"Content-Type": "application/octet-stream"})
        if create:
            bench_creates(fig, api, image, n, data_lvm, lvm)
        if attach:
            bench_attach(fig, api, qcow2, n, data_lvm, file_store)
    finally:
        api.close()


def bench_creates(fig: VolumeFigures, api: VolumeApi, image: str, n: int, data_lvm: bool, lvm: bool) -> None:
    api.create_delete("bench-file", image)  # warm-up: the image into the storage host's cache
    fig.times("API: file, empty", [api.create_delete("bench-file") for _ in range(n)])
    fig.times("API: file, from image", [api.create_delete("bench-file", image) for _ in range(n)])
    if lvm:
        fig.times("API: lvm, empty", [api.create_delete("bench-lvm") for _ in range(n)])
        if data_lvm:
            fig.times("API: lvm, from image", [api.create_delete("bench-lvm", image) for _ in range(n)])
        else:
            fig.add("API: lvm, from image", "skipped: no device-mapper on this host (LV data)")


def bench_attach(fig: VolumeFigures, api: VolumeApi, qcow2: str, n: int, data_lvm: bool,
                 file_store: dict) -> None:
    why = api.can_create()
    if why:
        fig.add("attach -> visible", f"skipped: {why}")
        return
    flavor = api.prepare_boot(qcow2, 1)
    api.boot(flavor)
    sid = api.booted[0]
    domain = f"instance-{sid}"
    with GuestConsole(domain) as con:
        con.wait_for(r"STRATUS-GUEST ready", timeout=300)
        fig.times("module: file, attach -> visible", [module_attach(domain, con, file_store) for _ in range(n)])
        backends = ["file", "lvm"] if data_lvm else ["file"]
        for backend in backends:
            samples = []
            for _ in range(n):
                vid, _took = api.create(f"bench-{backend}")
                try:
                    samples.append(api.attach(sid, vid, con))
                finally:
                    api.delete(vid)
            fig.times(f"API: {backend}, attach -> visible", samples)
        if not data_lvm:
            fig.add("API: lvm, attach -> visible", "skipped: no device-mapper on this host (LV data)")
    fig.add("deleting the server", f"{api.delete_all():7.2f} s")


def ratios(fig: VolumeFigures) -> None:
    for what in ("empty", "from image", "attach -> visible"):
        for backend in ("file", "lvm"):
            fig.ratio(f"API/module, {backend}, {what}", f"API: {backend}, {what}.p50",
                      f"module: {backend}, {what}.p50")
    for side in ("module", "API"):
        for backend in ("file", "lvm"):
            fig.ratio(f"{side}: {backend}, from image/empty", f"{side}: {backend}, from image.p50",
                      f"{side}: {backend}, empty.p50")
        fig.ratio(f"{side}: lvm/file, empty", f"{side}: lvm, empty.p50", f"{side}: file, empty.p50")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=3, help="runs of each measurement (default 3)")
    ap.add_argument("--skip-attach", action="store_true", help="no guest: only the create latencies")
    ap.add_argument("--skip-create", action="store_true", help="only attach -> visible")
    args = ap.parse_args()
    from build_guest_image import build

    image = build()
    data_lvm = device_mapper_works()
    fig = VolumeFigures()
    fig.add("device-mapper (LV data)", "yes" if data_lvm else "no: LVM measured for metadata only")
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="stratus-bench-vol-", dir="/var/tmp")))
        vol_dir = work / "volumes"
        vol_dir.mkdir(mode=0o755)
        work.chmod(0o755)
        try:
            vg = stack.enter_context(loop_vg_at(work / "pv.img"))["vg"]
        except Exception as exc:  # noqa: BLE001 - reported, the file backend still runs
            fig.add("lvm", f"skipped: no loop VG ({exc})")
            vg = None
        store = {"backend": "file", "directory": str(vol_dir)}
        lvm = {"backend": "lvm", "vg": vg, "lvm_activation": "auto"} if vg else None
        if not args.skip_create:
            print("== the modules alone", flush=True)
            bench_modules(fig, store, lvm, image["raw"], args.samples, data_lvm)
        print("== through the API", flush=True)
        host_vars = {"stratus_volume_dir": str(vol_dir), "stratus_lvm_activation": "auto",
                     **({"stratus_volume_vg": vg} if vg else {})}
        (work / "api").mkdir()
        bench_api(fig, work / "api", host_vars, image["raw"], image["qcow2"], args.samples, data_lvm,
                  vg is not None, not args.skip_attach, store, not args.skip_create)
        shutil.rmtree(work / "api", ignore_errors=True)
    ratios(fig)
    fig.show()
    return 0


if __name__ == "__main__":
    sys.exit(main())
