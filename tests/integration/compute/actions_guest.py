"""Test guests for the instance_action tests, laid out as the instance module lays them
out (``/var/lib/stratus/instances/<uuid>/{disk,disk.config,console.log}`` on a base image
in ``/var/lib/stratus/images/<image_id>``), built with the compute drivers' own
``Guest``/``Disk``/``Serial`` dataclasses and config drive so these tests do not wait
on the instance module. Each guest and image gets a random id; ``cleanup()`` removes
the domain and every file it made.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid as uuidlib
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg
from ansible_collections.stratus.cloud.plugins.module_utils.compute.config_drive import (
    ConfigDrive,
    meta_data,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.domain import (
    Console,
    Disk,
    Guest,
    InstanceMetadata,
    Interface,
    Serial,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.paths import (
    IMAGES_DIR,
    InstancePaths,
    domain_name,
)


def cache_image(src: str | Path, prefix: str = "test-img") -> str:
    """Copy a qcow2 into the image cache under a fresh id; returns the id."""
    image_id = f"{prefix}-{uuidlib.uuid4().hex[:8]}"
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, IMAGES_DIR / image_id)
    (IMAGES_DIR / image_id).chmod(0o644)
    return image_id


def make_guest(image_id: str, *, hostname: str, uuid: str | None = None, bridge: str = "") -> Guest:
    """Disk files + config drive on this host; returns the Guest (not yet defined)."""
    uuid = uuid or str(uuidlib.uuid4())
    paths = InstancePaths.for_uuid(uuid)
    paths.directory.mkdir(parents=True, exist_ok=True)
    QemuImg().create_overlay(paths.disk, IMAGES_DIR / image_id, "qcow2")
    ConfigDrive().ensure(str(paths.config_drive), meta_data(uuid, hostname, hostname=hostname))
    interfaces = ()
    if bridge:
        mac = "fa:16:3e:" + ":".join(f"{b:02x}" for b in uuidlib.uuid4().bytes[:3])
        interfaces = (Interface(mac=mac, bridge=bridge),)
    return Guest(
        name=domain_name(uuid),
        uuid=uuid,
        vcpus=1,
        memory_kib=256 * 1024,
        disks=(
            Disk(target="vda", source=str(paths.disk)),
            Disk(target="sda", source=str(paths.config_drive), bus="sata", device="cdrom",
                 format="raw", readonly=True),
        ),
        interfaces=interfaces,
        serials=(Serial(log_file=str(paths.console_log)),),
        consoles=(Console(),),
        metadata=InstanceMetadata(uuid=uuid, display_name=hostname, image_id=image_id, root_gb=1),
    )


def boot(guest: Guest, uri: str = "qemu:///system") -> None:
    drv = LibvirtDriver(uri)
    drv.define(guest)
    drv.start(guest.name)
    drv.close()


def wait_console(path: str | Path, pattern: str, *, count: int = 1, timeout: float = 90.0) -> str:
    """Wait until ``pattern`` (regex) occurs ``count`` times in the console log."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        try:
            text = Path(path).read_text(errors="replace")
        except OSError:
            text = ""
        if len(re.findall(pattern, text)) >= count:
            return text
        time.sleep(0.3)
    raise AssertionError(f"{pattern!r} x{count} not in {path} after {timeout:.0f}s:\n{text[-2000:]}")


def cleanup(uuid: str, uri: str = "qemu:///system", root: Path | None = None) -> None:
    """Destroy and undefine the instance's domain and remove its directory."""
    drv = LibvirtDriver(uri)
    try:
        drv.destroy(domain_name(uuid))
        drv.undefine(domain_name(uuid))
    except Exception:
        pass
    finally:
        drv.close()
    shutil.rmtree(root or InstancePaths.for_uuid(uuid).directory, ignore_errors=True)


def remove_images(*image_ids: str) -> None:
    for image_id in image_ids:
        (IMAGES_DIR / image_id).unlink(missing_ok=True)
        (IMAGES_DIR / ".meta" / f"{image_id}.json").unlink(missing_ok=True)


def make_bridge() -> str:
    """A fresh Linux bridge for the test guests' NICs (no uplink); returns its name."""
    name = f"brqact{uuidlib.uuid4().hex[:8]}"
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", name, "up"], check=True)
    return name


def remove_bridge(name: str) -> None:
    subprocess.run(["ip", "link", "del", name], check=False, capture_output=True)
