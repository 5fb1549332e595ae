"""Nova ``migrations``: ``GET /os-migrations`` (admins) and a server's in-progress live
migrations ``GET /servers/{id}/migrations[/{migration_id}]`` (2.23+)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.compute import migrations
from stratus.compute.lookup import get_server
from stratus.errors import Forbidden, NotFound
from stratus.identity.policy import RuleDefault, register_defaults

INDEX = "os_compute_api:os-migrations:index"
SERVER_INDEX = "os_compute_api:servers:migrations:index"
SERVER_SHOW = "os_compute_api:servers:migrations:show"
register_defaults([RuleDefault(INDEX, "rule:admin_required"),
                   RuleDefault(SERVER_INDEX, "rule:admin_required"),
                   RuleDefault(SERVER_SHOW, "rule:admin_required")])

router = APIRouter(tags=["compute: migrations"])


def _allow(policy, rule: str) -> None:
    if not policy.allowed(rule):
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.")


def _since_223(version) -> None:
    if version < (2, 23):
        raise NotFound("The resource could not be found.")


@router.get("/os-migrations", summary="List migrations (admin)")
def index(request: Request, ctx: Auth, db: DbSession, policy: Policy, version: ApiVersion):
    _allow(policy, INDEX)
    return migrations.listing(db, list(request.query_params.multi_items()), version,
                              request.app.state.settings.endpoint_url)


@router.get("/servers/{server_id}/migrations", summary="List a server's in-progress live migrations")
def server_index(server_id: str, ctx: Auth, db: DbSession, policy: Policy, version: ApiVersion):
    _since_223(version)
    _allow(policy, SERVER_INDEX)
    server = get_server(db, ctx, server_id)
    return {"migrations": [migrations.server_view(r, version) for r in migrations.in_progress(db, server.id)]}


@router.get("/servers/{server_id}/migrations/{migration_id}",
            summary="Show a server's in-progress live migration")
def server_show(server_id: str, migration_id: str, ctx: Auth, db: DbSession, policy: Policy,
                version: ApiVersion):
    _since_223(version)
    _allow(policy, SERVER_SHOW)
    server = get_server(db, ctx, server_id)
    return {"migration": migrations.server_view(migrations.one_in_progress(db, server.id, migration_id),
                                                version)}
