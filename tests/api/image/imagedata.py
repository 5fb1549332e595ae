"""Helpers of the image data tests (test_data.py, test_import.py): image records made
through the API, the store and staging directories of a controller, hashes, polling."""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

API = "/image/v2"


def make_image(controller, token: str | None = None, **fields) -> dict:
    """An image record (no data) made by ``POST /image/v2/images``."""
    body = {"disk_format": "qcow2", "container_format": "bare", "name": "t", **fields}
    r = controller.request("POST", f"{API}/images", token=token, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def show(controller, image_id: str, token: str | None = None) -> dict:
    r = controller.request("GET", f"{API}/images/{image_id}", token=token)
    assert r.status_code == 200, r.text
    return r.json()


def put_data(controller, image_id: str, data, token: str | None = None, what: str = "file", **headers):
    headers = {"Content-Type": "application/octet-stream", **headers}
    return controller.request("PUT", f"{API}/images/{image_id}/{what}", token=token, content=data,
                              headers=headers)


def store_dir(controller) -> Path:
    return Path(controller.settings["state_dir"]) / "images"


def staging_dir(controller) -> Path:
    return Path(controller.settings["state_dir"]) / "image-staging"


def files(directory: Path) -> list[str]:
    """Every entry in ``directory`` (hidden temporary files included)."""
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def hashes(path: Path) -> tuple[str, str]:
    data = Path(path).read_bytes()
    return hashlib.md5(data).hexdigest(), hashlib.sha512(data).hexdigest()


def wait_status(controller, image_id: str, wanted: set[str], token: str | None = None,
                timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        image = show(controller, image_id, token)
        if image["status"] in wanted or time.monotonic() > deadline:
            return image
        time.sleep(0.1)


def qemu_img(*args: str) -> str:
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True, text=True).stdout


def message(r) -> str:
    body = r.json()
    assert body["code"] == r.status_code, body
    return body["message"]
