"""Host paths of the compute service, laid out as Nova's libvirt driver does.

``/var/lib/stratus/instances/<uuid>/`` holds ``disk`` (a qcow2 overlay on
``/var/lib/stratus/images/<image_id>``), ``disk.eph0``, ``disk.swap``, ``disk.config``
(the config drive) and ``console.log``. Everything stays under ``/var/lib/stratus`` so
that libvirt's dynamic ownership can hand the files to the ``libvirt-qemu`` user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = Path("/var/lib/stratus")
INSTANCES_DIR = STATE_DIR / "instances"
IMAGES_DIR = STATE_DIR / "images"
DOMAIN_PREFIX = "instance-"

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def domain_name(uuid: str) -> str:
    """The libvirt domain name of an instance, as Nova names it: ``instance-<uuid>``."""
    return f"{DOMAIN_PREFIX}{uuid}"


def safe_id(value: str, what: str) -> str:
    """``value`` if it can be a single path component (no ``/``, no ``..``)."""
    if not _SAFE_ID.match(value or "") or value in (".", ".."):
        from .errors import InvalidInput

        raise InvalidInput(
            f"{what} {value!r} is not usable as a file name: use letters, digits, '.', '_' or '-'."
        )
    return value


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
