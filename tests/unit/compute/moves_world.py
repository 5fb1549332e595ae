"""A small compute world on SQLite for the move and snapshot handlers: two compute
hosts, an image, Nova's classic flavors, one server placed on ``cmp1`` (through the
real ``orchestration.submit``) and helpers to call an action and end its job as the
worker would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

import stratus.db.models.compute  # noqa: F401 - registers tables
import stratus.db.models.hosts  # noqa: F401
import stratus.db.models.images  # noqa: F401
import stratus.db.models.jobs  # noqa: F401
import stratus.db.models.quotas  # noqa: F401
from stratus.compute import actions, settle
from stratus.config import Settings
from stratus.db.base import Base
from stratus.db.models.compute import Flavor, InstanceAction, Server
from stratus.db.models.hosts import Host
from stratus.db.models.images import Image
from stratus.db.models.jobs import ACTIVE, ERROR, FAILED, SUCCEEDED, Job, Resource
from stratus.db.models.quotas import Allocation
from stratus.db.session import Database
from stratus.identity.context import RequestContext
from stratus.identity.fernet import FernetKeys
from stratus.orchestration.resources import PlanContext
from stratus.orchestration.submit import submit
from stratus.versions import APIVersion

SHA512 = "ab" * 64
FLAVORS = {"42": ("m1.nano", 1, 128, 1), "84": ("m1.micro", 1, 192, 1), "1": ("m1.tiny", 1, 512, 1),
           "2": ("m1.small", 1, 2048, 20)}
MEMBER = RequestContext(user_id="u1", user_name="alice", user_domain_id="default", roles=("member",),
                        project_id="p1", request_id="req-member")
ADMIN = RequestContext(user_id="admin", user_name="admin", user_domain_id="default", roles=("admin",),
                       project_id="adminp", is_admin_project=True, request_id="req-admin")


@dataclass
class World:
    db: Database
    plan: PlanContext
    image_id: str
    server_id: str

    def call(self, s, name: str, body, ctx: RequestContext = MEMBER, version: str = "2.79"):
        """Run the handler of ``name`` as the action route does; its ActionResult."""
        handler = actions.load()[name]
        server = s.get(Server, self.server_id)
        call = actions.ActionCall(db=s, ctx=ctx, server=server, name=name, body=body,
                                  version=APIVersion.parse(version), plan=self.plan,
                                  settings=self.plan.settings, request_id=f"req-{uuid.uuid4()}")
        return handler(call)

    def end(self, s, job_id: str, ok: bool = True, reason: str = "") -> None:
        """End the job as the worker does: its status, the resource's, the settler."""
        job = s.get(Job, job_id)
        job.status, job.status_reason = (SUCCEEDED, "") if ok else (FAILED, reason or "the task failed")
        for rid in job.resource_map.values():
            res = s.get(Resource, rid)
            res.status = ACTIVE if ok else ERROR
            settle.job_ended(s, res, job)
        s.flush()

    def last_job(self, s) -> Job:
        """The job of the server's newest instance action (the create's before any)."""
        act = s.scalars(select(InstanceAction).where(InstanceAction.server_id == self.server_id,
                                                     InstanceAction.job_id.is_not(None))
                        .order_by(InstanceAction.id.desc())).first()
        return s.get(Job, act.job_id if act else s.get(Resource, self.server_id).last_job_id)


def held(s, consumer: str) -> dict[str, dict[str, int]]:
    """{host: {capacity: amount}} the consumer holds on hosts."""
    out: dict[str, dict[str, int]] = {}
    for a in s.scalars(select(Allocation).where(Allocation.consumer_id == consumer,
                                                 Allocation.host.is_not(None))):
        out.setdefault(a.host, {})[a.resource] = out.get(a.host, {}).get(a.resource, 0) + a.amount
    return out


def make_world(tmp_path, hosts: int = 2, memory_mb: int = 8192) -> World:
    database = Database(f"sqlite:///{tmp_path}/stratus.db")
    Base.metadata.create_all(database.engine)
    keys = FernetKeys(tmp_path / "keys")
    keys.setup()
    plan = PlanContext(Settings(public_url="http://ctl.example:8700"), keys, database, user_id="u1")
    image_id = str(uuid.uuid4())
    with database.session() as s:
        for n in range(1, hosts + 1):
            s.add(Host(name=f"cmp{n}", groups=["compute"], vars={"stratus_libvirt_uri": f"qemu+tcp://cmp{n}/system"},
                       capacity={"vcpus": 8, "memory_mb": memory_mb, "disk_gb": 100}))
        for fid, (name, vcpus, ram, disk) in FLAVORS.items():
            s.add(Flavor(id=fid, name=name, vcpus=vcpus, memory_mb=ram, root_gb=disk))
        s.add(Image(id=image_id, name="tiny", status="active", visibility="private", owner="p1",
                    disk_format="qcow2", container_format="bare", size=20 << 20, virtual_size=512 << 20,
                    os_hash_algo="sha512", os_hash_value=SHA512, checksum="c" * 32, min_ram=64,
                    properties=[], tags=[]))
    with database.session() as s:
        tpl = {"heat_template_version": "2018-08-31", "resources": {"vm": {
            "type": "OS::Nova::Server", "properties": {"name": "vm", "flavor": "m1.nano", "image": image_id}}}}
        job = submit(s, tpl, project_id="p1", context=plan)
        sid = job.resource_map["vm"]
        res = s.get(Resource, sid)
        res.status, res.hosts = ACTIVE, ["cmp1"]
        for a in s.scalars(select(Allocation).where(Allocation.consumer_id == sid, Allocation.host.is_not(None))):
            a.host = "cmp1"
        server = s.get(Server, sid)
        if server is None:
            server = Server(id=sid, project_id="p1", user_id="u1", name="vm")
            s.add(server)
        server.vm_state, server.task_state, server.power_state = "active", None, 1
        server.host = server.node = "cmp1"
        assert server.flavor_id == "42" and server.flavor["ram"] == 128  # the type recorded it
        server.image_id = image_id
        s.get(Job, job.id).status = SUCCEEDED
    return World(database, plan, image_id, sid)
