"""``stratus compile TEMPLATE``: print the playbook a template turns into."""

from __future__ import annotations

import json
import sys

from stratus.jobs.runner import playbook_yaml
from stratus.orchestration import compiler, planner
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.template import Template


def register(sub) -> None:
    p = sub.add_parser("compile", help="turn a HOT template into an Ansible playbook (printed)")
    p.add_argument("template", help="path of the template (YAML)")
    p.add_argument("-P", "--parameter", action="append", default=[], metavar="KEY=VALUE",
                   help="a template parameter (repeatable)")
    p.set_defaults(func=run)


def parse_params(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise TemplateError(f"parameter {item!r} is not KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def run(args) -> int:
    try:
        tpl = Template.load(args.template)
        plan = planner.plan(tpl, parse_params(args.parameter))
        playbook = compiler.compile_plan(plan)
    except (TemplateError, OSError) as exc:
        print(f"stratus compile: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(playbook_yaml(playbook))
    return 0
