"""Byte quotas of images (Glance's unified limits ``image_size_total`` and
``image_stage_total``, in MiB) and the uploading count, as an upload needs them: how
many bytes a project may still send, the 413 when it sends more, and the usage document
of ``GET /v2/info/usage``.

Usage is the sum of the project's allocations (``ceil(bytes / MiB)`` per image, written
when its data becomes active or is staged); ``image_count_uploading`` counts the
project's images being received (saving, uploading, importing).
"""

from __future__ import annotations

import math

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.models.images import IMPORTING, SAVING, UPLOADING, Image
from stratus.db.models.quotas import Allocation
from stratus.errors import OverLimit
from stratus.image import quota

MIB = 1 << 20
SIZE_TOTAL, STAGE_TOTAL = "image_size_total", "image_stage_total"
COUNT_TOTAL, COUNT_UPLOADING = "image_count_total", "image_count_uploading"
RECEIVING = (SAVING, UPLOADING, IMPORTING)


def mib(size: int) -> int:
    return math.ceil(size / MIB)


def over_limit(project_id: str, resource: str, limit: int, usage: int, delta: int) -> OverLimit:
    """Glance's (oslo.limit's) 413 for one resource (worded by :mod:`.quota`)."""
    return quota.over_limit(quotas.QuotaExceeded(
        project_id, {resource: {"requested": delta, "used": usage, "limit": limit}}))


def uploading_count(db: Session, project_id: str) -> int:
    return db.scalar(select(func.count()).select_from(Image)
                     .where(Image.owner == project_id, Image.status.in_(RECEIVING))) or 0


def usage(db: Session, project_id: str, overrides) -> dict[str, dict[str, int]]:
    """``{resource: {"limit", "usage"}}`` of the four image resources."""
    lim = quotas.limits(db, project_id, overrides, service="image")
    used = quotas.usage(db, project_id)
    used[COUNT_UPLOADING] = uploading_count(db, project_id)
    return {r: {"limit": lim[r], "usage": used.get(r, 0)} for r in (SIZE_TOTAL, STAGE_TOTAL, COUNT_TOTAL, COUNT_UPLOADING)}


def check(db: Session, project_id: str, resource: str, delta: int, overrides) -> None:
    """413 when ``delta`` more of ``resource`` passes the project's limit (the usage
    must not already be over it, even for a delta of 0, as oslo.limit)."""
    limit = quotas.limits(db, project_id, overrides, service="image")[resource]
    if limit == quotas.UNLIMITED:
        return
    used = uploading_count(db, project_id) if resource == COUNT_UPLOADING else quotas.usage(db, project_id).get(resource, 0)
    if used + delta > limit or (delta == 0 and used > limit):
        raise over_limit(project_id, resource, limit, used, delta)


def room(db: Session, project_id: str, resource: str, overrides) -> int | None:
    """Bytes the project may still add under ``resource``; None when unlimited."""
    limit = quotas.limits(db, project_id, overrides, service="image")[resource]
    if limit == quotas.UNLIMITED:
        return None
    return max(0, limit - quotas.usage(db, project_id).get(resource, 0)) * MIB


def allocate(db: Session, image: Image, resource: str, size: int) -> None:
    """Record ``size`` bytes of ``image`` under ``resource`` (replacing an earlier one)."""
    release(db, image.id, resource)
    db.add(Allocation(consumer_id=image.id, project_id=image.owner, resource=resource, amount=mib(size)))


def release(db: Session, image_id: str, resource: str) -> None:
    db.execute(delete(Allocation).where(Allocation.consumer_id == image_id, Allocation.resource == resource))
