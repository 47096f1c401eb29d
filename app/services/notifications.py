"""The seam between state changes and e-mail. Services call these in their own transaction
(they only write outbox rows); once any commit has written outbox rows, the workers are woken
(see `install`), so delivery starts right after the commit and never before it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app import notify
from app.models import Action, ActionStatus, OutboxMessage, Report, WebhookDelivery


def action_assigned(report: Report, actor, action: Action) -> None:
    notify.action_assigned(report, actor, action.owner, action.title, link=f"/actions/{action.id}",
                           due_date=action.due_date, kind=action.kind.value)


_installed = False


def install() -> None:
    """Wake the workers after every commit that wrote outbox rows (one place for all routes)."""
    global _installed
    from app.services import effectiveness

    notify.register_daily("action-reminders", action_reminders)
    notify.register_daily("watch-reminders", effectiveness.send_reminders)
    if _installed:
        return
    _installed = True

    @event.listens_for(Session, "before_flush")
    def _note_outbox(session, _ctx, _instances):
        if any(isinstance(obj, OutboxMessage | WebhookDelivery) for obj in session.new):
            session.info["outbox_written"] = True

    @event.listens_for(Session, "after_commit")
    def _wake_after_commit(session):
        if session.info.pop("outbox_written", False):
            notify.wake()

    @event.listens_for(Session, "after_rollback")
    def _forget(session):
        session.info.pop("outbox_written", None)


def action_reminders(today: dt.date) -> None:
    """Daily: owners of open actions hear two days before the due date and every day after it
    (one reminder per action and day, however often the job runs)."""
    from app.extensions import db

    open_states = (ActionStatus.open, ActionStatus.in_progress, ActionStatus.implemented)
    rows = db.session.scalars(
        select(Action).where(Action.status.in_(open_states), Action.due_date <= today + dt.timedelta(days=2))
    ).unique().all()
    for a in rows:
        if a.report.status.value == "closed":
            continue
        if a.due_date < today:
            notify.action_overdue(a.report, a.owner, a.id, a.title, a.due_date, today=today, link=f"/actions/{a.id}")
        elif a.due_date == today + dt.timedelta(days=2):
            notify.action_due(a.report, a.owner, a.id, a.title, a.due_date, today=today, link=f"/actions/{a.id}")

