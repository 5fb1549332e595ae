"""A small Swift (object storage API v1) client on the standard library.

It ships to hosts with AnsiballZ, so it uses ``http.client`` only (no requests, no
swiftclient). ``SwiftClient(storage_url, token)`` talks to one account
(``<proxy>/v1/AUTH_<project>``); every call is one HTTP request.

Contracts:

- Names are quoted as python-swiftclient quotes them (``urllib.parse.quote`` of the
  UTF-8 name, ``/`` kept), so unicode and ``a//b`` reach Swift unchanged. A container
  name may not hold ``/`` (Swift would read it as container + object); everything else
  (length, emptiness of an object name, ...) is Swift's to judge.
- Header values go out as UTF-8 bytes and come back decoded from UTF-8 (http.client
  reads them as latin-1), so metadata with unicode values round-trips.
- An answer outside the expected statuses raises :class:`SwiftHTTPError` carrying
  Swift's status, reason and body (HTML tags removed): the sentence a person sees.
  ``head_*`` return ``None`` for 404, every other call raises it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import ssl
import urllib.parse

CHUNK = 1 << 16
USER_AGENT = "stratus-object-store/1"
# what one error message shows of Swift's answer
BODY_LIMIT = 600


class SwiftError(Exception):
    """Base of this driver's errors; ``str()`` is a sentence for a person."""


class InvalidRequest(SwiftError):
    """The request is refused before Swift is asked (a bad name, option or file)."""


class NotFound(SwiftError):
    """A container or object that the request needs does not exist."""


class AuthFailed(SwiftError):
    """Keystone refused the credentials or its catalog has no object-store endpoint."""


class TransportError(SwiftError):
    """Swift (or Keystone) could not be reached or broke the connection."""


class SwiftHTTPError(SwiftError):
    """Swift answered with an unexpected status; the message carries its own words."""

    def __init__(self, method: str, path: str, status: int, reason: str, body: bytes | str = b"",
                 hint: str = ""):
        self.method, self.path, self.status, self.reason = method, path, status, reason
        self.body = readable_body(body)
        self.hint = hint
        text = f"Swift answered {status} {reason} to {method} {path}"
        if self.body:
            text += f": {self.body}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)

    def with_hint(self, hint: str) -> SwiftHTTPError:
        """The same answer with advice for the person reading it."""
        return SwiftHTTPError(self.method, self.path, self.status, self.reason, self.body, hint)


def error_facts(exc: SwiftError) -> dict:
    """What a module's ``fail_json`` adds to the message: the error's kind and, for
    Swift's answers, the HTTP status."""
    facts = {"error": type(exc).__name__}
    if isinstance(exc, SwiftHTTPError):
        facts["status"] = exc.status
    return facts


def readable_body(body: bytes | str) -> str:
    """Swift's error body as one line: HTML tags dropped, whitespace folded, cut short."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    text = re.sub(r"<[^>]+>", " ", body)
    text = " ".join(text.split())
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "..."


def quote_name(name: str) -> str:
    """One container or object name as it goes into a URL path (swiftclient's ``quote``)."""
    return urllib.parse.quote(name.encode("utf-8"), safe="/")


def check_container_name(name) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidRequest(f"container name {name!r} is empty; give the container's name")
    if "/" in name:
        raise InvalidRequest(f"container name {name!r} holds '/'; Swift container names cannot "
                             "(put the part after '/' into the object name instead)")
    return name


def check_object_name(name) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidRequest(f"object name {name!r} is empty; give the object's name")
    return name


def object_path(base: str, container: str | None = None, obj: str | None = None) -> str:
    """``base`` (the account's URL path) with the quoted container and object names."""
    path = base.rstrip("/")
    if container is not None:
        path += "/" + quote_name(check_container_name(container))
        if obj is not None:
            path += "/" + quote_name(check_object_name(obj))
    return path


_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def header_value(value) -> bytes:
    """A header value as UTF-8 bytes, refused when it would end the header line."""
    text = value if isinstance(value, str) else str(value)
    if any(c in text for c in "\r\n\x00"):
        raise InvalidRequest(f"header value {value!r} holds a line break or NUL; remove it")
    return text.encode("utf-8")


def check_header_name(name: str, what: str = "metadata key") -> str:
    if not isinstance(name, str) or not _TOKEN.match(name):
        raise InvalidRequest(f"{what} {name!r} is not usable in an HTTP header name: use letters, "
                             "digits and -_.!#$%&'*+^`|~ only (no spaces, no ':')")
    return name


def decode_header(value: str) -> str:
    """A header value as http.client gave it (latin-1) read back as UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def unquote_etag(etag: str | None) -> str:
    return (etag or "").strip().strip('"')


def metadata_of(headers: dict, prefix: str) -> dict[str, str]:
    """User metadata from lower-cased response ``headers``: ``x-<kind>-meta-*`` keys,
    lower-cased, without the prefix."""
    prefix = prefix.lower()
    return {k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix)}


class Response:
    """A finished answer: status, reason, lower-cased headers (UTF-8 decoded), body."""

    def __init__(self, status: int, reason: str, headers: dict[str, str], body: bytes = b""):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def json(self):
        return json.loads(self.body.decode("utf-8")) if self.body else None


def ssl_context(validate_certs: bool = True, ca_cert: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_cert)
    if not validate_certs:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class HTTP:
    """One base URL; ``request`` opens a connection per call (Swift and Keystone keep
    none between an Ansible task's few calls worth pooling)."""

    def __init__(self, base_url: str, *, timeout: float = 60.0, context: ssl.SSLContext | None = None):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidRequest(f"URL {base_url!r} is not an http(s) URL; give one like "
                                 "http://proxy:8080/v1/AUTH_<project id>")
        self.base_url = base_url.rstrip("/")
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.base_path = parts.path.rstrip("/")
        self.timeout = timeout
        self.context = context

    def connect(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.netloc, timeout=self.timeout, context=self.context,
                                               blocksize=CHUNK)
        return http.client.HTTPConnection(self.netloc, timeout=self.timeout, blocksize=CHUNK)

    def open(self, method: str, path: str, *, headers: dict | None = None, body=None,
             query: dict | None = None) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send the request; the caller reads (and closes) the streaming response."""
        url = path + ("?" + urllib.parse.urlencode(query) if query else "")
        out = {"User-Agent": USER_AGENT}
        for k, v in (headers or {}).items():
            out[k] = v if isinstance(v, bytes) else header_value(v)
        if body is None and method in ("PUT", "POST"):
            out.setdefault("Content-Length", b"0")
        conn = self.connect()
        try:
            conn.request(method, url, body=body, headers=out)
            return conn, conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise TransportError(f"{method} {self.netloc}{path} failed: {exc}; check that the "
                                 "service is up and the URL right") from exc

    def request(self, method: str, path: str, *, headers: dict | None = None, body=None,
                query: dict | None = None, expect: tuple[int, ...] = (200, 201, 202, 204)) -> Response:
        """One request, its whole answer read; a status outside ``expect`` raises
        :class:`SwiftHTTPError` (404 included unless expected)."""
        conn, resp = self.open(method, path, headers=headers, body=body, query=query)
        try:
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"{method} {self.netloc}{path}: the answer broke off ({exc})") from exc
        finally:
            conn.close()
        answer = Response(resp.status, resp.reason, lower_headers(resp), data)
        if resp.status not in expect:
            raise SwiftHTTPError(method, urllib.parse.unquote(path), resp.status, resp.reason, data)
        return answer


def lower_headers(resp: http.client.HTTPResponse) -> dict[str, str]:
    return {k.lower(): decode_header(v) for k, v in resp.getheaders()}


class SliceReader:
    """``read(n)`` over ``length`` bytes of an open file from ``offset`` (one segment)."""

    def __init__(self, fileobj, offset: int, length: int):
        self.f, self.left = fileobj, length
        self.f.seek(offset)

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n is None or n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        return data


class SwiftClient:
    """The calls the modules need on one account (``storage_url``) with ``token``."""

    def __init__(self, storage_url: str, token: str, *, timeout: float = 60.0,
                 context: ssl.SSLContext | None = None):
        self.http = HTTP(storage_url, timeout=timeout, context=context)
        self.storage_url = self.http.base_url
        self.token = token

    def _headers(self, extra: dict | None = None) -> dict:
        out = {"X-Auth-Token": self.token}
        out.update(extra or {})
        return out

    def path(self, container: str | None = None, obj: str | None = None) -> str:
        return object_path(self.http.base_path, container, obj)

    def call(self, method: str, container: str | None = None, obj: str | None = None, *,
             headers: dict | None = None, body=None, query: dict | None = None,
             expect: tuple[int, ...] = (200, 201, 202, 204)) -> Response:
        return self.http.request(method, self.path(container, obj), headers=self._headers(headers),
                                 body=body, query=query, expect=expect)

    # containers

    def head_container(self, container: str) -> dict | None:
        r = self.call("HEAD", container, expect=(200, 204, 404))
        return None if r.status == 404 else r.headers

    def put_container(self, container: str, headers: dict | None = None) -> None:
        self.call("PUT", container, headers=headers)

    def post_container(self, container: str, headers: dict) -> None:
        self.call("POST", container, headers=headers)

    def delete_container(self, container: str) -> bool:
        """False when it was already gone; 409 (not empty) raises."""
        return self.call("DELETE", container, expect=(204, 404)).status != 404

    def list_objects(self, container: str, prefix: str | None = None, limit: int = 10000) -> list[dict]:
        """Every object of the container (the JSON listing, page by page)."""
        out: list[dict] = []
        marker = ""
        while True:
            query = {"format": "json", "limit": str(limit)}
            if marker:
                query["marker"] = marker
            if prefix:
                query["prefix"] = prefix
            page = self.call("GET", container, query=query, expect=(200, 204)).json() or []
            out.extend(page)
            if len(page) < limit:
                return out
            marker = page[-1]["name"]

    # objects

    def head_object(self, container: str, obj: str) -> dict | None:
        r = self.call("HEAD", container, obj, expect=(200, 204, 404))
        return None if r.status == 404 else r.headers

    def put_object(self, container: str, obj: str, body, *, size: int, headers: dict | None = None,
                   query: dict | None = None) -> dict:
        """PUT ``body`` (bytes or a file-like object of ``size`` bytes); Swift checks
        the ``ETag`` header when one is given."""
        h = {"Content-Length": str(size)}
        h.update(headers or {})
        return self.call("PUT", container, obj, headers=h, body=body, query=query,
                         expect=(201, 202)).headers

    def post_object(self, container: str, obj: str, headers: dict) -> None:
        self.call("POST", container, obj, headers=headers, expect=(202, 204))

    def delete_object(self, container: str, obj: str, *, query: dict | None = None) -> bool:
        """False when it was already gone."""
        headers = {"Accept": "application/json"} if query else None
        r = self.call("DELETE", container, obj, query=query, headers=headers, expect=(200, 204, 404))
        if r.status == 200 and query and "multipart-manifest" in query:
            check_bulk_answer(r, "DELETE", self.path(container, obj))
        return r.status != 404

    def get_manifest(self, container: str, obj: str) -> list[dict]:
        """An SLO's segment list as Swift gives it (``multipart-manifest=get``):
        dicts with ``name`` (``/container/object``), ``hash``, ``bytes`` (and
        ``range`` / ``sub_slo`` where used)."""
        r = self.call("GET", container, obj, query={"multipart-manifest": "get"}, expect=(200,))
        return r.json() or []

    def download(self, container: str, obj: str, fileobj) -> tuple[dict, int, str]:
        """Stream the object into ``fileobj``; returns (headers, size, md5 hex)."""
        path = self.path(container, obj)
        conn, resp = self.http.open("GET", path, headers=self._headers())
        try:
            if resp.status != 200:
                raise SwiftHTTPError("GET", urllib.parse.unquote(path), resp.status, resp.reason, resp.read())
            digest, size = hashlib.md5(), 0
            while True:
                block = resp.read(CHUNK)
                if not block:
                    break
                digest.update(block)
                size += len(block)
                fileobj.write(block)
            return lower_headers(resp), size, digest.hexdigest()
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"GET {path}: the download broke off ({exc})") from exc
        finally:
            conn.close()


def check_bulk_answer(r: Response, method: str, path: str) -> None:
    """A multipart-manifest delete answers 200 with a bulk report; its own status
    (``Response Status``) says whether everything went."""
    try:
        report = json.loads(r.body.decode("utf-8")) if r.body else {}
    except ValueError:
        return
    status = str(report.get("Response Status", "200"))
    if not status.startswith("2"):
        code, _, reason = status.partition(" ")
        errors = "; ".join(f"{name}: {why}" for name, why in report.get("Errors", []))
        raise SwiftHTTPError(method, urllib.parse.unquote(path), int(code) if code.isdigit() else 0,
                             reason, errors or r.body)
