"""``stratus compute reconcile [--repair]``: compare the compute hosts' guests with the
server records (see :mod:`stratus.compute.reconcile`)."""

from __future__ import annotations

import json

from stratus.cli._common import add_config_option, settings_from


def register(sub) -> None:
    p = sub.add_parser("compute", help="compute (Nova) maintenance")
    csub = p.add_subparsers(dest="compute_command", metavar="ACTION", required=True)
    rec = csub.add_parser("reconcile", help="compare the hosts' guests with the server records; "
                                            "exit 1 while something is left unrepaired or a host did not answer")
    add_config_option(rec)
    rec.add_argument("--repair", action="store_true",
                     help="record power states, remove orphan domains, put lost servers in ERROR")
    rec.add_argument("--host", action="append", help="only this compute host; repeatable")
    rec.add_argument("-f", "--format", choices=("table", "json"), default="table")
    rec.set_defaults(func=run_reconcile)


def run_reconcile(args) -> int:
    from stratus.compute import reconcile
    from stratus.db.session import Database

    settings = settings_from(args)
    database = Database(settings.database_url)
    try:
        report = reconcile.run(database, settings.state_dir, repair=args.repair, hosts=args.host)
    finally:
        database.dispose()
    if args.format == "json":
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(f"hosts checked: {', '.join(report.hosts) or '(none)'}")
        for host, why in sorted(report.unreachable.items()):
            print(f"{host}: did not answer: {why}")
        for f in report.findings:
            print(f"{f.kind:14} {f.host:20} {f.instance}  {f.detail}{'  [repaired]' if f.repaired else ''}")
        if not report.findings:
            print("no differences")
    left = [f for f in report.findings if not f.repaired]
    return 1 if left or report.unreachable else 0
