"""Guest actions of ``POST /servers/{id}/action``: rebuild (a new root disk from an
image, the config drive written anew; 2.75 answers with the whole server), rescue /
unrescue (``rescue_image_ref``), ``os-getConsoleOutput`` (a job reads the serial
console log on the server's host; the request waits for it up to
``compute_sync_timeout``) and ``changePassword``, which, as Nova without a guest agent,
is not supported (501).

No admin password is generated for rebuild or rescue: Stratus has no agent that could
set one in the guest (Nova's ``enable_instance_password`` off), so ``adminPass`` is
never in a response."""

from __future__ import annotations

import base64
import binascii
import re
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.compute import instance_actions as ia
from stratus.compute import states as st
from stratus.compute.actions import ActionCall, ActionResult, handles
from stratus.compute.power import authorize, run_on_host
from stratus.compute.settle import settles
from stratus.compute.validation import obj, string, validate
from stratus.db.models.compute import KeyPair, Server
from stratus.db.models.jobs import SUCCEEDED, Job, Resource
from stratus.errors import BadRequest, Conflict, NotFound, NotImplementedYet
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.submit import planned_from

_P = "os_compute_api:"
register_defaults([
    RuleDefault(f"{_P}servers:rebuild", "rule:admin_or_member", "Rebuild a server"),
    RuleDefault(f"{_P}os-rescue", "rule:admin_or_member", "Rescue a server"),
    RuleDefault(f"{_P}os-unrescue", "rule:admin_or_member", "Unrescue a server"),
    RuleDefault(f"{_P}os-console-output", "rule:admin_or_member", "Show a server's console output"),
    RuleDefault(f"{_P}os-admin-password", "rule:admin_or_member", "Change a server's admin password"),
])

REBUILDABLE = (st.ACTIVE, st.STOPPED, st.ERROR)
RESCUABLE = (st.ACTIVE, st.STOPPED, st.ERROR)
MAX_CONSOLE_BYTES = 100 * 1024  # Nova's libvirt driver returns at most this much
ALL_LINES = 100_000
CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")  # what Nova strips from console output

_META = {"type": "object", "patternProperties": {"^.{1,255}$": string(255)}, "additionalProperties": False}


def rebuild_schema(version) -> dict[str, Any]:
    props: dict[str, Any] = {
        "imageRef": {"type": "string", "minLength": 1}, "name": string(255, 1), "adminPass": string(255),
        "metadata": _META, "preserve_ephemeral": {"type": "boolean"},
        "accessIPv4": {"type": "string"}, "accessIPv6": {"type": "string"},
        "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]},
    }
    if version < (2, 57):
        props["personality"] = {"type": "array", "maxItems": 0}
    if version >= (2, 19):
        props["description"] = {"type": ["string", "null"], "maxLength": 255}
    if version >= (2, 54):
        props["key_name"] = {"type": ["string", "null"], "minLength": 1, "maxLength": 255}
    if version >= (2, 57):
        props["user_data"] = {"type": ["string", "null"], "maxLength": 65535}
    if version >= (2, 63):
        props["trusted_image_certificates"] = {"type": ["array", "null"], "maxItems": 0}
    return obj(props, ("imageRef",))


RESCUE_SCHEMA = obj({"adminPass": string(255), "rescue_image_ref": {"type": "string", "minLength": 1}},
                    nullable=True)
CONSOLE_SCHEMA = obj({"length": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$",
                                 "minimum": -1}}, nullable=True)
PASSWORD_SCHEMA = obj({"adminPass": string(255)}, ("adminPass",))


def _image(call: ActionCall, image_id: str) -> dict[str, Any]:
    """The facts of ``image_id`` as the server's project sees it; 400 in Nova's words
    when it cannot boot the server."""
    from stratus.orchestration.types.nova_server import image_facts

    planned = planned_from(call.db.get(Resource, call.server.id), call.plan)
    planned.properties = {**planned.properties, "image": image_id}
    try:
        return image_facts(call.db, planned)
    except ResourceCheckFailed as exc:
        raise BadRequest(exc.message) from None


def _resource(call: ActionCall) -> Resource:
    row = call.db.get(Resource, call.server.id)
    if row is None:
        raise Conflict(f"Instance {call.server.id} is not ready")
    return row


@handles("rebuild")
def rebuild(call: ActionCall) -> ActionResult:
    authorize(call, f"{_P}servers:rebuild")
    validate(call.body, rebuild_schema(call.version), "rebuild")
    body, server = call.body, call.server
    st.check(server, ia.REBUILD, REBUILDABLE, admin=call.ctx.is_admin)
    row = _resource(call)
    from stratus.volume import boot

    boot.refuse_volume_backed(row, "rebuild")
    image_id = body["imageRef"].rsplit("/", 1)[-1]
    facts = _image(call, image_id)
    props = dict(row.properties)
    props["image"] = image_id
    for key, prop in (("name", "name"), ("metadata", "metadata")):
        if key in body:
            props[prop] = body[key]
    if "user_data" in body:  # 2.57
        props["user_data"] = _user_data(body["user_data"])
        server.user_data = body["user_data"]
    if "key_name" in body:  # 2.54
        server.key_name, server.key_data = _key_pair(call, body["key_name"])
        props["key_name"] = server.key_name
    row.properties = props
    row.attributes = {**row.attributes, "image_facts": facts}
    server.image_id = image_id
    if "name" in body:
        server.name = body["name"]
    if "metadata" in body:
        server.metadata_ = dict(body["metadata"])
    if "description" in body:
        server.description = body["description"]
    for key, col in (("accessIPv4", "access_ip_v4"), ("accessIPv6", "access_ip_v6")):
        if key in body:
            setattr(server, col, body[key] or None)
    run_on_host(call, "rebuild", {"image_id": image_id, "image_facts": facts}, st.REBUILDING, ia.REBUILD)
    return ActionResult(202, {"server": server_view(call)})


def _user_data(value: str | None) -> str:
    """User data as the guest reads it: Nova takes it base64-encoded."""
    if not value:
        return ""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise BadRequest("User data needs to be valid base 64.") from None


def _key_pair(call: ActionCall, name: str | None) -> tuple[str | None, str | None]:
    """The key pair ``name`` of the caller (None: the server gets no key)."""
    if name is None:
        return None, None
    key = call.db.scalars(select(KeyPair).where(KeyPair.user_id == call.ctx.user_id,
                                                KeyPair.name == name)).first()
    if key is None:
        raise BadRequest("Invalid key_name provided.")
    return key.name, key.public_key


def server_view(call: ActionCall) -> dict[str, Any]:
    """The server in the rebuild response: what ``PUT /servers/{id}`` answers (the whole
    document from 2.75, before it without the extension keys), with ``key_name`` from
    2.54 and ``user_data`` from 2.57 below 2.75 as Nova's rebuild adds them."""
    from stratus.compute import views

    call.db.flush()
    doc = views.View(call.db, call.version, admin=call.ctx.is_admin,
                     base_url=call.settings.endpoint_url).updated(call.server)
    if call.version < (2, 75):
        if call.version >= (2, 54):
            doc["key_name"] = call.server.key_name
        if call.version >= (2, 57):
            doc["user_data"] = call.server.user_data
    return doc


@handles("rescue")
def rescue(call: ActionCall) -> ActionResult:
    authorize(call, f"{_P}os-rescue")
    validate(call.body, RESCUE_SCHEMA, "rescue")
    st.check(call.server, ia.RESCUE, RESCUABLE, admin=call.ctx.is_admin)
    _resource(call)
    args: dict[str, Any] = {}
    ref = (call.body or {}).get("rescue_image_ref")
    if ref:
        image_id = ref.rsplit("/", 1)[-1]
        args = {"image_id": image_id, "image_facts": _image(call, image_id)}
    run_on_host(call, "rescue", args, st.RESCUING, ia.RESCUE)
    return ActionResult(200, {})


@handles("unrescue")
def unrescue(call: ActionCall) -> ActionResult:
    authorize(call, f"{_P}os-unrescue")
    st.check(call.server, ia.UNRESCUE, (st.RESCUED,), admin=call.ctx.is_admin)
    _resource(call)
    run_on_host(call, "unrescue", None, st.UNRESCUING, ia.UNRESCUE)
    return ActionResult(202)


@handles("changePassword")
def change_password(call: ActionCall) -> ActionResult:
    authorize(call, f"{_P}os-admin-password")
    validate(call.body, PASSWORD_SCHEMA, "changePassword")
    st.check(call.server, "changePassword", (st.ACTIVE,), admin=call.ctx.is_admin)
    raise NotImplementedYet("Unable to set password on instance: Stratus guests have no agent that "
                            "could set it; put an SSH key in the server (key_name) or set the "
                            "password in user_data instead.")


@handles("os-getConsoleOutput")
def console_output(call: ActionCall) -> ActionResult:
    authorize(call, f"{_P}os-console-output")
    validate(call.body, CONSOLE_SCHEMA, "os-getConsoleOutput")
    server = call.server
    if not server.host or call.db.get(Resource, server.id) is None:
        raise Conflict(f"Instance {server.id} is not ready")
    if server.task_state in (st.DELETING, st.MIGRATING):
        raise Conflict(f"Cannot 'get_console_output' instance {server.id} while it is in task_state "
                       f"{server.task_state}")
    length = (call.body or {}).get("length")
    lines = ALL_LINES if length is None or int(length) < 0 else int(length)
    if lines == 0:
        return ActionResult(200, {"output": ""})
    job = run_on_host(call, "console_log", {"lines": lines}, server.task_state, None)
    call.db.commit()  # the worker picks the job up once it is committed
    text = wait_console(call, job.id)
    return ActionResult(200, {"output": CONTROL.sub("", text[-MAX_CONSOLE_BYTES:])})


def wait_console(call: ActionCall, job_id: str) -> str:
    """The console log the job ``job_id`` read, once it ended (up to
    ``compute_sync_timeout`` seconds)."""
    deadline = time.monotonic() + call.settings.compute_sync_timeout
    while time.monotonic() < deadline:
        with call.plan.database.session() as s:
            job = s.get(Job, job_id)
            if job.finished_at is not None:
                if job.status != SUCCEEDED:
                    raise NotFound("Guest does not have a console available.")
                return str((s.get(Resource, call.server.id).attributes or {}).get("console_output") or "")
        time.sleep(0.2)
    raise Conflict(f"Instance {call.server.id} is not ready: its console log did not arrive within "
                   f"{call.settings.compute_sync_timeout:g} s (compute_sync_timeout); try again.")


# host action -> vm_state once it succeeded (power_state: running)
OUTCOME = {"rescue": st.RESCUED, "unrescue": st.ACTIVE}


@settles("action:rescue", "action:unrescue")
def settle_rescue(db: Session, server: Server, resource: Resource, job: Job) -> None:
    if job.status == SUCCEEDED:
        server.vm_state, server.power_state = OUTCOME[job.kind.split(":", 1)[1]], st.RUNNING
    server.task_state = None


@settles("action:rebuild")
def settle_rebuild(db: Session, server: Server, resource: Resource, job: Job) -> None:
    """A rebuilt server keeps being stopped if it was; an ERROR one is ACTIVE again."""
    if job.status == SUCCEEDED:
        if server.vm_state == st.STOPPED:
            server.power_state = st.SHUTDOWN
        else:
            server.vm_state, server.power_state = st.ACTIVE, st.RUNNING
        server.fault = None
    server.task_state = None
