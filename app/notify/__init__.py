"""E-mail notifications that are never lost (the transactional outbox).

Services call the event functions (stage_advanced, review_requested, ...) in their transaction:
they only write OutboxMessage rows. After the request edge has committed, it calls wake().
Workers (a thread of the web process by default, or `flask worker`) deliver the rows, retry with
backoff, and survive crashes (see delivery.py).
"""

from app.notify.delivery import (
    WorkerHandle,
    build_message,
    deliver_all_due,
    deliver_due,
    run_worker,
    start_background_worker,
    wake,
)
from app.notify.digest import build_digests, send_digests
from app.notify.enqueue import (
    CATEGORIES,
    MANDATORY_CATEGORIES,
    absolute_link,
    clean_header,
    eligible_recipients,
    enqueue,
    report_link,
)
from app.notify.events import (
    action_assigned,
    action_due,
    action_overdue,
    decline_decided,
    decline_requested,
    mentioned,
    oem_quality_leads,
    report_closed,
    report_reopened,
    report_returned,
    review_decided,
    review_requested,
    stage_advanced,
    team_added,
    watch_ending,
    watch_recurrence,
)
from app.notify.periodic import register_daily, run_due_jobs, unregister_daily
from app.notify.settings import DEFAULTS as SETTINGS_DEFAULTS


def register(app) -> None:
    """Add the `flask worker` command."""
    from app.notify.cli import register as register_cli

    register_cli(app)


__all__ = [
    "CATEGORIES",
    "MANDATORY_CATEGORIES",
    "SETTINGS_DEFAULTS",
    "WorkerHandle",
    "absolute_link",
    "action_assigned",
    "action_due",
    "action_overdue",
    "build_digests",
    "build_message",
    "clean_header",
    "decline_decided",
    "decline_requested",
    "deliver_all_due",
    "deliver_due",
    "eligible_recipients",
    "enqueue",
    "mentioned",
    "oem_quality_leads",
    "register",
    "register_daily",
    "report_closed",
    "report_link",
    "report_reopened",
    "report_returned",
    "review_decided",
    "review_requested",
    "run_due_jobs",
    "run_worker",
    "send_digests",
    "stage_advanced",
    "start_background_worker",
    "team_added",
    "watch_ending",
    "watch_recurrence",
    "unregister_daily",
    "wake",
]
