"""``OS::Heat::WaitCondition`` (+ ``WaitConditionHandle``) and the
``AWS::CloudFormation`` pair: a stack waits for signals from outside (a guest's
user_data, a script), as Heat's do.

- A handle is a record of the controller (no task): its attributes are where and how to
  signal it, with a signal ticket (``stratus.stacks.tickets``) as the token. Signals
  reach ``stratus.stacks.signals``, which records them; the handle's
  ``normalise_signal`` completes and checks them as Heat does.
- A wait condition is one task of the stack's job, on the controller
  (``localhost``: where the controller runs its playbooks): ``stratus.cloud.signal_wait``
  reads the condition's wait state (its ``wait_state`` below, through
  ``GET <endpoint>/orchestration/v1/<project>/signals/<id>`` with a wait ticket) until
  ``count`` SUCCESS signals arrived, and fails with Heat's WaitConditionFailure or
  WaitConditionTimeout words otherwise.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import urlparse

from stratus.errors import BadRequest
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import INTEGER, NUMBER, STRING, Schema
from stratus.orchestration.resources import ControllerRecord, PlannedResource, ResourceType, task
from stratus.stacks import tickets

SUCCESS, FAILURE, WAITING = "SUCCESS", "FAILURE", "WAITING"
TOKEN_SIGNAL, HEAT_SIGNAL, CFN_SIGNAL, NO_SIGNAL = "TOKEN_SIGNAL", "HEAT_SIGNAL", "CFN_SIGNAL", "NO_SIGNAL"
TRANSPORTS = (TOKEN_SIGNAL, HEAT_SIGNAL, CFN_SIGNAL, NO_SIGNAL)
CONTROLLER_HOST = "localhost"  # where the controller runs its playbooks


def signal_endpoint(res: PlannedResource, base: str | None = None) -> str:
    """The resource's signal URL for guests (``settings.signal_url``)."""
    settings = ControllerRecord.controller(res).settings
    return tickets.resource_url(base or settings.signal_url, res.project_id, res.resource_id)


def wait_task(cls, res: PlannedResource, timeout: float, step: str = "wait") -> dict[str, Any]:
    """The task that waits on the controller for ``res``'s wait state (its type's
    ``wait_state``) to be SUCCESS; it fails with the state's reason."""
    context = cls.controller(res)
    url = tickets.resource_url(context.settings.endpoint_url, res.project_id, res.resource_id)
    return task(res, "stratus.cloud.signal_wait",
                {"url": url, "ticket": tickets.issue(context.keys, res.resource_id, tickets.WAIT),
                 "timeout": float(timeout), "interval": 1.0}, step)


class _Waiting(ResourceType):
    """A resource whose one task waits on the controller for its signals."""

    takes_signals = False
    record_kind = "stack signals"

    @classmethod
    def controller(cls, res: PlannedResource):
        """The controller's context (the wait needs its keys and URL), or the refusal of an
        offline plan."""
        return ControllerRecord.controller.__func__(cls, res)

    @classmethod
    def host_group(cls, props):
        return CONTROLLER_HOST

    @classmethod
    def hosts(cls, db, res):
        return [CONTROLLER_HOST]

    @classmethod
    def realize(cls, result: dict[str, Any], host: str | None = None) -> dict[str, Any]:
        return dict(result.get("attributes") or {})

    @classmethod
    def plan_check(cls, res):
        return []


class WaitConditionHandle(ControllerRecord):
    type_name = "OS::Heat::WaitConditionHandle"
    description = ("Where a WaitCondition's signals go: POST {\"status\": SUCCESS|FAILURE, "
                   "\"reason\", \"data\", \"id\"} to the endpoint with the token (curl_cli does).")
    record_kind = "signal handles"
    takes_signals = True
    properties_schema = {
        "signal_transport": Schema(STRING, "How the handle is signalled: TOKEN_SIGNAL (the endpoint "
                                   "with the token), HEAT_SIGNAL (the same, as the 'signal' attribute), "
                                   "CFN_SIGNAL (a pre-signed URL) or NO_SIGNAL.", default=TOKEN_SIGNAL,
                                   allowed_values=TRANSPORTS),
    }
    attributes_schema = {
        "endpoint": "The URL to POST signals to (with the token in X-Auth-Token).",
        "token": "The token that authenticates signals to this handle.",
        "curl_cli": "A curl command line that signals the handle; append --data-binary '<json>'.",
        "signal": "The signal URL and token as a mapping ({url, token, alarm_url}).",
        "show": "All attributes.",
    }
    status_key, reason_key, data_key, id_key = "status", "reason", "data", "id"

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        transport = res.properties.get("signal_transport") or TOKEN_SIGNAL
        if transport == NO_SIGNAL or res.context is None:
            return {}  # offline: refused at check (ControllerRecord)
        keys = res.context.keys
        endpoint = signal_endpoint(res)
        token = tickets.issue(keys, res.resource_id)
        presigned = tickets.presigned_url(res.context.settings.signal_url, res.project_id, res.resource_id, keys)
        curl = (f"curl -i -X POST -H 'X-Auth-Token: {token}' -H 'Content-Type: application/json' "
                f"-H 'Accept: application/json' {endpoint}")
        out = {"endpoint": endpoint, "token": token, "curl_cli": curl,
               "signal": {"url": endpoint, "token": token, "alarm_url": presigned}}
        out["show"] = dict(out)
        return out

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        cls.controller(res)

    @classmethod
    def normalise_signal(cls, db, row, data: dict[str, Any]) -> dict[str, Any]:
        """Heat's defaults (status SUCCESS, reason "Signal <n> received", id <n>, data
        None) and its check: status SUCCESS or FAILURE ("Metadata format invalid")."""
        from stratus.stacks import signals

        n = len(signals.received(db, row.id)) + 1
        out = dict(data)
        out.setdefault(cls.reason_key, f"Signal {n} received")
        out.setdefault(cls.data_key, None)
        out.setdefault(cls.id_key, n)
        out.setdefault(cls.status_key, SUCCESS)
        if out[cls.status_key] not in (SUCCESS, FAILURE):
            raise BadRequest("Metadata format invalid")
        return {"status": out[cls.status_key], "reason": out[cls.reason_key], "data": out[cls.data_key],
                "id": str(out[cls.id_key])}


class CfnWaitConditionHandle(WaitConditionHandle):
    type_name = "AWS::CloudFormation::WaitConditionHandle"
    description = ("A pre-signed URL (its reference, also the attribute 'url') to PUT "
                   "{\"Status\", \"Reason\", \"UniqueId\", \"Data\"} to.")
    properties_schema = {}
    attributes_schema = {"url": "The pre-signed URL.", "show": "All attributes."}

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        if res.context is None:
            return {}
        url = tickets.presigned_url(res.context.settings.signal_url, res.project_id, res.resource_id,
                                    res.context.keys)
        return {"url": url, "show": {"url": url}}

    @classmethod
    def reference(cls, res: PlannedResource) -> Any:
        """``Ref``/``get_resource``: the pre-signed URL, as Heat's."""
        return res.attributes.get("url") or res.resource_id

    @classmethod
    def normalise_signal(cls, db, row, data: dict[str, Any]) -> dict[str, Any]:
        """CFN's four keys are all required (Heat: "Metadata format invalid")."""
        keys = ("Status", "Reason", "UniqueId", "Data")
        if any(k not in data for k in keys) or data["Status"] not in (SUCCESS, FAILURE):
            raise BadRequest("Metadata format invalid")
        return {"status": data["Status"], "reason": data["Reason"], "data": data["Data"],
                "id": str(data["UniqueId"])}


class WaitCondition(_Waiting):
    type_name = "OS::Heat::WaitCondition"
    description = "Waits for 'count' SUCCESS signals to its handle; fails on a FAILURE signal or timeout."
    properties_schema = {
        "handle": Schema(STRING, "The OS::Heat::WaitConditionHandle (get_resource).", required=True),
        "timeout": Schema(NUMBER, "Seconds to wait for the signals.", default=3600, min_value=1),
        "count": Schema(INTEGER, "SUCCESS signals needed.", default=1, min_value=1, update_allowed=True),
    }
    attributes_schema = {"data": "JSON of the SUCCESS signals' data by their id.", "show": "All attributes."}
    handle_prop, timeout_prop, count_prop = "handle", "timeout", "count"
    handle_types: ClassVar[tuple[str, ...]] = (WaitConditionHandle.type_name,)

    @classmethod
    def handle_id(cls, value: Any) -> str:
        """The handle's resource id from the property (an id, or a pre-signed URL)."""
        value = str(value or "")
        if "://" in value:
            return urlparse(value).path.rstrip("/").rsplit("/", 1)[-1]
        return value

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        cls.controller(res)
        hid = cls.handle_id(res.properties.get(cls.handle_prop))
        handle = (planned or {}).get(hid)
        if handle is None and db is not None:
            from stratus.db.models.jobs import Resource

            handle = db.get(Resource, hid)
        if handle is None or handle.type not in cls.handle_types + (CfnWaitConditionHandle.type_name,):
            raise ResourceCheckFailed(f"{cls.type_name} needs the {' or '.join(cls.handle_types)} of the "
                                      f"same stack as {cls.handle_prop}: give {{get_resource: <handle>}}",
                                      ("resources", res.name, "properties", cls.handle_prop))

    @classmethod
    def plan_create(cls, res: PlannedResource) -> list[dict[str, Any]]:
        return [wait_task(cls, res, float(res.properties.get(cls.timeout_prop) or 3600))]

    @classmethod
    def plan_update(cls, res: PlannedResource, prop_diff: dict[str, Any]) -> list[dict[str, Any]]:
        cls.check_update_allowed(res, prop_diff)
        return cls.plan_create(res) if prop_diff else []

    @classmethod
    def wait_state(cls, db, row) -> dict[str, Any]:
        """Heat's verdict from the handle's signals: FAILURE at the first FAILURE signal
        ("WaitConditionFailure: resources.<name>: <reasons>"), SUCCESS once ``count``
        SUCCESS signals arrived, WAITING otherwise (with the timeout's words)."""
        from stratus.stacks import signals

        got = signals.received(db, cls.handle_id(row.properties.get(cls.handle_prop)))
        count = int(row.properties.get(cls.count_prop) or 1)
        ok = [s for s in got if s.get("status") == SUCCESS]
        failed = [s for s in got if s.get("status") == FAILURE]
        where = f"resources.{row.name}"
        data = json.dumps({str(s.get("id")): s.get("data") for s in ok})
        if failed:
            return {"status": FAILURE, "attributes": {},
                    "reason": f"WaitConditionFailure: {where}: " + ";".join(str(s.get("reason")) for s in failed)}
        if len(ok) >= count:
            return {"status": SUCCESS, "reason": "", "attributes": {"data": data, "show": {"data": data}}}
        received = f"{len(ok)} of {count} received"
        if ok:
            received += " - " + ";".join(str(s.get("reason")) for s in ok)
        return {"status": WAITING, "reason": "", "attributes": {},
                "timeout_reason": f"WaitConditionTimeout: {where}: {received}"}


class CfnWaitCondition(WaitCondition):
    type_name = "AWS::CloudFormation::WaitCondition"
    description = "Waits for 'Count' SUCCESS signals to the Handle's URL; fails on FAILURE or Timeout."
    properties_schema = {
        "Handle": Schema(STRING, "The AWS::CloudFormation::WaitConditionHandle's URL (Ref).", required=True),
        "Timeout": Schema(NUMBER, "Seconds to wait (at most 43200).", required=True, min_value=1),
        "Count": Schema(INTEGER, "SUCCESS signals needed.", default=1, min_value=1, update_allowed=True),
    }
    attributes_schema = {"Data": "JSON of the SUCCESS signals' Data by their UniqueId.", "show": "All attributes."}
    handle_prop, timeout_prop, count_prop = "Handle", "Timeout", "Count"
    handle_types = (CfnWaitConditionHandle.type_name,)

    @classmethod
    def wait_state(cls, db, row) -> dict[str, Any]:
        state = super().wait_state(db, row)
        if "data" in state["attributes"]:
            state["attributes"] = {"Data": state["attributes"]["data"], "show": {"Data": state["attributes"]["data"]}}
        return state


def resource_mapping():
    return {c.type_name: c for c in (WaitConditionHandle, WaitCondition, CfnWaitConditionHandle, CfnWaitCondition)}
