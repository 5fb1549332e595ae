"""ImageUpload at the argv level (FakeRun stands in for qemu-img) against an HTTP server
on loopback that records each PUT (the real qemu-img run: tests/integration/compute/
test_image_upload.py)."""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import threading

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    CommandFailed,
    InvalidInput,
    NotFound,
    UploadFailed,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.image_source import SourcePolicy
from ansible_collections.stratus.cloud.plugins.module_utils.compute.image_upload import ImageUpload
from tests.helpers.commands import FakeRun

UUID = "0d4a1c52-8b1e-4c3a-9f7e-5a2b1c0d9e8f"
IMAGE = "5b2f8a8e-3c1d-4e6f-9a0b-1c2d3e4f5a6b"
TICKET = "1799999999.feedface"


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers PUT with ``status`` (and a Glance-style body when not 2xx); keeps what came."""

    status = 204
    puts: list[dict] = []

    def log_message(self, *args):
        pass

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.puts.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self.send_response(self.status)
        if self.status >= 300:
            payload = b'{"code": %d, "title": "Conflict", "message": "Image status transition ' \
                      b'from active to saving is not allowed"}' % self.status
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        else:
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture
def service():
    Recorder.status, Recorder.puts = 204, []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/image/v2/images/"
    server.shutdown()
    server.server_close()


class ConvertWrites(FakeRun):
    """FakeRun whose ``qemu-img convert`` writes known bytes to its target."""

    def __call__(self, argv, data=None):
        out = super().__call__(argv, data)
        if argv[:2] == ["qemu-img", "convert"]:
            with open(argv[-1], "wb") as f:
                f.write(b"QFI\xfb converted" * 100000)
        return out


@pytest.fixture
def instance(tmp_path):
    inst = tmp_path / "instances" / UUID
    inst.mkdir(parents=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(inst / "disk"), "16M"], check=True)
    return inst


def uploader(tmp_path, prefix: str, run: FakeRun | None = None) -> ImageUpload:
    run = run or ConvertWrites()
    up = ImageUpload(tmp_path / "instances", QemuImg(run, error=CommandFailed, invalid=InvalidInput),
                     policy=SourcePolicy.make([prefix], None))
    up.run = run
    return up


def test_converts_flattening_then_puts_in_chunks_and_cleans_up(tmp_path, instance, service):
    up = uploader(tmp_path, service)
    url = f"{service}{IMAGE}/file"
    out = up.ensure_uploaded(UUID, IMAGE, url, {"X-Image-Ticket": TICKET})
    temp = instance / f".snapshot-{IMAGE}.qcow2"
    # qemu-img reads the disk with its format pinned, through its backing file, into a
    # file in the instance's private directory
    assert up.run.commands("qemu-img") == [
        ["qemu-img", "convert", "-q", "-U", "-f", "qcow2", "-O", "qcow2", str(instance / "disk"), str(temp)]]
    (put,) = Recorder.puts
    sent = b"QFI\xfb converted" * 100000
    assert put["path"] == f"/image/v2/images/{IMAGE}/file" and put["body"] == sent
    assert put["headers"]["Content-Type"] == "application/octet-stream"
    assert put["headers"]["X-Image-Ticket"] == TICKET
    assert out.changed and out.after["uploaded"] and out.after["status"] == 204
    assert out.after["size"] == len(sent) and out.after["os_hash_value"] == hashlib.sha512(sent).hexdigest()
    assert out.after["checksum"] == hashlib.md5(sent).hexdigest()
    assert not temp.exists()


def test_an_image_no_longer_queued_is_ok_and_unchanged(tmp_path, instance, service):
    Recorder.status = 409
    out = uploader(tmp_path, service).ensure_uploaded(UUID, IMAGE, f"{service}{IMAGE}/file",
                                                      {"X-Image-Ticket": TICKET})
    assert not out.changed and out.after["uploaded"] is False and out.after["status"] == 409
    assert "not allowed" in out.after["message"]
    assert sorted(p.name for p in instance.iterdir()) == ["disk"]


def test_other_refusals_fail_with_the_service_message_and_clean_up(tmp_path, instance, service):
    Recorder.status = 403
    with pytest.raises(UploadFailed, match="HTTP 403 Image status"):
        uploader(tmp_path, service).ensure_uploaded(UUID, IMAGE, f"{service}{IMAGE}/file")
    assert sorted(p.name for p in instance.iterdir()) == ["disk"]


def test_unreachable_service_fails_and_cleans_up(tmp_path, instance):
    url = "http://127.0.0.1:9/image/v2/images/"
    with pytest.raises(UploadFailed, match="Connection refused"):
        uploader(tmp_path, url).ensure_uploaded(UUID, IMAGE, f"{url}{IMAGE}/file")
    assert sorted(p.name for p in instance.iterdir()) == ["disk"]


def test_check_mode_says_what_and_runs_nothing(tmp_path, instance, service):
    up = uploader(tmp_path, service)
    out = up.ensure_uploaded(UUID, IMAGE, f"{service}{IMAGE}/file", {"X-Image-Ticket": TICKET}, check=True)
    assert out.changed and out.after["format"] == "qcow2" and out.after["virtual_size"] == 16 << 20
    assert "PUT it to" in out.actions[0]
    assert up.run.calls == [] and Recorder.puts == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.2:1/image/v2/images/x/file", "does not start with an allowed URL prefix"),
        ("file:///etc/shadow", "does not start with an allowed URL prefix"),
    ],
)
def test_destinations_outside_the_allowed_prefixes_are_refused(tmp_path, instance, service, url, words):
    up = uploader(tmp_path, service)
    with pytest.raises(InvalidInput, match=words):
        up.ensure_uploaded(UUID, IMAGE, url)
    assert up.run.calls == [] and Recorder.puts == []


def test_bad_ids_headers_and_missing_disks(tmp_path, instance, service):
    up = uploader(tmp_path, service)
    url = f"{service}{IMAGE}/file"
    with pytest.raises(InvalidInput, match="image id"):
        up.ensure_uploaded(UUID, "../../etc", url)
    with pytest.raises(InvalidInput, match="instance uuid"):
        up.ensure_uploaded("../x", IMAGE, url)
    with pytest.raises(InvalidInput, match="holds a newline"):
        up.ensure_uploaded(UUID, IMAGE, url, {"X-Image-Ticket": "a\r\nb"})
    with pytest.raises(NotFound, match="has no root disk"):
        up.ensure_uploaded("1" * 36, IMAGE, url)
    assert up.run.calls == [] and Recorder.puts == []
