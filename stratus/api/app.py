"""The controller's ASGI application: every OpenStack API on one port.

``create_app(settings)`` builds the app: the database on ``app.state.db``, settings on
``app.state.settings``, the token provider and policy enforcer on ``app.state``, the
request-id middleware, the fault handlers, and every router listed in
``stratus.api.routes.ROUTER_MODULES`` under its service path.
"""

from __future__ import annotations

import importlib
from contextlib import asynccontextmanager

from fastapi import FastAPI

from stratus import __version__
from stratus.api.errors import SERVICE_PATHS, install_handlers
from stratus.api.microversions import MicroversionMiddleware
from stratus.api.middleware import RequestIdMiddleware
from stratus.api.project_path import ORCHESTRATION_ROOT, ProjectPathMiddleware
from stratus.api.request_guard import RequestGuard
from stratus.api.routes import ROUTER_MODULES
from stratus.config import Settings
from stratus.db.session import Database


def service_prefix(module_name: str) -> str:
    """``stratus.api.routes.compute.servers`` -> ``/compute/v2.1``."""
    parts = module_name.split(".")
    service = parts[3]
    if service not in SERVICE_PATHS:
        raise ValueError(
            f"{module_name}: unknown service {service!r}; use one of {sorted(SERVICE_PATHS)}"
        )
    return SERVICE_PATHS[service]


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    from stratus.identity.fernet import FernetKeys
    from stratus.identity.policy import make_enforcer

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from stratus.compute import reconcile
        from stratus.jobs import worker  # the job worker runs inside the controller

        worker.start(app)
        reconcile.start(app)  # the periodic pass, when compute_reconcile_interval > 0
        yield
        reconcile.stop(app)
        worker.stop(app)
        app.state.db.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="Stratus",
        version=__version__,
        description="OpenStack's APIs (Keystone v3, Nova v2.1, Neutron v2.0, Cinder v3, "
        "Glance v2, Heat v1) served by one controller.",
    )
    app.state.settings = settings
    app.state.db = db or Database(settings.database_url, echo=settings.database_echo)
    app.state.fernet = FernetKeys(settings.fernet_key_repository)
    app.state.enforcer = make_enforcer(settings.policy_file or None)
    from stratus.orchestration import resources

    resources.load()
    app.state.resource_types = resources.get_type
    install_handlers(app)
    app.add_middleware(RequestGuard)  # inside the version check: 406 comes before 400, as in Nova
    app.add_middleware(RequestGuard, prefix="/network", service="network")
    app.add_middleware(RequestGuard, prefix="/volume", service="volume")
    app.add_middleware(MicroversionMiddleware)
    app.add_middleware(ProjectPathMiddleware)  # /volume/v3/<project>/volumes -> /volume/v3/volumes
    app.add_middleware(ProjectPathMiddleware, root=ORCHESTRATION_ROOT)  # /orchestration/v1/<project>/stacks
    app.add_middleware(RequestIdMiddleware)  # outermost: its id is on every answer
    for name in ROUTER_MODULES:
        module = importlib.import_module(name)
        prefix = getattr(module, "PREFIX", None)
        app.include_router(module.router, prefix=service_prefix(name) if prefix is None else prefix)

    return app
