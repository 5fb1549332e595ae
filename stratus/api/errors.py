"""API errors and the one exception-handler layer that writes each service's fault.

Services raise the neutral errors of :mod:`stratus.errors` (``NotFound("Project x could
not be found.")``) and the planner's own (``QuotaExceeded`` → 413 overLimit,
``NoValidHost`` → 400, ``TemplateError`` → 400); the handler installed by :func:`install_handlers` picks the fault format
from the service the request path belongs to:

- identity (Keystone): ``{"error": {"code": 404, "title": "Not Found", "message": …}}``
- compute, volume (Nova, Cinder): ``{"itemNotFound": {"code": 404, "message": …}}``
- network (Neutron): ``{"NeutronError": {"type": "…NotFound", "message": …, "detail": ""}}``
- orchestration (Heat): ``{"code": 404, "title": "Not Found", "explanation": …,
  "error": {"type": …, "message": …, "traceback": null}}``
- image (Glance) and anything else: ``{"code": …, "title": …, "message": …}``

Request validation errors become 400 in the same format; unknown paths 404; unexpected
exceptions 500 (``RequestIdMiddleware`` logs them with the request id and answers).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from stratus.errors import (  # noqa: F401 - the API's names for the neutral errors
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    NotImplementedYet,
    OverLimit,
    ServiceUnavailable,
    Unauthorized,
)
from stratus.hosts.placement import NoValidHost
from stratus.identity.schema_errors import keystone_message
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.quotas import QuotaExceeded

log = logging.getLogger("stratus.api")

# Path prefix of each service (the controller serves them all on one port).
SERVICE_PATHS: dict[str, str] = {
    "identity": "/identity/v3",
    "compute": "/compute/v2.1",
    "network": "/network/v2.0",
    "volume": "/volume/v3",
    "image": "/image/v2",
    "orchestration": "/orchestration/v1",
}


# Nova/Cinder fault names by status.
NOVA_FAULTS = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}

# Neutron exception type names by status (used when the error gives no type).
NEUTRON_TYPES = {
    400: "HTTPBadRequest",
    401: "HTTPUnauthorized",
    403: "HTTPForbidden",
    404: "HTTPNotFound",
    405: "HTTPMethodNotAllowed",
    409: "HTTPConflict",
    413: "OverQuota",
    500: "HTTPInternalServerError",
    501: "HTTPNotImplemented",
    503: "HTTPServiceUnavailable",
}


# Heat's exception type names by status (used when the error gives no type)
HEAT_TYPES = {404: "EntityNotFound"}


def service_of(path: str) -> str | None:
    for name, prefix in SERVICE_PATHS.items():
        base = prefix.rsplit("/", 1)[0]  # /identity for /identity/v3
        if path == base or path.startswith(base + "/"):
            return name
    return None


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def fault_body(service: str | None, status: int, message: str, type_: str | None = None) -> dict:
    """The fault document ``service`` uses for ``status``/``message``."""
    title = _title(status)
    if service == "identity" or service is None:
        return {"error": {"code": status, "title": title, "message": message}}
    if service in ("compute", "volume"):
        name = NOVA_FAULTS.get(status, "computeFault" if service == "compute" else "computeFault")
        return {name: {"code": status, "message": message}}
    if service == "network":
        return {
            "NeutronError": {
                "type": type_ or NEUTRON_TYPES.get(status, "HTTPError"),
                "message": message,
                "detail": "",
            }
        }
    if service == "orchestration":
        return {
            "code": status,
            "title": title,
            "explanation": message,
            "error": {
                "type": type_ or HEAT_TYPES.get(status, title.replace(" ", "")),
                "message": message,
                "traceback": None,
            },
        }
    return {"code": status, "title": title, "message": message}


def error_response(
    request: Request, status: int, message: str, type_: str | None = None, headers=None
) -> Response:
    service = service_of(request.url.path)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    return JSONResponse(
        fault_body(service, status, message, type_), status_code=status, headers=headers
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            return "The request body is not valid JSON."
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "Invalid input: " + "; ".join(parts)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(request, exc.status, exc.message, exc.type, exc.headers)

    @app.exception_handler(QuotaExceeded)
    async def _quota(request: Request, exc: QuotaExceeded):
        if service_of(request.url.path) == "network":  # Neutron's words and status
            return error_response(request, 409, f"Quota exceeded for resources: {exc.resources}.", "OverQuota")
        return error_response(request, 413, str(exc), "OverQuota")

    @app.exception_handler(NoValidHost)
    async def _no_host(request: Request, exc: NoValidHost):
        return error_response(request, 400, str(exc), "NoValidHost")

    @app.exception_handler(TemplateError)
    async def _template(request: Request, exc: TemplateError):
        return error_response(request, 400, f"The template is not valid: {exc}", "StackValidationFailed")

    @app.exception_handler(ResourceCheckFailed)
    async def _check(request: Request, exc: ResourceCheckFailed):
        heat = {400: "StackValidationFailed"} if service_of(request.url.path) == "orchestration" else {}
        return error_response(request, exc.status, str(exc), heat.get(exc.status))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        if service_of(request.url.path) == "identity" and exc.errors():
            return error_response(request, 400, keystone_message(list(exc.errors())))
        return error_response(request, 400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
        if exc.status_code == 404 and message == "Not Found":
            message = f"The resource could not be found: {request.url.path}"
        return error_response(request, exc.status_code, message, headers=exc.headers)
