"""``OS::Heat::SoftwareConfig``, ``CloudConfig``, ``MultipartMime``,
``StructuredConfig`` and the deployments that apply them to servers
(``SoftwareDeployment(s)``, ``StructuredDeployment(s)``), as Heat has them.

- A config is a record of the controller (``software_configs``, made in the request's
  transaction by ``check``): its id is the resource's id, its attribute ``config`` the
  text a server's ``user_data`` takes (CloudConfig: ``#cloud-config`` YAML;
  MultipartMime: the MIME multipart message Heat builds).
- A deployment's ``check`` records Heat's derived config (the source config with every
  input's value and the ``deploy_*`` inputs: ``deploy_signal_id`` is the deployment's
  pre-signed URL, ``deploy_signal_verb`` POST) and the deployment row (IN_PROGRESS).
  The server pulls its deployments (``stratus.stacks.software.server_metadata``,
  served to guests through the network's metadata relay), runs them with the hook of
  their ``group`` (``script``; ``ansible`` with the limits of the guest) and POSTs
  deploy_stdout, deploy_stderr, deploy_status_code and the outputs to the signal URL.
  The deployment's one task waits on the controller (``stratus.cloud.signal_wait``)
  for that result: a failed deployment fails the resource with the script's status
  code and stderr. ``signal_transport: NO_SIGNAL`` completes without waiting.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any, ClassVar

import yaml

from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import LIST, MAP, STRING, Schema
from stratus.orchestration.resources import ControllerRecord, PlannedResource
from stratus.orchestration.types.heat_signals import FAILURE, SUCCESS, WAITING, _Waiting, wait_task
from stratus.stacks import tickets

UNGROUPED = "Heat::Ungrouped"
DEPLOY_ACTIONS = ("CREATE", "UPDATE", "DELETE", "SUSPEND", "RESUME")
SIGNAL_TRANSPORTS = ("CFN_SIGNAL", "TEMP_URL_SIGNAL", "HEAT_SIGNAL", "NO_SIGNAL", "ZAQAR_SIGNAL")
# Configs planned in this process, by resource id, so that a MultipartMime of the same
# stack finds its parts before their records exist (ids are fresh uuids; bounded).
_PLANNED: OrderedDict[str, str] = OrderedDict()
_PLANNED_MAX = 4096


def _remember(resource_id: str, config: str) -> None:
    _PLANNED[resource_id] = config
    _PLANNED.move_to_end(resource_id)
    while len(_PLANNED) > _PLANNED_MAX:
        _PLANNED.popitem(last=False)


def _controller_db(res: PlannedResource):
    context = res.context
    return context.database if context is not None else None


class SoftwareConfig(ControllerRecord):
    type_name = "OS::Heat::SoftwareConfig"
    description = "A configuration (script, playbook, cloud-config) for servers, with inputs and outputs."
    record_kind = "software configs"
    properties_schema = {
        "group": Schema(STRING, "The tool that runs the config (the heat-config hook): script, ansible, "
                        "Heat::Ungrouped (user_data).", default=UNGROUPED),
        "config": Schema(STRING, "The configuration script or document."),
        "inputs": Schema(LIST, "Inputs: [{name, description, type, default}].", default=[]),
        "outputs": Schema(LIST, "Outputs: [{name, description, type, error_output}].", default=[]),
        "options": Schema(MAP, "Options for the hook.", default={}),
    }
    attributes_schema = {"config": "The config value (what user_data takes).", "show": "All attributes."}

    @classmethod
    def config_text(cls, res: PlannedResource) -> str:
        value = res.properties.get("config")
        return value if isinstance(value, str) else ("" if value is None else json.dumps(value))

    @classmethod
    def body(cls, res: PlannedResource) -> dict[str, Any]:
        p = res.properties
        return {"name": res.name, "group": p.get("group") or UNGROUPED, "config": cls.config_text(res),
                "inputs": p.get("inputs") or [], "outputs": p.get("outputs") or [], "options": p.get("options") or {}}

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        text = cls.config_text(res)
        _remember(res.resource_id, text)
        return {"config": text, "show": {"config": text}}

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        from stratus.db.models.orchestration import SoftwareConfig as Row
        from stratus.stacks import software

        cls.controller(res)
        row = db.get(Row, res.resource_id)
        if row is not None:
            db.delete(row)  # configs are immutable: an update makes it anew under the same id
            db.flush()
        try:
            software.create_config(db, res.project_id, cls.body(res), config_id=res.resource_id)
        except Exception as exc:  # BadRequest from the service
            message = getattr(exc, "message", str(exc))
            raise ResourceCheckFailed(message, ("resources", res.name, "properties")) from exc

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        from stratus.db.models.orchestration import SoftwareConfig as Row

        row = db.get(Row, res.resource_id)
        if row is not None:
            db.delete(row)
            db.flush()

    @classmethod
    def plan_update(cls, res, prop_diff):
        return []


class CloudConfig(SoftwareConfig):
    type_name = "OS::Heat::CloudConfig"
    description = "A cloud-init #cloud-config document made from a map."
    properties_schema = {"cloud_config": Schema(MAP, "The cloud-config map.", default={})}

    @classmethod
    def config_text(cls, res: PlannedResource) -> str:
        doc = yaml.safe_dump(res.properties.get("cloud_config") or {}, default_flow_style=False)
        return "#cloud-config\n" + doc

    @classmethod
    def body(cls, res):
        return {"name": res.name, "group": UNGROUPED, "config": cls.config_text(res)}


class StructuredConfig(SoftwareConfig):
    type_name = "OS::Heat::StructuredConfig"
    description = "A config that is a map (a structured document); {get_input: name} is replaced per deployment."
    properties_schema = {**SoftwareConfig.properties_schema, "config": Schema(MAP, "The configuration map.")}


class MultipartMime(SoftwareConfig):
    type_name = "OS::Heat::MultipartMime"
    description = ("A MIME multipart message of configs (inline text or config ids; a multipart part's "
                   "own parts are appended), for a server's user_data.")
    properties_schema = {
        "parts": Schema(LIST, "Parts: [{config, filename, type: text|multipart, subtype}].", default=[]),
    }

    @classmethod
    def _part_text(cls, res: PlannedResource, ref: str) -> str:
        """A part's content: the config with id ``ref`` (this stack's or recorded), else ``ref``."""
        try:
            uuid.UUID(ref)
        except ValueError:
            return ref
        if ref in _PLANNED:
            return _PLANNED[ref]
        database = _controller_db(res)
        if database is not None:
            from stratus.db.models.orchestration import SoftwareConfig as Row

            with database.session() as s:
                row = s.get(Row, ref)
                if row is not None:
                    return row.config
        return ref

    @classmethod
    def config_text(cls, res: PlannedResource) -> str:
        subparts = []
        for i, item in enumerate(res.properties.get("parts") or []):
            if not isinstance(item, dict) or not isinstance(item.get("config"), str):
                raise ResourceCheckFailed("each part needs a config (inline text or a config's id)",
                                          ("resources", res.name, "properties", "parts", str(i)))
            text = cls._part_text(res, item["config"])
            if item.get("type", "text") == "multipart":
                import email

                message = email.message_from_string(text)
                if message.is_multipart():
                    for part in message.get_payload():
                        subparts.append(_mime_part(part.get_payload(), part.get_content_subtype(),
                                                   part.get_filename()))
            else:
                subparts.append(_mime_part(text, item.get("subtype") or "", item.get("filename") or ""))
        return MIMEMultipart(_subparts=subparts).as_string()

    @classmethod
    def body(cls, res):
        return {"name": res.name, "group": UNGROUPED, "config": cls.config_text(res)}


def _mime_part(text: str, subtype: str, filename: str | None) -> MIMEText:
    """Heat's part: text/<subtype> (from the file name when no subtype), an attachment
    when it has a file name."""
    if not subtype and filename:
        subtype = filename.rsplit(".", 1)[0]
    msg = MIMEText(text, _subtype=subtype) if subtype else MIMEText(text)
    if filename:
        msg.add_header("Content-Disposition", "attachment", filename=filename)
    return msg


# --- deployments -------------------------------------------------------------------
class SoftwareDeployment(_Waiting):
    type_name = "OS::Heat::SoftwareDeployment"
    description = ("Applies a config to a server and waits for the server's result (deploy_stdout, "
                   "deploy_stderr, deploy_status_code and the config's outputs).")
    takes_signals = True
    properties_schema = {
        "config": Schema(STRING, "The software config's id (get_resource).", update_allowed=True),
        "server": Schema(STRING, "The server's id.", required=True),
        "input_values": Schema(MAP, "Values of the config's inputs.", default={}, update_allowed=True),
        "actions": Schema(LIST, "Stack actions that run the deployment.", default=["CREATE", "UPDATE"],
                          update_allowed=True),
        "name": Schema(STRING, "Name of the derived config (the order of a server's deployments).",
                       update_allowed=True),
        "signal_transport": Schema(STRING, "How the server signals its result: any signalling transport "
                                   "POSTs to the deployment's pre-signed URL; NO_SIGNAL does not wait.",
                                   default="CFN_SIGNAL", allowed_values=SIGNAL_TRANSPORTS),
    }
    attributes_schema = {
        "deploy_stdout": "Captured stdout from the configuration execution.",
        "deploy_stderr": "Captured stderr from the configuration execution.",
        "deploy_status_code": "Returned status code from the configuration execution.",
        "show": "All attributes.",
    }
    open_attributes: ClassVar[bool] = True  # the config's outputs too

    @classmethod
    def has_attribute(cls, name: str) -> bool:
        return True  # the config's outputs are attributes too (known once deployed)

    @classmethod
    def servers(cls, res: PlannedResource) -> dict[str, str]:
        """{key: server id}: one deployment per entry (the single form: key '')."""
        return {"": str(res.properties.get("server") or "")}

    @classmethod
    def deployment_id(cls, res_id: str, key: str) -> str:
        return res_id if key == "" else str(uuid.uuid5(uuid.UUID(res_id), key))

    @classmethod
    def waits(cls, res: PlannedResource) -> bool:
        return (res.properties.get("signal_transport") != "NO_SIGNAL"
                and "CREATE" in (res.properties.get("actions") or DEPLOY_ACTIONS))

    @classmethod
    def derived_config(cls, source: dict[str, Any], inputs: list[dict[str, Any]], res) -> Any:
        return source.get("config") or ""

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        from stratus.db.models.jobs import Resource
        from stratus.db.models.orchestration import IN_PROGRESS
        from stratus.db.models.orchestration import SoftwareDeployment as Row
        from stratus.stacks import software

        context = cls.controller(res)
        actions = res.properties.get("actions") or ["CREATE", "UPDATE"]
        bad = [a for a in actions if a not in DEPLOY_ACTIONS]
        if bad:
            raise ResourceCheckFailed(f"unknown deployment action(s) {', '.join(map(str, bad))}; allowed: "
                                      f"{', '.join(DEPLOY_ACTIONS)}", ("resources", res.name, "properties", "actions"))
        source: dict[str, Any] = {"inputs": [], "outputs": [], "options": {}, "group": UNGROUPED, "config": ""}
        if res.properties.get("config"):
            try:
                source = software.config_view(software.get_config(db, None, res.properties["config"]))
            except Exception as exc:
                raise ResourceCheckFailed(f"the software config {res.properties['config']} does not exist",
                                          ("resources", res.name, "properties", "config")) from exc
        for key, server_id in cls.servers(res).items():
            if not server_id or (server_id not in (planned or {}) and db.get(Resource, server_id) is None):
                raise ResourceCheckFailed(f"the server {server_id!r} does not exist: give the server's id "
                                          "({get_resource: <server>})", ("resources", res.name, "properties"))
            did = cls.deployment_id(res.resource_id, key)
            inputs = cls.derived_inputs(res, source, server_id, did, context)
            derived = software.create_config(db, res.project_id, {
                "name": res.properties.get("name") or source.get("name") or res.name,
                "group": source.get("group") or UNGROUPED,
                "config": cls.derived_config(source, inputs, res), "inputs": inputs,
                "outputs": source.get("outputs") or [], "options": source.get("options") or {}})
            status, reason = ((IN_PROGRESS, "Deploy data available") if cls.waits(res)
                              else ("COMPLETE", "Not waiting for outputs signal"))
            row = db.get(Row, did)
            if row is None:
                software.create_deployment(db, res.project_id, {
                    "server_id": server_id, "config_id": derived.id, "action": "CREATE", "status": status,
                    "status_reason": reason}, deployment_id=did)
            else:
                old = row.config_id
                row.config_id, row.action, row.status, row.status_reason = derived.id, "UPDATE", status, reason
                row.server_id, row.output_values = server_id, {}
                db.flush()
                software.drop_config(db, old)

    @classmethod
    def derived_inputs(cls, res, source, server_id: str, deployment_id: str, context) -> list[dict[str, Any]]:
        values = dict(res.properties.get("input_values") or {})
        out = []
        for inp in source.get("inputs") or []:
            out.append({**inp, "value": values.pop(inp["name"], inp.get("default"))})
        for name, value in values.items():
            out.append({"name": name, "type": "String", "value": value, "description": None, "default": None})
        transport = res.properties.get("signal_transport") or "CFN_SIGNAL"
        extra = [("deploy_server_id", server_id, "ID of the server being deployed to"),
                 ("deploy_action", "CREATE", "Name of the current action being deployed"),
                 ("deploy_stack_id", None, "ID of the stack this deployment belongs to"),
                 ("deploy_resource_name", res.name, "Name of this deployment resource in the stack"),
                 ("deploy_signal_transport", transport, "How the server should signal to heat with the "
                  "deployment output values.")]
        if transport != "NO_SIGNAL":
            url = tickets.presigned_url(context.settings.signal_url, res.project_id, deployment_id, context.keys)
            extra += [("deploy_signal_id", url, "ID of signal to use for signaling output values"),
                      ("deploy_signal_verb", "POST", "HTTP verb to use for signaling outputvalues")]
        out += [{"name": n, "type": "String", "value": v, "description": d} for n, v, d in extra]
        return out

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        from stratus.db.models.orchestration import SoftwareDeployment as Row
        from stratus.stacks import software

        for key in cls.servers(res) or {"": ""}:
            row = db.get(Row, cls.deployment_id(res.resource_id, key))
            if row is not None:
                config_id = row.config_id
                db.delete(row)
                db.flush()
                software.drop_config(db, config_id)

    @classmethod
    def plan_create(cls, res: PlannedResource) -> list[dict[str, Any]]:
        if not cls.waits(res):
            return []
        settings = cls.controller(res).settings
        return [wait_task(cls, res, float(settings.orchestration_stack_timeout) * 60)]

    @classmethod
    def plan_update(cls, res: PlannedResource, prop_diff: dict[str, Any]) -> list[dict[str, Any]]:
        cls.check_update_allowed(res, prop_diff)
        return cls.plan_create(res) if "UPDATE" in (res.properties.get("actions") or []) else []

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        return {}

    @classmethod
    def runtime_attribute(cls, res, attr, keys):
        from stratus.orchestration.resources import registered_result

        return registered_result(res, ["attributes", attr, *keys])

    @classmethod
    def rows(cls, db, row) -> dict[str, Any]:
        from stratus.db.models.orchestration import SoftwareDeployment as Row

        props = row.properties or {}
        planned = PlannedResource(row.name, row.type, row.id, dict(props))
        return {key: db.get(Row, cls.deployment_id(row.id, key)) for key in cls.servers(planned)}

    @classmethod
    def handle_signal(cls, db, resource, data, context) -> None:
        from stratus.stacks import software

        for sd in cls.rows(db, resource).values():
            if sd is not None:
                software.signal_deployment(db, sd, data)
                return

    @classmethod
    def wait_state(cls, db, row) -> dict[str, Any]:
        """SUCCESS once every deployment is COMPLETE (attributes: its output values),
        FAILURE at the first FAILED one ("Deployment to server failed: <reason>")."""
        sds = cls.rows(db, row)
        where = f"resources.{row.name}"
        if any(sd is None for sd in sds.values()):
            return {"status": FAILURE, "reason": f"Error: {where}: the deployment record is gone", "attributes": {}}
        for sd in sds.values():
            if sd.status == "FAILED":
                return {"status": FAILURE, "attributes": {},
                        "reason": f"Error: {where}: Deployment to server failed: {sd.status_reason}"}
        if all(sd.status == "COMPLETE" for sd in sds.values()):
            attrs = cls.attributes_of(sds)
            return {"status": SUCCESS, "reason": "", "attributes": {**attrs, "show": dict(attrs)}}
        waiting = sorted(sd.server_id for sd in sds.values() if sd.status != "COMPLETE")
        return {"status": WAITING, "reason": "", "attributes": {},
                "timeout_reason": f"Error: {where}: Deployment to server timed out: no result from "
                                  f"{', '.join(waiting)}"}

    @classmethod
    def attributes_of(cls, sds: dict[str, Any]) -> dict[str, Any]:
        return dict(sds[""].output_values or {})


class StructuredDeployment(SoftwareDeployment):
    type_name = "OS::Heat::StructuredDeployment"
    description = ("A SoftwareDeployment of a StructuredConfig: {<input_key>: name} in the config is "
                   "replaced by the input's value.")
    properties_schema = {
        **SoftwareDeployment.properties_schema,
        "input_key": Schema(STRING, "The function name replaced by input values.", default="get_input"),
        "input_values_validate": Schema(STRING, "STRICT: a reference to an undeclared input is an error.",
                                        default="LAX", allowed_values=("LAX", "STRICT")),
    }

    @classmethod
    def derived_config(cls, source, inputs, res):
        text = source.get("config") or ""
        try:
            doc = json.loads(text) if text else {}
        except ValueError:
            return text
        values = {i["name"]: i.get("value") for i in inputs}
        key = res.properties.get("input_key") or "get_input"
        strict = res.properties.get("input_values_validate") == "STRICT"

        def sub(node):
            if isinstance(node, dict):
                if len(node) == 1 and key in node:
                    name = node[key]
                    if name not in values and strict:
                        raise ResourceCheckFailed(f"the config refers to the undeclared input {name!r}",
                                                  ("resources", res.name, "properties", "input_values"))
                    return values.get(name)
                return {k: sub(v) for k, v in node.items()}
            if isinstance(node, list):
                return [sub(v) for v in node]
            return node

        return json.dumps(sub(doc))


class _Group:
    """The ``servers`` map form: one deployment per server, attributes by key."""

    @classmethod
    def servers(cls, res):
        servers = res.properties.get("servers") or {}
        return {str(k): str(v) for k, v in servers.items()}

    @classmethod
    def attributes_of(cls, sds):
        out = {"deploy_stdouts": {}, "deploy_stderrs": {}, "deploy_status_codes": {}}
        for key, sd in sds.items():
            values = sd.output_values or {}
            out["deploy_stdouts"][key] = values.get("deploy_stdout")
            out["deploy_stderrs"][key] = values.get("deploy_stderr")
            out["deploy_status_codes"][key] = values.get("deploy_status_code")
        return out


_GROUP_PROPS = {"servers": Schema(MAP, "{key: server id}: the servers to deploy to.", required=True,
                                  update_allowed=True)}
_GROUP_ATTRS = {"deploy_stdouts": "stdout by server key.", "deploy_stderrs": "stderr by server key.",
                "deploy_status_codes": "Status codes by server key.", "show": "All attributes."}


class SoftwareDeployments(_Group, SoftwareDeployment):
    type_name = "OS::Heat::SoftwareDeploymentGroup"
    description = "A SoftwareDeployment on each of a map of servers."
    properties_schema = {**{k: v for k, v in SoftwareDeployment.properties_schema.items() if k != "server"},
                         **_GROUP_PROPS}
    attributes_schema = _GROUP_ATTRS


class StructuredDeployments(_Group, StructuredDeployment):
    type_name = "OS::Heat::StructuredDeploymentGroup"
    description = "A StructuredDeployment on each of a map of servers."
    properties_schema = {**{k: v for k, v in StructuredDeployment.properties_schema.items() if k != "server"},
                         **_GROUP_PROPS}
    attributes_schema = _GROUP_ATTRS


def resource_mapping():
    mapping = {c.type_name: c for c in (SoftwareConfig, CloudConfig, StructuredConfig, MultipartMime,
                                        SoftwareDeployment, StructuredDeployment, SoftwareDeployments,
                                        StructuredDeployments)}
    # Heat's older names of the groups
    mapping["OS::Heat::SoftwareDeployments"] = SoftwareDeployments
    mapping["OS::Heat::StructuredDeployments"] = StructuredDeployments
    return mapping
