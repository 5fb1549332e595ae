"""A recording runner for argv-level driver tests: answers by argv prefix."""

from __future__ import annotations


class FakeRun:
    def __init__(self, answers=None):
        self.calls: list[list[str]] = []
        self.inputs: list[str | None] = []
        # list of (argv prefix tuple, (rc, out, err))
        self.answers = list(answers or [])

    def on(self, prefix, rc=0, out="", err=""):
        self.answers.insert(0, (tuple(prefix), (rc, out, err)))
        return self

    def __call__(self, argv, data=None):
        self.calls.append(list(argv))
        self.inputs.append(data)
        for prefix, answer in self.answers:
            if tuple(argv[: len(prefix)]) == prefix:
                return answer
        return 0, "", ""

    def writes(self, verb_words=("add", "set", "del", "delete", "append", "replace", "flush")):
        return [c for c in self.calls if any(w in c for w in verb_words) and "-j" not in c]
