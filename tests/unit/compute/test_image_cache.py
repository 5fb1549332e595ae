"""ImageCache and SourcePolicy on real files with the real qemu-img (HTTP on loopback)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import subprocess
import threading
from pathlib import Path

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    ChecksumMismatch,
    CommandFailed,
    Conflict,
    ImageTooLarge,
    InvalidInput,
    NotFound,
    UnsafeImage,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.image_cache import (
    Hashes,
    ImageCache,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.image_source import (
    DEFAULT_MAX_SIZE,
    SourcePolicy,
)

UUID = "0d4a1c52-8b1e-4c3a-9f7e-5a2b1c0d9e8f"


class RecordingRun:
    """The real runner, recording every qemu-img argv (to show -f is always given)."""

    def __init__(self):
        self.calls: list[list[str]] = []

    def __call__(self, argv, data=None):
        from ansible_collections.stratus.cloud.plugins.module_utils.common.command import (
            subprocess_run,
        )

        self.calls.append(list(argv))
        return subprocess_run(argv, data)


@pytest.fixture
def cache(tmp_path):
    src_dir = tmp_path / "uploads"
    src_dir.mkdir()
    src = src_dir / "src.raw"
    src.write_bytes(b"\0" * 1024 * 1024)
    run = RecordingRun()
    c = ImageCache(tmp_path / "images", tmp_path / "instances",
                   QemuImg(run, error=CommandFailed, invalid=InvalidInput),
                   policy=SourcePolicy.make([str(src_dir)], None))
    c.run = run
    return c, src


def leftovers(c: ImageCache) -> list[str]:
    if not c.images_dir.exists():
        return []
    return sorted(str(p.relative_to(c.images_dir)) for p in c.images_dir.rglob("*"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def test_cache_converts_verifies_and_is_idempotent(cache):
    c, src = cache
    h = Hashes(os_hash_algo="sha256", os_hash_value=sha256(src))
    out = c.ensure_present("img1", str(src), "qcow2", h, source_format="raw")
    assert out.changed and out.before == {} and out.after["format"] == "qcow2"
    assert out.after["source_format"] == "raw"
    assert c.ensure_present("img1", str(src), "qcow2", h, source_format="raw").changed is False
    out = c.ensure_present("img1", str(src), "raw", h)  # format change: redo
    assert out.changed and out.after["format"] == "raw"
    # every qemu-img call that reads the user's file names its format
    for argv in c.run.calls:
        if argv[1] in ("info", "convert"):
            assert "-f" in argv, argv


def test_check_mode_writes_nothing(cache):
    c, src = cache
    out = c.ensure_present("img1", str(src), "raw", Hashes(), check=True)
    assert out.changed and out.after["format"] == "raw" and leftovers(c) == []


def test_cache_checksum_mismatch_leaves_nothing(cache):
    c, src = cache
    with pytest.raises(ChecksumMismatch):
        c.ensure_present("img2", str(src), "raw", Hashes(checksum="0" * 32))
    assert c.list() == [] and leftovers(c) == []


def test_qcow2_backed_by_etc_shadow_is_refused_and_leaves_nothing(cache):
    c, src = cache
    bad = src.parent / "evil.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", str(bad), "64M")
    with pytest.raises(UnsafeImage, match=r"backing file \(/etc/shadow\)") as err:
        c.ensure_present("evil", str(bad), "qcow2", Hashes(), source_format="qcow2")
    assert "image evil from" in str(err.value)
    assert leftovers(c) == []  # no image, no .part, no .conv, no meta
    # qemu-img never opened it: the header was read in Python first
    assert not any(str(bad) in argv for argv in c.run.calls)


def test_qcow2_with_data_file_is_refused(cache):
    c, src = cache
    bad = src.parent / "df.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"data_file={src.parent / 'data.raw'}", str(bad), "64M")
    with pytest.raises(UnsafeImage, match="external data file"):
        c.ensure_present("df", str(bad), "qcow2", Hashes())
    assert leftovers(c) == []


def test_declared_format_must_match_the_header(cache):
    c, src = cache
    with pytest.raises(UnsafeImage, match="declared qcow2 but its header is raw"):
        c.ensure_present("x", str(src), "qcow2", Hashes(), source_format="qcow2")
    q = src.parent / "q.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", str(q), "16M")
    with pytest.raises(UnsafeImage, match="declared raw but its header is qcow2"):
        c.ensure_present("y", str(q), "raw", Hashes(), source_format="raw")
    assert leftovers(c) == []


def test_other_formats_refused_unless_converted(cache, tmp_path):
    c, src = cache
    vmdk = src.parent / "x.vmdk"
    qemu_img("create", "-q", "-f", "vmdk", str(vmdk), "16M")
    with pytest.raises(UnsafeImage, match="source_format 'vmdk' is not accepted"):
        c.ensure_present("v", str(vmdk), "qcow2", Hashes(), source_format="vmdk")
    conv = ImageCache(c.images_dir, c.instances_dir, c.qemu_img, policy=c.policy,
                      convert_formats=("vmdk",))
    out = conv.ensure_present("v", str(vmdk), "qcow2", Hashes(), source_format="vmdk")
    assert out.after["format"] == "qcow2" and out.after["source_format"] == "vmdk"
    assert next(a for a in c.run.calls if a[1] == "convert")[3:5] == ["-f", "vmdk"]


def test_sources_outside_the_allowed_roots_are_refused(cache, tmp_path):
    c, _ = cache
    for source in ("/etc/shadow", "file:///etc/shadow", "ftp://h/x", "relative/x",
                   str(tmp_path / "uploads" / ".." / "outside")):
        with pytest.raises(InvalidInput) as err:
            c.ensure_present("x", source, "raw", Hashes())
        assert "source" in str(err.value)
    link = tmp_path / "uploads" / "shadow-link"
    link.symlink_to("/etc/shadow")
    with pytest.raises(InvalidInput, match="outside the allowed directories"):
        c.ensure_present("x", str(link), "raw", Hashes())
    assert leftovers(c) == []


def test_cache_and_instance_files_are_never_sources(tmp_path):
    policy = SourcePolicy.make([str(tmp_path)], None)
    c = ImageCache(tmp_path / "images", tmp_path / "instances", policy=policy)
    (tmp_path / "instances" / UUID).mkdir(parents=True)
    disk = tmp_path / "instances" / UUID / "disk.config"
    disk.write_bytes(b"user data of a tenant")
    with pytest.raises(InvalidInput, match="instance disks"):
        c.ensure_present("x", str(disk), "raw", Hashes())


def test_missing_source(cache):
    c, src = cache
    with pytest.raises(NotFound):
        c.ensure_present("x", str(src.parent / "nope"), "raw", Hashes())


def test_size_cap_of_a_local_file(cache):
    c, src = cache
    small = ImageCache(c.images_dir, c.instances_dir, c.qemu_img,
                       policy=SourcePolicy.make(c.policy.allowed, 4096))
    with pytest.raises(ImageTooLarge, match="max_size"):
        small.ensure_present("big", str(src), "raw", Hashes())
    assert leftovers(c) == []
    assert SourcePolicy().max_size == DEFAULT_MAX_SIZE == 10 * 1024**3


def test_policy_from_host_config():
    conf = {"image_allowed_sources": "/srv/a, http://glance:9292/v2/", "image_max_size": "1024"}
    p = SourcePolicy.from_host(None, None, conf)
    assert p.allowed == ("/srv/a", "http://glance:9292/v2/") and p.max_size == 1024
    assert SourcePolicy.from_host(["/x"], 5, conf).allowed == ("/x",)
    with pytest.raises(InvalidInput, match="allowed_sources entry"):
        SourcePolicy.make(["relative"], None)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/images/../etc/x",
        "http://127.0.0.1:9/other/x",
        "http://127.0.0.1:99/images/x",
        "https://127.0.0.1:9/images/x",
        "http://127.0.0.1:9.evil.example/images/x",
        "http://user@127.0.0.1:9/images/x",
    ],
)
def test_url_prefixes(url):
    p = SourcePolicy.make(["http://127.0.0.1:9/images"], None)
    assert p.check_url("http://127.0.0.1:9/images/x.qcow2")
    with pytest.raises(InvalidInput):
        p.check_url(url)


# HTTP on loopback ---------------------------------------------------------------


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # /redirect sends the client elsewhere
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.2:1/x")
            self.end_headers()
            return
        super().do_GET()


@pytest.fixture
def http_dir(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def http_cache(tmp_path, prefix: str, max_size: int | None = None) -> ImageCache:
    return ImageCache(tmp_path / "images", tmp_path / "instances",
                      policy=SourcePolicy.make([prefix], max_size))


def test_download_needs_a_hash_and_is_verified(tmp_path, http_dir):
    root, url = http_dir
    (root / "a.raw").write_bytes(b"\1" * 65536)
    c = http_cache(tmp_path, url)
    with pytest.raises(InvalidInput, match="give its checksum"):
        c.ensure_present("a", url + "a.raw", "raw", Hashes())
    md5 = hashlib.md5(b"\1" * 65536).hexdigest()
    out = c.ensure_present("a", url + "a.raw", "raw", Hashes(checksum=md5))
    assert out.changed and out.after["hashes"]["md5"] == md5
    assert not c.ensure_present("a", url + "a.raw", "raw", Hashes(checksum=md5)).changed


def test_download_stops_at_the_cap(tmp_path, http_dir):
    root, url = http_dir
    (root / "big.raw").write_bytes(b"\1" * (3 * 1024 * 1024))
    c = http_cache(tmp_path, url, max_size=1024 * 1024)
    with pytest.raises(ImageTooLarge, match="max_size"):
        c.ensure_present("big", url + "big.raw", "raw", Hashes(checksum="0" * 32))
    assert leftovers(c) == []


def test_download_without_length_stops_at_the_cap(tmp_path):
    class Chunked(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.end_headers()  # no Content-Length: the cap must stop the stream
            try:
                for _ in range(64):
                    self.wfile.write(b"\1" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # the client hangs up at the cap: expected

    server = Quiet(("127.0.0.1", 0), Chunked)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        c = http_cache(tmp_path, url, max_size=256 * 1024)
        with pytest.raises(ImageTooLarge, match="download was stopped"):
            c.ensure_present("s", url + "s.raw", "raw", Hashes(checksum="0" * 32))
        assert leftovers(c) == []
    finally:
        server.shutdown()
        server.server_close()


def test_redirect_outside_the_prefixes_is_refused(tmp_path, http_dir):
    _root, url = http_dir
    c = http_cache(tmp_path, url)
    with pytest.raises(InvalidInput, match="does not start with an allowed URL prefix"):
        c.ensure_present("r", url + "redirect", "raw", Hashes(checksum="0" * 32))
    assert leftovers(c) == []


def test_users_block_removal_and_prune(cache):
    c, src = cache
    c.ensure_present("used", str(src), "qcow2", Hashes(), source_format="raw")
    c.ensure_present("unused", str(src), "qcow2", Hashes(), source_format="raw")
    inst = c.instances_dir / UUID
    inst.mkdir(parents=True)
    QemuImg().create_overlay(inst / "disk", c.path("used"), "qcow2")
    assert c.users("used") == [str(inst / "disk")]
    with pytest.raises(Conflict):
        c.ensure_absent("used")
    out = c.ensure_pruned(check=True)
    assert out.changed and out.after == {"images": ["used"]} and Path(c.path("unused")).exists()
    assert c.ensure_pruned().before == {"images": ["unused", "used"]} and c.list() == ["used"]
    out = c.ensure_absent("used", force=True)
    assert out.changed and out.before["id"] == "used" and out.after == {} and c.list() == []
    assert not c.ensure_absent("used").changed


def test_cached_image_that_changed_format_is_refused(cache):
    c, src = cache
    c.ensure_present("img", str(src), "qcow2", Hashes(), source_format="raw")
    c.path("img").write_bytes(b"\0" * 4096)  # swapped behind the cache's back: now raw
    with pytest.raises(UnsafeImage, match="recorded as qcow2 but its header is raw"):
        c.get("img")


# Headers (the image service's download ticket) ------------------------------------

TICKET = "1799999999.c0ffee"


class TicketHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files only with ``X-Image-Ticket: TICKET``; records what each request had.
    ``/hop/<port>/<name>`` redirects to the same name on 127.0.0.1:<port>."""

    seen: list[tuple[str, str | None]] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("X-Image-Ticket")))
        if self.path.startswith("/hop/"):
            _, _, port, name = self.path.split("/", 3)
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{port}/{name}")
            self.end_headers()
            return
        if self.headers.get("X-Image-Ticket") != TICKET:
            self.send_error(403, "a valid X-Image-Ticket is required")
            return
        super().do_GET()


@pytest.fixture
def ticket_servers(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    servers, urls = [], []
    TicketHandler.seen = []
    for _ in range(2):
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(TicketHandler, directory=str(root)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls.append(f"http://127.0.0.1:{server.server_address[1]}/")
    yield root, urls
    for server in servers:
        server.shutdown()
        server.server_close()


def test_download_sends_the_ticket_header_and_fails_without_it(tmp_path, ticket_servers):
    root, (url, _) = ticket_servers
    blob = b"\2" * 65536
    (root / "t.raw").write_bytes(blob)
    c = http_cache(tmp_path, url)
    h = Hashes(os_hash_algo="sha512", os_hash_value=hashlib.sha512(blob).hexdigest())
    with pytest.raises(NotFound, match="403") as err:
        c.ensure_present("t", url + "t.raw", "raw", h)
    assert leftovers(c) == []
    out = c.ensure_present("t", url + "t.raw", "raw", h, headers={"X-Image-Ticket": TICKET})
    assert out.changed and out.after["hashes"]["sha512"] == h.os_hash_value
    assert TicketHandler.seen == [("/t.raw", None), ("/t.raw", TICKET)]
    assert TICKET not in c._meta_path("t").read_text()  # never recorded
    assert TICKET not in str(err.value)


def test_ticket_follows_a_redirect_only_on_the_same_origin(tmp_path, ticket_servers):
    root, (url, other) = ticket_servers
    (root / "r.raw").write_bytes(b"\3" * 4096)
    md5 = hashlib.md5(b"\3" * 4096).hexdigest()
    port, other_port = url.rsplit(":", 1)[1].strip("/"), other.rsplit(":", 1)[1].strip("/")
    c = http_cache(tmp_path, url)  # only the first server is allowed
    c.policy = SourcePolicy.make([url, other], None, c.policy.forbidden)
    out = c.ensure_present("r", f"{url}hop/{port}/r.raw", "raw", Hashes(checksum=md5),
                           headers={"X-Image-Ticket": TICKET})
    assert out.changed and ("/r.raw", TICKET) in TicketHandler.seen  # same origin: kept
    TicketHandler.seen.clear()
    c.ensure_absent("r")
    with pytest.raises(NotFound, match="403"):  # another (allowed) server: not sent
        c.ensure_present("r", f"{url}hop/{other_port}/r.raw", "raw", Hashes(checksum=md5),
                         headers={"X-Image-Ticket": TICKET})
    assert TicketHandler.seen == [(f"/hop/{other_port}/r.raw", TICKET), ("/r.raw", None)]
    assert leftovers(c) == [".meta"]


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({"X-Image-Ticket": "a\r\nX-Evil: 1"}, "the value of X-Image-Ticket holds a newline"),
        ({"X-Image-Ticket": "a\nb"}, "holds a newline"),
        ({"Bad Name": "x"}, "'Bad Name' is not an HTTP header name"),
        ({"X:Y": "x"}, "is not an HTTP header name"),
        ({"": "x"}, "is not an HTTP header name"),
    ],
)
def test_bad_headers_are_refused_before_anything_is_read(cache, headers, words):
    c, src = cache
    with pytest.raises(InvalidInput, match=words) as err:
        c.ensure_present("h", "http://127.0.0.1:9/x", "raw", Hashes(checksum="0" * 32),
                         headers=headers, check=True)
    assert "a\r\n" not in str(err.value) and "a\nb" not in str(err.value)  # values are secrets
    assert leftovers(c) == []


def test_headers_with_a_local_source_are_refused(cache):
    c, src = cache
    with pytest.raises(InvalidInput, match="headers apply only to http"):
        c.ensure_present("l", str(src), "raw", Hashes(), headers={"X-Image-Ticket": TICKET})
    assert leftovers(c) == []
