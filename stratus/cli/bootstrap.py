"""``stratus bootstrap``: the first admin, roles, region and service catalog
(like ``keystone-manage bootstrap``). Idempotent: a second run changes nothing, except
the admin password when a different one is given."""

from __future__ import annotations

import os
import sys

from stratus.cli._common import add_config_option, settings_from

BOOTSTRAP_LOCK = "stratus bootstrap"


def register(sub) -> None:
    p = sub.add_parser("bootstrap", help="create the admin user, roles, region and catalog")
    add_config_option(p)
    p.add_argument("--admin-username", default=os.environ.get("STRATUS_ADMIN_USERNAME", "admin"))
    p.add_argument(
        "--admin-password",
        default=None,
        help="admin password (default $STRATUS_ADMIN_PASSWORD or $OS_BOOTSTRAP_PASSWORD)",
    )
    p.add_argument("--admin-project", default="admin")
    p.add_argument("--region", default=None, help="region id (default: region setting)")
    p.add_argument("--public-url", default=None, help="base URL of the endpoints")
    p.set_defaults(func=run)


def run(args) -> int:
    from stratus.compute.flavors import ensure_defaults
    from stratus.db.locks import write_lock
    from stratus.db.session import Database
    from stratus.identity.bootstrap import bootstrap
    from stratus.identity.fernet import FernetKeys
    from stratus.volume.volume_types import ensure_default as ensure_volume_type

    password = (
        args.admin_password
        or os.environ.get("STRATUS_ADMIN_PASSWORD")
        or os.environ.get("OS_BOOTSTRAP_PASSWORD")
    )
    if not password:
        print(
            "stratus bootstrap: give the admin password with --admin-password or "
            "STRATUS_ADMIN_PASSWORD",
            file=sys.stderr,
        )
        return 2
    settings = settings_from(args)
    if settings.object_store_url and not settings.object_store_password:
        print(
            "stratus bootstrap: object_store_url is set but object_store_password is empty: "
            "give the Swift service user's password (object_store_password in the settings "
            "or STRATUS_OBJECT_STORE_PASSWORD)",
            file=sys.stderr,
        )
        return 2
    FernetKeys(settings.fernet_key_repository).setup()
    FernetKeys(settings.credential_key_repository).setup()
    db = Database(settings.database_url)
    try:
        with db.session() as s:
            # Controllers that start together bootstrap one database: the second waits
            # here until the first commits, then reads what it made and adds nothing.
            write_lock(s, BOOTSTRAP_LOCK)
            report = bootstrap(
                s,
                settings,
                admin_username=args.admin_username,
                admin_password=password,
                admin_project=args.admin_project,
                region=args.region or settings.region,
                public_url=args.public_url or settings.endpoint_url,
            )
            report += [f"created flavor {name}" for name in ensure_defaults(s)]
            report += ensure_volume_type(s, settings)
    finally:
        db.dispose()
    for line in report:
        print(line)
    return 0
