"""``OS::Swift::Container``: a Swift container in the stack's project account (Heat's
``SwiftContainer``).

Properties are Heat's: ``name`` (default ``<resource name>-<12 hex of its id>``),
``X-Container-Read`` / ``X-Container-Write`` (ACLs), ``X-Container-Meta`` /
``X-Account-Meta`` (maps of metadata), ``PurgeOnDelete``. Unlike Heat, everything but
``name`` updates in place (Swift changes ACLs and metadata with a POST; replacing a
named container would delete the new one with the old); a new ``name`` replaces it.

The tasks run on the controller group: ``stratus.cloud.object_container`` with
``storage_url`` = the project's account (``<object_store_url>/v1/AUTH_<project>``) and
a token of the object store's service user (``ResellerAdmin`` may act in any account),
minted by the controller when the playbook is compiled (:mod:`stratus.object_store`)
and handed to the module as data (``token`` is ``no_log`` there). ``X-Account-Meta``
is the module's ``account_metadata`` (set, never removed: Heat never removes it either).

Delete: ``object_container`` absent; a non-empty container fails the delete
(``DELETE_FAILED`` with Heat's "Deleting non-empty container (NAME) when PurgeOnDelete
is False" before Swift's own 409) unless ``PurgeOnDelete``, which deletes its objects
first.

Attributes: ``DomainName``, ``RootURL`` (the account URL), ``WebsiteURL`` (the
container's URL) are known when planned; ``ObjectCount``, ``BytesUsed`` and
``HeadContainer`` (the module's ``headers``: Swift's HEAD answer) come from the module's
result (as created or last updated). The
reference (``get_resource``) is the resource's id, as every Stratus type's; the
container's name is the attribute ``name``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlparse

from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.functions import jinja_literal
from stratus.orchestration.properties import BOOLEAN, MAP, STRING, Schema
from stratus.orchestration.resources import (
    PlannedResource,
    ResourceType,
    register_var,
    registered_result,
    task,
)

MODULE = "stratus.cloud.object_container"
MAX_NAME_BYTES = 256  # Swift's container_name_length
# attribute -> key of the module's ``container`` result
RESULT_KEYS = {"ObjectCount": "object_count", "BytesUsed": "bytes_used"}


class SwiftContainer(ResourceType):
    type_name = "OS::Swift::Container"
    description = "A Swift container in the stack's project account, with ACLs and metadata."
    properties_schema = {
        "name": Schema(STRING, "Name for the container. If not specified, a unique name will be "
                               "generated (<resource name>-<12 hex characters of its id>)."),
        "X-Container-Read": Schema(STRING, "Specify the ACL permissions on who can read objects in the "
                                           "container.", update_allowed=True),
        "X-Container-Write": Schema(STRING, "Specify the ACL permissions on who can write objects to the "
                                            "container.", update_allowed=True),
        "X-Container-Meta": Schema(MAP, "A map of user-defined meta data to associate with the container. "
                                        "Each key in the map will set the header X-Container-Meta-{key} "
                                        "with the corresponding value.", default={}, update_allowed=True),
        "X-Account-Meta": Schema(MAP, "A map of user-defined meta data to associate with the account. Each "
                                      "key in the map will set the header X-Account-Meta-{key} with the "
                                      "corresponding value.", default={}, update_allowed=True),
        "PurgeOnDelete": Schema(BOOLEAN, "If True, delete any objects in the container when the container "
                                         "is deleted. Otherwise, deleting a non-empty container will result "
                                         "in an error.", default=False, update_allowed=True),
    }
    attributes_schema = {
        "DomainName": "The host from the container URL.",
        "WebsiteURL": "The URL of the container.",
        "RootURL": "The parent URL of the container.",
        "ObjectCount": "The number of objects stored in the container.",
        "BytesUsed": "The number of bytes stored in the container.",
        "HeadContainer": "A map containing all headers for the container.",
        "name": "The container's name.",
        "show": "All attributes.",
    }

    # planner hooks ------------------------------------------------------------------------
    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        where = ("resources", res.name, "properties", "name")
        settings = res.context.settings if res.context is not None else None
        if settings is not None and not settings.object_store_url:
            raise ResourceCheckFailed("this cloud has no object storage (the controller's object_store_url "
                                      "is not set): OS::Swift::Container cannot be made", ("resources", res.name))
        name = container_name(res)
        if isinstance(name, str):
            if "/" in name:
                raise ResourceCheckFailed(f"the container name {name!r} may not contain '/'", where)
            if len(name.encode()) > MAX_NAME_BYTES:
                raise ResourceCheckFailed(f"the container name is {len(name.encode())} bytes long; Swift "
                                          f"allows at most {MAX_NAME_BYTES}", where)

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        name = container_name(res)
        settings = res.context.settings if res.context is not None else None
        if not isinstance(name, str) or settings is None or not settings.object_store_url or not res.project_id:
            return {"name": name} if isinstance(name, str) else {}
        from stratus.object_store import account_url

        root = account_url(settings, res.project_id)
        return {"name": name, "RootURL": root, "WebsiteURL": f"{root}/{quote(name, safe='')}",
                "DomainName": urlparse(root).hostname}

    @classmethod
    def realize(cls, result: dict[str, Any], host: str | None = None) -> dict[str, Any]:
        c = result.get("container")
        if not isinstance(c, dict):
            return {}
        out = {"name": c.get("name"), "ObjectCount": c.get("object_count"), "BytesUsed": c.get("bytes_used"),
               "HeadContainer": result.get("headers")}
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def runtime_attribute(cls, res: PlannedResource, attr: str, keys: list[Any]) -> str | None:
        if attr in RESULT_KEYS:
            return registered_result(res, ["container", RESULT_KEYS[attr], *keys])
        return None

    # compiler hooks -----------------------------------------------------------------------
    @classmethod
    def plan_create(cls, res: PlannedResource) -> list[dict[str, Any]]:
        return cls._present(res, update=False)

    @classmethod
    def plan_update(cls, res: PlannedResource, prop_diff: dict[str, Any]) -> list[dict[str, Any]]:
        """ACLs and metadata in place: what the template no longer names goes (metadata
        purged, an ACL left out is cleared)."""
        cls.check_update_allowed(res, prop_diff)
        return cls._present(res, update=True)

    @classmethod
    def plan_delete(cls, res: PlannedResource) -> list[dict[str, Any]]:
        """``object_container`` absent; without PurgeOnDelete, Swift's 409 for a container
        that still holds objects fails the resource in Heat's words."""
        name = container_name(res)
        purge = bool(res.properties.get("PurgeOnDelete"))
        args = {"name": name, "state": "absent", "delete_objects": purge, **_auth(res)}
        if purge:
            return [task(res, MODULE, args)]
        var = register_var(res.name)
        words = jinja_literal(f"Deleting non-empty container ({name}) when PurgeOnDelete is False: ")
        return [task(res, MODULE, args, ignore_errors=True),
                task(res, "ansible.builtin.fail", {}, "non-empty",
                     templated={"msg": "{{ " + words + " ~ " + var + ".msg }}"},
                     when=f"{var} is failed and {var}.status | default(0) == 409"),
                task(res, "ansible.builtin.fail", {}, "failed", templated={"msg": "{{ " + var + ".msg }}"},
                     when=f"{var} is failed")]

    @classmethod
    def _present(cls, res: PlannedResource, *, update: bool) -> list[dict[str, Any]]:
        p = res.properties
        auth = _auth(res)
        args: dict[str, Any] = {"name": container_name(res), "state": "present",
                                "metadata": dict(p.get("X-Container-Meta") or {}), **auth}
        for prop, option in (("X-Container-Read", "read_acl"), ("X-Container-Write", "write_acl")):
            if p.get(prop) is not None or update:
                args[option] = p.get(prop) or ""
        if update:
            args["purge_metadata"] = True
        account_meta = p.get("X-Account-Meta")
        if account_meta:
            args["account_metadata"] = {k: str(v) for k, v in account_meta.items()}
        return [task(res, MODULE, args)]


def container_name(res: PlannedResource) -> Any:
    """The ``name`` property, else ``<resource name>-<12 hex of the resource id>``."""
    name = res.properties.get("name")
    if name:
        return name
    return f"{res.name}-{res.resource_id.replace('-', '')[:12]}"


def _auth(res: PlannedResource) -> dict[str, str]:
    """``token`` (the service user's, minted now) and ``storage_url`` (the project's account)."""
    ctx = res.context
    if ctx is None or ctx.settings is None or ctx.database is None:
        raise TemplateError("an OS::Swift::Container is made with a token the controller mints; submit "
                            "the template to the controller (no offline compile)", ("resources", res.name))
    if not res.project_id:
        raise TemplateError("an OS::Swift::Container lives in a project's account: the stack has no project",
                            ("resources", res.name))
    from stratus.object_store import ObjectStoreError, account_url, service_token

    try:
        token = service_token(ctx.settings, database=ctx.database, keys=ctx.keys).token
    except ObjectStoreError as e:
        raise ResourceCheckFailed(str(e), ("resources", res.name), status=503) from None
    return {"token": token, "storage_url": account_url(ctx.settings, res.project_id)}


def resource_mapping():
    return {SwiftContainer.type_name: SwiftContainer}
