"""Heat v1 template versions: ``GET /template_versions`` (every HOT version with its
aliases, and the CloudFormation one) and ``GET /template_versions/<version>/functions``
(``?with_condition_func=true``: the functions of the conditions section instead), as
``stratus.orchestration.hot_versions`` defines them."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import Policy
from stratus.api.routes.orchestration._common import HeatAuth
from stratus.errors import NotFound
from stratus.orchestration import hot_versions
from stratus.orchestration.errors import TemplateError
from stratus.stacks import listing

router = APIRouter(tags=["orchestration: template versions"])



@router.get("/template_versions")
def index(ctx: HeatAuth, policy: Policy):
    policy.enforce("stacks:list_template_versions", {"project_id": ctx.project_id})
    return {"template_versions": hot_versions.template_versions()}


@router.get("/template_versions/{template_version}/functions")
def functions(template_version: str, request: Request, ctx: HeatAuth, policy: Policy):
    """Heat's ``[{"functions": name, "description": ...}]``; an unknown version is 404."""
    policy.enforce("stacks:list_template_functions", {"project_id": ctx.project_id})
    with_condition = listing.boolean("with_condition_func", request.query_params.get("with_condition_func"))
    try:
        return {"template_functions": hot_versions.describe(template_version, conditions=with_condition)}
    except TemplateError:
        raise NotFound(f"Template with version {template_version} not found; list them with openstack "
                       "orchestration template version list.", type="NotFound") from None
