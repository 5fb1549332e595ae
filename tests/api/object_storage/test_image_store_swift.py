"""Images kept in Swift (the ``swift`` store of ``heat_cloud``: 4 MiB segments, so the
tiny qcow2 is a static large object) on the session's real cluster (``swift_cloud``):

- an image created (``POST /v2/images``), ``openstack image stage`` and ``image import
  --store swift``: the
  image is active in store ``swift``, its object is a manifest in the service account's
  ``glance`` container with its segments in ``glance_segments``; ``image save`` gives
  the same bytes; a ranged GET across a segment boundary gives those bytes (206);
  ``GET /v2/info/stores`` lists both stores, file the default; ``image delete`` removes
  the manifest and every segment;
- ``PUT .../file`` with ``X-Image-Meta-Store: swift`` (Glance's multi-store upload)
  keeps the upload in Swift; an unknown store is a 409 and the image stays queued;
- the store's contracts against the same cluster, in this process with the
  controller's own settings (the service token minted from its DB and keys): a small
  image is one plain object; a failure while writing a large one leaves no segment
  behind; reading a gone object fails before any byte; deleting it again is False.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path

import pytest

from stratus.config import load_settings
from stratus.image.stores import StoreError, SwiftStore
from stratus.object_store import auth
from tests.api.conftest import Creds

pytestmark = [pytest.mark.object_storage, pytest.mark.slow]
SEGMENT = 4 << 20


def service_conn(cloud):
    """openstacksdk as the Swift service user (its account holds the images)."""
    return cloud.conn(Creds("swift", cloud.settings["object_store_password"], project_name="service"))


def md5(path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def queued_image(cloud, creds, name: str) -> str:
    """A new qcow2 image without data (``openstack image create`` without --file would
    read the test's stdin); its id."""
    r = cloud.request("POST", "/image/v2/images", cloud.token(creds),
                      json={"name": name, "disk_format": "qcow2", "container_format": "bare"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def wait_active(cloud, creds, image_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    shown: dict = {}
    while time.monotonic() < deadline:
        shown = cloud.request("GET", f"/image/v2/images/{image_id}", cloud.token(creds)).json()
        if shown["status"] == "active":
            return shown
        assert shown["status"] in ("uploading", "importing"), shown
        time.sleep(0.5)
    raise AssertionError(f"image {image_id} not active after {timeout}s: {shown}")


def segments(conn, image_id: str) -> list[str]:
    return [o.name for o in conn.object_store.objects("glance_segments", prefix=f"{image_id}/")]


def test_image_imported_into_swift_reads_back_and_leaves_with_its_delete(swift_cloud, guest_image, tmp_path):
    cloud = swift_cloud
    member = cloud.new_project_user(prefix="imgswift")
    qcow2 = guest_image["qcow2"]
    size = Path(qcow2).stat().st_size
    assert size > 2 * SEGMENT  # a large object of three segments at least

    iid = queued_image(cloud, member, f"tiny-swift-{uuid.uuid4().hex[:6]}")
    cloud.cli("image", "stage", "--file", qcow2, iid, creds=member)
    cloud.cli("image", "import", iid, "--method", "glance-direct", "--store", "swift", creds=member)
    shown = wait_active(cloud, member, iid)
    assert shown["stores"] == "swift" and shown["size"] == size and shown["checksum"] == md5(qcow2)

    swift = service_conn(cloud)
    head = swift.object_store.get_object_metadata(iid, container="glance")
    assert head.is_static_large_object and int(head.content_length) == size
    assert len(segments(swift, iid)) == -(-size // SEGMENT)

    out = tmp_path / "saved.qcow2"
    cloud.cli("image", "save", "--file", str(out), iid, creds=member)
    assert md5(out) == md5(qcow2)
    first, last = SEGMENT - 1000, SEGMENT + 999  # across the first segment boundary
    r = cloud.request("GET", f"/image/v2/images/{iid}/file", cloud.token(member),
                      headers={"Range": f"bytes={first}-{last}"})
    assert r.status_code == 206 and r.headers["content-range"] == f"bytes {first}-{last}/{size}"
    with open(qcow2, "rb") as f:
        f.seek(first)
        assert r.content == f.read(last - first + 1)

    stores = cloud.request("GET", "/image/v2/info/stores", cloud.token(member)).json()["stores"]
    assert [(s["id"], s.get("default")) for s in stores] == [("file", "true"), ("swift", None)]

    cloud.cli("image", "delete", iid, creds=member)
    with pytest.raises(Exception, match="404|Not Found|not found"):
        swift.object_store.get_object_metadata(iid, container="glance")
    assert segments(swift, iid) == []


def test_upload_with_x_image_meta_store_goes_to_swift(swift_cloud):
    """Glance's multi-store upload: ``PUT .../file`` with ``X-Image-Meta-Store``; an
    unknown store is refused before the image leaves ``queued``."""
    cloud = swift_cloud
    member = cloud.new_project_user(prefix="imgput")
    token = cloud.token(member)
    data = os.urandom(SEGMENT + 4096)  # two segments
    r = cloud.request("POST", "/image/v2/images", token,
                      json={"name": "put-swift", "disk_format": "raw", "container_format": "bare"})
    iid = r.json()["id"]
    put = {"Content-Type": "application/octet-stream"}
    r = cloud.request("PUT", f"/image/v2/images/{iid}/file", token, headers={**put, "X-Image-Meta-Store": "ceph"},
                      content=b"x")
    assert r.status_code == 409 and "Store for scheme ceph not found" in r.text, r.text
    assert cloud.request("GET", f"/image/v2/images/{iid}", token).json()["status"] == "queued"
    r = cloud.request("PUT", f"/image/v2/images/{iid}/file", token, headers={**put, "X-Image-Meta-Store": "swift"},
                      content=data)
    assert r.status_code == 204, r.text
    shown = cloud.request("GET", f"/image/v2/images/{iid}", token).json()
    assert (shown["status"], shown["stores"], shown["size"]) == ("active", "swift", len(data))
    assert service_conn(cloud).object_store.get_object_metadata(iid, container="glance").is_static_large_object
    assert cloud.request("GET", f"/image/v2/images/{iid}/file", token).content == data
    assert cloud.request("DELETE", f"/image/v2/images/{iid}", token).status_code == 204
    assert segments(service_conn(cloud), iid) == []


def test_swift_store_contracts_on_the_live_cluster(swift_cloud, tmp_path, monkeypatch):
    settings = load_settings(swift_cloud.config_file)
    store = SwiftStore.from_spec("t", {"type": "swift", "container": "glance", "segment_size": "1024"}, settings)
    swift = service_conn(swift_cloud)
    try:
        # small: one plain object; ranged reads; delete, and delete again
        small_id = str(uuid.uuid4())
        url, size = store.add(small_id, [b"abc", b"defgh"])
        assert (url, size) == (f"swift://AUTH_{store.client.project_id}/glance/{small_id}", 8)
        assert not swift.object_store.get_object_metadata(small_id, container="glance").is_static_large_object
        assert b"".join(store.open(url)) == b"abcdefgh" and b"".join(store.open(url, 2, 3)) == b"cde"
        assert store.delete(url) is True and store.delete(url) is False
        with pytest.raises(StoreError, match="missing"):
            store.open(url)

        # large: the manifest's PUT fails, the segments already written go too
        big_id = str(uuid.uuid4())
        real_put = store.client.put_object

        def put(container, name, **kw):
            if container == "glance":
                raise auth.ObjectStoreError("the proxy went away")
            return real_put(container, name, **kw)

        monkeypatch.setattr(store.client, "put_object", put)
        with pytest.raises(StoreError, match=f"could not keep image {big_id}: the proxy went away"):
            store.add(big_id, [b"x" * 3000])
        monkeypatch.undo()
        assert segments(swift, big_id) == []
        assert list(store.scratch_dir().iterdir()) == []  # the spool file went too
        url, size = store.add(big_id, [b"x" * 1500, b"y" * 1500])
        assert size == 3000 and len(segments(swift, big_id)) == 3
        assert b"".join(store.open(url, 1000, 1000)) == b"x" * 500 + b"y" * 500
        assert store.delete(url) is True and segments(swift, big_id) == []
        assert store.delete(url) is False
    finally:
        auth.forget(settings)
