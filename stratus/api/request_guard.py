"""The request guard: what Nova's (and Neutron's) WSGI layer refuses before any route runs.

For every request under a guarded root (``/compute/v2.1/...``, ``/network/...``), before
the routes:

- a ``Content-Type`` other than JSON (``application/json``,
  ``application/vnd.openstack.compute+json``; none or ``text/plain`` count as JSON, as
  in Nova) answers 415 "Unsupported Content-Type";
- a body larger than :data:`MAX_BODY` (oslo.middleware's default) answers 413;
- a body that is not JSON, or JSON that is not an object, answers 400 "Malformed
  request body";
- a NUL character in any string of the body (key or value) or of the query answers 400
  "Invalid input for field/attribute <key>. ..." (PostgreSQL cannot store NUL; no route
  should ever see one);
- a NUL in the path answers 404 (no resource has such a name).

An empty body passes (routes that need one say so). The body the routes read is the
one checked; a body sent without a content type is labelled ``application/json`` so the
routes parse it as Nova would. Faults are in the service's format
(:func:`stratus.api.errors.fault_body`).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, unquote

from stratus.api.errors import fault_body

# oslo.middleware sizelimit's max_request_body_size default (Nova's deployment).
MAX_BODY = 114688
JSON_TYPES = frozenset({"application/json", "application/vnd.openstack.compute+json"})


class Refusal(Exception):
    """A request refused before the routes: ``status`` and Nova's ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _nul(text: str) -> str:
    return text.replace("\x00", "\\u0000")


def find_nul(value, key: str | None = None) -> tuple[str | None, str] | None:
    """The (key, string) of the first string containing a NUL in a JSON document, where
    key is the nearest object key above it (None at the top), else None."""
    if isinstance(value, str):
        return (key, value) if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            if "\x00" in k:
                return k, k
            found = find_nul(v, k)
            if found:
                return found
    if isinstance(value, list):
        for v in value:
            found = find_nul(v, key)
            if found:
                return found
    return None


def content_type(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The media type of the ``Content-Type`` header, lowercased and without parameters;
    None when absent, empty or ``text/plain`` (which Nova reads as JSON)."""
    for k, v in headers:
        if k.lower() == b"content-type":
            media = v.decode("latin-1").split(";", 1)[0].strip().lower()
            return None if media in ("", "text/plain") else media
    return None


def check_query(query: bytes) -> None:
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            raise Refusal(400, f"Invalid input for query parameters {_nul(name)}. Value: {_nul(value)}. "
                               "NUL characters (\\u0000) are not allowed; remove them.")


def check_body(body: bytes) -> None:
    if not body.strip():
        return
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "Malformed request body") from None
    if not isinstance(doc, dict):
        raise Refusal(400, "Malformed request body")
    found = find_nul(doc)
    if found:
        key, value = found
        raise Refusal(400, f"Invalid input for field/attribute {_nul(key or '')}. Value: {_nul(value)}. "
                           "NUL characters (\\u0000) are not allowed; remove them.")


class RequestGuard:
    """ASGI middleware applying the checks above under ``prefix`` in ``service``'s
    fault format. It reads the whole body (bounded by MAX_BODY) before the app does."""

    def __init__(self, app, prefix: str = "/compute/v2.1", service: str = "compute") -> None:
        self.app, self.prefix, self.service = app, prefix, service

    def _guarded(self, scope) -> bool:
        if scope["type"] != "http":  # lifespan (the job worker starts there) and websockets pass
            return False
        path = scope["path"]
        return path == self.prefix or path.startswith(self.prefix + "/")

    async def __call__(self, scope, receive, send):
        if not self._guarded(scope):
            await self.app(scope, receive, send)
            return
        try:
            if "\x00" in unquote(scope.get("raw_path", b"").decode("latin-1")) or "\x00" in scope["path"]:
                raise Refusal(404, "The resource could not be found.")
            check_query(scope.get("query_string", b""))
            media = content_type(scope.get("headers", []))
            if media is not None and media not in JSON_TYPES:
                raise Refusal(415, "Unsupported Content-Type")
            body = await _read_body(receive)
            check_body(body)
        except Refusal as exc:
            await self._refuse(scope, send, exc)
            return
        if body and media is None:
            headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, _replay(body, receive), send)

    async def _refuse(self, scope, send, exc: Refusal) -> None:
        body = json.dumps(fault_body(self.service, exc.status, exc.message)).encode()
        await send({"type": "http.response.start", "status": exc.status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


async def _read_body(receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise Refusal(413, f"Request is too large: the body has more than {MAX_BODY} bytes; send less.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
