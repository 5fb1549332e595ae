"""stratus.cloud.image_upload through Ansible with the real qemu-img: an instance disk
(a qcow2 overlay on the tiny guest image, with writes of its own) reaches an HTTP
server as one self-contained qcow2 holding the same guest content."""

from __future__ import annotations

import http.server
import json
import secrets
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common import image_format
from tests.helpers.ansible import run_module

pytestmark = [pytest.mark.compute]

UUID = "7c0e4f1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
IMAGE = "3e9d7c1b-5a4f-4e2d-8c1b-0a9f8e7d6c5b"


class ImageService(http.server.BaseHTTPRequestHandler):
    """PUT /images/<id>/file: 204 with the right ticket while ``queued``, then 409 (as
    Glance answers for an image that has its data); the body is kept in ``received``."""

    ticket = secrets.token_hex(16)
    received: Path
    queued = True

    def log_message(self, *args):
        pass

    def do_PUT(self):
        if self.headers.get("X-Image-Ticket") != self.ticket:
            code, msg = 403, "a valid upload ticket is required"
        elif not self.queued:
            code, msg = 409, f"Image {IMAGE} is not queued"
        else:
            code, msg = 204, ""
        if code != 204:
            self.send_response(code)
            payload = json.dumps({"code": code, "title": "refused", "message": msg}).encode()
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.close_connection = True
            return
        left = int(self.headers["Content-Length"])
        with open(self.received, "wb") as out:
            while left:
                chunk = self.rfile.read(min(left, 1 << 20))
                out.write(chunk)
                left -= len(chunk)
        type(self).queued = False
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def base():
    path = Path(f"/var/lib/stratus/test-imgup-{secrets.token_hex(3)}")
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def service(base):
    ImageService.received, ImageService.queued = base / "received.qcow2", True
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ImageService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/image/v2/images/"
    server.shutdown()
    server.server_close()


def sh(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True)


def test_snapshot_is_a_flattened_qcow2_of_the_guest_disk(base, service, guest_image):
    inst = base / "instances" / UUID
    inst.mkdir(parents=True)
    disk = inst / "disk"
    assert sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", guest_image["qcow2"], "-F", "qcow2",
              str(disk)).returncode == 0
    # the guest wrote to its disk: the overlay holds data the base image has not
    assert sh("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 64k", str(disk)).returncode == 0
    url = f"{service}{IMAGE}/file"
    args = dict(uuid=UUID, image_id=IMAGE, url=url, allowed_sources=[service],
                instances_dir=str(base / "instances"), headers={"X-Image-Ticket": ImageService.ticket})

    checked = run_module("image_upload", args, check=True)
    assert checked.changed and checked["image"]["url"] == url, checked
    assert not ImageService.received.exists()

    first = run_module("image_upload", args)
    assert first.changed and first["image"]["uploaded"] and first["image"]["status"] == 204, first
    body = ImageService.received
    facts = image_format.inspect(body)
    assert facts.format == "qcow2" and not facts.backing_file and not facts.data_file  # self-contained
    assert first["image"]["size"] == body.stat().st_size
    # the same guest content as the disk seen through its backing file ...
    same = sh("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", str(body), str(disk))
    assert same.returncode == 0, same.stdout + same.stderr
    # ... which is not the base image's: the overlay's writes came along
    assert sh("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", str(body),
              guest_image["qcow2"]).returncode == 1
    assert sorted(p.name for p in inst.iterdir()) == ["disk"]  # the temp file is gone

    again = run_module("image_upload", args)  # a retried job: the image has its data
    assert not again.changed and again["image"]["uploaded"] is False, again
    assert again["image"]["status"] == 409 and "not queued" in again["image"]["message"]

    refused = run_module("image_upload", dict(args, headers={"X-Image-Ticket": "wrong"}))
    assert refused.failed and "HTTP 403" in refused.msg, refused
    elsewhere = run_module("image_upload", dict(args, url="http://127.0.0.1:9/x/file"))
    assert elsewhere.failed and "allowed URL prefix" in elsewhere.msg, elsewhere
    for res in (checked, first, again, refused):
        assert ImageService.ticket not in json.dumps(res)
    assert sorted(p.name for p in inst.iterdir()) == ["disk"]
