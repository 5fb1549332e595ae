"""``stratus validate TEMPLATE [-e ENV] [-P KEY=VALUE]``: check a template (syntax,
types, properties, references, cycles, parameter constraints) and print its parameters
and resources."""

from __future__ import annotations

from stratus.cli.compile import (
    USER_ERRORS,
    add_template_arguments,
    fail,
    load_template,
    parse_params,
)
from stratus.orchestration import planner


def register(sub) -> None:
    p = sub.add_parser("validate", help="validate a HOT template and list its parameters and resources")
    add_template_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        tpl = load_template(args)
        plan = planner.plan(tpl, parse_params(args.parameter))
    except USER_ERRORS as exc:
        return fail("validate", args.template, exc)
    print(f"{args.template}: valid; {len(plan.order)} resource(s) in order: {', '.join(plan.order)}")
    if tpl.parameters:
        print("parameters:")
        for name in tpl.parameters:
            print(f"  {name} = {_shown(tpl.parameters[name], plan.parameters.get(name))}")
    print("resources:")
    for name in plan.order:
        rdef = tpl.resources[name]
        deps = sorted(rdef.dependencies())
        print(f"  {name}: {rdef.type}" + (f" (after {', '.join(deps)})" if deps else ""))
    return 0


def _shown(pdef, value) -> str:
    hidden = pdef.get("hidden") if isinstance(pdef, dict) else getattr(pdef, "hidden", False)
    return "******" if hidden else repr(value)
