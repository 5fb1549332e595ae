"""A scripted run(argv): records every argv and answers from (prefix -> reply) rules."""

from __future__ import annotations

import json

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import CommandFailed


class FakeRun:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.rules: list[tuple[list[str], object]] = []

    def on(self, *prefix: str, out: object = "", rc: int = 0, stderr: str = "") -> None:
        """Answer argv starting with ``prefix`` (after dropping --driverloaded n) with ``out``."""
        self.rules.insert(0, (list(prefix), (out, rc, stderr)))

    def __call__(self, argv: list[str]) -> str:
        self.calls.append(list(argv))
        plain = [a for a in argv if a not in ("--driverloaded", "n")] if "--driverloaded" in argv else argv
        for prefix, (out, rc, stderr) in self.rules:
            if plain[: len(prefix)] == prefix:
                if rc:
                    raise CommandFailed(argv, rc, stderr)
                return out if isinstance(out, str) else json.dumps(out)
        return ""

    def raw(self, argv: list[str]) -> tuple[int, str, str]:
        """The same answers as run(argv, data=None) -> (rc, stdout, stderr), for QemuImg."""
        try:
            return 0, self(argv), ""
        except CommandFailed as exc:
            return exc.rc, exc.stdout, exc.stderr

    def commands(self, tool: str) -> list[list[str]]:
        return [c for c in self.calls if c[0] == tool]


@pytest.fixture
def fake_run():
    return FakeRun()
