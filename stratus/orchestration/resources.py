"""Resource types: one class per template type, Heat's plugin model.

Each class declares ``properties_schema`` (with ``update_allowed``) and
``attributes_schema`` and provides, for the planner and the compiler:

- ``check(db, res)`` / ``check_delete(db, res)``: checks against the DB before
  anything runs (the flavor, network or volume exists and the project may use it; a net
  has no ports left); they raise ResourceCheckFailed and may record in ``res`` the facts
  the tasks need, so that ``plan_*`` stay pure functions of ``res``;
- ``allocations``: values taken from shared pools (a VNI), recorded with the job;
- ``quota_usage`` / ``host_usage``: what it consumes, per project and per host;
- ``host_group`` (where capacity placement picks a host) or ``hosts`` (the hosts it
  needs when that is not a capacity choice, e.g. a network on the hosts of its ports);
- ``locks``: other resource ids its jobs touch (a port locks its network), so that
  jobs on them are serialised;
- ``plan_create`` / ``plan_update(prop_diff)`` / ``plan_delete`` / ``plan_action``:
  Ansible tasks; ``plan_update`` raises UpdateReplace when a changed property is not
  ``update_allowed``; actions do not reset the resource to BUILD nor release what it
  holds;
- ``realize(result, host)``: the attributes to record from a module's whole result.

Types live in one module per service namespace (``stratus.orchestration.types.nova``
for ``OS::Nova::*`` …), each with ``resource_mapping()``; :func:`load` registers them
all, the same way for the API, the worker, ``stratus compile`` and ``stratus validate``.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from stratus.orchestration import emit
from stratus.orchestration.errors import ResourceCheckFailed, UpdateReplace
from stratus.orchestration.functions import jinja_literal
from stratus.orchestration.properties import Schema

_REGISTRY: dict[str, type[ResourceType]] = {}
_LOADED: list[bool] = []
TYPE_MODULES = ("heat", "stratus", "nova", "neutron", "glance", "keystone", "cinder", "swift", "aws")


def register(cls: type[ResourceType]) -> type[ResourceType]:
    _REGISTRY[cls.type_name] = cls
    return cls


def load() -> dict[str, type[ResourceType]]:
    """Register every namespace module's ``resource_mapping()`` (idempotent)."""
    if not _LOADED:
        for name in TYPE_MODULES:
            try:
                module = importlib.import_module(f"stratus.orchestration.types.{name}")
            except ModuleNotFoundError as exc:  # a namespace not built yet (in a branch)
                if exc.name != f"stratus.orchestration.types.{name}":
                    raise
                continue
            for type_name, cls in module.resource_mapping().items():
                _REGISTRY.setdefault(type_name, cls)
        _LOADED.append(True)
    return dict(_REGISTRY)


def get_type(name: str) -> type[ResourceType] | None:
    load()
    return _REGISTRY.get(name)


def registered_types() -> list[str]:
    load()
    return sorted(_REGISTRY)


def register_var(resource_name: str) -> str:
    """The Ansible variable a resource's task result is registered in."""
    return "stratus_" + re.sub(r"[^0-9A-Za-z_]", "_", resource_name)


@dataclass(frozen=True)
class PlanContext:
    """What the controller lends the planner beyond the DB: its ``settings``, its
    Fernet ``keys`` (a type that hands hosts a credential, e.g. an image ticket, signs
    it at compile time), its ``database`` (a controller-side record such as a Glance
    image starts work that outlives the request) and whether the caller is a cloud
    admin. None in an offline compile (``stratus compile``)."""

    settings: Any = None
    keys: Any = None
    database: Any = None  # the controller's Database, for work that outlives the request
    cloud_admin: bool = False  # the request comes from a cloud administrator
    user_id: str | None = None  # the requesting user (whose key pair a server gets)


@dataclass
class PlannedResource:
    """One resource after planning: id assigned, properties resolved where possible,
    and the hosts its tasks run on (host names once placed; a group offline)."""

    name: str
    type: str
    resource_id: str
    properties: dict[str, Any]
    hosts: list[str] = field(default_factory=lambda: ["controller"])
    attributes: dict[str, Any] = field(default_factory=dict)  # known at plan time
    project_id: str | None = None
    placed: bool = False  # hosts are host names (after placement), not a group
    # The controller's settings and keys (never recorded; None offline).
    context: PlanContext | None = field(default=None, repr=False, compare=False)


class ResourceType:
    type_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    properties_schema: ClassVar[dict[str, Schema]] = {}
    attributes_schema: ClassVar[dict[str, str]] = {"show": "All attributes of the resource."}
    open_properties: ClassVar[bool] = False
    # A playbook that can run again without harm: a restarted controller may re-queue it.
    idempotent: ClassVar[bool] = True
    # Only a cloud administrator may submit it (it can reach any host).
    cloud_admin_only: ClassVar[bool] = False
    # Named actions: {name: help}; plan_action turns one into tasks.
    actions: ClassVar[dict[str, str]] = {}
    # ``deletion_policy: Snapshot`` is allowed (the type can be snapshotted on delete).
    snapshot_allowed: ClassVar[bool] = False
    # The keys its ``update_policy`` takes; none: a non-empty update_policy is refused.
    update_policy_schema: ClassVar[dict[str, Schema]] = {}
    # Heat's deprecated property names the template model renames: {old: new}.
    property_aliases: ClassVar[dict[str, str]] = {}

    @classmethod
    def has_attribute(cls, name: str) -> bool:
        return name in cls.attributes_schema

    # Planner hooks -------------------------------------------------------------------
    @classmethod
    def check(cls, db, res: PlannedResource, planned: dict[str, PlannedResource] | None = None) -> None:
        """Refuse (ResourceCheckFailed) what the DB says cannot be made. ``planned``
        holds the resources of the same request by id (a port may name a net that the
        same stack makes); they are checked in dependency order."""

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        """Refuse a delete the DB says cannot happen yet (a net with ports: 409), and
        record in ``res`` what ``plan_delete`` needs to know."""

    @classmethod
    def allocations(cls, res: PlannedResource) -> dict[str, int]:
        """Other things it holds from shared pools (a VNI), recorded with the job and
        released on delete: {pool: value}."""
        return {}

    @classmethod
    def quota_usage(cls, props: dict[str, Any], attributes: dict[str, Any] | None = None) -> dict[str, int]:
        """Quota resources this resource consumes, e.g. {"instances": 1, "cores": 2};
        ``attributes`` holds what ``check`` recorded (a server's resolved flavor)."""
        return {}

    @classmethod
    def host_usage(cls, props: dict[str, Any], attributes: dict[str, Any] | None = None) -> dict[str, int]:
        """Host capacity this resource consumes (vcpus, memory_mb, disk_gb)."""
        return {}

    @classmethod
    def scheduling(cls, db, res: PlannedResource):
        """A ``stratus.scheduler.spec.RequestSpec`` when placement must honour more
        than capacity (zone, server group, image properties, hosts to avoid); None:
        the host of the group with the most room."""
        return None

    @classmethod
    def host_group(cls, props: dict[str, Any]) -> str:
        """The group placement picks from (resources with host usage), or the group the
        tasks run on when nothing is placed."""
        return "controller"

    @classmethod
    def hosts(cls, db, res: PlannedResource) -> list[str] | None:
        """Host names the resource runs on when placement does not choose them (None:
        capacity placement, or the group when there is no DB)."""
        return None

    @classmethod
    def on_placed(cls, db, res: PlannedResource) -> None:
        """Called by ``submit`` once ``res.hosts`` are the hosts it was placed on, before
        compiling: record what depends on the host (a server binds its ports there and
        notes the NICs its tasks plug)."""

    @classmethod
    def locks(cls, res: PlannedResource) -> list[str]:
        """Ids of other resources whose jobs must not overlap this one's."""
        return []

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        """Attributes known before anything runs (ids, values)."""
        return {}

    @classmethod
    def runtime_attribute(cls, res: PlannedResource, attr: str, keys: list[Any]) -> str | None:
        """A Jinja expression (without braces) yielding the attribute when the playbook
        runs, e.g. from :func:`registered_result`."""
        return None

    @classmethod
    def realize(cls, result: dict[str, Any], host: str | None = None) -> dict[str, Any]:
        """Attributes to record from the whole result of the resource's task on ``host``."""
        return {}

    @classmethod
    def on_job_end(cls, db, resource, job) -> None:
        """Called by the job worker in its transaction when a job that touched
        ``resource`` ends, whatever its kind (``action:stop``, ``update``, ``delete``) and
        status, after the resource's own status was settled: a service settles what
        the job was doing (a server's task_state)."""

    @classmethod
    def on_state(cls, db, resource) -> None:
        """Called by the job worker in its transaction whenever ``resource`` (a
        ``stratus.db.models.jobs.Resource`` row) changes status or attributes, so a
        service can keep its own records (a server's status, a port's binding) in step."""

    # Compiler hooks -------------------------------------------------------------------
    @classmethod
    def plan_create(cls, res: PlannedResource) -> list[dict[str, Any]]:
        """The Ansible tasks that create the resource (names start with the resource name)."""
        return []

    @classmethod
    def plan_update(cls, res: PlannedResource, prop_diff: dict[str, Any]) -> list[dict[str, Any]]:
        """Tasks that change the resource in place to ``res.properties``; raises
        UpdateReplace when a changed property is not ``update_allowed``. By default an
        in-place update runs the create tasks again (modules are idempotent)."""
        cls.check_update_allowed(res, prop_diff)
        return cls.plan_create(res)

    @classmethod
    def check_update_allowed(cls, res: PlannedResource, prop_diff: dict[str, Any]) -> None:
        """UpdateReplace when a changed property is not ``update_allowed``."""
        fixed = sorted(k for k in prop_diff
                       if k in cls.properties_schema and not cls.properties_schema[k].update_allowed)
        if fixed:
            raise UpdateReplace(res.name, fixed)

    @classmethod
    def plan_delete(cls, res: PlannedResource) -> list[dict[str, Any]]:
        """The Ansible tasks that remove the resource (idempotent: gone already is fine)."""
        return []

    @classmethod
    def plan_action(cls, res: PlannedResource, action: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Tasks of a named action (``actions``); the resource keeps its status and
        allocations."""
        raise KeyError(action)

    # Stack hooks (Heat's handle_suspend / handle_resume / handle_check / handle_signal) -------
    # Whether the resource takes signals (``POST .../resources/<name>/signal``).
    takes_signals: ClassVar[bool] = False

    @classmethod
    def plan_suspend(cls, res: PlannedResource) -> list[dict[str, Any]]:
        """Tasks that suspend the resource (a server is suspended); none: nothing to do."""
        return []

    @classmethod
    def plan_resume(cls, res: PlannedResource) -> list[dict[str, Any]]:
        """Tasks that resume a suspended resource."""
        return []

    @classmethod
    def plan_check(cls, res: PlannedResource) -> list[dict[str, Any]]:
        """Tasks that check the resource still is as recorded (check mode of its create
        tasks by default: a change needed means it drifted)."""
        return [{**t, "check_mode": True} for t in cls.plan_create(res)]

    @classmethod
    def handle_signal(cls, db, resource, data: dict[str, Any], context: PlanContext | None) -> None:
        """Act on a signal to ``resource`` (a ``Resource`` row; the signal is recorded
        already as a ``ResourceSignal``); only types with ``takes_signals``."""


class ControllerRecord(ResourceType):
    """A type whose resource is a record of the controller (an image, a project), not a
    thing on a host: its ``check`` writes the record in the request's transaction (so a
    refusal anywhere in the request leaves nothing), its id is the record's id, and no
    task runs on a host. It needs the controller: an offline compile cannot make it."""

    # what the type makes, for the offline refusal ("images", "identity records")
    record_kind: ClassVar[str] = "records"

    @classmethod
    def hosts(cls, db, res):
        return []

    @classmethod
    def controller(cls, res: PlannedResource) -> PlanContext:
        """The controller's context, or the refusal of an offline plan."""
        context = res.context
        if context is None or context.database is None:
            raise ResourceCheckFailed(f"{cls.type_name} needs the controller: submit the template "
                                      f"to its API (an offline compile cannot make {cls.record_kind})")
        return context


def registered_result(res: PlannedResource, keys: list[Any] = ()) -> str:
    """The expression of ``res``'s registered result on its (first) host: the placed
    host by name, or the first host of its group in an offline compile."""
    host = jinja_literal(res.hosts[0]) if res.placed else f"groups[{jinja_literal(res.hosts[0])}][0]"
    expr = f"hostvars[{host}][{jinja_literal(register_var(res.name))}]"
    for key in keys:
        expr += f"[{key}]" if isinstance(key, int) else f"[{jinja_literal(key)}]"
    return expr


def task(res: PlannedResource, module: str, args: Any, step: str = "", *,
         templated: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    """One task of ``res``: named ``<resource>`` or ``<resource>: <step>`` (how events map
    back to resources), its result registered, tagged with the resource name.

    ``args`` are user data, emitted so that Ansible never templates them; ``templated``
    adds module options whose values are the compiler's own Jinja (host variables)."""
    if templated:
        body: Any = {k: emit.data(v) for k, v in args.items()}
        body.update(templated)
    else:
        body = emit.data(args)
    out = {"name": f"{res.name}: {step}" if step else res.name, module: body,
           "register": register_var(res.name), "tags": [res.name]}
    out.update(extra)
    return out
