"""The compute request guard as an ASGI middleware: a body sent in chunks is checked
whole and handed on unchanged; refused requests never reach the app."""

from __future__ import annotations

import asyncio
import json

import pytest

from stratus.api.request_guard import MAX_BODY, RequestGuard, find_nul


def _call(guard, path: str, chunks: list[bytes], headers=None):
    received, sent = [], []
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                for i, c in enumerate(chunks)]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": headers if headers is not None else []}
    asyncio.run(guard(scope, receive, send))
    return received, sent


def _app(received):
    async def app(scope, receive, send):
        body = b""
        while True:
            m = await receive()
            body += m.get("body", b"")
            if not m.get("more_body"):
                break
        received.append((dict(scope["headers"]), body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    return app


def test_chunked_body_is_checked_whole_and_passed_on():
    got = []
    guard = RequestGuard(_app(got))
    _, sent = _call(guard, "/compute/v2.1/servers", [b'{"server": ', b'{"name": "a"}', b"}"])
    assert sent[0]["status"] == 200
    headers, body = got[0]
    assert body == b'{"server": {"name": "a"}}'
    assert headers[b"content-type"] == b"application/json"  # no type given: read as JSON


def test_chunked_body_with_a_nul_never_reaches_the_app():
    got = []
    _, sent = _call(RequestGuard(_app(got)), "/compute/v2.1/servers",
                    [b'{"server": {"name": "a', b'\\u0000b"}}'])
    assert not got and sent[0]["status"] == 400
    assert json.loads(sent[1]["body"])["badRequest"]["message"].startswith(
        "Invalid input for field/attribute name. Value: a\\u0000b.")


def test_body_over_the_limit_is_413_before_it_is_all_read():
    got = []
    _, sent = _call(RequestGuard(_app(got)), "/compute/v2.1/servers", [b"x" * MAX_BODY, b"x", b"never read"])
    assert not got and sent[0]["status"] == 413


def test_paths_outside_the_prefix_pass_untouched():
    got = []
    _call(RequestGuard(_app(got)), "/compute/v2.10/x", [b"[not json"])
    _call(RequestGuard(_app(got)), "/identity/v3/x", [b"[not json"])
    assert [b for _, b in got] == [b"[not json", b"[not json"]


@pytest.mark.parametrize(("doc", "found"), [
    ({"a": "ok", "b": ["x", {"c": "\x00"}]}, ("c", "\x00")),
    ({"a": ["p\x00"]}, ("a", "p\x00")),
    ({"k\x00": 1}, ("k\x00", "k\x00")),
    ({"a": [1, None, True, {"b": "fine"}]}, None),
])
def test_find_nul(doc, found):
    assert find_nul(doc) == found


def test_lifespan_passes_to_the_app():
    """The app's lifespan (where the job worker starts) goes through untouched."""
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    asyncio.run(RequestGuard(app)({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]
