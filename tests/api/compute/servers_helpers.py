"""What the server API tests share: a controller of their own (so no other test's
registered hosts boot guests here), flavors written into its database (the flavor API
is another branch's), a small raw image uploaded through the image API, and a raw
Nova client per project with a microversion."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from sqlalchemy import select

from stratus.db.models.compute import Flavor, FlavorAccess
from stratus.db.session import Database

API = "/compute/v2.1"
# Nova's devstack flavors: id -> (name, vcpus, memory_mb, root_gb)
FLAVORS = {"42": ("m1.nano", 1, 128, 1), "84": ("m1.micro", 1, 192, 1), "1": ("m1.tiny", 1, 512, 1),
           "2": ("m1.small", 1, 2048, 20)}


def start_controller(request, tmp_path_factory, backend: str = "sqlite", **settings):
    """A fresh controller on ``backend`` (stopped by the caller's ``factory.close()``)."""
    from tests.api.conftest import _Factory

    factory = _Factory(request, Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp())))
    return factory, factory(backend, **settings)


def ready_controller(request, tmp_path_factory, backend: str = "sqlite"):
    """A module's controller with the flavors and an image (``ctl.image_id``); a
    generator for a module-scoped fixture."""
    factory, c = start_controller(request, tmp_path_factory, backend)
    try:
        add_flavors(c)
        c.image_id = upload_raw_image(c)
        yield c
    finally:
        factory.close()


def add_flavors(ctl, private: dict[str, str] | None = None) -> None:
    """The devstack flavors (unless there already), and ``private`` ({flavor name: project id}) private ones."""
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            names = set(s.scalars(select(Flavor.name)))
            for fid, (name, vcpus, ram, disk) in FLAVORS.items():
                if s.get(Flavor, fid) is None and name not in names:  # bootstrap may make them
                    s.add(Flavor(id=fid, name=name, vcpus=vcpus, memory_mb=ram, root_gb=disk))
            for name, project in (private or {}).items():
                fid = str(uuid.uuid4())
                s.add(Flavor(id=fid, name=name, vcpus=1, memory_mb=128, root_gb=1, is_public=False))
                s.flush()
                s.add(FlavorAccess(flavor_id=fid, project_id=project))
    finally:
        db.dispose()


def upload_raw_image(ctl, name: str = "tiny", size: int = 1 << 20) -> str:
    """A public raw image with data (active) made through the image API as admin."""
    r = ctl.request("POST", "/image/v2/images", json={"name": name, "disk_format": "raw",
                                                      "container_format": "bare", "visibility": "public"})
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    r = ctl.request("PUT", f"/image/v2/images/{image_id}/file", content=b"\0" * size,
                    headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    return image_id


class Nova:
    """Raw requests under /compute/v2.1 with one caller's token and a microversion."""

    def __init__(self, ctl, creds=None, version: str = "2.1") -> None:
        self.ctl = ctl
        self.creds = creds
        self.token = ctl.token(creds) if creds else ctl.admin_token()
        self.version = version

    def __call__(self, method: str, path: str, version: str | None = None, **kw):
        headers = {"OpenStack-API-Version": f"compute {version or self.version}", **kw.pop("headers", {})}
        return self.ctl.request(method, API + path, token=self.token, headers=headers, **kw)

    def at(self, version: str) -> Nova:
        other = Nova.__new__(Nova)
        other.ctl, other.creds, other.token, other.version = self.ctl, self.creds, self.token, version
        return other

    def create(self, expect: int = 202, **server):
        body = {"server": {"name": "vm", "flavorRef": "42", **server}}
        if "networks" not in server and self.version not in ("2.1",) and _at_least(self.version, 2, 37):
            body["server"]["networks"] = "none"
        r = self("POST", "/servers", json=body)
        assert r.status_code == expect, r.text
        return r.json()

    def show(self, server_id: str, version: str | None = None) -> dict:
        r = self("GET", f"/servers/{server_id}", version=version)
        assert r.status_code == 200, r.text
        return r.json()["server"]


def _at_least(version: str, major: int, minor: int) -> bool:
    if version == "latest":
        return True
    a, b = version.split(".")
    return (int(a), int(b)) >= (major, minor)


def fault(r, code: int) -> str:
    """The message of Nova's fault body with ``code``."""
    assert r.status_code == code, r.text
    ((_, body),) = r.json().items()
    assert body["code"] == code
    return body["message"]


def set_state(ctl, server_id: str, vm_state: str, task_state: str | None = None, **fields) -> None:
    """Put a server's row in a state (an ACTIVE server without booting one)."""
    from stratus.db.models.compute import Server

    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            row = s.get(Server, server_id)
            row.vm_state, row.task_state, row.fault = vm_state, task_state, None
            for key, value in fields.items():
                setattr(row, key, value)
    finally:
        db.dispose()


def add_group(ctl, project_id: str, user_id: str, policy: str = "anti-affinity") -> str:
    """A server group of ``project_id`` written into the DB (the API is another branch's)."""
    from stratus.db.models.compute import ServerGroup

    gid = str(uuid.uuid4())
    db = Database(ctl.database_url)
    try:
        with db.session() as s:
            s.add(ServerGroup(id=gid, name="g", project_id=project_id, user_id=user_id, policy=policy))
    finally:
        db.dispose()
    return gid


def booting_cloud(controller_factory, tmp_path, request, guest_image, hosts: dict[str, dict]):
    """A controller whose compute hosts ``hosts`` (name → host variables, e.g.
    ``stratus_libvirt_uri``) run guests on this machine, with the default flavors and the
    tiny guest image uploaded (public, removed from the hosts' cache at the end);
    (controller, image id)."""
    from tests.api.compute.test_servers_boot import upload_qcow2
    from tests.integration.compute.actions_guest import remove_images
    from tests.integration.pipeline.conftest import sync_hosts

    ctl = controller_factory("sqlite")
    sync_hosts(ctl, tmp_path, {name: {"ansible_connection": "local", **v} for name, v in hosts.items()},
               ["compute"])
    ctl.stratus("host", "refresh")
    add_flavors(ctl)
    image_id = upload_qcow2(ctl, Path(guest_image["qcow2"]))
    request.addfinalizer(lambda: remove_images(image_id))
    return ctl, image_id
