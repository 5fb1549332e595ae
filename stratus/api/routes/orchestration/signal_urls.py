"""Pre-signed signal URLs (``<signal_url>/orchestration/v1/<project>/signals/<resource
id>?signature=<ticket>``): a CFN WaitConditionHandle's reference (PUT of ``{"Status",
"Reason", "UniqueId", "Data"}``), a deployment's ``deploy_signal_id`` (POST of its
result), a handle's ``alarm_url``. ``GET`` with the resource's wait ticket is the wait
state the controller's wait task (``stratus.cloud.signal_wait``) reads."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import DbSession
from stratus.api.routes.orchestration import _signal_auth as auth
from stratus.db.models.jobs import DELETED, Resource
from stratus.db.models.orchestration import SoftwareDeployment
from stratus.errors import NotFound, Unauthorized
from stratus.stacks import signals, software, tickets

router = APIRouter()
PATH = "/signals/{resource_id}"


def _resource(request: Request, db, resource_id: str, purpose: str) -> Resource | SoftwareDeployment:
    """The stack resource, or the deployment of a deployment group, the ticket opens."""
    ticket = auth.ticket_of(request)
    if ticket is None:
        raise Unauthorized("The request you have made requires authentication: a signal URL takes its "
                           "ticket as ?signature= or in X-Auth-Token.")
    auth.check_ticket(request, resource_id, ticket, purpose)
    row = db.get(Resource, resource_id)
    if row is None or row.status == DELETED:
        row = db.get(SoftwareDeployment, resource_id) if purpose == tickets.SIGNAL else None
        if row is None:
            raise NotFound(f"The Resource ({resource_id}) could not be found.", type="ResourceNotFound")
    auth.check_path_project(request, row.project_id, resource_id)
    return row


@router.post(PATH)
@router.put(PATH)
async def signal(resource_id: str, request: Request, db: DbSession):
    data = await auth.json_body(request)
    row = _resource(request, db, resource_id, tickets.SIGNAL)
    if isinstance(row, SoftwareDeployment):  # one server's deployment of a group
        software.signal_deployment(db, row, data)
    else:
        signals.signal_resource(db, row, data, context=auth.plan_context(request))
    return Response(status_code=200)


@router.get(PATH)
def wait_state(resource_id: str, request: Request, db: DbSession):
    return signals.wait_state(db, _resource(request, db, resource_id, tickets.WAIT))
