"""``POST /servers``: the request checked as Nova checks it, the server rows written,
and one template of ``OS::Nova::Server`` resources (``min_count``..``max_count`` of
them) submitted to the pipeline.

The row of each server is written before the submit (the type's ``check`` keeps it).
When no host can take the servers (NoValidHost), Nova still answers 202 and the
servers go to ERROR with the fault "No valid host was found. ...": the submit runs
in a savepoint, rolled back, and the rows are written again in ERROR outside it.
Over quota, Nova answers 403 with its words, and nothing is written.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from stratus.compute import instance_actions, states
from stratus.compute.validation import (
    bad,
    check_access_ip,
    check_metadata,
    check_tags,
    check_type,
    check_unknown,
    parse_bool,
    parse_count,
)
from stratus.db.models.compute import Server, ServerGroup, ServerGroupMember, ServerTag
from stratus.db.models.jobs import ERROR, Resource
from stratus.db.models.quotas import Allocation
from stratus.db.types import utcnow
from stratus.errors import BadRequest, Conflict, Forbidden
from stratus.hosts.placement import NoValidHost
from stratus.orchestration import submit as pipeline
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.types.nova_server import Server as ServerType
from stratus.orchestration.types.nova_server import hostname, resolve_flavor
from stratus.quotas import QuotaExceeded
from stratus.scheduler.spec import RequestSpec
from stratus.volume import boot

TYPE = "OS::Nova::Server"
MAX_USER_DATA = 65535
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."

# The keys of ``server`` Nova's schema knows, by the microversion that added them
# (and removed them: personality below 2.57).
_KEYS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    **{k: ((2, 1), (9, 9)) for k in (
        "name", "imageRef", "flavorRef", "adminPass", "metadata", "networks", "key_name",
        "user_data", "availability_zone", "config_drive", "min_count", "max_count",
        "return_reservation_id", "block_device_mapping", "block_device_mapping_v2",
        "security_groups", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig")},
    "personality": ((2, 1), (2, 56)),
    "description": ((2, 19), (9, 9)),
    "tags": ((2, 52), (9, 9)),
    "trusted_image_certificates": ((2, 63), (9, 9)),
    "host": ((2, 74), (9, 9)),
    "hypervisor_hostname": ((2, 74), (9, 9)),
}


@dataclass
class ServerRequest:
    """A checked create request."""

    name: str
    image: str
    flavor: str
    min_count: int = 1
    max_count: int = 1
    metadata: dict[str, str] = field(default_factory=dict)
    key_name: str | None = None
    user_data: str | None = None  # base64 as given
    availability_zone: str | None = None
    force_host: str | None = None
    force_node: str | None = None
    config_drive: bool = True
    return_reservation_id: bool = False
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    hints: dict[str, Any] = field(default_factory=dict)
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    disk_config: str = "MANUAL"
    networks: Any = None
    security_groups: list[str] = field(default_factory=list)
    boot_volume: Any = None  # stratus.volume.boot.BootVolume: boot from a volume


def parse(body: Any, version, *, admin: bool, default_zone: str | None) -> ServerRequest:
    """The create request in ``body``, or BadRequest/Forbidden in Nova's words."""
    if not isinstance(body, dict) or not isinstance(body.get("server"), dict):
        bad("server", None, "'server' is a required property")
    check_unknown(body, {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"})
    s = body["server"]
    allowed = {k for k, (lo, hi) in _KEYS.items() if lo <= (version.major, version.minor) <= hi}
    check_unknown(s, allowed)
    name = check_name(s.get("name"), required=True)
    req = ServerRequest(name=name, image=_image_ref(s), flavor=_flavor_ref(s))
    req.min_count = parse_count(s, "min_count")
    req.max_count = parse_count(s, "max_count", default=req.min_count)
    if req.min_count > req.max_count:
        raise BadRequest("min_count must be <= max_count")
    req.metadata = check_metadata(s.get("metadata", {}), "metadata")
    if "key_name" in s:
        req.key_name = check_type(s["key_name"], "key_name", str, max_len=255, min_len=1)
    if s.get("user_data") is not None:
        req.user_data = _user_data(s["user_data"])
    if s.get("availability_zone") is not None:
        zone = check_type(s["availability_zone"], "availability_zone", str, max_len=255, min_len=1)
        req.availability_zone, req.force_host, req.force_node = _zone(zone, admin)
    req.availability_zone = req.availability_zone or default_zone
    for key in ("host", "hypervisor_hostname"):
        if key in s:
            value = check_type(s[key], key, str, max_len=255, min_len=1)
            if not admin:
                raise Forbidden("Policy doesn't allow compute:servers:create:requested_destination "
                                "to be performed.")
            if key == "host":
                req.force_host = value
            else:
                req.force_node = value
    if "config_drive" in s:
        req.config_drive = True  # the guests read their metadata only from a config drive
        parse_bool(s["config_drive"], "config_drive", allow_empty=True)
    req.return_reservation_id = parse_bool(s.get("return_reservation_id", False), "return_reservation_id")
    if "description" in s:
        req.description = None if s["description"] is None else check_name(
            s["description"], field_name="description", allow_blank=True)
    if "tags" in s:
        req.tags = check_tags(s["tags"])
    req.hints = _hints(body)
    for key, attr in (("accessIPv4", "access_ip_v4"), ("accessIPv6", "access_ip_v6")):
        if key in s:
            setattr(req, attr, check_access_ip(s[key], key))
    if "OS-DCF:diskConfig" in s:
        if s["OS-DCF:diskConfig"] not in ("AUTO", "MANUAL"):
            bad("OS-DCF:diskConfig", s["OS-DCF:diskConfig"], "It must be one of AUTO, MANUAL.")
        req.disk_config = s["OS-DCF:diskConfig"]
    if s.get("personality"):
        bad("personality", "[...]", "File injection is not supported: pass the files in user_data "
            "(a cloud-config write_files) instead.")
    req.networks = _networks(s, version, req.max_count)
    req.boot_volume = boot.parse(s, req.image, req.max_count, version)
    if req.boot_volume is not None:
        req.image = ""  # a server booted from a volume has no image (Nova's image "")
    req.security_groups = _security_groups(s.get("security_groups"))
    return req


def check_name(value: Any, *, required: bool = False, field_name: str = "name",
               allow_blank: bool = False) -> str:
    """Nova's ``name`` (1..255 characters, no leading or trailing whitespace)."""
    if value is None and required:
        bad("server", None, f"'{field_name}' is a required property")
    check_type(value, field_name, str, max_len=255, min_len=0 if allow_blank else 1)
    if not allow_blank and value != value.strip():
        bad(field_name, value, "Leading or trailing whitespace is not allowed: remove it.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        bad(field_name, value, "Control characters are not allowed.")
    return value


def _image_ref(s: dict) -> str:
    ref = s.get("imageRef", "")
    if ref is None:
        ref = ""
    check_type(ref, "imageRef", str, max_len=255)
    image = ref.rstrip("/").rsplit("/", 1)[-1]  # Nova takes an image URL too
    if not image and not s.get("block_device_mapping_v2"):
        bad("imageRef", ref, "An image is required: give imageRef (openstack image list); "
            "volumes come with the volume API.")
    return image


def _flavor_ref(s: dict) -> str:
    if "flavorRef" not in s:
        bad("server", None, "'flavorRef' is a required property")
    ref = s["flavorRef"]
    if isinstance(ref, int) and not isinstance(ref, bool):
        ref = str(ref)
    check_type(ref, "flavorRef", str, max_len=255, min_len=1)
    return ref.rstrip("/").rsplit("/", 1)[-1]


def _user_data(value: Any) -> str:
    check_type(value, "user_data", str)
    if len(value) > MAX_USER_DATA:
        bad("user_data", value[:32] + "...", f"It is longer than {MAX_USER_DATA} characters.")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("User data needs to be valid base 64.") from None
    try:
        raw.decode()
    except UnicodeDecodeError:
        raise BadRequest("User data must be UTF-8 text once decoded (a script or cloud-config): "
                         "binary user data is not supported.") from None
    return value


def _zone(zone: str, admin: bool) -> tuple[str | None, str | None, str | None]:
    """Nova's ``zone``, ``zone:host`` and ``zone:host:node`` (the host parts admins only)."""
    parts = zone.split(":")
    if len(parts) > 3:
        bad("availability_zone", zone, "Give zone, zone:host or zone:host:node.")
    az = parts[0] or None
    host = parts[1] if len(parts) > 1 and parts[1] else None
    node = parts[2] if len(parts) > 2 and parts[2] else None
    if (host or node) and not admin:
        raise Forbidden("Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.")
    return az, host, node


def _hints(body: dict) -> dict[str, Any]:
    hints = body.get("os:scheduler_hints", body.get("OS-SCH-HNT:scheduler_hints", {}))
    if not isinstance(hints, dict):
        bad("os:scheduler_hints", hints, "It is not of type 'object'.")
    group = hints.get("group")
    if group is not None:
        check_type(group, "group", str, max_len=36, min_len=36)
    return dict(hints)


def _networks(s: dict, version, max_count: int) -> Any:
    """2.37: ``networks`` required, "auto", "none" or a list; before, an optional list
    (absent: the project's one network, as "auto"). Each entry names a network
    (``uuid``, optionally ``fixed_ip``) or a port (``port``), checked here in form only;
    ``stratus.compute.nics`` checks them against the network records."""
    if "networks" not in s:
        if version >= (2, 37):
            bad("server", None, "'networks' is a required property")
        return None
    nets = s["networks"]
    if isinstance(nets, str):
        if version < (2, 37) or nets not in ("auto", "none"):
            bad("networks", nets, "It must be 'auto', 'none' or a list (at 2.37 and later).")
        return nets
    if not isinstance(nets, list):
        bad("networks", nets, "It is not of type 'array'.")
    return [_network(n, max_count) for n in nets]


def _network(n: Any, max_count: int) -> dict[str, str]:
    """One entry of ``networks`` as Nova's ``_get_requested_networks`` checks it."""
    if not isinstance(n, dict):
        bad("networks", n, "It is not of type 'object'.")
    check_unknown(n, {"uuid", "port", "fixed_ip", "tag"})
    if "tag" in n:
        bad("tag", n["tag"], "Device tags are not supported: leave tag out.")
    out: dict[str, str] = {}
    port = n.get("port")
    if port is not None:
        if not _is_uuid(port):
            raise BadRequest(f"Bad port format: port uuid is not in proper format ({port})")
        if max_count > 1:
            raise BadRequest("Unable to launch multiple instances with a single configured port ID. "
                             "Please launch your instance one by one with different ports.")
        out["port"] = port.lower()
    if n.get("fixed_ip") is not None:
        addr = n["fixed_ip"]
        if port is not None:
            raise BadRequest(f"Specified Fixed IP '{addr}' cannot be used with port '{port}': "
                             "the two cannot be specified together.")
        try:
            out["fixed_ip"] = str(ipaddress.ip_address(addr if isinstance(addr, str) else ""))
        except ValueError:
            raise BadRequest(f"Invalid fixed IP address ({addr})") from None
        if max_count > 1:
            raise BadRequest("Failed to launch instances: max_count cannot be greater than 1 if an "
                             "fixed_ip is specified.")
    if port is None:
        if "uuid" not in n:
            raise BadRequest("Bad networks format: give each network as {\"uuid\": <network id>} "
                             "or {\"port\": <port id>}.")
        if not _is_uuid(n["uuid"]):
            raise BadRequest(f"Bad networks format: network uuid is not in proper format ({n['uuid']})")
        out["uuid"] = n["uuid"].lower()
    return out


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _security_groups(groups: Any) -> list[str]:
    """The names (or ids) of the groups the server's new ports get (default: the
    project's ``default`` group, given by the network service)."""
    if groups is None:
        return []
    if not isinstance(groups, list) or any(not isinstance(g, dict) for g in groups):
        bad("security_groups", groups, "It must be a list of {\"name\": ...}.")
    names = []
    for g in groups:
        check_unknown(g, {"name"})
        names.append(check_type(g.get("name"), "name", str, max_len=255, min_len=1))
    return list(dict.fromkeys(names))


# -- writing ------------------------------------------------------------------------------


@dataclass
class Created:
    ids: list[str]
    reservation_id: str
    admin_pass: str


def create(db: Session, ctx, req: ServerRequest, *, settings, plan_context, request_id: str | None) -> Created:
    """Write the rows and submit the servers' template (see the module docstring)."""
    from stratus.compute import metadata, nics

    metadata.check_quota(db, ctx.project_id, req.metadata, settings)
    boot.check_request(db, ctx, req.boot_volume)
    if req.availability_zone and req.availability_zone not in zones(db, settings):
        raise BadRequest("The requested availability zone is not available")
    reservation = "r-" + secrets.token_hex(4)
    count = req.max_count
    while True:
        ids = [str(uuid.uuid4()) for _ in range(count)]
        sp = db.begin_nested()
        try:
            rows = _write_rows(db, ctx, req, ids, reservation)
            job = pipeline.submit(
                db, _template(req, ids), project_id=ctx.project_id, cloud_admin=ctx.is_admin,
                request_id=request_id, resource_ids={_res_name(i, count): sid for i, sid in enumerate(ids)},
                max_attempts=settings.job_max_attempts, timeout=settings.job_timeout,
                quota_defaults=settings.quota_defaults, context=plan_context)
            sp.commit()
            nics.follow(db, nics.networks_of(db, ids), context=plan_context, request_id=request_id,
                        project_id=ctx.project_id)
            for row in rows:
                instance_actions.record(db, ctx, row, instance_actions.CREATE, job.id, req_id=request_id)
            return Created(ids, reservation, secrets.token_urlsafe(9))
        except NoValidHost as exc:
            sp.rollback()
            rows = _write_rows(db, ctx, req, ids, reservation)
            fl = resolve_flavor(db, req.flavor, ctx.project_id, (), admin=ctx.is_admin)
            for i, row in enumerate(rows):
                row.flavor, row.flavor_id = fl, fl["id"]
                row.vm_state, row.task_state = states.ERROR, None
                # its resource, as every server has one: ERROR, on no host
                db.add(Resource(id=row.id, name=_res_name(i, len(rows)), type=TYPE, project_id=row.project_id,
                                status=ERROR, status_reason=NO_VALID_HOST,
                                properties=_template(req, ids)["resources"][_res_name(i, len(rows))]["properties"],
                                attributes={"flavor": fl}, hosts=[]))
                # Nova counts a server in ERROR against the quota until it is deleted
                for pool, amount in ServerType.quota_usage({}, {"flavor": fl}).items():
                    db.add(Allocation(consumer_id=row.id, project_id=row.project_id, resource=pool,
                                      amount=amount))
                row.fault = {"code": 500, "message": NO_VALID_HOST, "details": exc.detail or str(exc),
                             "created": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
                instance_actions.record(db, ctx, row, instance_actions.CREATE, req_id=request_id).message = "Error"
            db.flush()
            return Created(ids, reservation, secrets.token_urlsafe(9))
        except QuotaExceeded as exc:
            sp.rollback()
            fits = _count_that_fits(exc, count)
            if req.min_count <= fits < count:
                count = fits
                continue
            raise Forbidden(quota_message(exc, count)) from None
        except ResourceCheckFailed as exc:
            sp.rollback()
            if exc.status == 400:
                raise BadRequest(exc.message) from None
            if exc.status == 409:
                raise Conflict(exc.message) from None
            raise
        except TemplateError as exc:
            sp.rollback()
            raise BadRequest(str(exc)) from None
        except BaseException:
            sp.rollback()
            raise


def zones(db: Session, settings) -> set[str]:
    """The zones a server may ask for: the default one and those of the aggregates."""
    from sqlalchemy import select

    from stratus.db.models.compute import AggregateMetadata

    named = db.scalars(select(AggregateMetadata.value).where(AggregateMetadata.key == "availability_zone"))
    return {settings.default_availability_zone, *named}


def _res_name(i: int, count: int) -> str:
    return "server" if count == 1 else f"server-{i + 1}"


def _display_name(req: ServerRequest, i: int, count: int) -> str:
    return req.name if count == 1 else f"{req.name}-{i + 1}"  # Nova's multi-instance names


def _template(req: ServerRequest, ids: list[str]) -> dict[str, Any]:
    resources = {}
    for i, _sid in enumerate(ids):
        props: dict[str, Any] = {"name": _display_name(req, i, len(ids)), "flavor": req.flavor,
                                 "image": req.image, "metadata": req.metadata,
                                 "config_drive": req.config_drive, "scheduler_hints": req.hints}
        if req.user_data:
            props["user_data"] = base64.b64decode(req.user_data).decode()
        if req.key_name:
            props["key_name"] = req.key_name
        if req.networks is not None:
            props["networks"] = heat_networks(req.networks)
        if req.security_groups:
            props["security_groups"] = list(req.security_groups)
        if req.availability_zone or req.force_host or req.force_node:
            props["availability_zone"] = ":".join(
                x or "" for x in (req.availability_zone, req.force_host, req.force_node)).rstrip(":")
        volumes, root = boot.template(req.boot_volume, _res_name(i, len(ids)), props["name"],
                                      req.availability_zone)
        if root:
            props.pop("image")
            props.update(root)
        resources.update(volumes)
        resources[_res_name(i, len(ids))] = {"type": TYPE, "properties": props}
    return {"heat_template_version": "2018-08-31", "resources": resources}


def heat_networks(networks: str | list[dict[str, str]]) -> list[dict[str, str]]:
    """Nova's ``networks`` as the Server type's (Heat's) property."""
    if isinstance(networks, str):
        return [{"allocate_network": networks}]
    return [{"port": n["port"]} if "port" in n else
            {"network": n["uuid"], **({"fixed_ip": n["fixed_ip"]} if "fixed_ip" in n else {})}
            for n in networks]


def _write_rows(db: Session, ctx, req: ServerRequest, ids: list[str], reservation: str) -> list[Server]:
    rows = []
    for i, sid in enumerate(ids):
        name = _display_name(req, i, len(ids))
        row = Server(
            id=sid, project_id=ctx.project_id, user_id=ctx.user_id, name=name,
            description=req.description, hostname=hostname(name, sid),
            vm_state=states.BUILDING, task_state=states.SCHEDULING, power_state=states.NOSTATE,
            flavor_id=req.flavor, flavor={}, image_id=req.image, key_name=req.key_name,
            user_data=req.user_data, config_drive=req.config_drive,
            availability_zone=req.availability_zone, reservation_id=reservation, launch_index=i,
            access_ip_v4=req.access_ip_v4, access_ip_v6=req.access_ip_v6, metadata_=dict(req.metadata),
            system_metadata={"disk_config": req.disk_config, "scheduler_hints": req.hints,
                             "networks": req.networks, "force_host": req.force_host,
                             "force_node": req.force_node})
        db.add(row)
        for tag in req.tags:
            db.add(ServerTag(server_id=sid, tag=tag))
        rows.append(row)
    db.flush()
    if req.hints.get("group"):
        join_group(db, req.hints["group"], ids, ctx.project_id)
    return rows


def join_group(db: Session, group_id: str, server_ids: list[str], project_id: str | None) -> None:
    """Nova's ``group`` hint: the servers become members of the project's server group
    (the scheduler reads the members' hosts); 400 when there is no such group."""
    group = db.get(ServerGroup, group_id)
    if group is None or (project_id is not None and group.project_id != project_id):
        raise BadRequest(f"Instance group {group_id} could not be found.")
    for sid in server_ids:
        if db.get(ServerGroupMember, (group_id, sid)) is None:
            db.add(ServerGroupMember(group_id=group_id, server_id=sid))
    db.flush()


def _count_that_fits(exc: QuotaExceeded, count: int) -> int:
    fits = count
    for o in exc.overs.values():
        per = max(1, o["requested"] // count)
        fits = min(fits, max(0, o["limit"] - o["used"]) // per)
    return fits


def quota_message(exc: QuotaExceeded, count: int) -> str:
    """Nova's words: "Quota exceeded for instances: Requested 1, but already used 10 of 10
    instances"."""
    names = sorted(exc.overs)
    first = exc.overs[names[0]]
    over = ", ".join(names)
    return (f"Quota exceeded for {over}: Requested {first['requested']}, but already used "
            f"{first['used']} of {first['limit']} {over}")


# -- the type's hooks ---------------------------------------------------------------------


def ensure_server_row(db: Session, res) -> None:
    """Called by ``OS::Nova::Server.check``: the server's row, written when a template
    (a Heat stack) makes the server rather than ``POST /servers``; the resolved flavor
    recorded in it either way."""
    row = db.get(Server, res.resource_id)
    fl = res.attributes.get("flavor") or {}
    if row is None:
        p = res.properties
        name = p.get("name") or res.name
        zone = (p.get("availability_zone") or "").split(":")[0] or None
        user_id = res.context.user_id if res.context and res.context.user_id else ""
        row = Server(id=res.resource_id, project_id=res.project_id or "", user_id=user_id, name=name,
                     hostname=hostname(name, res.resource_id), vm_state=states.BUILDING,
                     task_state=states.SCHEDULING, flavor_id=fl.get("id", ""), image_id=p.get("image") or "",
                     key_name=p.get("key_name"), config_drive=bool(p.get("config_drive", True)),
                     availability_zone=zone, metadata_=dict(p.get("metadata") or {}),
                     system_metadata={"scheduler_hints": dict(p.get("scheduler_hints") or {})})
        db.add(row)
        db.flush()
        group = (p.get("scheduler_hints") or {}).get("group")
        if group:
            try:
                join_group(db, str(group), [row.id], res.project_id)
            except BadRequest as exc:
                raise ResourceCheckFailed(exc.message, ("resources", res.name, "properties",
                                                        "scheduler_hints")) from None
    if fl and row.vm_state == states.BUILDING:
        row.flavor, row.flavor_id = fl, fl["id"]
    db.flush()


def request_spec(db: Session, res) -> RequestSpec:
    """``OS::Nova::Server.scheduling``: what the scheduler must honour for ``res``."""
    p = res.properties
    fl = res.attributes.get("flavor") or {}
    facts = res.attributes.get("image_facts") or {}
    zone, _, rest = (p.get("availability_zone") or "").partition(":")
    host, _, node = rest.partition(":")
    hints = dict(p.get("scheduler_hints") or {})
    if not host and not node:
        host = boot.storage_host(res) or ""  # a root volume is reached on its own host
    return RequestSpec(
        instance_uuid=res.resource_id, project_id=res.project_id,
        flavor={k: fl.get(k) for k in ("vcpus", "ram", "disk", "ephemeral", "swap", "extra_specs")},
        image_properties=dict(facts.get("properties") or {}), availability_zone=zone or None,
        force_hosts=[host] if host else [], force_nodes=[node] if node else [],
        group_id=hints.get("group"), scheduler_hints=hints,
        settings=res.context.settings if res.context is not None else None)
