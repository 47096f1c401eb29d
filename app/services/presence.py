"""Who else is looking at or editing which discipline right now."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import method, policy
from app.errors import BadRequest
from app.extensions import db
from app.models import Presence, Report, User, utcnow

FRESH = dt.timedelta(seconds=30)


def heartbeat(actor: User, report: Report, discipline: Any, editing: Any) -> None:
    """Not audited: presence is a live signal, not a change to the report."""
    if discipline is not None and discipline not in method.CODES:
        raise BadRequest(_("'discipline' must be one of D0-D8."))
    editing = bool(editing) and policy.can_edit(actor, report)
    row = db.session.scalar(select(Presence).where(Presence.report_id == report.id, Presence.user_id == actor.id))
    if row is None:
        row = Presence(report_id=report.id, user_id=actor.id)
        db.session.add(row)
    row.discipline, row.editing, row.seen_at = discipline, editing, utcnow()


def present(report: Report, exclude: User | None = None) -> list[dict]:
    rows = db.session.scalars(
        select(Presence).where(Presence.report_id == report.id, Presence.seen_at >= utcnow() - FRESH).order_by(Presence.seen_at.desc())
    ).all()
    return [
        {"user_id": r.user_id, "name": r.user.name, "company": r.user.company.name, "discipline": r.discipline, "editing": r.editing}
        for r in rows
        if (exclude is None or r.user_id != exclude.id) and policy.can_view(r.user, report)
    ]
