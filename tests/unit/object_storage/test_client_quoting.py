"""The object-store client's wire form: names quoted as swiftclient quotes them, header
values as UTF-8, Swift's error answers readable; checked against a local HTTP server
that records what arrives (no Swift needed)."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.object_store import client as c

pytestmark = [pytest.mark.object_storage]


@pytest.mark.parametrize("name", ["plain", "ünïcødé/名前", "a//b", "/lead", "sp ace?&#%", "trail/"])
def test_names_are_quoted_like_swiftclient(name):
    from swiftclient.client import quote as sc_quote

    assert c.quote_name(name) == sc_quote(name)
    assert urllib.parse.unquote(c.quote_name(name)) == name


def test_object_path_keeps_double_slashes_and_refuses_slash_in_container():
    assert c.object_path("/v1/AUTH_p/", "cont", "a//b") == "/v1/AUTH_p/cont/a//b"
    assert c.object_path("/v1/AUTH_p", "c ü") == "/v1/AUTH_p/c%20%C3%BC"
    with pytest.raises(c.InvalidRequest, match="holds '/'"):
        c.object_path("/v1/AUTH_p", "a/b", "o")
    with pytest.raises(c.InvalidRequest, match="empty"):
        c.object_path("/v1/AUTH_p", "c", "")


def test_header_values_refuse_line_breaks_and_names_must_be_tokens():
    assert c.header_value("wert ü") == "wert ü".encode()
    with pytest.raises(c.InvalidRequest, match="line break"):
        c.header_value("a\r\nX-Evil: 1")
    with pytest.raises(c.InvalidRequest, match="HTTP header name"):
        c.check_header_name("has space")
    assert c.check_header_name("Color_2") == "Color_2"


def test_swift_error_message_carries_status_and_swifts_words():
    err = c.SwiftHTTPError("PUT", "/v1/AUTH_p/missing/o", 404, "Not Found",
                           b"<html><h1>Not Found</h1><p>The resource could not be found.</p></html>")
    assert str(err) == ("Swift answered 404 Not Found to PUT /v1/AUTH_p/missing/o: "
                        "Not Found The resource could not be found.")
    hinted = err.with_hint("create it first")
    assert str(hinted).endswith("(create it first)") and hinted.status == 404
    assert c.error_facts(hinted) == {"error": "SwiftHTTPError", "status": 404}


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list = []
    answers: dict = {}

    def _any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        Recorder.seen.append((self.command, self.path, dict(self.headers.items()), body))
        status, headers, out = Recorder.answers.get(self.command, (204, {}, b""))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def recorder():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def server(recorder):
    Recorder.seen, Recorder.answers = [], {}
    return recorder


def test_requests_on_the_wire(server):
    cl = c.SwiftClient(server + "/v1/AUTH_p", "tok")
    Recorder.answers["PUT"] = (201, {"Etag": "x"}, b"")
    cl.put_object("cont", "dir//ünï", b"data", size=4, headers={"X-Object-Meta-Note": "grüße"})
    method, path, headers, body = Recorder.seen[-1]
    assert (method, path, body) == ("PUT", "/v1/AUTH_p/cont/dir//%C3%BCn%C3%AF", b"data")
    assert headers["X-Auth-Token"] == "tok" and headers["Content-Length"] == "4"
    # http.server reads headers as latin-1, as Swift's WSGI does: the bytes are UTF-8
    assert headers["X-Object-Meta-Note"].encode("latin-1").decode("utf-8") == "grüße"


def test_head_reads_utf8_metadata_and_404_is_none(server):
    cl = c.SwiftClient(server + "/v1/AUTH_p", "tok")
    Recorder.answers["HEAD"] = (200, {"X-Object-Meta-Note": "grüße".encode().decode("latin-1"),
                                      "Etag": '"abc"'}, b"")
    headers = cl.head_object("c", "o")
    assert c.metadata_of(headers, "x-object-meta-") == {"note": "grüße"}
    assert c.unquote_etag(headers["etag"]) == "abc"
    Recorder.answers["HEAD"] = (404, {}, b"")
    assert cl.head_object("c", "o") is None


def test_unexpected_status_raises_with_swifts_body(server):
    cl = c.SwiftClient(server + "/v1/AUTH_p", "tok")
    Recorder.answers["PUT"] = (400, {}, b"Object name length of 1025 longer than 1024")
    with pytest.raises(c.SwiftHTTPError) as info:
        cl.put_object("c", "x" * 1025, b"", size=0)
    assert info.value.status == 400
    assert "Object name length of 1025 longer than 1024" in str(info.value)


def test_listing_pages_with_marker(server):
    cl = c.SwiftClient(server + "/v1/AUTH_p", "tok")
    Recorder.answers["GET"] = (200, {"Content-Type": "application/json"},
                               json.dumps([{"name": "a"}, {"name": "b"}]).encode())
    assert [o["name"] for o in cl.list_objects("c", limit=5)] == ["a", "b"]
    assert "format=json" in Recorder.seen[-1][1]


def test_multipart_delete_report_with_errors_raises(server):
    cl = c.SwiftClient(server + "/v1/AUTH_p", "tok")
    report = {"Response Status": "409 Conflict", "Errors": [["/c_segments/s1", "409 Conflict"]]}
    Recorder.answers["DELETE"] = (200, {"Content-Type": "application/json"}, json.dumps(report).encode())
    with pytest.raises(c.SwiftHTTPError, match="409 Conflict.*c_segments/s1"):
        cl.delete_object("c", "o", query={"multipart-manifest": "delete"})
    assert Recorder.seen[-1][2]["Accept"] == "application/json"


def test_unreachable_service_is_a_transport_error():
    cl = c.SwiftClient("http://127.0.0.1:9/v1/AUTH_p", "tok", timeout=2)
    with pytest.raises(c.TransportError, match="check that the service is up"):
        cl.head_container("c")
