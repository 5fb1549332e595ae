"""The swift image store in the registry: made from settings, found by its URLs (also
after it left the settings), and its refusals name the setting to fix. No Swift needed:
nothing here reaches the proxy."""

from __future__ import annotations

import pytest

from stratus.config import Settings
from stratus.image import stores
from stratus.image.stores import StoreError, SwiftStore

pytestmark = pytest.mark.object_storage
URL = "swift://AUTH_p1/glance/img-1"


@pytest.fixture
def settings(tmp_path):
    return Settings(state_dir=str(tmp_path), object_store_url="http://127.0.0.1:1", object_store_password="pw",
                    image_stores={"file": {"type": "file", "path": str(tmp_path / "files")},
                                  "swift": {"type": "swift", "segment_size": 4096, "description": "objects"}})


def test_registry_makes_it_lists_it_and_finds_it_by_url(settings):
    made = stores.stores(settings)
    assert list(made) == ["file", "swift"]
    swift = made["swift"]
    assert isinstance(swift, SwiftStore) and (swift.container, swift.segments, swift.segment_size) == (
        "glance", "glance_segments", 4096)
    assert swift.info(default=False) == {"id": "swift", "description": "objects"}
    assert isinstance(stores.for_url(URL, settings), SwiftStore)
    assert stores.for_url(made["file"].url("x"), settings) is not None
    assert swift.holds(URL) and not swift.holds("swift://AUTH_p1/other/img-1") and not swift.holds("file:///x")
    assert swift.scratch_dir() == settings.state_dir / "image-scratch" / "swift"


def test_a_url_of_a_store_that_left_the_settings_is_still_readable(settings):
    gone = stores.for_url("swift://AUTH_p1/old-images/img-1", settings)
    assert isinstance(gone, SwiftStore) and gone.container == "old-images"
    with pytest.raises(StoreError, match="needs the controller's settings"):
        stores.for_url(URL)


@pytest.mark.parametrize(("spec", "over", "words"), [
    ({}, {"object_store_url": ""}, "image store s: object storage is not configured: set object_store_url"),
    ({"segment_size": "0"}, {}, "segment_size must be a number of bytes above 0, not '0'"),
    ({"segment_size": "big"}, {}, "not 'big'"),
    ({"container": "a/b"}, {}, "container 'a/b' may not hold '/'"),
])
def test_refusals_name_the_setting(settings, spec, over, words):
    with pytest.raises(StoreError, match=words.replace("(", r"\(")):
        SwiftStore.from_spec("s", {"type": "swift", **spec}, settings.model_copy(update=over))


@pytest.mark.parametrize("url", ["swift://glance/img", "swift://AUTH_p1/glance", "http://AUTH_p1/glance/x"])
def test_urls_not_of_the_swift_shape_are_refused(settings, url):
    with pytest.raises(StoreError, match="is not a swift store URL"):
        stores.stores(settings)["swift"].delete(url)
