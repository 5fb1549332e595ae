"""A server's tags (2.26, ``/servers/{id}/tags[/tag]``), as Nova keeps them: at most
:data:`MAX_TAGS`, changed only while the server is active, paused, suspended or
stopped (409 otherwise, Nova's words)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from stratus.compute import states
from stratus.compute.inputs import MAX_TAGS, check_tag, check_tags, check_unknown
from stratus.db.models.compute import Server, ServerTag
from stratus.errors import BadRequest, NotFound

UPDATABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)


def of(db: Session, server: Server) -> list[str]:
    return list(db.scalars(select(ServerTag.tag).where(ServerTag.server_id == server.id)
                           .order_by(ServerTag.tag)))


def _changeable(server: Server, action: str) -> None:
    states.check(server, action, UPDATABLE, None, admin=True)  # Nova: no lock or task check


def has(db: Session, server: Server, tag: str) -> None:
    if db.get(ServerTag, (server.id, tag)) is None:
        raise NotFound(f"Server {server.id} has no tag '{tag}'")


def replace(db: Session, server: Server, body: Any) -> list[str]:
    if not isinstance(body, dict) or "tags" not in body:
        raise BadRequest("Invalid input for field/attribute tags. Value: None. 'tags' is a required property")
    check_unknown(body, {"tags"})
    tags = check_tags(body["tags"])
    _changeable(server, "update tags")
    db.execute(delete(ServerTag).where(ServerTag.server_id == server.id))
    for tag in tags:
        db.add(ServerTag(server_id=server.id, tag=tag))
    db.flush()
    return of(db, server)


def add(db: Session, server: Server, tag: str) -> bool:
    """Add ``tag``; False when the server had it already."""
    _changeable(server, "update tag")
    try:
        check_tag(tag)
    except BadRequest as exc:
        raise BadRequest(f"Tag '{tag}' is invalid. It must be a non empty string without characters "
                         f"'/' and ','. {exc.message}") from None
    current = of(db, server)
    if len(current) >= MAX_TAGS:
        raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    if tag in current:
        return False
    db.add(ServerTag(server_id=server.id, tag=tag))
    db.flush()
    return True


def remove(db: Session, server: Server, tag: str) -> None:
    _changeable(server, "delete tag")
    has(db, server, tag)
    db.execute(delete(ServerTag).where(ServerTag.server_id == server.id, ServerTag.tag == tag))
    db.flush()


def remove_all(db: Session, server: Server) -> None:
    _changeable(server, "delete tags")
    db.execute(delete(ServerTag).where(ServerTag.server_id == server.id))
    db.flush()
