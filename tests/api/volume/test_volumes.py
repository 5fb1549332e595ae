"""Volumes through the Cinder v3 API on a real storage host (this machine): create,
show, list, update, extend and delete, empty and from an image, on the file backend and
(metadata only here: no device-mapper) the LVM backend."""

from __future__ import annotations

import os

import pytest

from tests.api.volume.volume_helpers import Cinder, host_objects, storage_cloud, wait_volume

pytestmark = [pytest.mark.api, pytest.mark.block_storage]


@pytest.fixture(scope="module")
def cloud(module_factory, tmp_path_factory, request):
    return storage_cloud(module_factory, tmp_path_factory.mktemp("vol"), request, lvm=True)


def test_empty_file_volume_create_delete(cloud):
    member = cloud.new_project_user()
    api = Cinder(cloud, member)
    vol = api.create(size=1, name="empty")
    assert vol["status"] == "creating"
    got = wait_volume(cloud, vol["id"])
    assert got["size"] == 1 and got["bootable"] == "false"
    path = os.path.join(cloud.storage["dir"], f"volume-{vol['id']}")
    assert os.path.getsize(path) == 1 << 30
    r = api("DELETE", f"/volumes/{vol['id']}")
    assert r.status_code == 202, r.text
    wait_volume(cloud, vol["id"], None)
    assert f"volume-{vol['id']}" not in host_objects(cloud)["files"]
