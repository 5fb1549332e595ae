"""stratus.cloud.image_cache through Ansible: unsafe images and sources are refused and
leave nothing in the cache (no guest is booted: qemu-img and files only)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import secrets
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.helpers.ansible import run_module

pytestmark = [pytest.mark.compute]


class Env:
    def __init__(self, base: Path):
        self.base = base
        self.uploads = base / "uploads"
        self.images = base / "images"
        self.instances = base / "instances"

    def args(self, **kw) -> dict:
        a = dict(images_dir=str(self.images), instances_dir=str(self.instances),
                 allowed_sources=[str(self.uploads)])
        a.update(kw)
        return a

    def cache_files(self) -> list[str]:
        if not self.images.exists():
            return []
        return sorted(str(p.relative_to(self.images)) for p in self.images.rglob("*"))


@pytest.fixture
def env():
    base = Path(f"/var/lib/stratus/test-imgcache-{secrets.token_hex(3)}")
    (base / "uploads").mkdir(parents=True)
    try:
        yield Env(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def test_qcow2_backed_by_etc_shadow_is_refused_and_leaves_nothing(env):
    evil = env.uploads / "evil.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", str(evil), "64M")
    res = run_module("image_cache", env.args(image_id="evil", source=str(evil), source_format="qcow2"))
    assert res.failed and res["error"] == "UnsafeImage", res
    assert "backing file (/etc/shadow)" in res.msg and "image evil" in res.msg
    assert env.cache_files() == []  # no image, no temp file, no metadata


def test_qcow2_with_data_file_is_refused(env):
    df = env.uploads / "df.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"data_file={env.uploads / 'data.raw'}", str(df), "64M")
    res = run_module("image_cache", env.args(image_id="df", source=str(df)))
    assert res.failed and res["error"] == "UnsafeImage" and "external data file" in res.msg, res
    assert env.cache_files() == []


def test_wrong_declared_format_is_refused(env):
    raw = env.uploads / "r.img"
    raw.write_bytes(b"\0" * 1024 * 1024)
    res = run_module("image_cache", env.args(image_id="r", source=str(raw), source_format="qcow2"))
    assert res.failed and "declared qcow2 but its header is raw" in res.msg, res
    q = env.uploads / "q.img"
    qemu_img("create", "-q", "-f", "qcow2", str(q), "16M")
    res = run_module("image_cache", env.args(image_id="q", source=str(q), source_format="raw",
                                             disk_format="raw"))
    assert res.failed and "declared raw but its header is qcow2" in res.msg, res
    assert env.cache_files() == []


@pytest.mark.parametrize("source", ["/etc/shadow", "file:///etc/shadow"])
def test_host_files_are_never_sources(env, source):
    res = run_module("image_cache", env.args(image_id="s", source=source, source_format="raw",
                                             disk_format="raw"))
    assert res.failed and res["error"] == "InvalidInput", res
    assert "source" in res.msg and "allowed" in res.msg
    assert env.cache_files() == []
    # and without allowed_sources, the defaults do not cover /etc either
    res = run_module("image_cache", dict(image_id="s", source=source, disk_format="raw",
                                         images_dir=str(env.images), instances_dir=str(env.instances)))
    assert res.failed and "/var/lib/stratus/staging" in res.msg, res


def test_good_qcow2_and_raw_are_cached_once(env):
    q = env.uploads / "good.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(q), "16M")
    args = env.args(image_id="good", source=str(q), source_format="qcow2")
    first = run_module("image_cache", args)
    assert first.changed and first["image"]["format"] == "qcow2", first
    assert first["diff"]["before"] == {} and first["diff"]["after"]["id"] == "good"
    assert not run_module("image_cache", args).changed
    raw = env.uploads / "good.raw"
    raw.write_bytes(b"\0" * 1024 * 1024)
    args = env.args(image_id="graw", source=str(raw), source_format="raw", disk_format="raw",
                    os_hash_algo="sha256", os_hash_value=hashlib.sha256(raw.read_bytes()).hexdigest())
    assert run_module("image_cache", args).changed
    assert not run_module("image_cache", args).changed
    assert env.cache_files() == [".meta", ".meta/good.json", ".meta/graw.json", "good", "graw"]


@pytest.fixture
def http_server(env):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(env.uploads))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_needs_hash_prefix_and_stays_under_the_cap(env, http_server):
    blob = env.uploads / "big.raw"
    blob.write_bytes(b"\1" * (2 * 1024 * 1024))
    md5 = hashlib.md5(blob.read_bytes()).hexdigest()
    url = http_server + "big.raw"
    base = dict(image_id="big", source=url, disk_format="raw", source_format="raw")
    no_hash = run_module("image_cache", env.args(allowed_sources=[http_server], **base))
    assert no_hash.failed and "checksum" in no_hash.msg, no_hash
    not_allowed = run_module("image_cache", env.args(checksum=md5, **base))
    assert not_allowed.failed and "allowed URL prefix" in not_allowed.msg, not_allowed
    capped = run_module("image_cache", env.args(allowed_sources=[http_server], checksum=md5,
                                                max_size=1024 * 1024, **base))
    assert capped.failed and capped["error"] == "ImageTooLarge" and "max_size" in capped.msg, capped
    assert env.cache_files() == []
    ok = run_module("image_cache", env.args(allowed_sources=[http_server], checksum=md5, **base))
    assert ok.changed and ok["image"]["hashes"]["md5"] == md5, ok


class TicketOnly(http.server.SimpleHTTPRequestHandler):
    """The image service's download route in miniature: no ticket, no bytes."""

    ticket = secrets.token_hex(16)

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.headers.get("X-Image-Ticket") != self.ticket:
            self.send_error(403, "X-Image-Ticket required")
            return
        super().do_GET()


def test_download_with_a_ticket_header_that_is_never_shown(env):
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(TicketOnly, directory=str(env.uploads)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        q = env.uploads / "t.qcow2"
        qemu_img("create", "-q", "-f", "qcow2", str(q), "16M")
        base = env.args(image_id="tkt", source=url + "t.qcow2", source_format="qcow2",
                        allowed_sources=[url], os_hash_value=hashlib.sha512(q.read_bytes()).hexdigest())
        refused = run_module("image_cache", base)
        assert refused.failed and "403" in refused.msg and env.cache_files() == [], refused
        args = dict(base, headers={"X-Image-Ticket": TicketOnly.ticket})
        ok = run_module("image_cache", args)
        assert ok.changed and ok["image"]["format"] == "qcow2", ok
        assert not run_module("image_cache", args).changed
        bad = run_module("image_cache", dict(base, headers={"X-Image-Ticket": "x\r\nHost: evil"}))
        assert bad.failed and "holds a newline" in bad.msg, bad
        for res in (ok, bad):
            assert TicketOnly.ticket not in json.dumps(res) and "evil" not in json.dumps(res)
    finally:
        server.shutdown()
        server.server_close()
