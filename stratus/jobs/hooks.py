"""Who else hears that a job ended: services above the jobs layer register a function
here (the stack engine settles a stack when its job ends) and the worker calls each, in
its transaction, after the job's resources were settled and their types' ``on_job_end``
ran. The jobs layer never imports them; they register themselves when imported."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from stratus.db.models.jobs import Job

JobEndHook = Callable[[Session, Job], None]
_JOB_END: list[JobEndHook] = []


def on_job_end(fn: JobEndHook) -> JobEndHook:
    """Register ``fn(session, job)`` (idempotent; usable as a decorator)."""
    if fn not in _JOB_END:
        _JOB_END.append(fn)
    return fn


def job_ended(db: Session, job: Job) -> None:
    for fn in list(_JOB_END):
        fn(db, job)
