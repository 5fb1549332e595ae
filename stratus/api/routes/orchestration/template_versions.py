"""Heat v1 template versions: ``GET /template_versions`` (every HOT version with its
aliases, and the CloudFormation one) and ``GET /template_versions/<version>/functions``
(``?with_condition_func=true``: the functions of the conditions section instead), as
``stratus.orchestration.hot_versions`` defines them."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import Policy
from stratus.api.routes.orchestration._common import HeatAuth
from stratus.errors import NotFound
from stratus.stacks import listing

router = APIRouter(tags=["orchestration: template versions"])

HOT, CFN = "heat_template_version", "AWSTemplateFormatVersion"


def versions() -> list[dict]:
    """Heat's list: ``{"version": "heat_template_version.2016-10-14", "type": "hot",
    "aliases": ["heat_template_version.newton"]}``, …, the CFN version last."""
    from stratus.orchestration import hot_versions

    known = hot_versions.VERSIONS
    canonical = dict(known) if isinstance(known, dict) else {v: v for v in known}
    dates: dict[str, list[str]] = {}
    for name, target in canonical.items():
        target = str(target)
        dates.setdefault(target, [])
        if name != target:
            dates[target].append(name)
    out = []
    for date in sorted(dates, key=lambda d: (d.startswith(CFN), d)):
        kind = "cfn" if date.startswith(CFN) else "hot"
        full = date if "." in date and not date[:4].isdigit() else f"{HOT}.{date}"
        out.append({"version": full, "type": kind,
                    "aliases": [a if a.startswith((HOT, CFN)) else f"{HOT}.{a}" for a in sorted(dates[date])]})
    return out


@router.get("/template_versions")
def index(ctx: HeatAuth, policy: Policy):
    policy.enforce("stacks:list_template_versions", {"project_id": ctx.project_id})
    return {"template_versions": versions()}


@router.get("/template_versions/{template_version}/functions")
def functions(template_version: str, request: Request, ctx: HeatAuth, policy: Policy):
    from stratus.orchestration import hot_versions

    policy.enforce("stacks:list_template_functions", {"project_id": ctx.project_id})
    with_condition = listing.boolean("with_condition_func", request.query_params.get("with_condition_func"))
    version = template_version.split(".", 1)[1] if template_version.startswith(f"{HOT}.") else template_version
    known = {v["version"] for v in versions()} | {a for v in versions() for a in v["aliases"]}
    if template_version not in known and f"{HOT}.{version}" not in known:
        raise NotFound(f"Template with version {template_version} not found; list them with "
                       "openstack orchestration template version list.", type="NotFound")
    name = template_version if template_version.startswith(CFN) else version
    if not with_condition:
        return {"template_functions": hot_versions.describe(name)}
    table = hot_versions.condition_table(name)
    return {"template_functions": [
        {"functionname": fname, "description": ((fn.__doc__ or "").strip().splitlines() or [""])[0]}
        for fname, fn in sorted(table.items())]}
