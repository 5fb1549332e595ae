"""Request id: every response carries ``X-Openstack-Request-Id: req-<uuid>`` (and
``X-Compute-Request-Id`` as Nova does); the id is in :data:`stratus.log.request_id`
while the request is served, so every log line has it."""

from __future__ import annotations

import logging
import time
import uuid

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
