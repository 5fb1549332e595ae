"""``os-volume_upload_image`` on a real storage host (this machine, file backend): a
volume made from the tiny image is uploaded as qcow2 and the image becomes active with
the volume's bytes; Cinder's refusals change nothing; a failed upload kills its image
and gives the volume back."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from stratus.db.models.images import Image
from stratus.db.session import Database
from tests.api.conftest import _backends
from tests.api.volume.volume_helpers import Cinder, fault, storage_cloud, wait_volume
from tests.integration.compute.actions_guest import remove_images

pytestmark = [pytest.mark.api, pytest.mark.block_storage]

UPLOAD = "os-volume_upload_image"


@pytest.fixture(scope="module")
def cloud(module_factory, tmp_path_factory, request):
    # one database backend: the first asked for (the upload is the storage host's work)
    return storage_cloud(module_factory, tmp_path_factory.mktemp("upl"), request, backend=_backends()[0])


@pytest.fixture(scope="module")
def source(cloud, guest_image, request):
    """(member, their Cinder client at 3.1, a volume made from the tiny raw image)."""
    r = cloud.request("POST", "/image/v2/images", json={"name": "tiny", "disk_format": "raw",
                                                        "container_format": "bare", "visibility": "public"})
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    request.addfinalizer(lambda: remove_images(image_id))
    r = cloud.request("PUT", f"/image/v2/images/{image_id}/file", content=Path(guest_image["raw"]).read_bytes(),
                      headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    member = cloud.new_project_user()
    api = Cinder(cloud, member, version="3.1")
    vol = api.create(size=1, imageRef=image_id)
    wait_volume(cloud, vol["id"])
    return member, api, vol["id"]


def image_count(cloud) -> int:
    db = Database(cloud.database_url)
    try:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(Image))
    finally:
        db.dispose()


def wait_image(cloud, token: str, image_id: str, status: str, timeout: float = 120) -> dict:
    import time

    deadline = time.monotonic() + timeout
    got: dict = {}
    while time.monotonic() < deadline:
        got = cloud.request("GET", f"/image/v2/images/{image_id}", token=token).json()
        if got.get("status") == status:
            return got
        time.sleep(0.3)
    raise AssertionError(f"image {image_id} not {status} after {timeout}s: {got}")


def test_upload_makes_an_active_image_with_the_volume_data(cloud, source, tmp_path, request):
    member, api, vid = source
    r = api("POST", f"/volumes/{vid}/action", json={UPLOAD: {
        "image_name": "from-volume", "disk_format": "qcow2", "force": False, "protected": False}})
    assert r.status_code == 202, r.text
    body = r.json()[UPLOAD]
    request.addfinalizer(lambda: remove_images(body["image_id"]))
    assert {k: body[k] for k in ("id", "status", "size", "disk_format", "container_format", "image_name",
                                 "visibility", "protected")} == {
        "id": vid, "status": "uploading", "size": 1, "disk_format": "qcow2", "container_format": "bare",
        "image_name": "from-volume", "visibility": "private", "protected": False}
    assert body["volume_type"]["name"] == "__DEFAULT__"
    wait_volume(cloud, vid, "available")
    token = cloud.token(member)
    image = wait_image(cloud, token, body["image_id"], "active")
    assert (image["owner"], image["disk_format"], image["min_disk"]) == (member.project_id, "qcow2", 1)
    data = cloud.request("GET", f"/image/v2/images/{body['image_id']}/file", token=token)
    assert data.status_code == 200
    saved = tmp_path / "image.qcow2"
    saved.write_bytes(data.content)
    same = subprocess.run(["qemu-img", "compare", "-q", "-f", "raw", "-F", "qcow2",
                           os.path.join(cloud.storage["dir"], f"volume-{vid}"), str(saved)],
                          capture_output=True, text=True)
    assert same.returncode == 0, same.stdout + same.stderr


def test_refusals_change_nothing(cloud, source):
    member, api, vid = source
    images = image_count(cloud)
    path = f"/volumes/{vid}/action"
    for args, version, code, words in (
        ({"image_name": "x", "disk_format": "vmdk"}, "3.1", 400, "raw or qcow2"),
        ({"disk_format": "raw"}, "3.1", 400, "image_name"),
        ({"image_name": "x", "visibility": "private"}, "3.0", 400, "visibility"),
        ({"image_name": "x", "force": "perhaps"}, "3.1", 400, "force"),
        ({"image_name": "x", "visibility": "public"}, "3.1", 403, "upload_public"),
    ):
        assert words in fault(api("POST", path, version, json={UPLOAD: args}), code)
    other = Cinder(cloud, cloud.new_project_user(), version="3.1")
    assert "could not be found" in fault(other("POST", path, json={UPLOAD: {"image_name": "x"}}), 404)
    admin = Cinder(cloud, version="3.1")
    assert admin("POST", path, json={"os-reset_status": {"status": "error"}}).status_code == 202
    try:
        assert "status must be available" in fault(api("POST", path, json={UPLOAD: {"image_name": "x"}}), 400)
    finally:
        assert admin("POST", path, json={"os-reset_status": {"status": "available"}}).status_code == 202
    assert api.show(vid)["status"] == "available"
    assert image_count(cloud) == images


def test_a_failed_upload_kills_its_image(cloud, source, tmp_path):
    member, api, _ = source
    vol = api.create(size=1)
    wait_volume(cloud, vol["id"])
    data = Path(cloud.storage["dir"]) / f"volume-{vol['id']}"
    aside = tmp_path / "aside"
    aside.mkdir()
    for p in (data, data.with_name(data.name + ".json")):  # the host lost the volume
        shutil.move(p, aside / p.name)
    try:
        r = api("POST", f"/volumes/{vol['id']}/action", json={UPLOAD: {"image_name": "lost"}})
        assert r.status_code == 202, r.text
        image_id = r.json()[UPLOAD]["image_id"]
        wait_volume(cloud, vol["id"], "available")
        wait_image(cloud, cloud.token(member), image_id, "killed")
    finally:
        for p in aside.iterdir():
            shutil.move(p, data.parent / p.name)
    assert api("DELETE", f"/volumes/{vol['id']}").status_code == 202
    wait_volume(cloud, vol["id"], None)
