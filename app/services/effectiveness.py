"""The effectiveness watch after closure (issue 18).

Approving D8 starts a watch - `watch_days` (default 90, 0 = none) with its criterion, e.g. "no
recurrence" or "ppm below 50". The customer's quality leads hear before it ends and when it has
ended; then one of them decides with the password (the signature of the review approvals):
effective closes the watch, not effective reopens the report with a new revision and the reason
(as reopen does). A report of the same two companies, part number and failure mode opened during
a watch is a recurrence: it flags the watch, both reports are linked, the quality leads are told.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import notify, policy
from app.errors import BadRequest, Conflict, Forbidden, Invalid
from app.extensions import db
from app.models import EffectivenessWatch, Report, Status, User, utcnow
from app.services import audit

DEFAULT_DAYS = 90
MAX_DAYS = 730
REMIND_DAYS = 7  # the reminder goes this many days before the end
DEFAULT_CRITERION = "No recurrence of the failure at the customer or in the supplier's plant."
MEANING = {"effective": "effectiveness confirmed", "not_effective": "not effective - reopened"}


def watch_of(report: Report) -> EffectivenessWatch | None:
    """The report's latest watch (a reopened and closed-again report may have had others)."""
    return report.watches[-1] if report.watches else None


def recurrence_refs(watch: EffectivenessWatch) -> list[tuple[int, str]]:
    """(id, number) of the watch's recurrences - reports of the same two companies, so whoever sees one sees them."""
    if not watch.recurrences:
        return []
    numbers = dict(db.session.execute(select(Report.id, Report.number).where(Report.id.in_(watch.recurrences))).all())
    return [(i, numbers[i]) for i in watch.recurrences if i in numbers]


def check_watch(days: Any, criterion: Any) -> tuple[int, str]:
    """The values of a D8 approval: (days, criterion); a bad value is 400/422 before anything changes."""
    if days in (None, ""):
        days = DEFAULT_DAYS
    elif isinstance(days, str) and days.strip().isdigit():
        days = int(days)
    if isinstance(days, bool) or not isinstance(days, int):
        raise BadRequest("'watch_days' must be an integer.", {"fields": {"watch_days": "must be an integer (0 = no watch)"}})
    if not 0 <= days <= MAX_DAYS:
        raise Invalid(_("The watch lasts 0 to %(n)s days.", n=MAX_DAYS), fields={"watch_days": f"must be 0 to {MAX_DAYS}"})
    if criterion is not None and not isinstance(criterion, str):
        raise BadRequest("'watch_criterion' must be a string.", {"fields": {"watch_criterion": "must be a string"}})
    criterion = (criterion or "").strip() or DEFAULT_CRITERION
    if len(criterion) > 2000:
        raise Invalid(_("The criterion is too long."), fields={"watch_criterion": "is too long (at most 2000 characters)"})
    return days, criterion


def start(actor: User, report: Report, days: int, criterion: str) -> EffectivenessWatch | None:
    """At the closure (D8 approved, in the same transaction): the watch, unless 0 days."""
    if days == 0:
        return None
    until = utcnow().date() + dt.timedelta(days=days)
    watch = EffectivenessWatch(report_id=report.id, revision=report.revision, started_by_id=actor.id, until=until, criterion=criterion,
                               status="watching", recurrences=[])
    report.watches.append(watch)
    audit.record("effectiveness.started", actor, report, discipline="D8",
                 changes={"effectiveness": [None, {"until": until.isoformat(), "criterion": criterion, "status": "watching"}]})
    return watch


def decide(actor: User, report: Report, decision: Any, comment: Any, password: Any) -> Report:
    from app.services import workflow

    if not policy.can_decide_effectiveness(actor, report):
        raise Forbidden(_("Only a quality lead of the customer (OEM) decides whether the fix was effective."))
    if decision not in MEANING:
        if decision is not None and not isinstance(decision, str):
            raise BadRequest("'decision' must be a string.", {"fields": {"decision": "must be a string"}})
        raise Invalid(_("Choose effective or not effective."), fields={"decision": "must be effective or not_effective"})
    watch = watch_of(report)
    if watch is None or watch.status != "watching" or report.status != Status.closed:
        raise Conflict(_("The report is under no effectiveness watch."), {"rule": "no_watch"})
    comment = workflow.check_comment(comment, required=decision == "not_effective")
    if decision == "effective" and watch.until > utcnow().date() and not watch.recurrences:
        raise Conflict(_("The watch runs until %(until)s; it can be confirmed effective from then on.", until=watch.until.isoformat()),
                       {"rule": "watch_running", "until": watch.until.isoformat()})
    workflow.check_password(actor, report, password, f"effectiveness {decision}")
    now = utcnow()
    watch.status, watch.decided_at, watch.decided_by_id, watch.comment = decision, now, actor.id, comment
    watch.signed_name, watch.meaning, watch.content_hash = actor.name, MEANING[decision], workflow.content_hash(report)
    audit.record(f"effectiveness.{decision}", actor, report, discipline="D8", comment=comment, changes={
        "effectiveness": ["watching", decision],
        "signature": [None, {"signed_by": actor.name, "signed_at": now.isoformat() + "Z", "meaning": watch.meaning, "content_hash": watch.content_hash}]})
    if decision == "not_effective":
        workflow.reopen_now(actor, report, _("Not effective: %(reason)s", reason=comment), "D4")
    return report


def _failure_words(title: str | None) -> set[str]:
    from app.services.similar import failure_words

    return failure_words(title)


def note_recurrence(actor: User | None, new_report: Report) -> list[EffectivenessWatch]:
    """A report just opened: is it a recurrence during a watch (same two companies, part number
    and failure mode)? Flags each such watch, links the new report to the watched one, tells the
    customer's quality leads."""
    if not (new_report.part_number or "").strip():
        return []
    words = _failure_words(new_report.title)
    if not words:
        return []
    watched = db.session.scalars(
        select(EffectivenessWatch).join(Report, Report.id == EffectivenessWatch.report_id).where(
            EffectivenessWatch.status == "watching", EffectivenessWatch.until >= utcnow().date(), Report.id != new_report.id,
            Report.oem_id == new_report.oem_id, Report.supplier_id == new_report.supplier_id,
            func.lower(Report.part_number) == new_report.part_number.strip().lower())
    ).all()
    flagged = []
    for watch in watched:
        old = watch.report
        if not words & _failure_words(old.title):
            continue
        watch.recurrences = [*watch.recurrences, new_report.id]
        if new_report.related_report_id is None:
            new_report.related_report_id, new_report.repeat_failure = old.id, True
            new_report.related_report = new_report.related_report or old.number
            audit.record("report.linked", actor, new_report, changes={"related_report": [None, old.number], "repeat_failure": [None, True]},
                         comment=f"Recurrence during the effectiveness watch of {old.number}")
        audit.record("effectiveness.recurrence", actor, old, discipline="D8",
                     changes={"recurrences": [watch.recurrences[:-1], watch.recurrences]}, comment=f"{new_report.number}: {new_report.title}")
        notify.watch_recurrence(old, new_report, actor)
        flagged.append(watch)
    return flagged


def send_reminders(today: dt.date) -> None:
    """Daily: the reminder REMIND_DAYS before a watch ends, and the "decide now" mail when it has ended."""
    soon = db.session.scalars(select(EffectivenessWatch).where(
        EffectivenessWatch.status == "watching", EffectivenessWatch.until <= today + dt.timedelta(days=REMIND_DAYS))).all()
    now = utcnow()
    for watch in soon:
        due = watch.until <= today
        if due and watch.due_notified_at is None:
            notify.watch_ending(watch.report, watch.until, watch.criterion, True, today)
            watch.due_notified_at = now
        elif not due and watch.reminded_at is None:
            notify.watch_ending(watch.report, watch.until, watch.criterion, False, today)
            watch.reminded_at = now


def watch_lists(user) -> dict[str, list]:
    """For the dashboard: visible reports under watch, and those whose watch has ended (to decide)."""
    today = utcnow().date()
    stmt = (select(Report, EffectivenessWatch).join(EffectivenessWatch, EffectivenessWatch.report_id == Report.id)
            .where(policy.visible_reports_clause(user), EffectivenessWatch.status == "watching").order_by(EffectivenessWatch.until, Report.id))
    rows = db.session.execute(stmt.limit(200)).unique().all()
    return {"due": [(r, w) for r, w in rows if w.until <= today], "watching": [(r, w) for r, w in rows if w.until > today]}
