"""``stratus compile TEMPLATE``: the playbook a template turns into, run with plain
``ansible-playbook`` and no controller.

The playbook keeps the stack's state in a local SQLite file (``--state``; default
``<template dir>/.stratus/<template stem>.sqlite``), per stack name (``--stack-name``;
default the template's stem): compiling again after a run updates the stack (same
ids, dropped resources deleted) instead of making it twice
(``stratus.orchestration.offline_compile``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from stratus.jobs.runner import playbook_yaml
from stratus.orchestration import offline_state
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.offline_compile import compile_offline
from stratus.orchestration.template import Template

# What a bad template, environment, parameter or state file raises: one line, no traceback.
USER_ERRORS = (TemplateError, ResourceCheckFailed, offline_state.StackStateError, OSError)


def register(sub) -> None:
    p = sub.add_parser("compile", help="turn a HOT template into an Ansible playbook that runs without "
                                       "the controller")
    add_template_arguments(p)
    p.add_argument("-o", "--output", metavar="PLAYBOOK", help="write the playbook there (default: print it)")
    p.add_argument("--state", metavar="FILE",
                   help="the stack's state file (default: <template dir>/.stratus/<template stem>.sqlite)")
    p.add_argument("--stack-name", metavar="NAME", help="the stack's name in the state file "
                                                        "(default: the template's file name without suffix)")
    p.set_defaults(func=run)


def add_template_arguments(p) -> None:
    """TEMPLATE, ``-e ENV`` (repeatable, merged in order) and ``-P KEY=VALUE``."""
    p.add_argument("template", help="path of the template (YAML)")
    p.add_argument("-e", "--environment", action="append", default=[], metavar="ENV",
                   help="an environment file (repeatable; later files win)")
    p.add_argument("-P", "--parameter", action="append", default=[], metavar="KEY=VALUE",
                   help="a template parameter (repeatable; VALUE is JSON when it parses as JSON)")


def parse_params(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise TemplateError(f"parameter {item!r} is not KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def load_template(args) -> Template:
    """The template with its environment files merged in order (``-e``)."""
    if not args.environment:
        return Template.load(args.template)
    from stratus.orchestration.environment import Environment

    env = Environment.merge(*(Environment.load(path) for path in args.environment))
    return Template.load(args.template, environment=env)


def fail(command: str, template: str, exc: Exception) -> int:
    """The one-line error of a bad template (its path first); exit status 1."""
    text = " ".join(str(exc).split())
    print(f"stratus {command}: {template}: {text}", file=sys.stderr)
    return 1


def run(args) -> int:
    stack = args.stack_name or Path(args.template).stem
    state = Path(args.state) if args.state else offline_state.default_path(args.template)
    try:
        tpl = load_template(args)
        out = compile_offline(tpl, parse_params(args.parameter), state.resolve(), stack)
    except USER_ERRORS as exc:
        return fail("compile", args.template, exc)
    header = (f"# Compiled by `stratus compile` from {args.template} (stack {stack}, state {state}).\n"
              f"# {out.summary()}\n"
              "# Run: ansible-playbook -i INVENTORY PLAYBOOK (hosts in the groups named below).\n")
    text = header + playbook_yaml(out.playbook).rstrip("\n") + "\n"
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text)
    except OSError as exc:
        return fail("compile", args.template, exc)
    print(f"{args.output}: stack {stack}: {out.summary()}")
    return 0
