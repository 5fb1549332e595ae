"""Request id: every response carries ``X-Openstack-Request-Id: req-<uuid>`` (and
``X-Compute-Request-Id`` as Nova does); the id is in :data:`stratus.log.request_id`
while the request is served, so every log line has it."""

from __future__ import annotations

import json
import logging
import time
import uuid

from stratus.api.errors import fault_body, service_of
from stratus.log import request_id

log = logging.getLogger("stratus.api.access")


class RequestIdMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = f"req-{uuid.uuid4()}"
        token = request_id.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.monotonic()
        status_holder = {}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-openstack-request-id", rid.encode()))
                if scope["path"].startswith("/compute"):
                    headers.append((b"x-compute-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # An unexpected error: log it with the request id, answer 500 in the
            # service's fault format when nothing was sent yet.
            log.exception("unexpected error handling %s %s", scope["method"], scope["path"])
            if "status" in status_holder:
                raise
            await self._fault(scope, send_with_id)
        finally:
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status_holder.get("status"),
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status_holder.get("status"),
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            request_id.reset(token)

    @staticmethod
    async def _fault(scope, send) -> None:
        msg = "An unexpected error prevented the server from fulfilling your request."
        body = json.dumps(fault_body(service_of(scope["path"]), 500, msg)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
