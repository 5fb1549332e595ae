"""The one test double for commands: a runner that records every argv and answers
from rules, for argv-level driver tests in every area.

``FakeRun()(argv, data=None) -> (rc, stdout, stderr)`` is the common runner protocol
(``module_utils/common/command.py``). ``FakeRun.checked(error)`` gives the
"stdout or raise" form that storage's drivers take.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence


class FakeRun:
    """Records argv (and stdin data); answers the newest rule whose prefix matches."""

    def __init__(self, answers=None, *, ignore: Sequence[str] = ()):
        self.calls: list[list[str]] = []
        self.inputs: list[str | None] = []
        # list of (argv prefix tuple, (rc, out, err)); the first match wins
        self.answers = list(answers or [])
        self.ignore = set(ignore)  # argv words left out when matching (e.g. "--driverloaded", "n")

    def on(self, prefix, rc: int = 0, out: object = "", err: str = "") -> FakeRun:
        text = out if isinstance(out, str) else json.dumps(out)
        self.answers.insert(0, (tuple(prefix), (rc, text, err)))
        return self

    def __call__(self, argv, data=None):
        self.calls.append(list(argv))
        self.inputs.append(data)
        plain = [a for a in argv if a not in self.ignore] if self.ignore else list(argv)
        for prefix, answer in self.answers:
            if tuple(plain[: len(prefix)]) == prefix:
                return answer
        return 0, "", ""

    def checked(self, error: Callable[..., Exception]) -> Callable[[list[str]], str]:
        """A ``run(argv) -> stdout`` that raises ``error(argv, rc, stderr, stdout)``."""

        def run(argv, data=None):
            rc, out, err = self(argv, data)
            if rc:
                raise error(argv, rc, err, out)
            return out

        return run

    def commands(self, tool: str) -> list[list[str]]:
        return [c for c in self.calls if c and c[0] == tool]

    def writes(self, verb_words=("add", "set", "del", "delete", "append", "replace", "flush")):
        return [c for c in self.calls if any(w in c for w in verb_words) and "-j" not in c]
