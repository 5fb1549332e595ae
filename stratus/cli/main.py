"""The ``stratus`` command.

Each subcommand lives in its own module under ``stratus.cli`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that provide subcommands, in the order `stratus --help` lists them.
COMMAND_MODULES: list[str] = [
    "stratus.cli.version",
    "stratus.cli.serve",
    "stratus.cli.db",
    "stratus.cli.bootstrap",
    "stratus.cli.token",
    "stratus.cli.credential",
    "stratus.cli.compile",
    "stratus.cli.validate",
    "stratus.cli.host",
    "stratus.cli.job",
    "stratus.cli.compute",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stratus", description="Stratus: OpenStack's APIs, built the Ansible way."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
