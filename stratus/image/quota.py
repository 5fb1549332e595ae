"""Image quotas in Glance's words.

- Unified limits (``image_count_total``, ``image_count_uploading``, ``image_size_total``,
  ``image_stage_total``: see :mod:`stratus.quotas`) answer 413 with oslo.limit's message
  through :func:`over_limit` / :func:`check`.
- Per-image limits on tags, members and extra properties (Glance's ``image_tag_quota``,
  ``image_member_quota``, ``image_property_quota``, 128 each) answer 413 with Glance's
  messages through :func:`check_per_image`.

An image counts once in ``image_count_total`` from create to delete: :func:`count_image`
records the allocation, :func:`release_image` drops every allocation the image holds.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.models.quotas import Allocation
from stratus.errors import OverLimit

COUNT_TOTAL = "image_count_total"

# Glance's per-image limits (image_tag_quota, image_member_quota, image_property_quota)
PER_IMAGE = {
    "tags": (128, "The limit has been exceeded on the number of allowed image tags."),
    "members": (128, "The limit has been exceeded on the number of allowed image members "
                "for this image."),
    "properties": (128, "The limit has been exceeded on the number of allowed image "
                   "properties."),
}


def over_limit(exc: quotas.QuotaExceeded) -> OverLimit:
    """The 413 of an over-quota request, worded as Glance (oslo.limit) words it:
    ``Project p is over a limit for [Resource image_count_total is over limit of 1 due
    to current usage 1 and delta 1]``."""
    parts = [
        f"Resource {r} is over limit of {o['limit']} due to current usage {o['used']} "
        f"and delta {o['requested']}"
        for r, o in sorted(exc.overs.items())
    ]
    return OverLimit(f"Project {exc.project_id} is over a limit for [{', '.join(parts)}]")


def check(db: Session, settings, project_id: str, deltas: Mapping[str, int]) -> None:
    """413 (Glance's message) when adding ``deltas`` passes one of the project's limits."""
    try:
        quotas.check(db, project_id, deltas, settings.quota_defaults)
    except quotas.QuotaExceeded as e:
        raise over_limit(e) from None


def count_image(db: Session, settings, image_id: str, project_id: str) -> None:
    """Check and record one more image for ``project_id`` (at create)."""
    check(db, settings, project_id, {COUNT_TOTAL: 1})
    db.add(Allocation(consumer_id=image_id, project_id=project_id, resource=COUNT_TOTAL, amount=1))


def release_image(db: Session, image_id: str) -> None:
    """Free everything ``image_id`` held (at delete)."""
    quotas.release(db, image_id)


def check_per_image(what: str, attempted: int) -> None:
    """413 when an image would carry more ``what`` (tags, members, properties) than
    Glance allows one image."""
    maximum, message = PER_IMAGE[what]
    if attempted > maximum:
        raise OverLimit(f"{message} Attempted: {attempted}, Maximum: {maximum}")
