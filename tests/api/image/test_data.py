"""Image data through openstacksdk, the ``openstack`` CLI and raw HTTP: streamed upload
inspected against disk_format, ranged download, refusals that leave nothing in the
store, size cap and quota, tickets instead of tokens, tenant isolation."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from tests.api.image.imagedata import (
    API,
    files,
    hashes,
    make_image,
    message,
    put_data,
    qemu_img,
    show,
    store_dir,
    wait_status,
)

pytestmark = pytest.mark.api
MIB = 1 << 20


@pytest.fixture(scope="module")
def ctl(sqlite_controller):
    return sqlite_controller


@pytest.fixture(scope="module")
def alice(ctl):
    creds = ctl.new_project_user(prefix="imgdata-a")
    return creds, ctl.token(creds)


@pytest.fixture(scope="module")
def bob(ctl):
    creds = ctl.new_project_user(prefix="imgdata-b")
    return creds, ctl.token(creds)


@pytest.fixture(scope="module")
def uploaded(ctl, alice, guest_image):
    """The tiny guest qcow2 uploaded by alice with openstacksdk."""
    conn = ctl.conn(alice[0])
    image = conn.image.create_image(name="tiny", filename=str(guest_image["qcow2"]),
                                    disk_format="qcow2", container_format="bare", wait=False)
    return conn.image.get_image(image.id)


def test_upload_and_download_the_guest_qcow2_byte_identical_with_sdk(ctl, alice, uploaded, guest_image, tmp_path):
    md5, sha512 = hashes(guest_image["qcow2"])
    info = json.loads(qemu_img("info", "--output=json", str(guest_image["qcow2"])))
    assert uploaded.status == "active"
    assert uploaded.checksum == md5
    assert (uploaded.hash_algo, uploaded.hash_value) == ("sha512", sha512)
    assert uploaded.size == Path(guest_image["qcow2"]).stat().st_size
    assert uploaded.virtual_size == info["virtual-size"]
    assert files(store_dir(ctl)).count(uploaded.id) == 1
    out = tmp_path / "down.qcow2"
    conn = ctl.conn(alice[0])
    with open(out, "wb") as f:
        resp = conn.image.download_image(uploaded.id, stream=True)
        assert resp.headers["Content-MD5"] == md5
        for chunk in resp.iter_content(1 << 16):
            f.write(chunk)
    assert hashes(out) == (md5, sha512)
    r = ctl.request("GET", f"{API}/info/usage", token=alice[1])
    assert r.json()["usage"]["image_size_total"]["usage"] == -(-uploaded.size // MIB)


def test_range_download_answers_206_and_416(ctl, alice, uploaded, guest_image):
    data = Path(guest_image["qcow2"]).read_bytes()
    r = ctl.request("GET", f"{API}/images/{uploaded.id}/file", token=alice[1], headers={"Range": "bytes=100-199"})
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert r.content == data[100:200]
    r = ctl.request("GET", f"{API}/images/{uploaded.id}/file", token=alice[1], headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == data[-10:]
    r = ctl.request("GET", f"{API}/images/{uploaded.id}/file", token=alice[1],
                    headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416 and "Start position MUST be" in message(r)


def test_cli_image_create_with_file_and_image_save(ctl, guest_image, tmp_path):
    made = ctl.cli("image", "create", "--file", str(guest_image["qcow2"]), "--disk-format", "qcow2",
                   "--container-format", "bare", "tiny-cli", "-f", "json")
    assert made["status"] == "active"
    out = tmp_path / "saved.qcow2"
    ctl.cli("image", "save", "--file", str(out), made["id"])
    assert hashes(out) == hashes(guest_image["qcow2"])
    ctl.cli("image", "delete", made["id"])
    assert made["id"] not in files(store_dir(ctl))


def test_upload_to_an_active_image_is_a_conflict(ctl, alice, uploaded):
    r = put_data(ctl, uploaded.id, b"x" * 1024, token=alice[1])
    assert r.status_code == 409
    assert message(r) == "Image status transition from active to saving is not allowed"


def test_qcow2_with_a_backing_file_is_refused_and_nothing_is_kept(ctl, alice, tmp_path):
    evil = tmp_path / "evil.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", str(evil), "1M")
    image = make_image(ctl, alice[1], name="evil")
    before = files(store_dir(ctl))
    r = put_data(ctl, image["id"], evil.read_bytes(), token=alice[1])
    assert r.status_code == 415, r.text
    assert "Image failed safety checks" in message(r) and "backing file (/etc/passwd)" in message(r)
    assert files(store_dir(ctl)) == before  # no data, no temporary file
    got = show(ctl, image["id"], alice[1])
    assert got["status"] == "queued" and got["size"] is None and got["checksum"] is None


def test_bytes_not_of_the_declared_format_are_refused(ctl, alice, guest_image):
    before = files(store_dir(ctl))
    image = make_image(ctl, alice[1], name="not-qcow2", disk_format="qcow2")
    r = put_data(ctl, image["id"], os.urandom(2 * MIB), token=alice[1])
    assert r.status_code == 415
    assert "Image disk_format qcow2 does not match stream data raw" in message(r)
    raw = make_image(ctl, alice[1], name="not-raw", disk_format="raw")
    r = put_data(ctl, raw["id"], Path(guest_image["qcow2"]).read_bytes(), token=alice[1])
    assert r.status_code == 415
    assert "Image disk_format raw does not match stream data qcow2" in message(r)
    aki = make_image(ctl, alice[1], name="kernel", disk_format="aki", container_format="aki")
    r = put_data(ctl, aki["id"], Path(guest_image["qcow2"]).read_bytes(), token=alice[1])
    assert r.status_code == 415 and "does not match stream data qcow2" in message(r)
    assert files(store_dir(ctl)) == before
    for i in (image, raw, aki):
        assert show(ctl, i["id"], alice[1])["status"] == "queued"
    # a kernel's bytes are raw-like: accepted for aki
    r = put_data(ctl, aki["id"], Path(guest_image["kernel"]).read_bytes(), token=alice[1])
    assert r.status_code == 204, r.text
    assert show(ctl, aki["id"], alice[1])["status"] == "active"


def test_another_project_cannot_upload_or_download(ctl, alice, bob, uploaded):
    image = make_image(ctl, alice[1], name="private", visibility="private")
    r = put_data(ctl, image["id"], b"x" * 1024, token=bob[1])
    assert r.status_code == 404 and message(r) == f"No image found with ID {image['id']}"
    r = ctl.request("GET", f"{API}/images/{uploaded.id}/file", token=bob[1])
    assert r.status_code == 404
    assert show(ctl, image["id"], alice[1])["status"] == "queued"


def test_deactivated_image_download_is_refused_for_a_member(ctl, alice, bob, guest_image):
    image = make_image(ctl, alice[1], name="shared", visibility="shared")
    assert put_data(ctl, image["id"], Path(guest_image["qcow2"]).read_bytes(), token=alice[1]).status_code == 204
    r = ctl.request("POST", f"{API}/images/{image['id']}/members", token=alice[1],
                    json={"member": bob[0].project_id})
    assert r.status_code == 200, r.text
    r = ctl.request("PUT", f"{API}/images/{image['id']}/members/{bob[0].project_id}", token=bob[1],
                    json={"status": "accepted"})
    assert r.status_code == 200, r.text
    assert ctl.request("GET", f"{API}/images/{image['id']}/file", token=bob[1]).status_code == 200
    # a member may read but not write the data
    r = put_data(ctl, image["id"], b"x", token=bob[1])
    assert r.status_code in (403, 409)
    r = ctl.request("POST", f"{API}/images/{image['id']}/actions/deactivate", token=alice[1])
    assert r.status_code == 204, r.text
    r = ctl.request("GET", f"{API}/images/{image['id']}/file", token=bob[1])
    assert r.status_code == 403
    assert message(r) == "The requested image has been deactivated. Image data download is forbidden."
    assert ctl.request("GET", f"{API}/images/{image['id']}/file").status_code == 200  # admin


def test_tickets_open_one_image_for_one_purpose_without_a_token(ctl, alice, uploaded, guest_image):
    from stratus.identity.fernet import FernetKeys
    from stratus.image import tickets

    keys = FernetKeys(ctl.settings["fernet_key_repository"])
    down = tickets.issue(keys, uploaded.id, tickets.DOWNLOAD, 60)
    r = ctl.http.get(f"{API}/images/{uploaded.id}/file", headers={"X-Image-Ticket": down})
    assert r.status_code == 200 and r.content == Path(guest_image["qcow2"]).read_bytes()
    image = make_image(ctl, alice[1], name="snap")
    r = ctl.http.put(f"{API}/images/{image['id']}/file", content=b"y" * MIB,
                     headers={"X-Image-Ticket": down, "Content-Type": "application/octet-stream"})
    assert r.status_code == 401 and "valid upload ticket" in message(r)
    up = tickets.issue(keys, image["id"], tickets.UPLOAD, 60)
    r = ctl.http.put(f"{API}/images/{image['id']}/file", content=Path(guest_image["qcow2"]).read_bytes(),
                     headers={"X-Image-Ticket": up, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    assert show(ctl, image["id"], alice[1])["status"] == "active"


def test_client_gone_mid_upload_leaves_nothing_and_image_queued(ctl, alice):
    image = make_image(ctl, alice[1], name="cut", disk_format="raw")
    before = files(store_dir(ctl))
    with socket.create_connection(("127.0.0.1", ctl.port)) as s:
        s.sendall((f"PUT {API}/images/{image['id']}/file HTTP/1.1\r\nHost: x\r\n"
                   f"X-Auth-Token: {alice[1]}\r\nContent-Type: application/octet-stream\r\n"
                   f"Content-Length: {64 * MIB}\r\n\r\n").encode())
        s.sendall(b"\0" * (3 * MIB))
        assert wait_status(ctl, image["id"], {"saving"}, alice[1])["status"] == "saving"
    got = wait_status(ctl, image["id"], {"queued"}, alice[1])
    assert got["status"] == "queued"
    deadline = time.monotonic() + 10
    while files(store_dir(ctl)) != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert files(store_dir(ctl)) == before


def test_info_documents(ctl, alice):
    r = ctl.request("GET", f"{API}/info/stores", token=alice[1])
    assert r.json() == {"stores": [{"id": "file", "default": "true",
                                    "description": f"Images in {store_dir(ctl)} on the controller"}]}
    stores = list(ctl.conn(alice[0]).image.stores())
    assert [(s.id, s.is_default) for s in stores] == [("file", True)]
    r = ctl.request("GET", f"{API}/info/import", token=alice[1])
    assert r.json()["import-methods"]["value"] == ["glance-direct", "web-download"]
    usage = ctl.request("GET", f"{API}/info/usage", token=alice[1]).json()["usage"]
    assert set(usage) == {"image_size_total", "image_stage_total", "image_count_total", "image_count_uploading"}
    assert usage["image_count_uploading"] == {"limit": -1, "usage": 0}


def test_oversized_uploads_are_refused_by_size_cap_and_by_quota(controller_factory, tmp_path):
    ctl = controller_factory(image_size_cap=3 * MIB, quota_defaults={"image_size_total": 2})
    creds = ctl.new_project_user(prefix="imgcap")
    token = ctl.token(creds)
    image = make_image(ctl, token, disk_format="raw")
    r = put_data(ctl, image["id"], b"\0" * (4 * MIB), token=token)  # past the cap
    assert r.status_code == 413
    assert message(r) == "The incoming image is too large: The provided image is too large."

    def chunks(n):  # no Content-Length: refused while streaming
        for _ in range(n):
            yield b"\0" * (MIB // 2)

    r = put_data(ctl, image["id"], chunks(5), token=token)  # 2.5 MiB: under the cap, over the quota
    assert r.status_code == 413
    assert message(r) == (f"Project {creds.project_id} is over a limit for [Resource image_size_total "
                          "is over limit of 2 due to current usage 0 and delta 3]")
    assert files(store_dir(ctl)) == []
    assert show(ctl, image["id"], token)["status"] == "queued"
    r = put_data(ctl, image["id"], chunks(3), token=token)  # 1.5 MiB fits
    assert r.status_code == 204, r.text
    second = make_image(ctl, token, disk_format="raw")
    r = put_data(ctl, second["id"], b"\0" * MIB, token=token)
    assert r.status_code == 413 and "current usage 2 and delta 1" in message(r)
    assert files(store_dir(ctl)) == [image["id"]]
