"""``stratus job list|show|cancel``: the jobs the controller ran or runs, with events."""

from __future__ import annotations

import json

from stratus.cli._common import add_config_option
from stratus.cli.host import open_db


def register(sub) -> None:
    p = sub.add_parser("job", help="jobs: playbook runs of the controller and their events")
    jsub = p.add_subparsers(dest="job_command", metavar="ACTION", required=True)
    ls = jsub.add_parser("list", help="list jobs, newest first")
    add_config_option(ls)
    ls.add_argument("--status", help="only jobs in this status (QUEUED, RUNNING, ...)")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("-f", "--format", choices=("table", "json"), default="table")
    ls.set_defaults(func=run_list)
    show = jsub.add_parser("show", help="a job with its events and resources")
    add_config_option(show)
    show.add_argument("job_id")
    show.add_argument("-f", "--format", choices=("table", "json"), default="table")
    show.set_defaults(func=run_show)
    cancel = jsub.add_parser("cancel", help="cancel a queued or running job")
    add_config_option(cancel)
    cancel.add_argument("job_id")
    cancel.set_defaults(func=run_cancel)


def run_list(args) -> int:
    from stratus.jobs import views

    with open_db(args).session() as s:
        jobs = views.list_jobs(s, status=args.status, limit=args.limit)
    if args.format == "json":
        print(json.dumps(jobs, indent=2))
        return 0
    print(f"{'ID':36} {'STATUS':9} {'TRIES':5} {'CREATED':25} REASON")
    for j in jobs:
        print(f"{j['id']:36} {j['status']:9} {j['attempts']}/{j['max_attempts']:<3} "
              f"{j['created_at']:25} {j['status_reason'][:60]}")
    return 0


def run_show(args) -> int:
    from stratus.jobs import views

    with open_db(args).session() as s:
        job = views.show_job(s, args.job_id, with_events=True)
    if job is None:
        print(f"stratus job show: no job {args.job_id}")
        return 1
    if args.format == "json":
        print(json.dumps(job, indent=2))
        return 0
    for key in ("id", "status", "status_reason", "attempts", "max_attempts", "request_id",
                "created_at", "started_at", "finished_at"):
        print(f"{key:14} {job[key]}")
    print("resources:")
    for r in job["resources"]:
        print(f"  {r['name']:20} {r['id']:36} {r['status']:7} {r['status_reason'][:60]}")
    print("events:")
    for e in job["events"]:
        print(f"  {e['created_at']} #{e['attempt']} {e['event']:22} {e['status'] or '':11} "
              f"{e['resource_name'] or '':16} {e['host'] or '':12} {e['message'][:70]}")
    return 0


def run_cancel(args) -> int:
    from stratus.jobs.worker import cancel

    with open_db(args).session() as s:
        job = cancel(s, args.job_id)
        if job is None:
            print(f"stratus job cancel: no job {args.job_id}")
            return 1
        print(f"{job.id}: {job.status}{' (stopping)' if job.status == 'RUNNING' else ''}")
    return 0
