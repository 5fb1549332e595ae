"""The interoperable import flow through openstacksdk: stage + glance-direct with
Glance's image conversion to raw, web-download from a local HTTP server limited to the
configured URL patterns, and failed imports that leave nothing staged or stored."""

from __future__ import annotations

import functools
import http.server
import os
import threading

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
    staging_dir,
    store_dir,
    wait_status,
)
from tests.helpers.jobs import run_job as _job

pytestmark = pytest.mark.api
MIB = 1 << 20


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path.startswith("/allowed/hop"):  # a redirect out of the allowed patterns
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/other/disk.raw")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """An HTTP server on 127.0.0.1 serving /allowed/disk.raw and /other/disk.raw."""
    root = tmp_path_factory.mktemp("web")
    for sub in ("allowed", "other"):
        (root / sub).mkdir()
        (root / sub / "disk.raw").write_bytes(os.urandom(MIB) + b"\0" * MIB)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def ctl(_controllers, web):
    return _controllers("sqlite", image_conversion_format="raw",
                        image_web_download_allowed=[f"{web[1]}/allowed/*"])


@pytest.fixture(scope="module")
def user(ctl):
    creds = ctl.new_project_user(prefix="imgimport")
    return creds, ctl.token(creds)


def test_stage_and_glance_direct_converts_the_qcow2_to_raw(ctl, user, guest_image, tmp_path):
    conn = ctl.conn(user[0])
    image = conn.image.create_image(name="direct", disk_format="qcow2", container_format="bare",
                                    visibility="private")
    conn.image.stage_image(image, filename=str(guest_image["qcow2"]))
    staged = conn.image.get_image(image.id)
    assert staged.status == "uploading"
    assert files(staging_dir(ctl)) == [image.id]
    conn.image.import_image(image, method="glance-direct")
    got = wait_status(ctl, image.id, {"active", "queued"}, user[1])
    assert got["status"] == "active", got
    expected = tmp_path / "expected.raw"
    qemu_img("convert", "-f", "qcow2", "-O", "raw", str(guest_image["qcow2"]), str(expected))
    assert got["disk_format"] == "raw"
    assert (got["checksum"], got["os_hash_value"]) == hashes(expected)
    assert got["size"] == got["virtual_size"] == expected.stat().st_size
    assert got["os_glance_importing_to_stores"] == "" and got["os_glance_failed_import"] == ""
    assert files(staging_dir(ctl)) == []
    out = tmp_path / "down.raw"
    with open(out, "wb") as f:
        for chunk in conn.image.download_image(image.id, stream=True).iter_content(1 << 16):
            f.write(chunk)
    assert hashes(out) == hashes(expected)
    usage = ctl.request("GET", f"{API}/info/usage", token=user[1]).json()["usage"]
    assert usage["image_stage_total"]["usage"] == 0


def test_glance_direct_of_an_unsafe_image_fails_and_leaves_nothing(ctl, user, tmp_path):
    evil = tmp_path / "evil.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", str(evil), "1M")
    image = make_image(ctl, user[1], name="evil")
    before = files(store_dir(ctl))
    assert put_data(ctl, image["id"], evil.read_bytes(), token=user[1], what="stage").status_code == 204
    r = ctl.request("POST", f"{API}/images/{image['id']}/import", token=user[1],
                    json={"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.text
    got = wait_status(ctl, image["id"], {"queued", "active"}, user[1])
    assert got["status"] == "queued" and got["os_glance_failed_import"] == "file"
    assert files(staging_dir(ctl)) == [] and files(store_dir(ctl)) == before


def test_web_download_from_an_allowed_url(ctl, user, web):
    conn = ctl.conn(user[0])
    image = conn.image.create_image(name="web", disk_format="raw", container_format="bare")
    conn.image.import_image(image, method="web-download", uri=f"{web[1]}/allowed/disk.raw")
    got = wait_status(ctl, image.id, {"active", "queued"}, user[1])
    assert got["status"] == "active", got
    assert (got["checksum"], got["os_hash_value"]) == hashes(web[0] / "allowed" / "disk.raw")
    assert got["stores"] == "file"


def test_web_download_outside_the_patterns_is_refused(ctl, user, web):
    image = make_image(ctl, user[1], name="web-denied", disk_format="raw")
    for uri in (f"{web[1]}/other/disk.raw", "file:///etc/passwd", "ftp://127.0.0.1/allowed/x"):
        r = ctl.request("POST", f"{API}/images/{image['id']}/import", token=user[1],
                        json={"method": {"name": "web-download", "uri": uri}})
        assert r.status_code == 400, r.text
        assert f"URI for web-download does not pass filtering: {uri}" in message(r)
        assert "image_web_download_allowed" in message(r)
    assert show(ctl, image["id"], user[1])["status"] == "queued"
    # a redirect out of the patterns fails the import: nothing kept, back to queued
    r = ctl.request("POST", f"{API}/images/{image['id']}/import", token=user[1],
                    json={"method": {"name": "web-download", "uri": f"{web[1]}/allowed/hop"}})
    assert r.status_code == 202, r.text
    got = wait_status(ctl, image["id"], {"queued", "active"}, user[1])
    assert got["status"] == "queued" and got["os_glance_failed_import"] == "file"
    assert files(staging_dir(ctl)) == []


def test_import_request_checks(ctl, user):
    image = make_image(ctl, user[1], name="checks")
    post = functools.partial(ctl.request, "POST", f"{API}/images/{image['id']}/import", token=user[1])
    r = post(json={"method": {"name": "glance-direct"}})
    assert r.status_code == 409
    assert message(r) == "Image needs to be staged before 'glance-direct' method can be used"
    r = post(json={"method": {"name": "copy-image"}})
    assert r.status_code == 400 and message(r) == "Unknown import method name 'copy-image'."
    r = post(json={"method": {"name": "glance-direct"}, "stores": ["nowhere"]})
    assert r.status_code == 409 and "nowhere" in message(r)
    r = post(json={"nomethod": 1})
    assert r.status_code == 400 and message(r) == "Import request requires a 'method' field."


def test_glance_web_image_type_makes_updates_and_deletes_an_image(ctl, web):
    """OS::Glance::WebImage through the pipeline: the resource's id is the image's,
    web-download fetches its data, an update patches it, delete removes it and its data;
    a location outside the patterns is refused before anything is recorded."""
    props = {"name": "from-template", "location": f"{web[1]}/allowed/disk.raw", "disk_format": "raw",
             "tags": ["a"], "os_distro": "debian", "extra_properties": {"hw_machine_type": "q35"}}
    template = {"heat_template_version": "2018-08-31",
                "resources": {"img": {"type": "OS::Glance::WebImage", "properties": props}}}
    job = _job(ctl, "POST", "/stratus/v1/jobs", json={"template": template})
    image_id = job["resources_by_name"]["img"]
    got = wait_status(ctl, image_id, {"active", "queued"})
    assert got["status"] == "active", got
    assert (got["checksum"], got["os_hash_value"]) == hashes(web[0] / "allowed" / "disk.raw")
    assert (got["name"], got["tags"], got["visibility"]) == ("from-template", ["a"], "private")
    assert (got["os_distro"], got["hw_machine_type"]) == ("debian", "q35")

    _job(ctl, "PATCH", f"/stratus/v1/resources/{image_id}",
         json={"properties": {"name": "renamed", "tags": ["b"], "extra_properties": {}}})
    got = show(ctl, image_id)
    assert (got["name"], got["tags"], got["status"]) == ("renamed", ["b"], "active")
    assert "hw_machine_type" not in got and got["os_distro"] == "debian"
    r = ctl.request("PATCH", f"/stratus/v1/resources/{image_id}",
                    json={"properties": {"location": f"{web[1]}/allowed/other.raw"}})
    assert r.status_code == 400 and "location" in r.text
    assert show(ctl, image_id)["name"] == "renamed"

    before = ctl.request("GET", f"{API}/images").json()["images"]
    refused = {**props, "location": f"{web[1]}/other/disk.raw"}
    r = ctl.request("POST", "/stratus/v1/jobs", json={"template": {
        "heat_template_version": "2018-08-31",
        "resources": {"img": {"type": "OS::Glance::WebImage", "properties": refused}}}})
    assert r.status_code == 400 and "does not pass filtering" in r.text
    assert ctl.request("GET", f"{API}/images").json()["images"] == before

    stored = files(store_dir(ctl))
    assert image_id in stored
    _job(ctl, "DELETE", f"/stratus/v1/resources/{image_id}")
    assert ctl.request("GET", f"{API}/images/{image_id}").status_code == 404
    assert image_id not in files(store_dir(ctl))
