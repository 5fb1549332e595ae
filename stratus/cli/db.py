"""``stratus db upgrade|current``: the controller's database schema (Alembic)."""

from __future__ import annotations

from stratus.cli._common import add_config_option, settings_from


def register(sub) -> None:
    p = sub.add_parser("db", help="manage the controller's database schema")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = dsub.add_parser("upgrade", help="migrate the database to the newest schema")
    add_config_option(up)
    up.add_argument("--revision", default="head", help="target revision (default head)")
    up.set_defaults(func=upgrade)
    cur = dsub.add_parser("current", help="print the database's schema revision")
    add_config_option(cur)
    cur.set_defaults(func=current)


def upgrade(args) -> int:
    from stratus.db import migrations
    from stratus.jobs.runner import prepare_state_dir

    settings = settings_from(args)
    prepare_state_dir(settings.state_dir)  # the database file is made 0600 as it is opened
    migrations.upgrade(settings.database_url, args.revision)
    print(f"database at revision {migrations.current(settings.database_url)}")
    return 0


def current(args) -> int:
    from stratus.db import migrations

    print(migrations.current(settings_from(args).database_url) or "(empty)")
    return 0
