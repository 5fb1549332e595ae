"""A small Swift API client for the controller, as the service user (httpx).

    swift = SwiftClient(settings)                       # the service project's account
    swift = SwiftClient(settings, project_id=p)         # another project's (ResellerAdmin)
    swift.put_container("glance")
    swift.put_object("glance", "id", content=b"...", headers={...})
    r = swift.get_object("glance", "id", byte_range=(0, 99))   # streamed; the caller closes
    swift.head("glance", "id")                          # None when it is gone
    swift.delete("glance", "id")                        # False when it was gone

Every request carries the cached service token (:func:`.auth.service_token`); a 401
drops it and the request is sent once more with a new one. Names are quoted (unicode
and ``//`` survive). Swift's refusals raise :class:`SwiftError` with its status and body.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from urllib.parse import quote

import httpx

from stratus.object_store.auth import ObjectStoreError, account_url, forget, service_token

TIMEOUT = httpx.Timeout(120.0, connect=10.0)
_http: list[httpx.Client] = []
_http_lock = threading.Lock()

Body = bytes | Callable[[], Iterable[bytes]] | None


class SwiftError(ObjectStoreError):
    """Swift refused a request: ``status`` and Swift's own ``body`` are in the message."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        self.method, self.url, self.status, self.body = method, url, status, body
        super().__init__(f"Swift answered {status} to {method} {url}: {body.strip()[:500] or '(no body)'}")


def http() -> httpx.Client:
    """The process's connection pool to the Swift proxy (thread-safe)."""
    with _http_lock:
        if not _http:
            _http.append(httpx.Client(timeout=TIMEOUT))
        return _http[0]


def path(container: str, obj: str | None = None) -> str:
    """``/<container>[/<object>]`` quoted as Swift expects."""
    out = "/" + quote(container, safe="")
    return out if obj is None else out + "/" + quote(obj, safe="/")


class SwiftClient:
    def __init__(self, settings, *, project_id: str | None = None, database=None, keys=None) -> None:
        self.settings = settings
        self.database, self.keys = database, keys
        self._project_id = project_id

    def token(self) -> str:
        return service_token(self.settings, database=self.database, keys=self.keys).token

    @property
    def project_id(self) -> str:
        """The account's project: the one given, else the service project."""
        if self._project_id is None:
            return service_token(self.settings, database=self.database, keys=self.keys).project_id
        return self._project_id

    @property
    def account(self) -> str:
        return account_url(self.settings, self.project_id)

    # the one request ---------------------------------------------------------------
    def request(self, method: str, where: str, *, headers: dict[str, str] | None = None,
                params: dict[str, str] | None = None, content: Body = None, stream: bool = False,
                ok: Iterable[int] = (200, 201, 202, 204, 206)) -> httpx.Response:
        """``method`` on ``<account><where>``; Swift's other answers raise SwiftError.
        ``content``: bytes, or a callable giving the body's chunks (called again for the
        retry after a 401). With ``stream`` the caller closes the response."""
        url = self.account + where
        for attempt in (1, 2):
            token = self.token()
            body = content() if callable(content) else content
            req = http().build_request(method, url, headers={**(headers or {}), "X-Auth-Token": token},
                                       params=params, content=body)
            try:
                r = http().send(req, stream=stream)
            except httpx.HTTPError as e:
                raise ObjectStoreError(f"cannot reach the object store for {method} {url}: {e} (is the "
                                       f"Swift proxy at {self.settings.object_store_url} running?)") from None
            if r.status_code == 401 and attempt == 1:
                r.close()
                forget(self.settings, token)
                continue
            if r.status_code not in ok:
                text = r.read().decode(errors="replace") if stream else r.text
                r.close()
                raise SwiftError(method, url, r.status_code, text)
            return r
        raise AssertionError("unreachable")

    # shapes the callers use ------------------------------------------------------------
    def put_container(self, container: str, headers: dict[str, str] | None = None) -> None:
        self.request("PUT", path(container), headers=headers)

    def put_object(self, container: str, name: str, *, content: Body, headers: dict[str, str] | None = None,
                   params: dict[str, str] | None = None) -> httpx.Response:
        return self.request("PUT", path(container, name), content=content, headers=headers, params=params)

    def get_object(self, container: str, name: str, *, byte_range: tuple[int, int | None] | None = None,
                   params: dict[str, str] | None = None) -> httpx.Response:
        """The object streamed (``byte_range``: first and last byte, last None: to the end)."""
        headers = {}
        if byte_range is not None:
            first, last = byte_range
            headers["Range"] = f"bytes={first}-{'' if last is None else last}"
        return self.request("GET", path(container, name), headers=headers, params=params, stream=True)

    def head(self, container: str, name: str | None = None) -> httpx.Headers | None:
        """The headers of a container or object; None when it does not exist."""
        try:
            return self.request("HEAD", path(container, name)).headers
        except SwiftError as e:
            if e.status == 404:
                return None
            raise

    def delete(self, container: str, name: str | None = None, *, params: dict[str, str] | None = None) -> bool:
        """Delete a container or object; False when it was already gone."""
        try:
            self.request("DELETE", path(container, name), params=params)
        except SwiftError as e:
            if e.status == 404:
                return False
            raise
        return True
