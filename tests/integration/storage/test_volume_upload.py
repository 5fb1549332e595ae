"""stratus.cloud.image_upload of a volume (Cinder's os-volume_upload_image) through
Ansible with the real qemu-img: a file-backend volume with data of its own reaches an
HTTP image service as qcow2 or raw holding the same bytes; an LV is read only where
device-mapper lets its data be opened."""

from __future__ import annotations

import http.server
import json
import os
import threading
import uuid

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common import image_format
from tests.helpers.ansible import run_module
from tests.integration.compute.test_image_upload import ImageService
from tests.integration.storage.conftest import device_mapper_works, sh

pytestmark = [pytest.mark.block_storage]


@pytest.fixture
def service(volume_dir):
    ImageService.received, ImageService.queued = None, True
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ImageService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/image/v2/images/"
    server.shutdown()
    server.server_close()


def _args(service: str, image_id: str, **extra) -> dict:
    return {"image_id": image_id, "url": f"{service}{image_id}/file", "allowed_sources": [service],
            "headers": {"X-Image-Ticket": ImageService.ticket}, **extra}


def test_a_file_volume_is_uploaded_as_qcow2_and_raw(volume_dir, service, tmp_path):
    vid = str(uuid.uuid4())
    store = {"backend": "file", "directory": volume_dir}
    assert run_module("volume", {**store, "id": vid, "size": 1}).changed
    path = os.path.join(volume_dir, f"volume-{vid}")
    # the tenant's data, and a qcow2 header at offset 0: a raw volume stays raw bytes
    assert sh("qemu-img", "create", "-q", "-f", "qcow2", str(tmp_path / "h.qcow2"), "1G").returncode == 0
    sh("dd", f"if={tmp_path / 'h.qcow2'}", f"of={path}", "bs=512", "count=1", "conv=notrunc")
    assert sh("qemu-io", "-f", "raw", "-c", "write -P 0x5a 1M 64k", path).returncode == 0
    listing = sorted(os.listdir(volume_dir))

    image = str(uuid.uuid4())
    ImageService.received = tmp_path / "qcow2"
    args = _args(service, image, volume_id=vid, disk_format="qcow2", **store)
    checked = run_module("image_upload", args, check=True, diff=True)
    assert checked.changed and checked["image"]["volume_id"] == vid and checked["diff"]["before"] == {}
    assert not ImageService.received.exists()

    first = run_module("image_upload", args)
    assert first.changed and first["image"]["uploaded"] and first["image"]["format"] == "qcow2", first
    facts = image_format.inspect(ImageService.received)
    assert facts.format == "qcow2" and facts.virtual_size == 1024**3 and not facts.backing_file
    same = sh("qemu-img", "compare", "-f", "raw", "-F", "qcow2", path, str(ImageService.received))
    assert same.returncode == 0, same.stdout + same.stderr
    assert sorted(os.listdir(volume_dir)) == listing  # the copy is gone

    again = run_module("image_upload", args)  # a retried job: the image has its data
    assert not again.changed and again["image"]["status"] == 409, again

    ImageService.received, ImageService.queued = tmp_path / "raw", True
    raw = run_module("image_upload", _args(service, str(uuid.uuid4()), volume_id=vid, **store))
    assert raw.changed and raw["image"]["format"] == "raw", raw
    assert sh("cmp", path, str(ImageService.received)).returncode == 0
    assert ImageService.ticket not in json.dumps([checked, first, again, raw])

    # refusals: an id leading out, both sources at once
    for bad, words in (({"volume_id": "../x"}, "volume id"),
                       ({"volume_id": vid, "uuid": vid}, "mutually exclusive")):
        res = run_module("image_upload", {**_args(service, str(uuid.uuid4()), **store), **bad})
        assert res.failed and words in res.msg, res
    assert sorted(os.listdir(volume_dir)) == listing


def test_an_lv_is_uploaded_only_where_its_data_can_be_read(loop_vg, volume_dir, service, tmp_path):
    vid = str(uuid.uuid4())
    store = {"backend": "lvm", "vg": loop_vg["vg"], "directory": volume_dir, "lvm_activation": "auto"}
    assert run_module("volume", {**store, "id": vid, "size": 1}).changed
    ImageService.received = tmp_path / "lv"
    res = run_module("image_upload", _args(service, str(uuid.uuid4()), volume_id=vid, **store))
    if device_mapper_works():
        assert res.changed and res["image"]["uploaded"], res
        assert ImageService.received.stat().st_size == 1024**3
    else:
        assert res.failed and "device-mapper" in res.msg, res
        assert not ImageService.received.exists()
    assert os.listdir(volume_dir) == []
    assert run_module("volume", {**store, "id": vid, "state": "absent"}).changed
