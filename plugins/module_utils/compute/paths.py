"""Host paths of the compute service, laid out as Nova's libvirt driver does.

``/var/lib/stratus/instances/<uuid>/`` holds ``disk`` (a qcow2 overlay on
``/var/lib/stratus/images/<image_id>``), ``disk.eph0``, ``disk.swap``, ``disk.config``
(the config drive) and ``console.log``. Everything stays under ``/var/lib/stratus`` so
that libvirt's dynamic ownership can hand the files to the ``libvirt-qemu`` user.

Instance files hold tenants' data (disks, the config drive with ``user_data``, the
console log), so no other local user may read them: the instance directory is ``0700``
owned by the qemu user (``libvirt-qemu``, so QEMU can still reach the files in it) and
every file in it is ``0600`` (``private_dir`` / ``private_file``). libvirt's dynamic
ownership gives the disks to ``libvirt-qemu`` while the guest runs and back to root after.
"""

from __future__ import annotations

import contextlib
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate

STATE_DIR = Path("/var/lib/stratus")
INSTANCES_DIR = STATE_DIR / "instances"
IMAGES_DIR = STATE_DIR / "images"
DOMAIN_PREFIX = "instance-"
QEMU_USER = "libvirt-qemu"  # Debian's qemu.conf default user
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600



def domain_name(uuid: str) -> str:
    """The libvirt domain name of an instance, as Nova names it: ``instance-<uuid>``."""
    return f"{DOMAIN_PREFIX}{uuid}"


def safe_id(value: str, what: str) -> str:
    """``value`` if it can be a single path component (no ``/``, no ``..``): the one
    id check of every area (``common.validate.resource_id``), with compute's error."""
    from .errors import InvalidInput

    return validate.resource_id(value, what=what, error=InvalidInput)


def private_dir(path: Path | str, owner: str = QEMU_USER) -> Path:
    """Make ``path`` (and missing parents) and leave it ``0700`` owned by ``owner`` (the
    qemu user, when this host has it and we are root), so QEMU reaches the files in it
    and other local users do not."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)
    with contextlib.suppress(KeyError, PermissionError):
        user = pwd.getpwnam(owner)
        os.chown(path, user.pw_uid, user.pw_gid)
    return path


def private_file(path: Path | str) -> Path:
    """``path`` readable and writable by its owner only (``0600``)."""
    os.chmod(path, PRIVATE_FILE_MODE)
    return Path(path)


def image_path(image_id: str, images_dir: Path | str = IMAGES_DIR) -> Path:
    """Where the cached base image ``image_id`` lives."""
    return Path(images_dir) / safe_id(image_id, "image id")


@dataclass(frozen=True)
class InstancePaths:
    """The files of one instance (``InstancePaths.for_uuid(uuid).disk`` ...)."""

    directory: Path

    @classmethod
    def for_uuid(cls, uuid: str, instances_dir: Path | str = INSTANCES_DIR) -> InstancePaths:
        return cls(Path(instances_dir) / safe_id(uuid, "instance uuid"))

    @property
    def disk(self) -> Path:
        return self.directory / "disk"

    @property
    def ephemeral(self) -> Path:
        return self.directory / "disk.eph0"

    @property
    def swap(self) -> Path:
        return self.directory / "disk.swap"

    @property
    def config_drive(self) -> Path:
        return self.directory / "disk.config"

    @property
    def console_log(self) -> Path:
        return self.directory / "console.log"
