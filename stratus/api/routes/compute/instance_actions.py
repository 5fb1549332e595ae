"""Nova ``os-instance-actions``: the actions taken on a server and, for one action, its
events (the events of the job that carried it out).

Microversions: 2.21 a deleted server's actions are found too; 2.51 the events are shown
to every reader (before: only with the events policy, the admins), their ``traceback``
only with it; 2.58 ``updated_at``, ``limit``/``marker`` paging with a ``links`` next and
``changes-since``; 2.62 ``hostId`` in events (``host`` with the events policy); 2.66
``changes-before``."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.compute import instance_actions as ia
from stratus.compute.lookup import get_server
from stratus.compute.validation import bad_query
from stratus.errors import BadRequest, NotFound
from stratus.identity.policy import RuleDefault, register_defaults

router = APIRouter(tags=["compute: instance_actions"])

LIST, SHOW = "os_compute_api:os-instance-actions:list", "os_compute_api:os-instance-actions:show"
EVENTS = "os_compute_api:os-instance-actions:events"
register_defaults([
    RuleDefault(LIST, "rule:admin_or_reader", "List the actions of a server"),
    RuleDefault(SHOW, "rule:admin_or_reader", "Show an action of a server"),
    RuleDefault(EVENTS, "rule:admin_required",
                "See action events before 2.51, and their traceback (and host from 2.62)"),
])
QUERY_2_58 = {"limit", "marker", "changes-since"}


def _time(request: Request, name: str) -> datetime | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        got = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        bad_query(name, value, f"'{value}' is not a 'date-time'")
    return got if got.tzinfo else got.replace(tzinfo=UTC)


def _limit(request: Request) -> int | None:
    value = request.query_params.get("limit")
    if value is None:
        return None
    if not value.isdigit():
        bad_query("limit", value, f"'{value}' does not match '^[0-9]*$'")
    return int(value)


def _server(db, ctx, server_id: str, version):
    return get_server(db, ctx, server_id, deleted=version >= (2, 21))


@router.get("/servers/{server_id}/os-instance-actions", summary="List the actions of a server")
def index(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    server = _server(db, ctx, server_id, version)
    policy.enforce(LIST, {"project_id": server.project_id})
    since = before = marker = limit = None
    if version >= (2, 58):
        since, limit, marker = _time(request, "changes-since"), _limit(request), request.query_params.get("marker")
    if version >= (2, 66):
        before = _time(request, "changes-before")
        if since and before and since > before:
            raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    found = ia.actions_of(db, server.id, since=since, before=before, marker=marker, limit=limit)
    out: dict = {"instanceActions": [ia.view(a, version) for a in found]}
    if limit is not None and found and len(found) == limit:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        base = str(request.url.replace(query=""))
        out["links"] = [{"rel": "next",
                         "href": f"{base}?{urlencode([*query, ('marker', found[-1].request_id)])}"}]
    return out


@router.get("/servers/{server_id}/os-instance-actions/{request_id}", summary="Show an action and its events")
def show(server_id: str, request_id: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    server = _server(db, ctx, server_id, version)
    policy.enforce(SHOW, {"project_id": server.project_id})
    act = ia.find(db, server.id, request_id)
    if act is None:
        raise NotFound(f"Action for request_id {request_id} on instance {server_id} not found")
    out = ia.view(act, version)
    details = policy.allowed(EVENTS, {"project_id": server.project_id})
    if version >= (2, 51) or details:
        out["events"] = ia.event_views(db, act, server.project_id, version, details=details)
    return {"instanceAction": out}
