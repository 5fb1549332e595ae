"""Typed errors of the orchestration layer; each message names the object and the fix."""

from __future__ import annotations


class TemplateError(ValueError):
    """A template is not valid. ``path`` points at the offending part (Heat's style)."""

    def __init__(self, message: str, path: tuple[str, ...] = ()) -> None:
        self.path = tuple(str(p) for p in path)
        self.message = message
        where = ".".join(self.path)
        super().__init__(f"{where}: {message}" if where else message)


class DependencyCycle(TemplateError):
    """Resources depend on each other in a circle; ``cycle`` lists it in order."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(
            "circular dependency between resources: "
            + " -> ".join(cycle)
            + "; remove one of these depends_on/get_resource/get_attr references",
            ("resources",),
        )
