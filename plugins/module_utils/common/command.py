"""Running external tools: the one runner and the one ``CommandFailed`` every driver uses.

Drivers take a ``run(argv, data=None) -> (rc, stdout, stderr)`` callable so unit tests
can record argv and replay outputs; ``subprocess_run`` is the real one. Each area's
typed errors subclass ``CommandFailed`` (``class CommandFailed(command.CommandFailed,
ComputeError)``), so callers can catch either the area's base error or any tool failure.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping, Sequence

Runner = Callable[..., tuple[int, str, str]]


class CommandFailed(Exception):
    """A command exited non-zero. Carries its argv, exit code, stderr and stdout."""

    def __init__(self, argv: Sequence[str], rc: int, stderr: str, stdout: str = ""):
        self.argv = list(argv)
        self.rc = rc
        self.stderr = (stderr or "").strip()
        self.stdout = stdout or ""
        super().__init__(f"`{' '.join(self.argv)}` failed (rc={rc}): {self.stderr or '(no stderr)'}")


def subprocess_run(
    argv: Sequence[str], data: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[int, str, str]:
    """Execute argv (never through a shell) in the C locale; return (rc, stdout, stderr)."""
    full_env = dict(os.environ, LC_ALL="C")
    full_env.update(env or {})
    proc = subprocess.run(
        list(argv),
        input=data,
        stdin=None if data is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def check_output(
    run: Runner,
    argv: Sequence[str],
    data: str | None = None,
    error: Callable[[Sequence[str], int, str, str], Exception] = CommandFailed,
) -> str:
    """Run argv with ``run``; return stdout, or raise ``error(argv, rc, stderr, stdout)``."""
    rc, out, err = run(list(argv), data) if data is not None else run(list(argv))
    if rc != 0:
        raise error(argv, rc, err, out)
    return out
