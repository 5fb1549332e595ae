"""``stratus validate TEMPLATE``: check a template (syntax, types, references, cycles)."""

from __future__ import annotations

import sys

from stratus.cli.compile import parse_params
from stratus.orchestration import planner
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.template import Template


def register(sub) -> None:
    p = sub.add_parser("validate", help="validate a HOT template")
    p.add_argument("template", help="path of the template (YAML)")
    p.add_argument("-P", "--parameter", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        tpl = Template.load(args.template)
        plan = planner.plan(tpl, parse_params(args.parameter))
    except (TemplateError, OSError) as exc:
        print(f"stratus validate: {exc}", file=sys.stderr)
        return 1
    print(f"{args.template}: valid; {len(plan.order)} resource(s) in order: {', '.join(plan.order)}")
    return 0
