"""Software configs and deployments (Heat's ``software_configs`` and
``software_deployments``): records of the controller that the API and the
``OS::Heat::*Config`` / ``*Deployment`` types share.

- A config is immutable: create, show, list, delete (refused while a deployment uses it).
- A deployment applies a config to a server. A stack's deployment makes a *derived*
  config (the source config with every input's value and Heat's ``deploy_*`` inputs, as
  Heat does) and the deployment row points at it. The guest reads its deployments'
  derived configs (:func:`server_metadata`, Heat's ``metadata`` list sorted by name) and
  signals each result to the deployment's ``deploy_signal_id``;
  :func:`signal_deployment` records it the way Heat's engine does (a non-zero
  ``deploy_status_code`` or an ``error_output`` fails it).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.orchestration import (
    COMPLETE,
    FAILED,
    IN_PROGRESS,
    SoftwareConfig,
    SoftwareDeployment,
)
from stratus.db.types import utcnow
from stratus.errors import BadRequest, Conflict, NotFound

UNGROUPED = "Heat::Ungrouped"
OUTPUTS = ("deploy_stdout", "deploy_stderr", "deploy_status_code")
STATUS_CODE = "deploy_status_code"
DEPLOY_STATUSES = (IN_PROGRESS, COMPLETE, FAILED)


def isotime(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


# --- configs -------------------------------------------------------------------------
def _io_list(value: Any, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(i, dict) and i.get("name") for i in value):
        raise BadRequest(f"The software config's {what} must be a list of objects, each with a name.")
    return [dict(i) for i in value]


def create_config(db: Session, project_id: str, body: dict[str, Any], *, config_id: str | None = None
                  ) -> SoftwareConfig:
    """A new config from Heat's body (name, group, config, inputs, outputs, options)."""
    config = body.get("config")
    if config is not None and not isinstance(config, str):
        import json

        config = json.dumps(config)  # a structured config (map) is kept as its JSON
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise BadRequest("The software config's options must be an object.")
    inputs = [{"type": "String", "description": None, "default": None, **i}
              for i in _io_list(body.get("inputs"), "inputs")]
    outputs = [{"type": "String", "description": None, "error_output": False, **o}
               for o in _io_list(body.get("outputs"), "outputs")]
    row = SoftwareConfig(id=config_id or str(uuid.uuid4()), project_id=project_id,
                         name=str(body.get("name") or ""), group=str(body.get("group") or UNGROUPED),
                         config=config or "", inputs=inputs, outputs=outputs, options=options)
    db.add(row)
    db.flush()
    return row


def get_config(db: Session, ctx, config_id: str) -> SoftwareConfig:
    row = db.get(SoftwareConfig, config_id)
    if row is None or not (ctx is None or ctx.is_admin or row.project_id == ctx.project_id):
        raise NotFound(f"Software config with id {config_id} not found", type="NotFound")
    return row


def list_configs(db: Session, ctx, limit: int | None = None, marker: str | None = None) -> list[SoftwareConfig]:
    q = select(SoftwareConfig).order_by(SoftwareConfig.created_at, SoftwareConfig.id)
    if not ctx.is_admin:
        q = q.where(SoftwareConfig.project_id == ctx.project_id)
    rows = list(db.scalars(q))
    if marker:
        ids = [r.id for r in rows]
        if marker not in ids:
            raise NotFound(f"Software config with id {marker} not found", type="NotFound")
        rows = rows[ids.index(marker) + 1:]
    return rows[:limit] if limit else rows


def delete_config(db: Session, ctx, config_id: str) -> None:
    row = get_config(db, ctx, config_id)
    used = db.scalars(select(SoftwareDeployment.id).where(SoftwareDeployment.config_id == row.id)).first()
    if used is not None:
        raise Conflict(f"Software config {config_id} is used by the software deployment {used}: delete "
                       "the deployment first.")
    db.delete(row)
    db.flush()


def config_view(row: SoftwareConfig, detail: bool = True) -> dict[str, Any]:
    """Heat's ``format_software_config``."""
    out: dict[str, Any] = {"id": row.id, "name": row.name, "group": row.group,
                           "creation_time": isotime(row.created_at), "project": row.project_id}
    if detail:
        out.update(config=row.config, inputs=list(row.inputs or []), outputs=list(row.outputs or []),
                   options=dict(row.options or {}))
    return out


# --- deployments ---------------------------------------------------------------------
def create_deployment(db: Session, project_id: str, body: dict[str, Any], *, deployment_id: str | None = None,
                      ctx=None) -> SoftwareDeployment:
    """A deployment from Heat's body (config_id, server_id, input_values, action,
    status, status_reason); Heat's defaults: action INIT, status COMPLETE."""
    if not body.get("server_id"):
        raise BadRequest("server_id must be specified")
    if not body.get("config_id"):
        raise BadRequest("config_id must be specified")
    get_config(db, ctx, body["config_id"])
    status = body.get("status") or COMPLETE
    if status not in DEPLOY_STATUSES:
        raise BadRequest(f"The deployment status must be one of {', '.join(DEPLOY_STATUSES)}, not {status!r}.")
    row = SoftwareDeployment(id=deployment_id or str(uuid.uuid4()), project_id=project_id,
                             server_id=str(body["server_id"]), config_id=body["config_id"],
                             input_values=dict(body.get("input_values") or {}),
                             action=body.get("action") or "INIT", status=status,
                             status_reason=body.get("status_reason") or "", output_values={})
    db.add(row)
    db.flush()
    return row


def get_deployment(db: Session, ctx, deployment_id: str) -> SoftwareDeployment:
    row = db.get(SoftwareDeployment, deployment_id)
    if row is None or not (ctx is None or ctx.is_admin or row.project_id == ctx.project_id):
        raise NotFound(f"Deployment with id {deployment_id} not found", type="NotFound")
    return row


def list_deployments(db: Session, ctx, server_id: str | None = None) -> list[SoftwareDeployment]:
    q = select(SoftwareDeployment).order_by(SoftwareDeployment.created_at, SoftwareDeployment.id)
    if not ctx.is_admin:
        q = q.where(SoftwareDeployment.project_id == ctx.project_id)
    if server_id:
        q = q.where(SoftwareDeployment.server_id == server_id)
    return list(db.scalars(q))


def update_deployment(db: Session, ctx, deployment_id: str, body: dict[str, Any]) -> SoftwareDeployment:
    """Heat's update: only the keys given (and true) change."""
    row = get_deployment(db, ctx, deployment_id)
    if body.get("config_id"):
        get_config(db, ctx, body["config_id"])
        row.config_id = body["config_id"]
    if body.get("status") and body["status"] not in DEPLOY_STATUSES:
        raise BadRequest(f"The deployment status must be one of {', '.join(DEPLOY_STATUSES)}.")
    for key in ("input_values", "output_values", "action", "status", "status_reason"):
        if body.get(key):
            setattr(row, key, dict(body[key]) if key.endswith("_values") else body[key])
    row.updated_at = utcnow()
    db.flush()
    return row


def delete_deployment(db: Session, ctx, deployment_id: str) -> None:
    db.delete(get_deployment(db, ctx, deployment_id))
    db.flush()


def deployment_view(row: SoftwareDeployment) -> dict[str, Any]:
    """Heat's ``format_software_deployment``."""
    return {"id": row.id, "server_id": row.server_id, "config_id": row.config_id,
            "input_values": dict(row.input_values or {}), "output_values": dict(row.output_values or {}),
            "action": row.action, "status": row.status, "status_reason": row.status_reason,
            "creation_time": isotime(row.created_at), "updated_time": isotime(row.updated_at)}


def server_metadata(db: Session, server_id: str, project_id: str | None = None) -> list[dict[str, Any]]:
    """Heat's ``metadata_software_deployments``: the derived configs of the server's
    deployments, sorted by config name (a deterministic, controllable order)."""
    q = select(SoftwareDeployment).where(SoftwareDeployment.server_id == server_id)
    if project_id is not None:
        q = q.where(SoftwareDeployment.project_id == project_id)
    out = []
    for d in db.scalars(q):
        config = db.get(SoftwareConfig, d.config_id)
        if config is not None:
            out.append((config.name, _with_stack(db, d, config_view(config))))
    return [view for _, view in sorted(out, key=lambda item: item[0])]


def _with_stack(db: Session, deployment: SoftwareDeployment, view: dict[str, Any]) -> dict[str, Any]:
    """Heat's ``deploy_stack_id`` input (``<stack name>/<stack id>``) once the
    deployment's resource belongs to a stack (known after the stack recorded it)."""
    from stratus.db.models.jobs import Resource
    from stratus.db.models.orchestration import Stack

    row = db.get(Resource, deployment.id)
    stack = db.get(Stack, row.stack_id) if row is not None and row.stack_id else None
    if stack is not None:
        view["inputs"] = [dict(i) for i in view["inputs"]]  # the record's own list stays as stored
        for item in view["inputs"]:
            if item.get("name") == "deploy_stack_id" and not item.get("value"):
                item["value"] = f"{stack.name}/{stack.id}"
    return view


def signal_deployment(db: Session, row: SoftwareDeployment, details: dict[str, Any] | None) -> str | None:
    """Record a deployment's result as Heat's engine does; returns the event reason
    (None when the deployment is not IN_PROGRESS: outputs are only expected then)."""
    if row.status != IN_PROGRESS:
        return None
    details = details or {}
    config = db.get(SoftwareConfig, row.config_id)
    values = dict(row.output_values or {})
    failed = False
    reasons: dict[str, Any] = {}
    code = details.get(STATUS_CODE)
    if code and str(code) != "0":
        failed = True
        reasons[STATUS_CODE] = f"Deployment exited with non-zero status code: {code}"
        if details.get("deploy_stderr"):
            reasons["deploy_stderr"] = str(details["deploy_stderr"]).strip()
        event = f"deployment failed ({code})"
    else:
        event = "deployment succeeded"
    for output in (config.outputs if config else []) or []:
        key = output["name"]
        if key in details:
            values[key] = details[key]
            if output.get("error_output"):
                failed = True
                reasons[key] = details[key]
                event = "deployment failed"
    for key in OUTPUTS:
        values[key] = details.get(key)
    row.output_values = values
    if failed:
        row.status, row.status_reason = FAILED, ", ".join(f"{k} : {v}" for k, v in reasons.items())
    else:
        row.status, row.status_reason = COMPLETE, "Outputs received"
    row.updated_at = utcnow()
    db.flush()
    return event


def drop_config(db: Session, config_id: str | None) -> None:
    """Delete a deployment's derived config once nothing uses it."""
    if not config_id:
        return
    row = db.get(SoftwareConfig, config_id)
    used = db.scalars(select(SoftwareDeployment.id).where(SoftwareDeployment.config_id == config_id)).first()
    if row is not None and used is None:
        db.delete(row)
        db.flush()
