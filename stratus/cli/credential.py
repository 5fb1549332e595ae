"""``stratus credential setup|rotate``: the credential key repository that encrypts
/v3/credentials blobs at rest (as keystone-manage credential_setup / credential_rotate
and credential_migrate)."""

from __future__ import annotations

from stratus.cli._common import add_config_option, settings_from


def register(sub) -> None:
    p = sub.add_parser("credential", help="manage the keys that encrypt stored credentials")
    csub = p.add_subparsers(dest="credential_command", metavar="ACTION", required=True)
    s = csub.add_parser("setup", help="create the credential key repository if it does not exist")
    add_config_option(s)
    s.set_defaults(func=setup)
    r = csub.add_parser(
        "rotate",
        help="promote the staged key, stage a new one, re-encrypt every credential with "
        "the new primary key and prune keys no credential needs",
    )
    add_config_option(r)
    r.set_defaults(func=rotate)


def setup(args) -> int:
    from stratus.identity.credential_crypto import keys

    settings = settings_from(args)
    created = keys(settings).setup()
    print(("created " if created else "exists: ") + str(settings.credential_key_repository))
    return 0


def rotate(args) -> int:
    from stratus.db.session import Database
    from stratus.identity.credentials import rotate_keys

    settings = settings_from(args)
    db = Database(settings.database_url)
    try:
        with db.session() as s:
            kept, moved = rotate_keys(s, settings)
    finally:
        db.dispose()
    print(
        f"keys in {settings.credential_key_repository}: {' '.join(map(str, kept))} "
        f"(primary {max(kept)}); {moved} credential(s) re-encrypted"
    )
    return 0
