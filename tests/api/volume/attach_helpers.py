"""What the attach tests share: a cloud whose one host ``c1`` is both the compute host
(the system libvirtd) and the storage host (a file backend in a fresh /var/tmp
directory), the server API's helpers, and waits on attachments."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

from stratus.db.session import Database
from tests.api.compute.servers_helpers import Nova, add_flavors, fault  # noqa: F401 - re-exported

GiB = 1024**3


def volume_dir() -> Path:
    """A fresh file-backend directory QEMU can reach (0755 under /var/tmp)."""
    path = Path(f"/var/tmp/stratus-vol-{uuid.uuid4().hex[:8]}")
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    return path


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def volume_row(ctl, volume_id: str):
    from stratus.db.models.volume import Volume

    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            row = s.get(Volume, volume_id)
            if row is not None:
                s.expunge(row)
            return row
    finally:
        db.dispose()


def wait_volume_status(ctl, volume_id: str, wanted: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        row = volume_row(ctl, volume_id)
        got = row.status if row is not None else "gone"
        if got == wanted:
            return
        time.sleep(0.3)
    raise AssertionError(f"volume {volume_id} is {got}, not {wanted}, after {timeout}s")
