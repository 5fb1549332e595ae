"""Helpers for the image API tests: a raw Glance client per project (for what the SDK
and CLI do not send: bad bodies, other media types, property filters) and fault checks."""

from __future__ import annotations

import contextlib
import os
import sys

import pytest

API = "/image/v2"
PATCH_21 = "application/openstack-images-v2.1-json-patch"
PATCH_20 = "application/openstack-images-v2.0-json-patch"


class Glance:
    """``c.request`` under /image/v2 with one project's token."""

    def __init__(self, controller, creds=None) -> None:
        self.c = controller
        self.creds = creds or controller.admin
        self.token = controller.token(creds) if creds else controller.admin_token()
        self.project_id = self.creds.project_id

    def __call__(self, method: str, path: str, **kw):
        return self.c.request(method, API + path, token=self.token, **kw)

    def create(self, **body) -> dict:
        r = self("POST", "/images", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def show(self, image_id: str) -> dict:
        r = self("GET", f"/images/{image_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def patch(self, image_id: str, ops, media: str = PATCH_21, raw: str | None = None):
        import json

        return self("PATCH", f"/images/{image_id}", headers={"Content-Type": media},
                    content=raw if raw is not None else json.dumps(ops))

    def ids(self, **params) -> list[str]:
        r = self("GET", "/images", params=params)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["images"]]


@contextlib.contextmanager
def terminal_stdin():
    """Run the ``openstack`` CLI with a terminal on stdin: ``image create`` without
    ``--file`` takes a stdin that is not a terminal as the image data, so the test gives
    it a pseudo-terminal (the CLI's "no data" case) rather than depend on how pytest was
    started."""
    saved, saved_stdin = os.dup(0), sys.stdin
    master, slave = os.openpty()
    os.dup2(slave, 0)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - pytest replaced sys.stdin
    try:
        yield
    finally:
        sys.stdin = saved_stdin
        os.dup2(saved, 0)
        for fd in (saved, master, slave):
            os.close(fd)


def fault(r, status: int, *texts: str) -> dict:
    """Assert a Glance fault: the status, ``{"code","title","message"}``, the texts."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["code"] == status and body["title"], body
    for text in texts:
        assert text in body["message"], (text, body["message"])
    return body


@pytest.fixture(scope="module")
def admin_glance(sqlite_controller):
    return Glance(sqlite_controller)


@pytest.fixture(scope="module")
def project_a(sqlite_controller):
    creds = sqlite_controller.new_project_user(prefix="imga")
    return Glance(sqlite_controller, creds)


@pytest.fixture(scope="module")
def project_b(sqlite_controller):
    creds = sqlite_controller.new_project_user(prefix="imgb")
    return Glance(sqlite_controller, creds)


@pytest.fixture(scope="module")
def project_c(sqlite_controller):
    creds = sqlite_controller.new_project_user(prefix="imgc")
    return Glance(sqlite_controller, creds)
