"""``stratus host sync -i INVENTORY`` / ``stratus host list``: the host registry."""

from __future__ import annotations

import json

from stratus.cli._common import add_config_option, settings_from


def register(sub) -> None:
    p = sub.add_parser("host", help="the host registry (what the controller runs jobs on)")
    hsub = p.add_subparsers(dest="host_command", metavar="ACTION", required=True)
    sync = hsub.add_parser("sync", help="add or update hosts from an Ansible inventory")
    add_config_option(sync)
    sync.add_argument("-i", "--inventory", action="append", required=True,
                      help="inventory source (file, directory or plugin config); repeatable")
    sync.add_argument("--prune", action="store_true", help="remove hosts the inventory lacks")
    sync.set_defaults(func=run_sync)
    ls = hsub.add_parser("list", help="list registered hosts")
    add_config_option(ls)
    ls.add_argument("-f", "--format", choices=("table", "json"), default="table")
    ls.set_defaults(func=run_list)
    ref = hsub.add_parser("refresh", help="read capacity from the hosts (hypervisor_info, storage_info)")
    add_config_option(ref)
    ref.set_defaults(func=run_refresh)
    inv = hsub.add_parser("inventory", help="print the registry as an Ansible inventory (JSON)")
    add_config_option(inv)
    inv.set_defaults(func=run_inventory)


def open_db(args):
    """The controller's database named by the settings (``--config``)."""
    from stratus.db.session import Database

    return Database(settings_from(args).database_url)


def run_sync(args) -> int:
    from stratus.hosts import registry

    with open_db(args).session() as s:
        result = registry.sync(s, args.inventory, prune=args.prune)
    for key in ("added", "updated", "removed"):
        if result[key]:
            print(f"{key}: {', '.join(result[key])}")
    if not any(result.values()):
        print("registry already matches the inventory")
    return 0


def run_list(args) -> int:
    from sqlalchemy import select

    from stratus.db.models.hosts import Host

    with open_db(args).session() as s:
        rows = [
            {"name": h.name, "groups": h.groups, "enabled": h.enabled, "capacity": h.capacity,
             "connection": h.vars.get("ansible_connection", "ssh"),
             "address": h.vars.get("ansible_host", h.name)}
            for h in s.scalars(select(Host).order_by(Host.name))
        ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'NAME':24} {'ADDRESS':18} {'CONNECTION':10} {'ENABLED':7} GROUPS")
    for r in rows:
        print(f"{r['name']:24} {r['address']:18} {r['connection']:10} {str(r['enabled']):7} "
              f"{','.join(r['groups'])}")
    return 0


def run_inventory(args) -> int:
    from stratus.hosts import registry

    with open_db(args).session() as s:
        print(json.dumps(registry.inventory(s), indent=2))
    return 0


def run_refresh(args) -> int:
    from stratus.db.session import Database
    from stratus.jobs.host_refresh import refresh

    settings = settings_from(args)
    got = refresh(Database(settings.database_url), settings.state_dir)
    for host, report in sorted(got["refreshed"].items()):
        keys = {k: v for k, v in report.items() if k in ("vcpus", "memory_mb", "disk_gb", "volume_gb")}
        print(f"{host}: {keys}")
    for host, why in sorted(got["failed"].items()):
        print(f"{host}: FAILED {why}")
    return 1 if got["failed"] else 0
