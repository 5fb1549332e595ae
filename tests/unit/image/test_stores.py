"""The file store, the registry from settings, remove_data's tolerance and the upload
sink (hashes, cap, nothing left behind)."""

from __future__ import annotations

import hashlib

import pytest

import stratus.db.models.images  # noqa: F401 - registers tables
import stratus.db.models.quotas  # noqa: F401
from stratus.config import Settings
from stratus.db.base import Base
from stratus.db.models.images import Image, ImageLocation
from stratus.db.models.quotas import Allocation
from stratus.db.session import Database
from stratus.errors import OverLimit
from stratus.image import stores
from stratus.image.data import remove_data
from stratus.image.upload import Sink


@pytest.fixture
def settings(tmp_path):
    return Settings(state_dir=str(tmp_path / "state"))


def test_default_registry_is_one_file_store_under_the_state_dir(settings, tmp_path):
    got = stores.stores(settings)
    assert list(got) == ["file"] and got["file"].path == tmp_path / "state" / "image-store"
    two = Settings(state_dir=str(tmp_path), image_default_store="b",
                   image_stores={"a": {"type": "file", "path": str(tmp_path / "a")},
                                 "b": {"type": "file", "path": str(tmp_path / "b")}})
    assert list(stores.stores(two)) == ["b", "a"]  # the default first
    with pytest.raises(stores.StoreError, match="unknown type 'rbd'"):
        stores.stores(Settings(state_dir=str(tmp_path), image_stores={"x": {"type": "rbd"}}))


def test_file_store_add_open_range_delete(settings):
    store = stores.default_store(settings)
    url, size = store.add("img-1", [b"abc", b"defgh"])
    assert size == 8 and url == (store.path / "img-1").as_uri()
    assert b"".join(store.open(url)) == b"abcdefgh"
    assert b"".join(store.open(url, 2, 3)) == b"cde"
    assert (store.path / "img-1").stat().st_mode & 0o777 == 0o600
    assert store.delete(url) is True
    assert store.delete(url) is False  # already gone: not an error
    with pytest.raises(stores.StoreError, match="missing"):
        store.open(url)
    with pytest.raises(stores.StoreError, match="not in file store"):
        store.delete("file:///etc/passwd")
    assert sorted(p.name for p in store.path.iterdir()) == []


def test_remove_data_tolerates_missing_data_and_releases_usage(settings, tmp_path):
    db = Database(f"sqlite:///{tmp_path}/t.db")
    Base.metadata.create_all(db.engine)
    store = stores.default_store(settings)
    kept, _ = store.add("img-2", [b"x" * 10])
    with db.session() as s:
        image = Image(id="img-2", owner="p", status="active")
        image.locations = [ImageLocation(store="file", url=kept),
                           ImageLocation(store="old", url=(tmp_path / "gone" / "img-2").as_uri())]
        s.add(image)
        s.add(Allocation(consumer_id="img-2", project_id="p", resource="image_size_total", amount=1))
        s.add(Allocation(consumer_id="img-2", project_id="p", resource="image_count_total", amount=1))
    stage = stores.staging_dir(settings)
    stage.mkdir(parents=True)
    (stage / "img-2").write_bytes(b"staged")
    with db.session() as s:
        remove_data(s, s.get(Image, "img-2"), settings)
    with db.session() as s:
        assert s.get(Image, "img-2").locations == []
        assert [a.resource for a in s.query(Allocation)] == ["image_count_total"]  # image-api's
    assert not (store.path / "img-2").exists() and not (stage / "img-2").exists()
    db.dispose()


def test_sink_hashes_caps_and_discards(tmp_path):
    sink = Sink(tmp_path, "img", cap=10, too_large=lambda n: OverLimit(f"{n} too large"))
    sink.put(b"hello")
    assert sink.put_nowait(b"world")
    digest = sink.close()
    assert digest.size == 10 and digest.md5 == hashlib.md5(b"helloworld").hexdigest()
    assert digest.sha512 == hashlib.sha512(b"helloworld").hexdigest()
    assert sink.path.read_bytes() == b"helloworld"
    over = Sink(tmp_path, "img2", cap=4, too_large=lambda n: OverLimit(f"{n} too large"))
    with pytest.raises(OverLimit, match="5 too large"):
        over.put(b"12345")
    over.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == [sink.path.name]
