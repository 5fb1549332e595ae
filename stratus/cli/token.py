"""``stratus token setup|rotate``: the Fernet key repository (as keystone-manage
fernet_setup / fernet_rotate)."""

from __future__ import annotations

from stratus.cli._common import add_config_option, settings_from


def register(sub) -> None:
    p = sub.add_parser("token", help="manage the Fernet keys that sign tokens")
    tsub = p.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    s = tsub.add_parser("setup", help="create the key repository if it does not exist")
    add_config_option(s)
    s.set_defaults(func=setup)
    r = tsub.add_parser(
        "rotate", help="promote the staged key to primary, stage a new key, prune old ones"
    )
    add_config_option(r)
    r.set_defaults(func=rotate)


def setup(args) -> int:
    from stratus.identity.fernet import FernetKeys

    settings = settings_from(args)
    created = FernetKeys(settings.fernet_key_repository).setup()
    print(("created " if created else "exists: ") + str(settings.fernet_key_repository))
    return 0


def rotate(args) -> int:
    from stratus.identity.fernet import FernetKeys

    settings = settings_from(args)
    keys = FernetKeys(settings.fernet_key_repository).rotate(settings.fernet_max_active_keys)
    print(
        f"keys in {settings.fernet_key_repository}: {' '.join(map(str, keys))} (primary {max(keys)})"
    )
    return 0
