"""Tags of every Neutron resource (``standard-attr-tag``), one table for all kinds.

``resource_type`` is the collection name as in the URL (and ``query.run``'s
``tag_type``): networks, subnets, ports, routers, floatingips, security-groups,
subnetpools.

Contract (every resource's view calls these):

- ``of(db, resource_type, resource_id) -> list[str]``: sorted tags of one resource;
- ``of_many(db, resource_type, ids) -> dict[id, list[str]]``: for list views (one query);
- ``replace(db, resource_type, id, tags)``, ``add``, ``remove``, ``clear``: changes;
  ``clear`` is also what a resource's delete calls;
- ``validate(tag)``: Neutron's rules (a non-empty string of at most 255 characters,
  without ``,`` or ``/``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from stratus.db.models.network import Tag
from stratus.errors import BadRequest, NotFound

MAX_LEN = 255
MAX_TAGS = 50


def validate(tag: object) -> str:
    if not isinstance(tag, str) or not tag or len(tag) > MAX_LEN or "," in tag or "/" in tag \
            or any(ord(c) < 32 for c in tag):
        raise BadRequest(f"Invalid input for operation: '{tag}' is not a valid tag: a tag is a "
                         f"string of 1 to {MAX_LEN} characters without ',' or '/'.", type="InvalidInput")
    return tag


def of(db: Session, resource_type: str, resource_id: str) -> list[str]:
    return sorted(db.scalars(select(Tag.tag).where(Tag.resource_type == resource_type,
                                                   Tag.resource_id == resource_id)))


def of_many(db: Session, resource_type: str, ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(ids)
    out: dict[str, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for rid, tag in db.execute(select(Tag.resource_id, Tag.tag).where(
                Tag.resource_type == resource_type, Tag.resource_id.in_(chunk))):
            out[rid].append(tag)
    return {k: sorted(v) for k, v in out.items()}


def replace(db: Session, resource_type: str, resource_id: str, tags: object) -> list[str]:
    if not isinstance(tags, list):
        raise BadRequest("Invalid input for operation: 'tags' must be a list of strings.", type="InvalidInput")
    wanted = sorted({validate(t) for t in tags})
    if len(wanted) > MAX_TAGS:
        raise BadRequest(f"Invalid input for operation: at most {MAX_TAGS} tags per resource.",
                         type="InvalidInput")
    clear(db, resource_type, resource_id)
    for tag in wanted:
        db.add(Tag(resource_type=resource_type, resource_id=resource_id, tag=tag))
    db.flush()
    return wanted


def add(db: Session, resource_type: str, resource_id: str, tag: str) -> None:
    validate(tag)
    if tag in of(db, resource_type, resource_id):
        return
    if len(of(db, resource_type, resource_id)) >= MAX_TAGS:
        raise BadRequest(f"Invalid input for operation: at most {MAX_TAGS} tags per resource.",
                         type="InvalidInput")
    db.add(Tag(resource_type=resource_type, resource_id=resource_id, tag=tag))
    db.flush()


def remove(db: Session, resource_type: str, resource_id: str, tag: str) -> None:
    row = db.get(Tag, (resource_type, resource_id, tag))
    if row is None:
        raise NotFound(f"Tag {tag} could not be found.", type="TagNotFound")
    db.delete(row)
    db.flush()


def clear(db: Session, resource_type: str, resource_id: str) -> None:
    db.execute(delete(Tag).where(Tag.resource_type == resource_type, Tag.resource_id == resource_id)
               .execution_options(synchronize_session="fetch"))
