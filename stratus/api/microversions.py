"""Microversions (Nova's and Cinder's API versions within a major version).

A request names the version it wants in ``OpenStack-API-Version: compute 2.53`` (or
Nova's older ``X-OpenStack-Nova-API-Version: 2.53``), ``latest`` for the newest; no
header means the minimum. A malformed value is 400, a version outside the service's
range is 406, both in the service's fault format. The answer carries the version it
was served at in the same headers and ``Vary`` on them, so caches keep versions apart.

:class:`MicroversionMiddleware` does this for every path under a versioned service
root (``/compute/v2.1/...``); routes read the version with the ``ComputeVersion``
dependency and compare: ``if version >= (2, 47): ...``.
"""

from __future__ import annotations

from dataclasses import dataclass

from stratus.api.errors import fault_body
from stratus.versions import APIVersion


@dataclass(frozen=True)
class VersionedService:
    """A service with microversions: its type in the header, the path prefix its
    versioned routes live under, its legacy header (if any) and its range."""

    service: str  # the fault format and the header's service type: compute, volume
    prefix: str  # "/compute/v2.1"
    minimum: APIVersion
    maximum: APIVersion
    legacy_header: str | None = None  # "x-openstack-nova-api-version"

    def matches(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")


# Nova's microversions implemented whole, from 2.1 to COMPUTE_MAX; raise it only when
# every change of the next version is in (stratus/compute/views.py and the routes).
COMPUTE_MIN = APIVersion(2, 1)
COMPUTE_MAX = APIVersion(2, 79)
COMPUTE = VersionedService("compute", "/compute/v2.1", COMPUTE_MIN, COMPUTE_MAX,
                           "x-openstack-nova-api-version")
# Cinder's 3.x, from 3.0 to VOLUME_MAX implemented whole (stratus/volume/views.py and
# the volume routes); the attachments API needs 3.27. What each step up to it changes
# for the resources Stratus serves: 3.1 upload_image visibility/protected, 3.2 the strict
# bootable filter, 3.4 glance_metadata filter, 3.7 cluster_name in os-services, 3.10
# group_id filter, 3.12 volumes/summary, 3.15 volume metadata Etag, 3.21 provider_id for
# admins, 3.22 snapshot metadata filter, 3.23 force on volume delete, 3.27 attachments.
# The steps that add APIs for features Stratus has not (messages 3.3/3.5, clusters 3.7,
# manageable 3.8, backups 3.9/3.18, groups 3.11-3.14/3.19/3.20/3.25, workers 3.24,
# failover 3.26) are not served (404): Stratus has none of those services, and Cinder's
# own clients only call them when asked to. Raising VOLUME_MAX past 3.27 needs 3.29 (group
# snapshot paging), 3.30 (snapshots sorted by name) and so on: check each step first.
VOLUME_MIN = APIVersion(3, 0)
VOLUME_MAX = APIVersion(3, 27)
VOLUME = VersionedService("volume", "/volume/v3", VOLUME_MIN, VOLUME_MAX)
SERVICES: list[VersionedService] = [COMPUTE, VOLUME]


class VersionError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def requested(svc: VersionedService, headers: dict[str, str]) -> APIVersion:
    """The version a request asks ``svc`` for (VersionError when it cannot be served)."""
    text = None
    for item in (headers.get("openstack-api-version") or "").split(","):
        parts = item.strip().split(None, 1)
        if len(parts) == 2 and parts[0].lower() == svc.service:
            text = parts[1].strip()
    if text is None and svc.legacy_header:
        text = headers.get(svc.legacy_header)
    if text is None or not text.strip():
        return svc.minimum
    if text.strip().lower() == "latest":
        return svc.maximum
    try:
        version = APIVersion.parse(text)
    except ValueError:
        raise VersionError(400, f"Invalid format for API version: {text!r}; expected "
                                f"\"{svc.service} X.Y\" such as \"{svc.service} {svc.minimum}\"") from None
    if not svc.minimum <= version <= svc.maximum:
        raise VersionError(406, f"Version {version} is not supported by the API. Minimum is "
                                f"{svc.minimum} and maximum is {svc.maximum}.")
    return version


def response_headers(svc: VersionedService, version: APIVersion) -> list[tuple[bytes, bytes]]:
    out = [(b"openstack-api-version", f"{svc.service} {version}".encode())]
    vary = "OpenStack-API-Version"
    if svc.legacy_header:
        out.append((svc.legacy_header.encode(), str(version).encode()))
        vary += ", X-OpenStack-Nova-API-Version"
    out.append((b"vary", vary.encode()))
    return out


class MicroversionMiddleware:
    """Sets ``request.state.api_version`` for versioned paths, refuses versions out of
    range, and labels the answer with the version served."""

    def __init__(self, app, services: list[VersionedService] | None = None) -> None:
        self.app = app
        self.services = services if services is not None else SERVICES

    async def __call__(self, scope, receive, send):
        svc = None
        if scope["type"] == "http":
            svc = next((s for s in self.services if s.matches(scope["path"])), None)
        if svc is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            version = requested(svc, headers)
        except VersionError as exc:
            await _refuse(send, svc, exc)
            return
        scope.setdefault("state", {})["api_version"] = version
        extra = response_headers(svc, version)

        async def send_versioned(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_versioned)


async def _refuse(send, svc: VersionedService, exc: VersionError) -> None:
    import json

    body = json.dumps(fault_body(svc.service, exc.status, exc.message)).encode()
    await send({"type": "http.response.start", "status": exc.status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
