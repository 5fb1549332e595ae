"""``stratus serve``: run the controller (every API on one port) with uvicorn."""

from __future__ import annotations

from stratus.cli._common import add_config_option, settings_from


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the controller's API server")
    add_config_option(p)
    p.add_argument("--host", default=None, help="address to bind (default: bind_host setting)")
    p.add_argument("--port", type=int, default=None, help="port (default: port setting, 8700)")
    p.set_defaults(func=run)


def run(args) -> int:
    import uvicorn

    from stratus.api.app import create_app
    from stratus.jobs.runner import prepare_state_dir
    from stratus.log import setup_logging

    overrides = {}
    if args.host:
        overrides["bind_host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = settings_from(args).model_copy(update=overrides)
    setup_logging(settings.log_level, settings.log_json)
    prepare_state_dir(settings.state_dir)  # the database file is made 0600 as it is opened
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.bind_host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        # A failing start-up (job worker, reconcile) stops the controller: with "auto",
        # uvicorn would log it at INFO and serve on without a worker.
        lifespan="on",
        # Clients poll with keep-alive connections every few seconds (openstackclient's
        # --wait: every 5 s); uvicorn's default 5 s idle timeout closes a connection just
        # as the next poll reuses it, and the client fails with "Connection reset by
        # peer". Keep idle connections longer than any client's poll interval.
        timeout_keep_alive=75,
        # The client address (login throttling, logs) is the peer's unless the operator
        # names the proxies whose X-Forwarded-For may be believed.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
    )
    return 0
