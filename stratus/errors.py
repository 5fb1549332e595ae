"""Neutral errors: what services, identity and quotas raise when a request cannot be
done. Each carries the HTTP status it stands for; ``stratus.api.errors`` writes it in
the fault format of the service the request came to. Nothing here knows about HTTP
frameworks, so every layer may raise them.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error with an HTTP status. ``type`` names it for Neutron/Heat (defaults
    from the class); ``headers`` are added to the response."""

    status: int = 500
    type: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,  # noqa: A002 - the wire name
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class OverLimit(ApiError):
    """Quota exceeded (Nova/Cinder ``overLimit`` 413, Neutron ``OverQuota`` 409)."""

    status = 413


class NotImplementedYet(ApiError):
    status = 501


class ServiceUnavailable(ApiError):
    status = 503
