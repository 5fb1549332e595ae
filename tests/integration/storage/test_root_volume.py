"""stratus.cloud.instance with ``root_volume`` (boot from volume) on real libvirt.

The guest is defined shut off (what is tested is the definition: which disk is ``vda``,
that no image or overlay is needed, that the volume outlives the instance, refusals);
the API's boot-from-volume test boots one. Volumes are raw files in a fresh volume
directory; the domain and the files are removed even when a test fails.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from tests.helpers.ansible import run_module

pytestmark = [pytest.mark.block_storage, pytest.mark.compute]

URI = "qemu:///system"


@pytest.fixture
def env(libvirt_daemon, guest_image, volume_dir):
    base = Path(f"/var/tmp/stratus-inst-{uuid.uuid4().hex[:8]}")
    base.mkdir(mode=0o755)
    vid, other = str(uuid.uuid4()), str(uuid.uuid4())
    paths = {}
    for v in (vid, other):
        paths[v] = Path(volume_dir) / f"volume-{v}"
        shutil.copy(guest_image["raw"], paths[v])
    inst = str(uuid.uuid4())
    e = {"uuid": inst, "name": f"instance-{inst}", "vid": vid, "other": other, "paths": paths,
         "dir": volume_dir, "instances": base}
    try:
        yield e
    finally:
        conn = libvirt.open(URI)
        with contextlib.suppress(libvirt.libvirtError):
            dom = conn.lookupByName(e["name"])
            with contextlib.suppress(libvirt.libvirtError):
                dom.destroy()
            dom.undefine()
        conn.close()
        shutil.rmtree(base, ignore_errors=True)


def args(e: dict, vid: str | None = None, **kw) -> dict:
    vid = vid or e["vid"]
    a = {"uuid": e["uuid"], "state": "stopped", "memory_mb": 128, "root_gb": 1,
         "instances_dir": str(e["instances"]), "volume_roots": [e["dir"]],
         "root_volume": {"serial": vid, "connection": {"driver_volume_type": "local",
                                                       "path": str(e["paths"][vid]), "format": "raw"}}}
    a.update(kw)
    return a


def root_disk(name: str) -> ET.Element | None:
    conn = libvirt.open(URI)
    try:
        try:
            xml = conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        except libvirt.libvirtError:
            return None
    finally:
        conn.close()
    return next(d for d in ET.fromstring(xml).findall("devices/disk")
                if d.find("target").get("dev") == "vda")


def test_root_volume_defines_checks_is_idempotent_and_outlives_the_instance(env):
    name = env["name"]
    check = run_module("instance", args(env), check=True)
    assert check.changed and not check.failed, check.msg
    assert root_disk(name) is None  # check mode defines nothing

    first = run_module("instance", args(env))
    assert first.changed and not first.failed, first.msg
    disk = root_disk(name)
    assert disk.find("source").get("file") == str(env["paths"][env["vid"]])
    assert disk.findtext("serial") == env["vid"] and disk.find("driver").get("type") == "raw"
    # no image, no overlay: the instance directory holds the config drive only
    assert not (env["instances"] / env["uuid"] / "disk").exists()
    assert (env["instances"] / env["uuid"] / "disk.config").exists()
    assert env["vid"] in first["diff"]["after"]["xml"] and first["diff"]["before"] == {}
    assert first["instance"]["disks"][0]["serial"] == env["vid"]

    again = run_module("instance", args(env))
    assert not again.changed and not again.failed, again.msg

    # a stopped guest's root volume may change (redefined); diff shows old and new
    swapped = run_module("instance", args(env, env["other"]))
    assert swapped.changed, swapped.msg
    assert env["vid"] in swapped["diff"]["before"]["xml"] and env["other"] in swapped["diff"]["after"]["xml"]
    assert root_disk(name).findtext("serial") == env["other"]

    # NBD (an export of another host): a network disk, the export name as the source
    nbd = {"serial": env["other"], "connection": {"driver_volume_type": "nbd", "host": "198.18.0.2",
                                                  "port": 10809, "name": f"volume-{env['other']}"}}
    remote = run_module("instance", args(env, root_volume=nbd))
    assert remote.changed, remote.msg
    disk = root_disk(name)
    assert disk.get("type") == "network" and disk.find("source").get("protocol") == "nbd"
    assert disk.find("source/host").get("port") == "10809"

    gone = run_module("instance", {"uuid": env["uuid"], "state": "absent", "shutdown_timeout": 0,
                                   "instances_dir": str(env["instances"])})
    assert gone.changed and root_disk(name) is None
    assert all(p.exists() for p in env["paths"].values())  # volumes outlive the instance


def test_root_volume_outside_the_volume_roots_is_refused_and_nothing_made(env):
    """The module boundary: a host file as the root disk (the other refusals:
    tests/unit/compute/test_root_volume_spec.py)."""
    conn = {"driver_volume_type": "local", "path": f"{env['dir']}/../../../etc/passwd", "format": "raw"}
    res = run_module("instance", args(env, root_volume={"serial": env["vid"], "connection": conn}))
    assert res.failed and "not a volume of this host" in res.msg, res.msg
    assert root_disk(env["name"]) is None and not (env["instances"] / env["uuid"]).exists()

