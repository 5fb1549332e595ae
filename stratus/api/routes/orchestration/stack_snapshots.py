"""Heat v1 stack snapshots: ``POST|GET /stacks/<name>/<id>/snapshots`` (take one with
an optional ``name``; list), ``GET|DELETE .../snapshots/<id>`` and ``POST
.../snapshots/<id>/restore`` (202), the work in :mod:`stratus.stacks.snapshots`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import DbSession, Policy
from stratus.api.routes.orchestration._common import HeatAuth, HeatBody, done, identified, jobs
from stratus.stacks import views

router = APIRouter(tags=["orchestration: stack snapshots"])
PATH = "/stacks/{stack_name}/{stack_id}/snapshots"


@router.post(PATH)
def snapshot(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy, db: DbSession,
             body: HeatBody):
    from stratus.stacks import snapshots

    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:snapshot")
    snap = snapshots.create(db, ctx, stack, body.get("name"), **jobs(request))
    done(request, db)
    return views.snapshot(snap)


@router.get(PATH)
def list_snapshots(stack_name: str, stack_id: str, ctx: HeatAuth, policy: Policy, db: DbSession):
    from stratus.stacks import snapshots

    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:list_snapshots")
    return {"snapshots": [views.snapshot(s) for s in snapshots.list_for(db, ctx, stack)]}


@router.get(PATH + "/{snapshot_id}")
def show_snapshot(stack_name: str, stack_id: str, snapshot_id: str, ctx: HeatAuth, policy: Policy,
                  db: DbSession):
    from stratus.stacks import snapshots

    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:show_snapshot")
    return {"snapshot": views.snapshot(snapshots.get(db, ctx, stack, snapshot_id))}


@router.delete(PATH + "/{snapshot_id}", status_code=204)
def delete_snapshot(stack_name: str, stack_id: str, snapshot_id: str, request: Request, ctx: HeatAuth,
                    policy: Policy, db: DbSession):
    from stratus.stacks import snapshots

    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:delete_snapshot")
    snapshots.delete(db, ctx, stack, snapshot_id)
    done(request, db)
    return Response(status_code=204)


@router.post(PATH + "/{snapshot_id}/restore", status_code=202)
def restore_snapshot(stack_name: str, stack_id: str, snapshot_id: str, request: Request, ctx: HeatAuth,
                     policy: Policy, db: DbSession):
    from stratus.stacks import snapshots

    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:restore_snapshot")
    snapshots.restore(db, ctx, stack, snapshot_id, **jobs(request))
    done(request, db)
    return Response(status_code=202)
