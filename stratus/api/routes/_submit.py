"""What the routes that submit jobs share: the keywords the services take from the
request to submit (settings, plan context, request id), and the commit that hands the
job to the worker."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from stratus import log
from stratus.api.deps import plan_context


def jobs(request: Request) -> dict[str, Any]:
    """The keywords services take from the request to submit jobs."""
    return {"settings": request.app.state.settings, "context": plan_context(request),
            "request_id": log.request_id.get()}


def done(request: Request, db) -> None:
    """Commit the request's records and job, and wake the worker."""
    db.commit()
    worker = getattr(request.app.state, "jobs_worker", None)
    if worker is not None:
        worker.notify()
