"""Heat v1 stacks: ``POST|GET /stacks`` (create, adopt, list), ``GET /stacks/detail``,
``POST /stacks/preview``; ``/stacks/<name or id>`` (and its subpaths ``resources``,
``events``, ``template``, ``actions``, ``environment``, ``files``) answer ``302`` to
the stack's canonical ``/stacks/<name>/<id>`` (absolute, in the stack's project, as
heatclient follows it); ``GET|PUT|PATCH|DELETE /stacks/<name>/<id>``, ``PUT|PATCH
.../preview``, ``DELETE|POST .../abandon``, ``GET .../template|environment|files``,
``GET .../outputs[/<key>]``.

The request's shape is read here (Heat's ``InstantiationData``); the stack service
(:mod:`stratus.stacks`) does the work; the answers are :mod:`stratus.stacks.views`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from stratus.api.deps import DbSession, Policy
from stratus.api.routes.orchestration._common import (
    HeatAuth,
    HeatBody,
    base,
    done,
    identified,
    jobs,
)
from stratus.api.routes.orchestration._data import (
    environment_of,
    files_of,
    load_template,
    options_of,
    parameters_of,
    parse,
    stack_name_of,
    template_of,
)
from stratus.errors import BadRequest, NotFound
from stratus.stacks import listing, records, views

router = APIRouter(tags=["orchestration: stacks"])

SUBPATHS_GET = ("resources", "events", "template", "actions", "environment", "files")
SUBPATHS_POST = ("resources", "events", "template", "actions")


# ------------------------------------------------------------------------- collection
@router.get("/stacks")
def index(request: Request, ctx: HeatAuth, policy: Policy, db: DbSession):
    query = request.query_params
    global_tenant = listing.boolean("global_tenant", query.get("global_tenant"))
    policy.enforce("stacks:global_index" if global_tenant else "stacks:index", {"project_id": ctx.project_id})
    got = listing.page(db, ctx, query, global_tenant=global_tenant)
    b = base(request)
    out: dict[str, Any] = {"stacks": [views.stack_summary(s, b, include_project=ctx.is_admin) for s in got.rows]}
    links = listing.next_link(str(request.url).split("?", 1)[0], query, got.rows)
    if links:
        out["links"] = links
    if got.count is not None:
        out["count"] = got.count
    return out


@router.get("/stacks/detail")
def detail(request: Request, ctx: HeatAuth, policy: Policy, db: DbSession):
    policy.enforce("stacks:detail", {"project_id": ctx.project_id})
    got = listing.page(db, ctx, request.query_params)
    b = base(request)
    return {"stacks": [views.stack_detail(s, b) for s in got.rows]}


@router.post("/stacks", status_code=201)
def create(request: Request, ctx: HeatAuth, policy: Policy, db: DbSession, body: HeatBody):
    from stratus.stacks import create as service

    policy.enforce("stacks:create", {"project_id": ctx.project_id})
    name = stack_name_of(body)
    adopt = parse(body["adopt_stack_data"], "Adopt data") if "adopt_stack_data" in body else None
    stack = service.create(
        db, ctx, name=name, template=template_of(body), files=files_of(body), environment=environment_of(body),
        parameters=parameters_of(body), adopt_data=adopt, **options_of(body), **jobs(request))
    done(request, db)
    href = views.stack_url(base(request), stack)
    return JSONResponse({"stack": {"id": stack.id, "links": [{"href": href, "rel": "self"}]}},
                        status_code=201, headers={"Location": href})


@router.post("/stacks/preview")
def preview(request: Request, ctx: HeatAuth, policy: Policy, db: DbSession, body: HeatBody):
    """The stack a create would make, nothing recorded: its parameters and resources."""
    policy.enforce("stacks:preview", {"project_id": ctx.project_id})
    name = stack_name_of(body)
    raw = template_of(body)
    tpl = load_template(raw, files_of(body), environment_of(body))
    given = parameters_of(body)
    tpl.parameter_values(given)  # 400 on a missing or bad parameter, as the create would
    b = base(request)
    deps = views.required_by(raw)
    resources = [{
        "resource_name": rname, "logical_resource_id": rname, "resource_type": rdef.type,
        "physical_resource_id": "", "resource_action": "INIT", "resource_status": "COMPLETE",
        "resource_status_reason": "", "required_by": sorted(deps.get(rname, [])), "stack_name": name,
        "stack_identity": {"stack_name": name, "stack_id": "None", "tenant": ctx.project_id, "path": ""},
        "properties": _plain(raw, rname), "description": "", "metadata": {},
        "creation_time": None, "updated_time": None,
    } for rname, rdef in tpl.resources.items()]
    return {"stack": views.stack_preview(name, raw, given, resources, b, ctx.project_id)}


def _plain(raw: dict[str, Any], rname: str) -> dict[str, Any]:
    rdef = views.template_resources(raw).get(rname, {})
    props = rdef.get("properties", rdef.get("Properties")) or {}
    return props if isinstance(props, dict) else {}


# ---------------------------------------------------------------------------- lookup
def _redirect(request: Request, db, ctx, policy, ref: str, subpath: str = "") -> Response:
    """302 to ``<base>/<project>/stacks/<name>/<id>[/<subpath>][?<query>]``."""
    stack = records.get(db, ctx, ref)
    policy.enforce("stacks:lookup", {"project_id": stack.project_id})
    location = views.stack_url(base(request), stack) + (f"/{subpath}" if subpath else "")
    if request.query_params:
        location += "?" + urlencode(list(request.query_params.multi_items()))
    return RedirectResponse(location, status_code=302)


@router.api_route("/stacks/{stack_ref}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def lookup(stack_ref: str, request: Request, ctx: HeatAuth, policy: Policy, db: DbSession):
    return _redirect(request, db, ctx, policy, stack_ref)


for _sub in SUBPATHS_GET:
    def _lookup_sub(stack_ref: str, request: Request, ctx: HeatAuth, policy: Policy, db: DbSession,
                    _sub: str = _sub):
        return _redirect(request, db, ctx, policy, stack_ref, _sub)

    router.add_api_route(f"/stacks/{{stack_ref}}/{_sub}", _lookup_sub,
                         methods=["GET", "POST"] if _sub in SUBPATHS_POST else ["GET"],
                         name=f"lookup_{_sub}", include_in_schema=False)


# ------------------------------------------------------------------------- one stack
@router.get("/stacks/{stack_name}/{stack_id}")
def show(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy, db: DbSession):
    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:show", show_deleted=True)
    resolve = listing.boolean("resolve_outputs", request.query_params.get("resolve_outputs"), True)
    return {"stack": views.stack_detail(stack, base(request), resolve_outputs=resolve,
                                        include_project=ctx.is_admin)}


def _update(request: Request, db, ctx, policy, stack_name: str, stack_id: str, body: dict[str, Any], *,
            patch: bool) -> Response:
    from stratus.stacks import update as service

    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:update_patch" if patch else "stacks:update")
    service.update(db, ctx, stack, **_update_args(body, patch), **jobs(request))
    done(request, db)
    return Response(status_code=202)


def _update_args(body: dict[str, Any], patch: bool) -> dict[str, Any]:
    clear = body.get("clear_parameters") or []
    if not isinstance(clear, list):
        raise BadRequest("clear_parameters must be a list of parameter names.")
    env = environment_of(body)
    return {"template": template_of(body, required=not patch), "files": files_of(body) or None,
            "environment": env if env or not patch else None, "parameters": parameters_of(body),
            "existing": patch, "clear_parameters": clear, **options_of({**body, "_update": True})}


@router.put("/stacks/{stack_name}/{stack_id}", status_code=202)
def update(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy, db: DbSession,
           body: HeatBody):
    return _update(request, db, ctx, policy, stack_name, stack_id, body, patch=False)


@router.patch("/stacks/{stack_name}/{stack_id}", status_code=202)
def update_patch(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy,
                 db: DbSession, body: HeatBody):
    return _update(request, db, ctx, policy, stack_name, stack_id, body, patch=True)


def _preview_update(request: Request, db, ctx, policy, stack_name, stack_id, body, *, patch: bool):
    from stratus.stacks import update as service

    rule = "stacks:preview_update_patch" if patch else "stacks:preview_update"
    stack = identified(db, ctx, policy, stack_name, stack_id, rule)
    args = _update_args(body, patch)
    for key in ("timeout_mins", "disable_rollback", "tags"):
        args.pop(key, None)
    j = jobs(request)
    changes = service.preview(db, ctx, stack, **args, settings=j["settings"], context=j["context"])
    return {"resource_changes": changes}


@router.put("/stacks/{stack_name}/{stack_id}/preview")
def preview_update(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy,
                   db: DbSession, body: HeatBody):
    return _preview_update(request, db, ctx, policy, stack_name, stack_id, body, patch=False)


@router.patch("/stacks/{stack_name}/{stack_id}/preview")
def preview_update_patch(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy,
                         db: DbSession, body: HeatBody):
    return _preview_update(request, db, ctx, policy, stack_name, stack_id, body, patch=True)


@router.delete("/stacks/{stack_name}/{stack_id}", status_code=204)
def delete(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy, db: DbSession):
    from stratus.stacks import delete as service

    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:delete")
    service.delete(db, ctx, stack, **jobs(request))
    done(request, db)
    return Response(status_code=204)


@router.api_route("/stacks/{stack_name}/{stack_id}/abandon", methods=["DELETE", "POST"])
def abandon(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy, db: DbSession):
    from stratus.stacks import abandon as service

    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:abandon")
    data = service.abandon(db, ctx, stack)
    done(request, db)
    return data


@router.get("/stacks/{stack_name}/{stack_id}/template")
def template(stack_name: str, stack_id: str, ctx: HeatAuth, policy: Policy, db: DbSession):
    return identified(db, ctx, policy, stack_name, stack_id, "stacks:template", show_deleted=True).template


@router.get("/stacks/{stack_name}/{stack_id}/environment")
def environment(stack_name: str, stack_id: str, ctx: HeatAuth, policy: Policy, db: DbSession):
    """Heat's environment of the stack: every section present, the parameters given
    merged into ``parameters``."""
    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:environment", show_deleted=True)
    env = dict(stack.environment or {})
    registry = dict(env.get("resource_registry") or {})
    registry.setdefault("resources", {})
    return {"parameters": {**(env.get("parameters") or {}), **(stack.parameters or {})},
            "parameter_defaults": env.get("parameter_defaults") or {},
            "resource_registry": registry,
            "event_sinks": env.get("event_sinks") or [],
            "encrypted_param_names": env.get("encrypted_param_names") or []}


@router.get("/stacks/{stack_name}/{stack_id}/files")
def files(stack_name: str, stack_id: str, ctx: HeatAuth, policy: Policy, db: DbSession):
    return identified(db, ctx, policy, stack_name, stack_id, "stacks:files", show_deleted=True).files or {}


@router.get("/stacks/{stack_name}/{stack_id}/outputs")
def list_outputs(stack_name: str, stack_id: str, ctx: HeatAuth, policy: Policy, db: DbSession):
    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:list_outputs")
    return {"outputs": [views.output_summary(o) for o in views.outputs(stack)]}


@router.get("/stacks/{stack_name}/{stack_id}/outputs/{output_key}")
def show_output(stack_name: str, stack_id: str, output_key: str, ctx: HeatAuth, policy: Policy,
                db: DbSession):
    stack = identified(db, ctx, policy, stack_name, stack_id, "stacks:show_output")
    for item in views.outputs(stack):
        if item["output_key"] == output_key:
            return {"output": item}
    raise NotFound(f"Specified output key {output_key} not found.", type="NotFound")
