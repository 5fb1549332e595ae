"""What the snapshot and volume-action tests share: waiting for a snapshot, reading
and writing a file-backend volume's bytes, arranging an attachment record."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from stratus.db.models.volume import VolumeAttachment
from stratus.db.session import Database
from tests.api.volume.volume_helpers import API


def wait_snapshot(ctl, snapshot_id: str, status: str | None = "available", timeout: float = 60,
                  token: str | None = None) -> dict | None:
    """Poll until the snapshot has ``status`` (``None``: until it is gone)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        r = ctl.request("GET", f"{API}/snapshots/{snapshot_id}", token=token)
        assert r.status_code in (200, 404), r.text
        last = r.json()["snapshot"] if r.status_code == 200 else None
        if last is None and status is None:
            return None
        if last is not None and last["status"] == status:
            return last
        if last is not None and last["status"].startswith("error") and not (status or "").startswith("error"):
            raise AssertionError(f"snapshot {snapshot_id} went to {last['status']}")
        time.sleep(0.3)
    raise AssertionError(f"snapshot {snapshot_id} not {status} after {timeout}s: {last}")


def file_of(ctl, kind: str, item_id: str) -> Path:
    """The file of a volume or snapshot (``kind``) on the file backend."""
    return Path(ctl.storage["dir"]) / f"{kind}-{item_id}"


def write_at(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def read_at(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(size)


def add_attachment_row(ctl, volume_id: str, project_id: str) -> str:
    """An ``attached`` attachment record of the volume (no guest: the records are what
    the tested rules read)."""
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            aid = str(uuid.uuid4())
            s.add(VolumeAttachment(id=aid, volume_id=volume_id, project_id=project_id,
                                   instance_uuid=str(uuid.uuid4()), attached_host="nowhere",
                                   mountpoint="/dev/vdb", attach_status="attached"))
            return aid
    finally:
        db.dispose()


def allocations(ctl, consumer_id: str) -> dict[str, int]:
    """The quota allocations a resource holds."""
    from sqlalchemy import select

    from stratus.db.models.quotas import Allocation

    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            return {a.resource: a.amount for a in s.scalars(select(Allocation).where(
                Allocation.consumer_id == consumer_id, Allocation.host.is_(None)))}
    finally:
        db.dispose()
