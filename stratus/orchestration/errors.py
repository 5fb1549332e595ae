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


class UpdateReplace(Exception):
    """A change that cannot be made in place: the resource must be replaced (Heat's
    ``UpdateReplace``). ``properties`` names what forced it."""

    def __init__(self, resource: str, properties: list[str]) -> None:
        self.resource = resource
        self.properties = properties
        super().__init__(
            f"{resource}: {', '.join(properties)} cannot change in place; the resource is replaced"
        )


class ResourceCheckFailed(ValueError):
    """A check against the DB refused the resource before anything ran (the flavor,
    network or volume it names does not exist, or the project may not use it).
    ``status`` is the HTTP status it stands for (404 for a missing object, 403, 409)."""

    def __init__(self, message: str, path: tuple[str, ...] = (), status: int = 400) -> None:
        self.path = tuple(str(p) for p in path)
        self.message = message
        self.status = status
        where = ".".join(self.path)
        super().__init__(f"{where}: {message}" if where else message)
