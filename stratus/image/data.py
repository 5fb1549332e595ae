"""An image's data as a whole: removing it from every store (image delete, a refused
upload), and the quota usage that goes with it.

    remove_data(db, image)                 # image-api's delete calls this
    remove_data(db, image, settings)       # also drops data staged for import

Removal is tolerant: data already missing from a store (or a store no longer
configured) is not an error; the location rows and the size/stage allocations go.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.orm import Session

from stratus.db.models.images import Image
from stratus.image import stores as _stores
from stratus.image.sizes import SIZE_TOTAL, STAGE_TOTAL, release

log = logging.getLogger("stratus.image")

def staged_path(settings, image_id: str) -> Path:
    return _stores.staging_dir(settings) / image_id


def remove_staged(db: Session, settings, image_id: str) -> None:
    """Drop the data staged for ``image_id`` and its image_stage_total usage."""
    staged_path(settings, image_id).unlink(missing_ok=True)
    release(db, image_id, STAGE_TOTAL)


def remove_data(db: Session, image: Image, settings=None) -> None:
    """Delete ``image``'s bytes from every store holding them and its location rows, and
    release its image_size_total usage (and, with ``settings``, its staged data)."""
    for loc in list(image.locations):
        try:
            _stores.for_url(loc.url, settings).delete(loc.url)
        except (_stores.StoreError, OSError) as e:
            log.warning("image %s: data at %s (store %s) not removed: %s", image.id, loc.url, loc.store, e)
        image.locations.remove(loc)
    if settings is not None:
        remove_staged(db, settings, image.id)
    release(db, image.id, SIZE_TOTAL)
    db.flush()
