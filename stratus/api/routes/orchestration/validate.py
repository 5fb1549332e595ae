"""Heat v1 ``POST /validate``: a template (with its environment and files) checked as a
stack create would check it, nothing made. The answer is Heat's: ``Description``,
``Parameters`` (``Type``, ``Default``, ``Label``, ``Description``, ``NoEcho`` and the
constraints as ``AllowedValues``, ``MinLength``, …, ``Value`` where the environment
gives one), ``ParameterGroups`` and the ``Environment``. A bad template is 400
StackValidationFailed naming the path (``resources.web.properties.flavor: ...``).
``?show_nested`` and ``?ignore_errors`` are accepted (nested templates are validated
as part of the template)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import DbSession, Policy
from stratus.api.routes.orchestration._common import HeatAuth, HeatBody
from stratus.api.routes.orchestration._data import (
    environment_of,
    files_of,
    load_template,
    parameters_of,
    template_of,
)
from stratus.stacks import listing, views

router = APIRouter(tags=["orchestration: validate"])

# HOT parameter types as Heat's validate names them
TYPES = {"string": "String", "number": "Number", "json": "Json", "comma_delimited_list": "CommaDelimitedList",
         "boolean": "Boolean"}


@router.post("/validate")
def validate(request: Request, ctx: HeatAuth, policy: Policy, db: DbSession, body: HeatBody):
    policy.enforce("stacks:validate_template", {"project_id": ctx.project_id})
    listing.boolean("show_nested", request.query_params.get("show_nested"))
    raw = template_of(body)
    env = environment_of(body)
    tpl = load_template(raw, files_of(body), env)
    given = {**tpl.environment.parameter_defaults, **tpl.environment.parameters, **parameters_of(body)}
    params = {}
    for name, schema in tpl.parameters.items():
        params[name] = schema.to_heat()
        if name in given:
            params[name]["Value"] = given[name]
    out = {"Description": tpl.description or "No description", "Parameters": params}
    if tpl.parameter_groups:
        out["ParameterGroups"] = tpl.parameter_groups
    out["Environment"] = views.environment(env, parameters_of(body))
    return out
