"""The router registry: one module per resource, ``stratus/api/routes/<service>/<resource>.py``,
each exposing ``router = APIRouter()`` with paths relative to the service root
(``/servers``, not ``/compute/v2.1/servers``). ``create_app`` mounts each module's router
under its service's path (``stratus.api.errors.SERVICE_PATHS``), taken from the module's
package name. Append your module to ROUTER_MODULES (one line, never reorder).
"""

ROUTER_MODULES: list[str] = [
    "stratus.api.routes.identity.versions",
    "stratus.api.routes.identity.auth",
    "stratus.api.routes.identity.domains",
    "stratus.api.routes.identity.projects",
    "stratus.api.routes.identity.users",
    "stratus.api.routes.identity.groups",
    "stratus.api.routes.identity.roles",
    "stratus.api.routes.identity.assignments",
    "stratus.api.routes.identity.catalog",
    "stratus.api.routes.identity.application_credentials",
    "stratus.api.routes.stratus.jobs",
    "stratus.api.routes.compute.quotas",
    "stratus.api.routes.volume.quotas",
    "stratus.api.routes.network.quotas",
    "stratus.api.routes.image.versions",
    "stratus.api.routes.image.images",
    "stratus.api.routes.image.members",
    "stratus.api.routes.image.tags",
    "stratus.api.routes.image.schemas",
    "stratus.api.routes.image.data",
    "stratus.api.routes.image.imports",
    "stratus.api.routes.identity.credentials",
    "stratus.api.routes.identity.ec2",
    "stratus.api.routes.identity.limits",
    "stratus.api.routes.identity.project_tags",
    "stratus.api.routes.identity.endpoint_filters",
    "stratus.api.routes.identity.policies",
    "stratus.api.routes.identity.domain_configs",
    "stratus.api.routes.identity.trusts",
    "stratus.api.routes.identity.access_rules",
    "stratus.api.routes.identity.revoke",
    "stratus.api.routes.identity.oauth1",
]
