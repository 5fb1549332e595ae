"""Submitting through the admin jobs API (``/stratus/v1``) of a test controller."""

from __future__ import annotations

import time

DONE = ("SUCCEEDED", "FAILED", "CANCELLED")


def run_job(ctl, method: str, path: str, timeout: float = 60, **kw) -> dict:
    """Submit (``POST /jobs``, ``PATCH``/``DELETE /resources/{id}``…) and wait until the
    job ends; asserts it was accepted (202) and SUCCEEDED, and returns it."""
    r = ctl.request(method, path, **kw)
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    deadline = time.monotonic() + timeout
    while job["status"] not in DONE and time.monotonic() < deadline:
        time.sleep(0.1)
        job = ctl.request("GET", f"/stratus/v1/jobs/{job['id']}").json()["job"]
    assert job["status"] == "SUCCEEDED", job
    return job
