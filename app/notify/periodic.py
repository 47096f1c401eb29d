"""Periodic jobs of the worker: a registry of callables run once a day.

The digest is registered here; the action reminders register themselves the same way:

    from app.notify import register_daily
    register_daily("action-reminders", send_action_reminders)   # def send_action_reminders(today): ...

A job runs inside an app context and only writes rows (enqueue, with a dedupe_key such as
"due:<action_id>:<date>"); the runner commits, or rolls back and retries later if it raised.
Every worker process runs the jobs (after NOTIFY_DAILY_HOUR UTC, and again after a restart), so
jobs must be idempotent - the dedupe keys make them so.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.extensions import db
from app.models import utcnow
from app.notify.settings import setting

log = logging.getLogger("app.notify")

RETRY_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class DailyJob:
    name: str
    func: Callable[[dt.date], object]
    hour: int | None = None  # UTC hour from which it runs; None: NOTIFY_DAILY_HOUR


_DAILY: dict[str, DailyJob] = {}


def register_daily(name: str, func: Callable[[dt.date], object], hour: int | None = None) -> None:
    """Run func(today) once a day in the worker. Registering a name again replaces the job."""
    _DAILY[name] = DailyJob(name, func, hour)


def unregister_daily(name: str) -> None:
    _DAILY.pop(name, None)


def daily_jobs() -> list[DailyJob]:
    return list(_DAILY.values())


def run_job(app, job: DailyJob, today: dt.date) -> bool:
    with app.app_context():
        try:
            job.func(today)
            db.session.commit()
            return True
        except Exception:  # noqa: BLE001 - one broken job must not stop the mail
            db.session.rollback()
            log.exception("outbox: daily job %s failed", job.name)
            return False


def run_due_jobs(app, last_runs: dict, now: dt.datetime | None = None, force: bool = False) -> list[str]:
    """Run each job not yet run today (in this process) once its hour has come; returns the names run.

    `last_runs` is the caller's memory: {name: date done} and {(name, "failed"): time of failure}.
    """
    now = now or utcnow()
    today = now.date()
    ran = []
    if not _DAILY:
        return ran
    default_hour = int(setting(app, "NOTIFY_DAILY_HOUR"))
    for job in daily_jobs():
        hour = default_hour if job.hour is None else job.hour
        if not force and (last_runs.get(job.name) == today or now.hour < hour):
            continue
        failed_at = last_runs.get((job.name, "failed"))
        if not force and failed_at is not None and now - failed_at < RETRY_AFTER:
            continue
        if run_job(app, job, today):
            last_runs[job.name] = today
            last_runs.pop((job.name, "failed"), None)
            ran.append(job.name)
        else:
            last_runs[(job.name, "failed")] = now
    return ran
