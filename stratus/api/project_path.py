"""The project id in the path, as Cinder and Heat have it: the catalog's volume endpoint is
``/volume/v3/$(project_id)s``, so clients send ``/volume/v3/<project>/volumes``; newer
ones send ``/volume/v3/volumes``; Heat's is ``/orchestration/v1/$(project_id)s`` and
heatclient always sends ``/orchestration/v1/<project>/stacks``. Both shapes reach the
same routes: :class:`ProjectPathMiddleware` takes a path segment that is not one of the
service's top-level collections out of the path and keeps it as
``request.state.path_project_id`` (the routes compare it with the token's project, as
Cinder's and Heat's WSGI layers do)."""

from __future__ import annotations

# Cinder v3's top-level collections: a first segment that is none of them is a project id.
VOLUME_ROOT = "/volume/v3"
VOLUME_COLLECTIONS = frozenset({
    "volumes", "snapshots", "types", "attachments", "os-quota-sets", "os-quota-class-sets",
    "limits", "os-availability-zone", "os-services", "scheduler-stats", "qos-specs", "extensions",
    "messages", "backups", "groups", "group_types", "group_snapshots", "os-hosts", "capabilities",
    "manageable_volumes", "manageable_snapshots", "os-volume-transfer", "volume-transfers", "workers",
    "clusters", "resource_filters", "default-types", "consistencygroups", "cgsnapshots",
    "os-snapshot-manage", "os-volume-manage",
})


# Heat v1's top-level collections
ORCHESTRATION_ROOT = "/orchestration/v1"
ORCHESTRATION_COLLECTIONS = frozenset({
    "stacks", "resource_types", "template_versions", "validate", "build_info", "services",
    "software_configs", "software_deployments",
})
COLLECTIONS = {VOLUME_ROOT: VOLUME_COLLECTIONS, ORCHESTRATION_ROOT: ORCHESTRATION_COLLECTIONS}


def split(path: str, root: str = VOLUME_ROOT) -> tuple[str, str | None]:
    """``(path without the project segment, the project id or None)``."""
    if not path.startswith(root + "/"):
        return path, None
    rest = path[len(root) + 1:]
    first, sep, tail = rest.partition("/")
    if not first or first in COLLECTIONS[root]:
        return path, None
    return root + (sep + tail if sep else ""), first


class ProjectPathMiddleware:
    def __init__(self, app, root: str = VOLUME_ROOT) -> None:
        self.app, self.root = app, root

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path, project = split(scope["path"], self.root)
            if project is not None:
                scope = dict(scope)
                scope["path"] = path
                scope["raw_path"] = path.encode()
                scope.setdefault("state", {})
                scope["state"] = {**scope["state"], "path_project_id": project}
        await self.app(scope, receive, send)
