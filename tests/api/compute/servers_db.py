"""Server rows written straight into a live controller's database, for API tests of
actions that refuse before any host work (no guest is booted for them)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from stratus.db.models.compute import InstanceAction, Server
from stratus.db.models.jobs import Job
from stratus.db.session import Database
from stratus.db.types import utcnow


class ServerRows:
    def __init__(self, ctl) -> None:
        self.db = Database(ctl.database_url)

    def add(self, project_id: str, user_id: str = "u", **fields: Any) -> str:
        sid = str(uuid.uuid4())
        row = {"id": sid, "project_id": project_id, "user_id": user_id, "name": f"s-{sid[:8]}",
               "vm_state": "active", "power_state": 1, "flavor_id": "42", "flavor": {},
               "image_id": str(uuid.uuid4()), "host": "c1", "node": "c1", "launched_at": utcnow(), **fields}
        with self.db.session() as s:
            s.add(Server(**row))
        return sid

    def get(self, sid: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(Server, sid)
            return {c: getattr(row, c) for c in ("vm_state", "task_state", "power_state", "locked",
                                                  "locked_by", "locked_reason", "deleted")}

    def set(self, sid: str, **fields: Any) -> None:
        with self.db.session() as s:
            row = s.get(Server, sid)
            for k, v in fields.items():
                setattr(row, k, v)

    def actions(self, sid: str) -> list[tuple[str, str | None]]:
        with self.db.session() as s:
            return [(a.action, a.job_id) for a in s.scalars(
                select(InstanceAction).where(InstanceAction.server_id == sid).order_by(InstanceAction.id))]

    def jobs(self) -> int:
        with self.db.session() as s:
            return len(list(s.scalars(select(Job.id))))

    def close(self) -> None:
        self.db.dispose()
