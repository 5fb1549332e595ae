"""Finding a server as the caller may see it (Nova answers 404 for another project's)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from stratus.db.models.compute import Server
from stratus.errors import NotFound
from stratus.identity.context import RequestContext


def get_server(db: Session, ctx: RequestContext, server_id: str, *, deleted: bool = False) -> Server:
    """The server ``server_id`` of the caller's project (any project for a cloud
    admin); NotFound in Nova's words otherwise, also for ids that cannot be ids.
    ``deleted``: also find a deleted server's row (admins reading history)."""
    server = db.get(Server, server_id) if 0 < len(server_id) <= 36 else None
    if (server is None or (server.deleted and not deleted)
            or (server.project_id != ctx.project_id and not ctx.is_admin)):
        raise NotFound(f"Instance {server_id} could not be found.")
    return server
