"""The image service on an active image (which only image data makes through the API):
deactivate/reactivate and what may change once an image has data."""

from __future__ import annotations

import pytest

import stratus.db.models.hosts  # noqa: F401 - registers tables (the SQLite write lock)
import stratus.db.models.images  # noqa: F401
import stratus.db.models.quotas  # noqa: F401
from stratus.config import Settings
from stratus.db.models.images import Image
from stratus.errors import Forbidden, NotFound
from stratus.identity.context import RequestContext
from stratus.image import images
from stratus.image.patch import Change
from tests.helpers.db import sqlite_session

OWNER = RequestContext(user_id="u1", user_name="u1", user_domain_id="default", roles=("member",),
                       project_id="p-owner")
OTHER = RequestContext(user_id="u2", user_name="u2", user_domain_id="default", roles=("member",),
                       project_id="p-other")


@pytest.fixture
def db(tmp_path):
    with sqlite_session(tmp_path) as s:
        yield s


@pytest.fixture
def active(db):
    image = images.create(db, OWNER, Settings(), {"name": "live", "disk_format": "qcow2",
                                                  "container_format": "bare"})
    image.status = "active"  # as image data would leave it
    db.flush()
    return image


def test_deactivate_and_reactivate_an_active_image(db, active):
    images.set_active(db, OWNER, active.id, active=False)
    assert db.get(Image, active.id).status == "deactivated"
    images.set_active(db, OWNER, active.id, active=False)  # again: nothing to do
    assert db.get(Image, active.id).status == "deactivated"
    images.set_active(db, OWNER, active.id, active=True)
    assert db.get(Image, active.id).status == "active"


def test_other_projects_cannot_deactivate(db, active):
    with pytest.raises(NotFound, match=f"No image found with ID {active.id}"):
        images.set_active(db, OTHER, active.id, active=False)
    assert db.get(Image, active.id).status == "active"


def test_formats_are_fixed_once_the_image_has_data(db, active):
    with pytest.raises(Forbidden, match="Attribute disk_format can be only replaced for a queued image."):
        images.update(db, OWNER, Settings(), active.id, [Change("replace", "disk_format", "raw")])
    assert db.get(Image, active.id).disk_format == "qcow2"
    # the same value again is no change, and other attributes still change
    images.update(db, OWNER, Settings(), active.id, [Change("replace", "disk_format", "qcow2"),
                                                    Change("replace", "name", "renamed")])
    assert db.get(Image, active.id).name == "renamed"


def test_protected_image_is_not_deleted(db, active):
    images.update(db, OWNER, Settings(), active.id, [Change("replace", "protected", True)])
    with pytest.raises(Forbidden, match=f"Image {active.id} is protected and cannot be deleted."):
        images.delete(db, OWNER, Settings(), active.id)
    assert db.get(Image, active.id) is not None
