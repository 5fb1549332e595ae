"""``OS::Nova::KeyPair``, ``OS::Nova::Flavor`` and ``OS::Nova::ServerGroup``: compute
records a template makes through the compute service (``stratus.compute``), as
``ControllerRecord`` types: the record is written by ``check`` in the request's
transaction (a refusal anywhere leaves nothing) and no task runs on a host.

- ``OS::Nova::Flavor`` (cloud admins): the flavor's id is the resource's id; the
  description, extra specs and the projects of a private flavor (``tenants``) update
  in place, anything else replaces it.
- ``OS::Nova::KeyPair``: a key pair of the requesting user (or ``user``, for cloud
  admins) named ``name``; imported from ``public_key`` or generated, the private key
  kept in the attribute ``private_key`` only with ``save_private_key`` (as Heat).
- ``OS::Nova::ServerGroup``: a server group of the template's project, its id the
  resource's id (servers name it in ``scheduler_hints: {group: ...}``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import delete

from stratus.compute import flavors, keypairs, server_groups
from stratus.db.models.compute import Flavor as FlavorRow
from stratus.db.models.compute import FlavorAccess, FlavorExtraSpec
from stratus.db.models.compute import KeyPair as KeyPairRow
from stratus.db.models.compute import ServerGroup as GroupRow
from stratus.db.models.jobs import Resource
from stratus.errors import ApiError
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import BOOLEAN, INTEGER, LIST, MAP, NUMBER, STRING, Schema
from stratus.orchestration.resources import ControllerRecord, PlannedResource


class _NovaRecord(ControllerRecord):
    record_kind = "compute records"

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        context = cls.controller(res)
        try:
            cls.make(db, res, context)
            db.flush()
        except ApiError as exc:
            raise ResourceCheckFailed(exc.message, ("resources", res.name), status=exc.status) from exc

    @classmethod
    def make(cls, db, res: PlannedResource, context) -> None:
        raise NotImplementedError

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        try:
            cls.remove(db, res)
            db.flush()
        except ApiError as exc:
            raise ResourceCheckFailed(exc.message, ("resources", res.name), status=exc.status) from exc

    @classmethod
    def remove(cls, db, res: PlannedResource) -> None:
        raise NotImplementedError


def _name(res: PlannedResource) -> str:
    return res.properties.get("name") or f"{res.name}-{res.resource_id[:8]}"


class Flavor(_NovaRecord):
    type_name = "OS::Nova::Flavor"
    description = "A flavor of the compute service (cloud administrators)."
    cloud_admin_only = True
    properties_schema: ClassVar[dict[str, Schema]] = {
        "name": Schema(STRING, "The flavor's name (unique; default: the resource name and id)."),
        "ram": Schema(INTEGER, "Memory in MiB.", required=True, min_value=1),
        "vcpus": Schema(INTEGER, "Virtual CPUs.", required=True, min_value=1),
        "disk": Schema(INTEGER, "Root disk in GiB (0: the image's size).", default=0, min_value=0),
        "ephemeral": Schema(INTEGER, "Ephemeral disk in GiB.", default=0, min_value=0),
        "swap": Schema(INTEGER, "Swap in MiB.", default=0, min_value=0),
        "rxtx_factor": Schema(NUMBER, "Network bandwidth factor.", default=1.0),
        "is_public": Schema(BOOLEAN, "Every project may use it; else only ``tenants``.", default=True),
        "tenants": Schema(LIST, "Projects (ids) that may use a private flavor.", default=[],
                          update_allowed=True),
        "extra_specs": Schema(MAP, "Extra specs (key: string).", default={}, update_allowed=True),
        "description": Schema(STRING, "A description.", update_allowed=True),
    }
    attributes_schema: ClassVar[dict[str, str]] = {
        "show": "The flavor as the compute API shows it.", "is_public": "Whether it is public.",
        "extra_specs": "Its extra specs."}

    @classmethod
    def make(cls, db, res: PlannedResource, context) -> None:
        p = res.properties
        flavor = db.get(FlavorRow, res.resource_id)
        if flavor is None:
            flavor = flavors.create(db, name=_name(res), flavor_id=res.resource_id, vcpus=p["vcpus"],
                                    memory_mb=p["ram"], root_gb=p.get("disk") or 0,
                                    ephemeral_gb=p.get("ephemeral") or 0, swap=p.get("swap") or 0,
                                    rxtx_factor=float(p.get("rxtx_factor") or 1.0),
                                    is_public=p.get("is_public", True) is not False,
                                    description=p.get("description"))
        flavor.description = p.get("description")
        specs = {str(k): str(v) for k, v in (p.get("extra_specs") or {}).items()}
        db.execute(delete(FlavorExtraSpec).where(FlavorExtraSpec.flavor_id == flavor.id,
                                                 FlavorExtraSpec.key.not_in(list(specs))))
        flavors.set_extra_specs(db, flavor, specs)
        if not flavor.is_public:
            wanted = [str(t) for t in p.get("tenants") or []]
            db.execute(delete(FlavorAccess).where(FlavorAccess.flavor_id == flavor.id,
                                                  FlavorAccess.project_id.not_in(wanted)))
            have = set(flavors.access_list(db, flavor))
            for project_id in wanted:
                if project_id not in have:
                    flavors.add_access(db, flavor, project_id)
        res.attributes.update({"is_public": flavor.is_public, "extra_specs": specs,
                               "show": {**flavors.embedded(db, flavor), "is_public": flavor.is_public}})

    @classmethod
    def remove(cls, db, res: PlannedResource) -> None:
        flavor = db.get(FlavorRow, res.resource_id)
        if flavor is not None:
            flavors.delete_flavor(db, flavor)


class KeyPair(_NovaRecord):
    type_name = "OS::Nova::KeyPair"
    description = "A key pair of the compute service, of the requesting user."
    properties_schema: ClassVar[dict[str, Schema]] = {
        "name": Schema(STRING, "The key pair's name (unique for its user).", required=True),
        "public_key": Schema(STRING, "The public key to import; without it one is generated."),
        "type": Schema(STRING, "ssh or x509.", default="ssh", allowed_values=keypairs.TYPES),
        "save_private_key": Schema(BOOLEAN, "Keep a generated private key in the attribute "
                                   "private_key.", default=False),
        "user": Schema(STRING, "The user (id) the key pair belongs to (cloud admins; default: "
                       "the requesting user)."),
    }
    attributes_schema: ClassVar[dict[str, str]] = {
        "show": "The key pair as the compute API shows it.", "public_key": "The public key.",
        "private_key": "The generated private key (with save_private_key; else empty).",
        "user_id": "The user the key pair belongs to."}

    @classmethod
    def make(cls, db, res: PlannedResource, context) -> None:
        row = db.get(Resource, res.resource_id)
        if row is not None and row.attributes.get("user_id"):
            return  # made already; nothing of a key pair updates in place
        p = res.properties
        user = p.get("user") if (p.get("user") and context.cloud_admin) else context.user_id
        if not user:
            raise ResourceCheckFailed("a key pair belongs to a user: submit the template as a user, "
                                      "or give the property user", ("resources", res.name, "properties"))
        key, private = keypairs.create(db, user_id=user, project_id=res.project_id, name=p["name"],
                                       key_type=p.get("type") or "ssh", public_key=p.get("public_key"),
                                       quota_defaults=getattr(context.settings, "quota_defaults", None))
        res.attributes.update({
            "user_id": user, "public_key": key.public_key,
            "private_key": private if (private and p.get("save_private_key")) else "",
            "show": {"name": key.name, "public_key": key.public_key, "fingerprint": key.fingerprint,
                     "type": key.type, "user_id": user}})

    @classmethod
    def remove(cls, db, res: PlannedResource) -> None:
        row = db.get(Resource, res.resource_id)
        user = (row.attributes if row is not None else res.attributes).get("user_id")
        if user is None:
            return
        key = db.query(KeyPairRow).filter_by(user_id=user, name=res.properties.get("name")).one_or_none()
        if key is not None:
            db.delete(key)

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        return {"show": {"name": res.properties.get("name")}}


class ServerGroup(_NovaRecord):
    type_name = "OS::Nova::ServerGroup"
    description = "A server group: where its servers are placed relative to each other."
    properties_schema: ClassVar[dict[str, Schema]] = {
        "name": Schema(STRING, "The group's name (default: the resource name and id)."),
        "policies": Schema(LIST, "One policy: affinity, anti-affinity, soft-affinity or "
                           "soft-anti-affinity.", default=["anti-affinity"]),
        "rules": Schema(MAP, "Rules of the policy: max_server_per_host (anti-affinity only).",
                        default={}),
    }
    attributes_schema: ClassVar[dict[str, str]] = {"show": "The group as the compute API shows it."}

    @classmethod
    def make(cls, db, res: PlannedResource, context) -> None:
        p = res.properties
        if db.get(GroupRow, res.resource_id) is not None:
            return
        policies = list(p.get("policies") or ["anti-affinity"])
        allowed = server_groups.POLICIES + server_groups.SOFT_POLICIES
        if len(policies) != 1 or policies[0] not in allowed:
            raise ResourceCheckFailed(f"policies must be one of {', '.join(allowed)} (one item), "
                                      f"not {policies!r}", ("resources", res.name, "properties", "policies"),
                                      status=400)
        rules = dict(p.get("rules") or {})
        if set(rules) - {"max_server_per_host"} or (rules and policies[0] != "anti-affinity"):
            raise ResourceCheckFailed("rules: only max_server_per_host, and only with anti-affinity",
                                      ("resources", res.name, "properties", "rules"), status=400)
        try:
            rules = {k: int(v) for k, v in rules.items()}
        except (TypeError, ValueError):
            rules = {"max_server_per_host": 0}
        if rules and rules["max_server_per_host"] < 1:
            raise ResourceCheckFailed("max_server_per_host must be an integer >= 1",
                                      ("resources", res.name, "properties", "rules"), status=400)
        group = server_groups.create(db, project_id=res.project_id, user_id=context.user_id or "",
                                     name=_name(res), policy=policies[0], rules=rules, group_id=res.resource_id,
                                     quota_defaults=getattr(context.settings, "quota_defaults", None))
        res.attributes["show"] = {"id": group.id, "name": group.name, "policy": group.policy,
                                  "rules": group.rules, "project_id": group.project_id}

    @classmethod
    def remove(cls, db, res: PlannedResource) -> None:
        group = db.get(GroupRow, res.resource_id)
        if group is not None:
            server_groups.delete_group(db, group)


def resource_mapping():
    return {c.type_name: c for c in (Flavor, KeyPair, ServerGroup)}
